/* calldb_sql: what the SQLite and PostgreSQL backends of the call database
 * agree on: the columns taken from a call record, and the WHERE and ORDER
 * BY of a query, with numbered parameters (?N for SQLite, $N for
 * PostgreSQL). */
#ifndef CW_CALLDB_SQL_H
#define CW_CALLDB_SQL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "calldb/calldb.h"

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
