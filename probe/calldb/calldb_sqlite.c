#include "autoconf.h"

#include "calldb/calldb_sqlite.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calldb/calldb_sql.h"
#include "common/util.h"

#define READERS_KEPT 8

struct sq {
    char *path;
    char *site;
    long retention_days;
    sqlite3 *w; /* the writer's connection */
    /* Read connections for queries, kept open between them (opening one
     * costs about a millisecond); each serves one query at a time. */
    pthread_mutex_t idle_lock;
    sqlite3 *idle[READERS_KEPT];
    unsigned nidle;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS calls ("
    " id INTEGER PRIMARY KEY,"
    " call_id TEXT NOT NULL,"
    " start REAL NOT NULL,"
    " answered REAL,"
    " end REAL,"
    " outcome TEXT NOT NULL,"
    " sip_code INTEGER,"
    " end_reason TEXT,"
    " setup_ms INTEGER,"
    " from_uri TEXT, to_uri TEXT, from_display TEXT, to_display TEXT,"
    " caller TEXT, callee TEXT, codec TEXT,"
    " mos REAL, mos_min REAL, loss_pct REAL, jitter_ms REAL,"
    " record TEXT NOT NULL);"
    "CREATE UNIQUE INDEX IF NOT EXISTS calls_id_start ON calls(call_id, start);"
    "CREATE INDEX IF NOT EXISTS calls_start ON calls(start);"
    "CREATE INDEX IF NOT EXISTS calls_outcome_start ON calls(outcome, start);"
    "CREATE TABLE IF NOT EXISTS incidents ("
    " id INTEGER PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " start REAL NOT NULL,"
    " end REAL,"
    " record TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS incidents_start ON incidents(start);";

/* Version 0 to 1: every record says its site. */
static const char migrate_1[] = "BEGIN;"
                                "ALTER TABLE calls ADD COLUMN site TEXT;"
                                "ALTER TABLE incidents ADD COLUMN site TEXT;"
                                "CREATE INDEX IF NOT EXISTS calls_site_start ON calls(site, start);"
                                "PRAGMA user_version = 1;"
                                "COMMIT;";

static const char upsert_sql[] =
    "INSERT INTO calls (site, call_id, start, answered, end, outcome, sip_code, end_reason,"
    " setup_ms, from_uri, to_uri, from_display, to_display, caller, callee, codec, mos, mos_min,"
    " loss_pct, jitter_ms, record) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT(call_id, start) DO UPDATE SET site=excluded.site, answered=excluded.answered,"
    " end=excluded.end, outcome=excluded.outcome, sip_code=excluded.sip_code,"
    " end_reason=excluded.end_reason, setup_ms=excluded.setup_ms, codec=excluded.codec,"
    " mos=excluded.mos, mos_min=excluded.mos_min, loss_pct=excluded.loss_pct,"
    " jitter_ms=excluded.jitter_ms, record=excluded.record";

static void bind_value(sqlite3_stmt *st, int i, const calldb_value_t *v)
{
    switch (v->type) {
    case CALLDB_INT:
        sqlite3_bind_int64(st, i, v->i);
        break;
    case CALLDB_REAL:
        sqlite3_bind_double(st, i, v->d);
        break;
    case CALLDB_TEXT:
        sqlite3_bind_text(st, i, v->s, -1, SQLITE_TRANSIENT);
        break;
    default:
        sqlite3_bind_null(st, i);
    }
}

static int write_incident(struct sq *db, const json_t *inc)
{
    sqlite3_stmt *st = NULL;
    char *text = json_dumps(inc, JSON_COMPACT);
    const char *kind = json_string_value(json_object_get(inc, "kind"));
    const char *site = json_string_value(json_object_get(inc, "site"));
    const json_t *end = json_object_get(inc, "end");
    int rc = 0;

    if (sqlite3_prepare_v2(db->w,
                           "INSERT INTO incidents (id, kind, start, end, record, site) VALUES"
                           " (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET kind=excluded.kind,"
                           " start=excluded.start, end=excluded.end, record=excluded.record,"
                           " site=excluded.site",
                           -1, &st, NULL) != SQLITE_OK) {
        free(text);
        return -EIO;
    }
    sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(inc, "id")));
    if (kind)
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 3, json_number_value(json_object_get(inc, "start")));
    if (json_is_number(end))
        sqlite3_bind_double(st, 4, json_number_value(end));
    sqlite3_bind_text(st, 5, text ? text : "{}", -1, SQLITE_TRANSIENT);
    if (site || db->site)
        sqlite3_bind_text(st, 6, site ? site : db->site, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        cw_log(CW_LOG_ERR, "%s: %s", db->path, sqlite3_errmsg(db->w));
        rc = -EIO;
    }
    sqlite3_finalize(st);
    free(text);
    return rc;
}

static int write_call(struct sq *db, sqlite3_stmt *st, const json_t *rec)
{
    calldb_value_t v[CALLDB_NCOLS];
    char *text = json_dumps(rec, JSON_COMPACT);
    int rc = 0;

    calldb_sql_call_values(rec, db->site, v);
    for (int k = 0; k < CALLDB_NCOLS; k++)
        bind_value(st, k + 1, &v[k]);
    sqlite3_bind_text(st, CALLDB_NCOLS + 1, text ? text : "{}", -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        cw_log(CW_LOG_ERR, "%s: %s", db->path, sqlite3_errmsg(db->w));
        rc = -EIO;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    free(text);
    return rc;
}

static int sq_write(void *b, const calldb_item_t *items)
{
    struct sq *db = b;
    sqlite3_stmt *st = NULL;
    double newest = 0;
    int rc = 0;

    if (sqlite3_exec(db->w, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->w, upsert_sql, -1, &st, NULL) != SQLITE_OK) {
        cw_log(CW_LOG_ERR, "%s: %s", db->path, sqlite3_errmsg(db->w));
        sqlite3_finalize(st);
        return -EIO;
    }
    for (const calldb_item_t *q = items; q; q = q->next) {
        double start = json_number_value(json_object_get(q->rec, "start"));

        if (q->incident) {
            if (write_incident(db, q->rec) != 0)
                rc = -EIO;
            continue;
        }
        if (write_call(db, st, q->rec) != 0)
            rc = -EIO;
        if (start > newest)
            newest = start;
    }
    sqlite3_finalize(st);
    if (db->retention_days > 0 && newest > 0) {
        char sql[160];

        snprintf(sql, sizeof(sql),
                 "DELETE FROM calls WHERE start < (SELECT MAX(start) FROM calls) - %ld",
                 db->retention_days * 86400L);
        sqlite3_exec(db->w, sql, NULL, NULL, NULL);
    }
    if (sqlite3_exec(db->w, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        cw_log(CW_LOG_ERR, "%s: %s", db->path, sqlite3_errmsg(db->w));
        sqlite3_exec(db->w, "ROLLBACK", NULL, NULL, NULL);
        rc = -EIO;
    }
    return rc;
}

static sqlite3 *reader(struct sq *db)
{
    sqlite3 *r = NULL;

    pthread_mutex_lock(&db->idle_lock);
    if (db->nidle)
        r = db->idle[--db->nidle];
    pthread_mutex_unlock(&db->idle_lock);
    if (r)
        return r;
    if (sqlite3_open_v2(db->path, &r, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        sqlite3_close(r);
        return NULL;
    }
    sqlite3_busy_timeout(r, 5000);
    return r;
}

/* A query is done with r: kept for the next one, or closed. */
static void reader_done(struct sq *db, sqlite3 *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&db->idle_lock);
    if (db->nidle < READERS_KEPT) {
        db->idle[db->nidle++] = r;
        r = NULL;
    }
    pthread_mutex_unlock(&db->idle_lock);
    sqlite3_close(r);
}

static json_t *sq_query(void *b, const calldb_filter_t *f, char *err, size_t errlen)
{
    struct sq *db = b;
    sqlite3 *r = reader(db);
    sqlite3_stmt *st = NULL;
    calldb_sql_query_t q;
    char sql[3072];
    json_t *out = NULL, *arr;
    long limit = f->limit > 0 ? f->limit : 1000;

    if (!r) {
        snprintf(err, errlen, "%s: cannot be read", db->path);
        return NULL;
    }
    calldb_sql_query(f, CALLDB_SQL_SQLITE, &q);
    snprintf(sql, sizeof(sql),
             "SELECT json_remove(record, '$.messages'), (SELECT COUNT(*) FROM calls WHERE %s) "
             "FROM calls WHERE %s ORDER BY %s LIMIT %ld OFFSET %ld",
             q.where, q.where, q.order, limit, f->offset > 0 ? f->offset : 0);
    if (sqlite3_prepare_v2(r, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", db->path, sqlite3_errmsg(r));
        goto out;
    }
    for (int i = 0; i < q.nparams; i++)
        bind_value(st, i + 1, &q.params[i]);
    out = json_object();
    arr = json_array();
    json_object_set_new(out, "calls", arr);
    json_object_set_new(out, "total", json_integer(0));
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *rec = calldb_sql_record((const char *)sqlite3_column_text(st, 0), false);

        json_object_set_new(out, "total", json_integer(sqlite3_column_int64(st, 1)));
        if (rec)
            json_array_append_new(arr, rec);
    }
out:
    sqlite3_finalize(st);
    reader_done(db, r);
    return out;
}

static json_t *sq_get(void *b, const char *call_id, const char *site)
{
    struct sq *db = b;
    sqlite3 *r = reader(db);
    sqlite3_stmt *st = NULL;
    json_t *rec = NULL;

    if (!r)
        return NULL;
    if (sqlite3_prepare_v2(r,
                           "SELECT record FROM calls WHERE call_id = ?1 AND (?2 IS NULL OR "
                           "site IS NULL OR site = ?2) ORDER BY start DESC LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, call_id, -1, SQLITE_TRANSIENT);
        if (site)
            sqlite3_bind_text(st, 2, site, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            rec = calldb_sql_record((const char *)sqlite3_column_text(st, 0), false);
    }
    sqlite3_finalize(st);
    reader_done(db, r);
    return rec;
}

/* One number from sql (with text parameter p, maybe NULL), or dflt. */
static long one_number(struct sq *db, const char *sql, const char *p, long dflt)
{
    sqlite3 *r = reader(db);
    sqlite3_stmt *st = NULL;
    long n = dflt;

    if (!r)
        return dflt;
    if (sqlite3_prepare_v2(r, sql, -1, &st, NULL) == SQLITE_OK) {
        if (p)
            sqlite3_bind_text(st, 1, p, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = (long)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    reader_done(db, r);
    return n;
}

static long sq_count(void *b, const char *site)
{
    (void)site; /* a local file holds one probe's calls */
    return one_number(b, "SELECT COUNT(*) FROM calls", NULL, -1);
}

static long sq_max_incident_id(void *b, const char *site)
{
    (void)site;
    return one_number(b, "SELECT coalesce(MAX(id), 0) FROM incidents", NULL, 0);
}

static json_t *sq_incidents(void *b, double from, double to, const char *site, char *err,
                            size_t errlen)
{
    struct sq *db = b;
    sqlite3 *r = reader(db);
    sqlite3_stmt *st = NULL;
    json_t *arr;

    if (!r) {
        snprintf(err, errlen, "%s: cannot be read", db->path);
        return NULL;
    }
    if (sqlite3_prepare_v2(
            r,
            "SELECT record FROM incidents WHERE (?1 <= 0 OR coalesce(end, 1e18) >= ?1)"
            " AND (?2 <= 0 OR start <= ?2) AND (?3 IS NULL OR site IS NULL OR site = ?3)"
            " ORDER BY start, id",
            -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", db->path, sqlite3_errmsg(r));
        reader_done(db, r);
        return NULL;
    }
    sqlite3_bind_double(st, 1, from);
    sqlite3_bind_double(st, 2, to);
    if (site)
        sqlite3_bind_text(st, 3, site, -1, SQLITE_TRANSIENT);
    arr = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *rec = calldb_sql_record((const char *)sqlite3_column_text(st, 0), false);

        if (rec)
            json_array_append_new(arr, rec);
    }
    sqlite3_finalize(st);
    reader_done(db, r);
    return arr;
}

static json_t *sq_sites(void *b, double from, double to, char *err, size_t errlen)
{
    struct sq *db = b;
    sqlite3 *r = reader(db);
    sqlite3_stmt *st = NULL;
    json_t *arr;

    if (!r) {
        snprintf(err, errlen, "%s: cannot be read", db->path);
        return NULL;
    }
    if (sqlite3_prepare_v2(
            r,
            "SELECT coalesce(site, ?3), COUNT(*), COUNT(*) FILTER (WHERE answered IS NOT NULL),"
            " COUNT(*) FILTER (WHERE outcome = 'failed'),"
            " COUNT(*) FILTER (WHERE outcome = 'dropped'), AVG(mos), MIN(mos), MIN(start),"
            " MAX(start),"
            " (SELECT COUNT(*) FROM incidents i WHERE coalesce(i.site, ?3) = "
            "  coalesce(calls.site, ?3) AND (?1 <= 0 OR coalesce(i.end, 1e18) >= ?1)"
            "  AND (?2 <= 0 OR i.start <= ?2)),"
            " (SELECT COUNT(*) FROM incidents i WHERE coalesce(i.site, ?3) = "
            "  coalesce(calls.site, ?3) AND json_extract(i.record, '$.state') = 'open')"
            " FROM calls WHERE (?1 <= 0 OR start >= ?1) AND (?2 <= 0 OR start <= ?2)"
            " GROUP BY coalesce(site, ?3) ORDER BY 1",
            -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", db->path, sqlite3_errmsg(r));
        reader_done(db, r);
        return NULL;
    }
    sqlite3_bind_double(st, 1, from);
    sqlite3_bind_double(st, 2, to);
    sqlite3_bind_text(st, 3, db->site ? db->site : "", -1, SQLITE_TRANSIENT);
    arr = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_object();

        json_object_set_new(o, "site", json_string((const char *)sqlite3_column_text(st, 0)));
        json_object_set_new(o, "calls", json_integer(sqlite3_column_int64(st, 1)));
        json_object_set_new(o, "answered", json_integer(sqlite3_column_int64(st, 2)));
        json_object_set_new(o, "failed", json_integer(sqlite3_column_int64(st, 3)));
        json_object_set_new(o, "dropped", json_integer(sqlite3_column_int64(st, 4)));
        for (int k = 5; k <= 8; k++) {
            static const char *const keys[] = { "mos_avg", "mos_min", "first", "last" };

            json_object_set_new(o, keys[k - 5],
                                sqlite3_column_type(st, k) == SQLITE_NULL
                                    ? json_null()
                                    : json_real(sqlite3_column_double(st, k)));
        }
        json_object_set_new(o, "incidents", json_integer(sqlite3_column_int64(st, 9)));
        json_object_set_new(o, "open_incidents", json_integer(sqlite3_column_int64(st, 10)));
        json_array_append_new(arr, o);
    }
    sqlite3_finalize(st);
    reader_done(db, r);
    return arr;
}

static void sq_state(void *b, json_t *o)
{
    struct sq *db = b;

    json_object_set_new(o, "path", json_string(db->path));
}

static void sq_close(void *b)
{
    struct sq *db = b;

    if (!db)
        return;
    sqlite3_close(db->w);
    while (db->nidle)
        sqlite3_close(db->idle[--db->nidle]);
    pthread_mutex_destroy(&db->idle_lock);
    free(db->path);
    free(db->site);
    free(db);
}

static const calldb_ops_t sq_ops = {
    .name = "sqlite",
    .write = sq_write,
    .query = sq_query,
    .get = sq_get,
    .count = sq_count,
    .incidents = sq_incidents,
    .max_incident_id = sq_max_incident_id,
    .sites = sq_sites,
    .state = sq_state,
    .close = sq_close,
};

/* Brings the file to CALLDB_SQLITE_VERSION; 0 or -EIO with err. */
static int migrate(struct sq *db, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    char *msg = NULL;
    int version = 0;

    if (sqlite3_prepare_v2(db->w, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > CALLDB_SQLITE_VERSION) {
        snprintf(err, errlen, "%s: schema version %d is newer than this callwatch's (%d)", db->path,
                 version, CALLDB_SQLITE_VERSION);
        return -EIO;
    }
    if (version < 1 && sqlite3_exec(db->w, migrate_1, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot add the site column: %s", db->path,
                 msg ? msg : sqlite3_errmsg(db->w));
        sqlite3_free(msg);
        sqlite3_exec(db->w, "ROLLBACK", NULL, NULL, NULL);
        return -EIO;
    }
    return 0;
}

void *calldb_sqlite_open(const char *path, const char *site, long retention_days,
                         const calldb_ops_t **ops, char *err, size_t errlen)
{
    struct sq *db = cw_calloc(1, sizeof(*db));
    char *msg = NULL;

    db->path = cw_strdup(path);
    db->site = site ? cw_strdup(site) : NULL;
    db->retention_days = retention_days;
    pthread_mutex_init(&db->idle_lock, NULL);
    if (sqlite3_open_v2(path, &db->w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db->w ? sqlite3_errmsg(db->w) : "cannot open");
        goto fail;
    }
    sqlite3_busy_timeout(db->w, 5000);
    if (sqlite3_exec(db->w, schema, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(db->w));
        sqlite3_free(msg);
        goto fail;
    }
    if (migrate(db, err, errlen) != 0)
        goto fail;
    *ops = &sq_ops;
    return db;
fail:
    sq_close(db);
    return NULL;
}
