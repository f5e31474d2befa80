/* calldb_sql: what the call database's front (calldb.c) and its SQLite and
 * PostgreSQL backends agree on: the queued records and the operations of a
 * backend, the columns taken from a call record, and the WHERE and ORDER
 * BY of a query, with numbered parameters (?N for SQLite, $N for
 * PostgreSQL).  Private to probe/calldb. */
#ifndef CW_CALLDB_SQL_H
#define CW_CALLDB_SQL_H

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

enum calldb_sql_style { CALLDB_SQL_SQLITE, CALLDB_SQL_PG };

typedef struct calldb_value {
    enum { CALLDB_NULL, CALLDB_INT, CALLDB_REAL, CALLDB_TEXT } type;
    long long i;
    double d;
    const char *s; /* borrowed from the record or the filter */
} calldb_value_t;

/* The columns of a call row, in this order, then the record itself:
 * site, call_id, start, answered, end, outcome, sip_code, end_reason,
 * setup_ms, from_uri, to_uri, from_display, to_display, caller, callee,
 * codec, mos, mos_min, loss_pct, jitter_ms. */
#define CALLDB_NCOLS 20

/* The column values of call record rec (its "site", else site).  The
 * stream figures are summarised per call: the worst MOS, the mean loss and
 * jitter. */
void calldb_sql_call_values(const json_t *rec, const char *site, calldb_value_t v[CALLDB_NCOLS]);

/* v as parameter text (%.17g for reals) in buf, or NULL for a NULL. */
const char *calldb_sql_text(const calldb_value_t *v, char *buf, size_t len);

#define CALLDB_SQL_MAX_PARAMS 8

typedef struct calldb_sql_query {
    char where[1024]; /* "1=1 AND ..." */
    char order[128];  /* "start ASC, id" */
    calldb_value_t params[CALLDB_SQL_MAX_PARAMS];
    int nparams;
} calldb_sql_query_t;

/* The WHERE and ORDER BY of filter f in style. */
void calldb_sql_query(const calldb_filter_t *f, enum calldb_sql_style style, calldb_sql_query_t *q);

/* A record loaded from the database's text, less its "messages" when
 * summary is true; NULL if the text is not JSON. */
json_t *calldb_sql_record(const char *text, bool summary);

#endif
