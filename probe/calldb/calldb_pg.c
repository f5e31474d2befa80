#include "autoconf.h"

#include "calldb/calldb_pg.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calldb/calldb_spool.h"
#include "calldb/calldb_sql.h"
#include "calldb/pglib.h"
#include "common/config.h"
#include "common/util.h"

#define READERS_KEPT 4
#define SCHEMA_LOCK  0x63616c6c /* "call": the advisory lock of migrations */

struct pg {
    char *url;
    char *shown; /* url without its password */
    char *site;
    long retention_days;
    bool readonly;

    /* Writer thread only. */
    PGconn *w;
    calldb_spool_t *spool;
    int64_t next_try_ms;
    long backoff_ms;
    bool schema_ok;

    /* Read by any thread, under lock. */
    pthread_mutex_t lock;
    bool connected;
    char last_error[512];
    uint64_t spooled_count, spool_bytes, spool_dropped, forwarded;

    pthread_mutex_t idle_lock;
    PGconn *idle[READERS_KEPT];
    unsigned nidle;
};

/* ------------------------------------------------------------ schema */

static const char schema_v1[] =
    "CREATE TABLE calls ("
    " id bigserial PRIMARY KEY,"
    " site text NOT NULL,"
    " call_id text NOT NULL,"
    " start double precision NOT NULL,"
    " answered double precision,"
    " \"end\" double precision,"
    " outcome text NOT NULL,"
    " sip_code integer,"
    " end_reason text,"
    " setup_ms bigint,"
    " from_uri text, to_uri text, from_display text, to_display text,"
    " caller text, callee text, codec text,"
    " mos double precision, mos_min double precision, loss_pct double precision,"
    " jitter_ms double precision,"
    " record json NOT NULL);"
    "CREATE UNIQUE INDEX calls_site_id_start ON calls(site, call_id, start);"
    "CREATE INDEX calls_start ON calls(start);"
    "CREATE INDEX calls_outcome_start ON calls(outcome, start);"
    "CREATE INDEX calls_site_start ON calls(site, start);"
    "CREATE TABLE incidents ("
    " site text NOT NULL,"
    " id bigint NOT NULL,"
    " kind text NOT NULL,"
    " start double precision NOT NULL,"
    " \"end\" double precision,"
    " record json NOT NULL,"
    " PRIMARY KEY (site, id));"
    "CREATE INDEX incidents_start ON incidents(start);"
    "INSERT INTO callwatch_schema (version) VALUES (1);";

static const char upsert_call[] =
    "INSERT INTO calls (site, call_id, start, answered, \"end\", outcome, sip_code, end_reason,"
    " setup_ms, from_uri, to_uri, from_display, to_display, caller, callee, codec, mos, mos_min,"
    " loss_pct, jitter_ms, record) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,"
    "$16,$17,$18,$19,$20,$21) ON CONFLICT (site, call_id, start) DO UPDATE SET"
    " answered=EXCLUDED.answered, \"end\"=EXCLUDED.\"end\", outcome=EXCLUDED.outcome,"
    " sip_code=EXCLUDED.sip_code, end_reason=EXCLUDED.end_reason, setup_ms=EXCLUDED.setup_ms,"
    " from_uri=EXCLUDED.from_uri, to_uri=EXCLUDED.to_uri, from_display=EXCLUDED.from_display,"
    " to_display=EXCLUDED.to_display, caller=EXCLUDED.caller, callee=EXCLUDED.callee,"
    " codec=EXCLUDED.codec, mos=EXCLUDED.mos, mos_min=EXCLUDED.mos_min,"
    " loss_pct=EXCLUDED.loss_pct, jitter_ms=EXCLUDED.jitter_ms, record=EXCLUDED.record";

static const char upsert_incident[] =
    "INSERT INTO incidents (site, id, kind, start, \"end\", record) VALUES ($1,$2,$3,$4,$5,$6)"
    " ON CONFLICT (site, id) DO UPDATE SET kind=EXCLUDED.kind, start=EXCLUDED.start,"
    " \"end\"=EXCLUDED.\"end\", record=EXCLUDED.record";

void calldb_pg_redact(const char *url, char *out, size_t len)
{
    const char *scheme = strstr(url, "://"), *at, *colon;

    cw_strlcpy(out, url, len);
    if (!scheme)
        return;
    scheme += 3;
    at = strchr(scheme, '@');
    colon = memchr(scheme, ':', at ? (size_t)(at - scheme) : 0);
    if (at && colon)
        snprintf(out, len, "%.*s:***%s", (int)(colon - url), url, at);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs sql (no parameters); 0, or -EIO with the server's reason in err. */
static int exec(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *r = pglib.PQexec(c, sql);
    ExecStatusType st = r ? pglib.PQresultStatus(r) : PGRES_FATAL_ERROR;
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pglib_message(r ? pglib.PQresultErrorMessage(r) : pglib.PQerrorMessage(c), err, errlen);
        rc = -EIO;
    }
    pglib.PQclear(r);
    return rc;
}

/* Runs sql with text parameters; the result (to clear), or NULL with err. */
static PGresult *run(PGconn *c, const char *sql, int n, const char *const *params, char *err,
                     size_t errlen)
{
    PGresult *r = pglib.PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = r ? pglib.PQresultStatus(r) : PGRES_FATAL_ERROR;

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    pglib_message(r ? pglib.PQresultErrorMessage(r) : pglib.PQerrorMessage(c), err, errlen);
    pglib.PQclear(r);
    return NULL;
}

/* Creates or migrates the tables; 0 or -EIO with err. */
static int migrate(PGconn *c, char *err, size_t errlen)
{
    char sql[128], msg[512];
    PGresult *r;
    int version = 0;

    snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d)", SCHEMA_LOCK);
    if (exec(c, "BEGIN", err, errlen) || exec(c, sql, err, errlen) ||
        exec(c, "CREATE TABLE IF NOT EXISTS callwatch_schema (version integer NOT NULL)", err,
             errlen))
        goto fail;
    if (!(r = run(c, "SELECT coalesce(max(version), 0) FROM callwatch_schema", 0, NULL, err,
                  errlen)))
        goto fail;
    version = atoi(pglib.PQgetvalue(r, 0, 0));
    pglib.PQclear(r);
    if (version > CALLDB_PG_VERSION) {
        snprintf(err, errlen, "schema version %d is newer than this callwatch's (%d)", version,
                 CALLDB_PG_VERSION);
        goto fail;
    }
    if (version < 1 && exec(c, schema_v1, err, errlen))
        goto fail;
    return exec(c, "COMMIT", err, errlen);
fail:
    exec(c, "ROLLBACK", msg, sizeof(msg));
    return -EIO;
}

/* ------------------------------------------------------------ writer */

static void set_state(struct pg *db, bool connected, const char *error)
{
    pthread_mutex_lock(&db->lock);
    db->connected = connected;
    if (error)
        cw_strlcpy(db->last_error, error, sizeof(db->last_error));
    if (db->spool) {
        db->spooled_count = calldb_spool_count(db->spool);
        db->spool_bytes = calldb_spool_bytes(db->spool);
        db->spool_dropped = calldb_spool_dropped(db->spool);
    }
    pthread_mutex_unlock(&db->lock);
}

/* The server went away (or never answered): spool until next_try. */
static void lost(struct pg *db, const char *why)
{
    if (db->w) {
        pglib.PQfinish(db->w);
        db->w = NULL;
    }
    if (!db->backoff_ms || db->connected)
        cw_log(CW_LOG_WARN, "PostgreSQL at %s: %s; records are spooled in %s until it answers",
               db->shown, why, calldb_spool_path(db->spool));
    db->backoff_ms = db->backoff_ms ? db->backoff_ms * 2 : 1000;
    if (db->backoff_ms > CALLDB_PG_BACKOFF_MAX_MS)
        db->backoff_ms = CALLDB_PG_BACKOFF_MAX_MS;
    db->next_try_ms = mono_ms() + db->backoff_ms;
    set_state(db, false, why);
}

/* A connection for the writer, when there is one or the backoff allows a
 * new try; false otherwise. */
static bool writer_conn(struct pg *db)
{
    char err[512];

    if (db->w)
        return true;
    if (mono_ms() < db->next_try_ms)
        return false;
    if (!(db->w = pglib_connect(db->url, err, sizeof(err)))) {
        lost(db, err);
        return false;
    }
    if (!db->schema_ok && migrate(db->w, err, sizeof(err)) != 0) {
        lost(db, err);
        return false;
    }
    db->schema_ok = true;
    if (db->backoff_ms)
        cw_log(CW_LOG_INFO, "PostgreSQL at %s answers again", db->shown);
    db->backoff_ms = 0;
    set_state(db, true, NULL);
    return true;
}

static int store_call(struct pg *db, const json_t *rec, char *err, size_t errlen)
{
    calldb_value_t v[CALLDB_NCOLS];
    char bufs[CALLDB_NCOLS][32], *text = json_dumps(rec, JSON_COMPACT);
    const char *params[CALLDB_NCOLS + 1];
    PGresult *r;

    calldb_sql_call_values(rec, db->site, v);
    for (int k = 0; k < CALLDB_NCOLS; k++)
        params[k] = calldb_sql_text(&v[k], bufs[k], sizeof(bufs[k]));
    params[CALLDB_NCOLS] = text ? text : "{}";
    r = run(db->w, upsert_call, CALLDB_NCOLS + 1, params, err, errlen);
    free(text);
    pglib.PQclear(r);
    return r ? 0 : -EIO;
}

static int store_incident(struct pg *db, const json_t *inc, char *err, size_t errlen)
{
    const char *site = json_string_value(json_object_get(inc, "site"));
    const json_t *end = json_object_get(inc, "end");
    char id[32], start[32], endt[32], *text = json_dumps(inc, JSON_COMPACT);
    const char *params[6];
    PGresult *r;

    snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(inc, "id")));
    snprintf(start, sizeof(start), "%.17g", json_number_value(json_object_get(inc, "start")));
    snprintf(endt, sizeof(endt), "%.17g", json_number_value(end));
    params[0] = site ? site : db->site ? db->site : "";
    params[1] = id;
    params[2] = json_string_value(json_object_get(inc, "kind"));
    params[3] = start;
    params[4] = json_is_number(end) ? endt : NULL;
    params[5] = text ? text : "{}";
    if (!params[2])
        params[2] = "";
    r = run(db->w, upsert_incident, 6, params, err, errlen);
    free(text);
    pglib.PQclear(r);
    return r ? 0 : -EIO;
}

/* Deletes this site's calls older than retention_days before its newest. */
static int prune(struct pg *db, char *err, size_t errlen)
{
    char secs[32];
    const char *params[2] = { db->site, secs };
    PGresult *r;

    if (db->retention_days <= 0 || !db->site)
        return 0;
    snprintf(secs, sizeof(secs), "%ld", db->retention_days * 86400L);
    r = run(db->w,
            "DELETE FROM calls WHERE site = $1 AND start < (SELECT max(start) FROM calls WHERE "
            "site = $1) - $2::float8",
            2, params, err, errlen);
    pglib.PQclear(r);
    return r ? 0 : -EIO;
}

/* Stores the items in one transaction.  0; 1 when the server went away
 * (nothing stored: spool them); -EIO when it refused them. */
static int store(struct pg *db, const calldb_item_t *items)
{
    char err[512] = "", msg[512];
    bool calls = false;
    int rc = exec(db->w, "BEGIN", err, sizeof(err));

    for (const calldb_item_t *q = items; q && rc == 0; q = q->next) {
        rc = q->incident ? store_incident(db, q->rec, err, sizeof(err))
                         : store_call(db, q->rec, err, sizeof(err));
        calls = calls || !q->incident;
    }
    if (rc == 0 && calls)
        rc = prune(db, err, sizeof(err));
    if (rc == 0)
        rc = exec(db->w, "COMMIT", err, sizeof(err));
    if (rc == 0)
        return 0;
    if (pglib.PQstatus(db->w) == CONNECTION_BAD) {
        lost(db, err);
        return 1;
    }
    exec(db->w, "ROLLBACK", msg, sizeof(msg));
    cw_log(CW_LOG_ERR, "PostgreSQL at %s: %s", db->shown, err);
    set_state(db, true, err);
    return -EIO;
}

/* Forwards the spool while the server takes it. */
static void drain(struct pg *db)
{
    while (calldb_spool_count(db->spool) > 0 && writer_conn(db)) {
        calldb_item_t *items;
        size_t n;
        int rc;

        if (calldb_spool_read(db->spool, CALLDB_PG_BATCH, &items, &n) != 0 || n == 0) {
            calldb_spool_items_free(items);
            break;
        }
        rc = store(db, items);
        calldb_spool_items_free(items);
        if (rc > 0)
            break;
        /* Refused records would be refused again: they are not kept. */
        calldb_spool_sent(db->spool);
        pthread_mutex_lock(&db->lock);
        db->forwarded += n;
        pthread_mutex_unlock(&db->lock);
        set_state(db, true, NULL);
    }
}

static int spool(struct pg *db, const calldb_item_t *items)
{
    long dropped = calldb_spool_append(db->spool, items);

    set_state(db, db->w != NULL, NULL);
    if (dropped < 0) {
        cw_log(CW_LOG_ERR, "spool %s cannot be written: records are lost",
               calldb_spool_path(db->spool));
        return -EIO;
    }
    return dropped ? -EIO : 0;
}

static int pg_write(void *b, const calldb_item_t *items)
{
    struct pg *db = b;
    int rc;

    /* Anything spooled goes first, so that records keep their order. */
    if (calldb_spool_count(db->spool) > 0)
        drain(db);
    if (calldb_spool_count(db->spool) > 0 || !writer_conn(db))
        return spool(db, items);
    rc = store(db, items);
    return rc > 0 ? spool(db, items) : rc;
}

static bool pg_pending(void *b)
{
    struct pg *db = b;

    return db->spool && calldb_spool_count(db->spool) > 0;
}

static void pg_retry(void *b)
{
    drain(b);
}

/* ------------------------------------------------------------ readers */

static PGconn *reader(struct pg *db, char *err, size_t errlen)
{
    PGconn *c = NULL;

    pthread_mutex_lock(&db->idle_lock);
    if (db->nidle)
        c = db->idle[--db->nidle];
    pthread_mutex_unlock(&db->idle_lock);
    if (c && pglib.PQstatus(c) == CONNECTION_OK)
        return c;
    if (c)
        pglib.PQfinish(c);
    c = pglib_connect(db->url, err, errlen);
    if (!c)
        cw_log(CW_LOG_DEBUG, "PostgreSQL at %s: %s", db->shown, err);
    return c;
}

static void reader_done(struct pg *db, PGconn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&db->idle_lock);
    if (db->nidle < READERS_KEPT && pglib.PQstatus(c) == CONNECTION_OK) {
        db->idle[db->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&db->idle_lock);
    if (c)
        pglib.PQfinish(c);
}

/* Runs a read; the result or NULL with err ("SERVER: reason"). */
static PGresult *read_query(struct pg *db, const char *sql, int n, const char *const *params,
                            char *err, size_t errlen)
{
    char msg[512];
    PGconn *c = reader(db, msg, sizeof(msg));
    PGresult *r = c ? run(c, sql, n, params, msg, sizeof(msg)) : NULL;

    if (!r && c && pglib.PQstatus(c) == CONNECTION_BAD) {
        /* A kept connection the server closed (it restarted): once more. */
        pglib.PQfinish(c);
        c = pglib_connect(db->url, msg, sizeof(msg));
        r = c ? run(c, sql, n, params, msg, sizeof(msg)) : NULL;
    }
    reader_done(db, c);
    if (!r)
        snprintf(err, errlen, "PostgreSQL at %s: %s", db->shown, msg);
    return r;
}

static json_t *records(PGresult *r, int col, bool summary)
{
    json_t *arr = json_array();

    for (int i = 0; i < pglib.PQntuples(r); i++) {
        json_t *rec = calldb_sql_record(pglib.PQgetvalue(r, i, col), summary);

        if (rec)
            json_array_append_new(arr, rec);
    }
    return arr;
}

static json_t *pg_query(void *b, const calldb_filter_t *f, char *err, size_t errlen)
{
    struct pg *db = b;
    calldb_sql_query_t q;
    char sql[3072], bufs[CALLDB_SQL_MAX_PARAMS][32];
    const char *params[CALLDB_SQL_MAX_PARAMS];
    long limit = f->limit > 0 ? f->limit : 1000;
    PGresult *r;
    json_t *out;

    calldb_sql_query(f, CALLDB_SQL_PG, &q);
    for (int i = 0; i < q.nparams; i++)
        params[i] = calldb_sql_text(&q.params[i], bufs[i], sizeof(bufs[i]));
    snprintf(sql, sizeof(sql),
             "SELECT record, count(*) OVER () FROM calls WHERE %s ORDER BY %s LIMIT %ld OFFSET "
             "%ld",
             q.where, q.order, limit, f->offset > 0 ? f->offset : 0);
    if (!(r = read_query(db, sql, q.nparams, params, err, errlen)))
        return NULL;
    out = json_object();
    json_object_set_new(out, "calls", records(r, 0, true));
    json_object_set_new(out, "total",
                        json_integer(pglib.PQntuples(r) ? atoll(pglib.PQgetvalue(r, 0, 1)) : 0));
    pglib.PQclear(r);
    return out;
}

static json_t *pg_get(void *b, const char *call_id, const char *site)
{
    struct pg *db = b;
    const char *params[2] = { call_id, site };
    char err[512];
    PGresult *r = read_query(db,
                             "SELECT record FROM calls WHERE call_id = $1 AND ($2::text IS NULL "
                             "OR site = $2) ORDER BY start DESC LIMIT 1",
                             2, params, err, sizeof(err));
    json_t *rec = NULL;

    if (r && pglib.PQntuples(r) > 0)
        rec = calldb_sql_record(pglib.PQgetvalue(r, 0, 0), false);
    pglib.PQclear(r);
    return rec;
}

static long number(struct pg *db, const char *sql, const char *site, long dflt)
{
    const char *params[1] = { site };
    char err[512];
    PGresult *r = read_query(db, sql, 1, params, err, sizeof(err));
    long n = dflt;

    if (r && pglib.PQntuples(r) > 0)
        n = atol(pglib.PQgetvalue(r, 0, 0));
    pglib.PQclear(r);
    return n;
}

static long pg_count(void *b, const char *site)
{
    return number(b, "SELECT count(*) FROM calls WHERE $1::text IS NULL OR site = $1", site, -1);
}

static long pg_max_incident_id(void *b, const char *site)
{
    return number(b, "SELECT coalesce(max(id), 0) FROM incidents WHERE site = $1", site, 0);
}

static json_t *pg_incidents(void *b, double from, double to, const char *site, char *err,
                            size_t errlen)
{
    char f[32], t[32];
    const char *params[3] = { f, t, site };
    PGresult *r;
    json_t *arr;

    snprintf(f, sizeof(f), "%.17g", from);
    snprintf(t, sizeof(t), "%.17g", to);
    r = read_query(b,
                   "SELECT record FROM incidents WHERE ($1::float8 <= 0 OR coalesce(\"end\", "
                   "1e18) >= $1::float8) AND ($2::float8 <= 0 OR start <= $2::float8) AND "
                   "($3::text IS NULL OR site = $3) ORDER BY start, site COLLATE \"C\", id",
                   3, params, err, errlen);
    if (!r)
        return NULL;
    arr = records(r, 0, false);
    pglib.PQclear(r);
    return arr;
}

static json_t *num_or_null(PGresult *r, int i, int col)
{
    return pglib.PQgetisnull(r, i, col) ? json_null()
                                        : json_real(atof(pglib.PQgetvalue(r, i, col)));
}

static json_t *pg_sites(void *b, double from, double to, char *err, size_t errlen)
{
    static const char sql[] =
        "WITH c AS (SELECT site, count(*) AS calls,"
        "  count(*) FILTER (WHERE answered IS NOT NULL) AS answered,"
        "  count(*) FILTER (WHERE outcome = 'failed') AS failed,"
        "  count(*) FILTER (WHERE outcome = 'dropped') AS dropped,"
        "  avg(mos) AS mos_avg, min(mos) AS mos_min, min(start) AS first, max(start) AS last"
        "  FROM calls WHERE ($1::float8 <= 0 OR start >= $1::float8)"
        "  AND ($2::float8 <= 0 OR start <= $2::float8) GROUP BY site),"
        " i AS (SELECT site, count(*) FILTER (WHERE ($1::float8 <= 0 OR coalesce(\"end\", 1e18)"
        "  >= $1::float8) AND ($2::float8 <= 0 OR start <= $2::float8)) AS n,"
        "  count(*) FILTER (WHERE record->>'state' = 'open') AS open FROM incidents GROUP BY site)"
        " SELECT coalesce(c.site, i.site), coalesce(c.calls, 0), coalesce(c.answered, 0),"
        " coalesce(c.failed, 0), coalesce(c.dropped, 0), c.mos_avg, c.mos_min, c.first, c.last,"
        " coalesce(i.n, 0), coalesce(i.open, 0)"
        " FROM c FULL JOIN i ON c.site = i.site ORDER BY coalesce(c.site, i.site) COLLATE \"C\"";
    static const char *const ints[] = { "calls", "answered", "failed", "dropped" };
    static const char *const reals[] = { "mos_avg", "mos_min", "first", "last" };
    char f[32], t[32];
    const char *params[2] = { f, t };
    PGresult *r;
    json_t *arr;

    snprintf(f, sizeof(f), "%.17g", from);
    snprintf(t, sizeof(t), "%.17g", to);
    if (!(r = read_query(b, sql, 2, params, err, errlen)))
        return NULL;
    arr = json_array();
    for (int i = 0; i < pglib.PQntuples(r); i++) {
        json_t *o = json_object();

        json_object_set_new(o, "site", json_string(pglib.PQgetvalue(r, i, 0)));
        for (int k = 0; k < 4; k++)
            json_object_set_new(o, ints[k], json_integer(atoll(pglib.PQgetvalue(r, i, 1 + k))));
        for (int k = 0; k < 4; k++)
            json_object_set_new(o, reals[k], num_or_null(r, i, 5 + k));
        json_object_set_new(o, "incidents", json_integer(atoll(pglib.PQgetvalue(r, i, 9))));
        json_object_set_new(o, "open_incidents", json_integer(atoll(pglib.PQgetvalue(r, i, 10))));
        json_array_append_new(arr, o);
    }
    pglib.PQclear(r);
    return arr;
}

static void pg_state(void *b, json_t *o)
{
    struct pg *db = b;

    pthread_mutex_lock(&db->lock);
    json_object_set_new(o, "url", json_string(db->shown));
    json_object_set_new(o, "connected", json_boolean(db->connected));
    if (db->spool) {
        json_object_set_new(o, "spool", json_string(calldb_spool_path(db->spool)));
        json_object_set_new(o, "spooled", json_integer((json_int_t)db->spooled_count));
        json_object_set_new(o, "spool_bytes", json_integer((json_int_t)db->spool_bytes));
        json_object_set_new(o, "spool_dropped", json_integer((json_int_t)db->spool_dropped));
        json_object_set_new(o, "forwarded", json_integer((json_int_t)db->forwarded));
    }
    json_object_set_new(o, "last_error",
                        db->last_error[0] ? json_string(db->last_error) : json_null());
    pthread_mutex_unlock(&db->lock);
}

static void pg_close(void *b)
{
    struct pg *db = b;

    if (!db)
        return;
    if (db->spool && calldb_spool_count(db->spool) > 0) {
        /* One last try; what is left waits for the next start. */
        db->next_try_ms = 0;
        drain(db);
        if (calldb_spool_count(db->spool) > 0)
            cw_log(CW_LOG_WARN,
                   "PostgreSQL at %s: %llu records stay in the spool %s, sent at the next start",
                   db->shown, (unsigned long long)calldb_spool_count(db->spool),
                   calldb_spool_path(db->spool));
    }
    if (db->w)
        pglib.PQfinish(db->w);
    while (db->nidle)
        pglib.PQfinish(db->idle[--db->nidle]);
    calldb_spool_close(db->spool);
    pthread_mutex_destroy(&db->lock);
    pthread_mutex_destroy(&db->idle_lock);
    free(db->url);
    free(db->shown);
    free(db->site);
    free(db);
}

static const calldb_ops_t pg_ops = {
    .name = "postgresql",
    .write = pg_write,
    .pending = pg_pending,
    .retry = pg_retry,
    .query = pg_query,
    .get = pg_get,
    .count = pg_count,
    .incidents = pg_incidents,
    .max_incident_id = pg_max_incident_id,
    .sites = pg_sites,
    .state = pg_state,
    .close = pg_close,
};

void *calldb_pg_open(const calldb_options_t *o, const calldb_ops_t **ops, char *err, size_t errlen)
{
    struct pg *db;
    char shown[1024], msg[512];
    PGconn *c;

    if (!pglib_load(err, errlen))
        return NULL;
    calldb_pg_redact(o->url, shown, sizeof(shown));
    db = cw_calloc(1, sizeof(*db));
    db->url = cw_strdup(o->url);
    db->shown = cw_strdup(shown);
    db->site = o->site ? cw_strdup(o->site) : NULL;
    db->retention_days = o->retention_days;
    db->readonly = o->readonly;
    pthread_mutex_init(&db->lock, NULL);
    pthread_mutex_init(&db->idle_lock, NULL);
    if (o->readonly) {
        /* The central dashboard: the server must answer now. */
        if (!(c = pglib_connect(db->url, msg, sizeof(msg)))) {
            snprintf(err, errlen, "PostgreSQL at %s: %s", shown, msg);
            goto fail;
        }
        db->connected = true;
        reader_done(db, c);
        *ops = &pg_ops;
        return db;
    }
    if (!o->spool_path) {
        snprintf(err, errlen, "PostgreSQL at %s: no spool file for when it is away", shown);
        goto fail;
    }
    if (!(db->spool = calldb_spool_open(o->spool_path,
                                        o->spool_max_bytes ? o->spool_max_bytes
                                                           : (uint64_t)CW_DEF_SPOOL_MB << 20,
                                        err, errlen)))
        goto fail;
    if (writer_conn(db))
        drain(db); /* what an earlier run left */
    else
        set_state(db, false, NULL);
    *ops = &pg_ops;
    return db;
fail:
    pg_close(db);
    return NULL;
}
