/* webint: what the web module's files share (not for use outside web/). */
#ifndef CW_WEBINT_H
#define CW_WEBINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "web/web.h"
#include "web/webutil.h"

/* A reply, built by a handler and sent by the server. */
typedef struct web_reply {
    int status;
    char *body; /* malloc'd; freed by the server */
    size_t len;
    const void *static_body; /* instead of body: never freed (embedded assets) */
    const char *ctype;
    const char *cache; /* Cache-Control; NULL: no-store */
    char etag[24];     /* "" for none */
} web_reply_t;

/* Sets a JSON reply (takes ownership of body; NULL gives a 500). */
void web_reply_json(web_reply_t *r, int status, json_t *body);

/* Sets {"error": MESSAGE} with the status. */
void web_reply_error(web_reply_t *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* What the server says about itself in /api/status. */
typedef struct web_info {
    bool auth, tls;
} web_info_t;

/* The handlers.  Each validates its parameters and fills r. */
void web_api_calls(const web_sources_t *s, const web_query_t *q, web_reply_t *r);
void web_api_call(const web_sources_t *s, const char *call_id, const web_query_t *q,
                  web_reply_t *r);
void web_api_incidents(const web_sources_t *s, const web_query_t *q, web_reply_t *r);
void web_api_series(const web_sources_t *s, const web_query_t *q, web_reply_t *r);
void web_api_graph(const web_sources_t *s, const char *name, const web_query_t *q, web_reply_t *r);
void web_api_status(const web_sources_t *s, const web_info_t *info, const web_query_t *q,
                    web_reply_t *r);
void web_prom_metrics(const web_sources_t *s, const web_query_t *q, web_reply_t *r);

/* The embedded static files (web/static), generated at build time. */
typedef struct web_asset {
    const char *name; /* "app.js" */
    const unsigned char *data;
    size_t len;
} web_asset_t;

extern const web_asset_t web_assets[];
extern const size_t web_nassets;

/* The asset with exactly this name, or NULL. */
const web_asset_t *web_asset_find(const char *name);

/* Content-Type by file extension. */
const char *web_mime_type(const char *name);

#endif
