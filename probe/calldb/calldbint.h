/* calldbint: what the call database's front (calldb.c) and its backends
 * (calldb_sqlite.c, calldb_pg.c) share.  Private to probe/calldb. */
#ifndef CW_CALLDBINT_H
#define CW_CALLDBINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "calldb/calldb.h"

/* One queued record: a call, or an incident. */
typedef struct calldb_item {
    json_t *rec;
    bool incident;
    struct calldb_item *next;
} calldb_item_t;

/* A backend.  write and retry run in the writer thread only; the readers
 * in any thread, concurrently.  Readers return as calldb.h says; site
 * NULL means every site. */
typedef struct calldb_ops {
    const char *name; /* "sqlite", "postgresql" */
    /* Stores the items (a batch, in order); 0 or -EIO.  A backend that
     * keeps what it could not store for later still returns 0. */
    int (*write)(void *b, const calldb_item_t *items);
    /* Whether records wait for a retry (the writer then calls retry at
     * least once a second while idle). */
    bool (*pending)(void *b);
    void (*retry)(void *b);
    json_t *(*query)(void *b, const calldb_filter_t *f, char *err, size_t errlen);
    json_t *(*get)(void *b, const char *call_id, const char *site);
    long (*count)(void *b, const char *site);
    json_t *(*incidents)(void *b, double from, double to, const char *site, char *err,
                         size_t errlen);
    long (*max_incident_id)(void *b, const char *site);
    json_t *(*sites)(void *b, double from, double to, char *err, size_t errlen);
    /* Adds the backend's state to o (calldb_state_json()). */
    void (*state)(void *b, json_t *o);
    void (*close)(void *b);
} calldb_ops_t;

#endif
