/* status: the probe's latest state, published by the packet thread and
 * read by any other (the web server).  What is published is a JSON object
 * (see engine_status_json()); readers get their own copy. */
#ifndef CW_STATUS_H
#define CW_STATUS_H

#include <jansson.h>

typedef struct status status_t;

status_t *status_new(void);
void status_free(status_t *s);

/* Replaces the snapshot; takes ownership of snap. */
void status_publish(status_t *s, json_t *snap);

/* A private copy of the latest snapshot (an empty object before the
 * first); the caller owns it. */
json_t *status_get(status_t *s);

#endif
