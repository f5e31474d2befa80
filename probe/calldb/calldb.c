#include "autoconf.h"

#include "calldb/calldb.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define BATCH_MAX     500
#define BATCH_WAIT_MS 200

struct qitem {
    json_t *rec;
    bool incident;
    struct qitem *next;
};

#define READERS_KEPT 8

struct calldb {
    char *path;
    long retention_days;
    sqlite3 *w; /* the writer's connection */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond, done;
    struct qitem *head, *tail;
    uint64_t queued, committed;
    bool stop;
    bool failed;
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

static const char upsert_sql[] =
    "INSERT INTO calls (call_id, start, answered, end, outcome, sip_code, end_reason, setup_ms,"
    " from_uri, to_uri, from_display, to_display, caller, callee, codec, mos, mos_min, loss_pct,"
    " jitter_ms, record) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT(call_id, start) DO UPDATE SET answered=excluded.answered, end=excluded.end,"
    " outcome=excluded.outcome, sip_code=excluded.sip_code, end_reason=excluded.end_reason,"
    " setup_ms=excluded.setup_ms, codec=excluded.codec, mos=excluded.mos,"
    " mos_min=excluded.mos_min, loss_pct=excluded.loss_pct, jitter_ms=excluded.jitter_ms,"
    " record=excluded.record";

static void bind_text(sqlite3_stmt *st, int i, const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void bind_num(sqlite3_stmt *st, int i, const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    if (json_is_integer(v))
        sqlite3_bind_int64(st, i, json_integer_value(v));
    else if (json_is_real(v))
        sqlite3_bind_double(st, i, json_real_value(v));
    else
        sqlite3_bind_null(st, i);
}

/* Stream figures summarised per call: the worst MOS, the mean loss and jitter. */
static void bind_quality(sqlite3_stmt *st, const json_t *rec)
{
    const json_t *streams = json_object_get(rec, "streams"), *s;
    double mos = 0, mos_min = 0, loss = 0, jit = 0;
    size_t i, n = 0;

    json_array_foreach(streams, i, s)
    {
        double m = json_number_value(json_object_get(s, "mos"));
        double mm = json_number_value(json_object_get(s, "mos_min"));

        if (!json_is_number(json_object_get(s, "mos")))
            continue;
        if (n == 0 || m < mos)
            mos = m;
        if (n == 0 || mm < mos_min)
            mos_min = mm;
        loss += json_number_value(json_object_get(s, "loss_pct"));
        jit += json_number_value(json_object_get(s, "jitter_mean_ms"));
        n++;
    }
    if (n) {
        sqlite3_bind_double(st, 16, mos);
        sqlite3_bind_double(st, 17, mos_min);
        sqlite3_bind_double(st, 18, loss / (double)n);
        sqlite3_bind_double(st, 19, jit / (double)n);
    } else {
        for (int k = 16; k <= 19; k++)
            sqlite3_bind_null(st, k);
    }
}

static int write_incident(calldb_t *db, const json_t *inc)
{
    sqlite3_stmt *st = NULL;
    char *text = json_dumps(inc, JSON_COMPACT);
    int rc = 0;

    if (sqlite3_prepare_v2(db->w,
                           "INSERT INTO incidents (id, kind, start, end, record) VALUES (?,?,?,?,?)"
                           " ON CONFLICT(id) DO UPDATE SET kind=excluded.kind,"
                           " start=excluded.start, end=excluded.end, record=excluded.record",
                           -1, &st, NULL) != SQLITE_OK) {
        free(text);
        return -EIO;
    }
    sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(inc, "id")));
    bind_text(st, 2, inc, "kind");
    sqlite3_bind_double(st, 3, json_number_value(json_object_get(inc, "start")));
    bind_num(st, 4, inc, "end");
    sqlite3_bind_text(st, 5, text ? text : "{}", -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        cw_log(CW_LOG_ERR, "%s: %s", db->path, sqlite3_errmsg(db->w));
        rc = -EIO;
    }
    sqlite3_finalize(st);
    free(text);
    return rc;
}

static int write_batch(calldb_t *db, struct qitem *items)
{
    sqlite3_stmt *st = NULL;
    double newest = 0;
    int rc = 0;

    if (sqlite3_exec(db->w, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->w, upsert_sql, -1, &st, NULL) != SQLITE_OK) {
        cw_log(CW_LOG_ERR, "%s: %s", db->path, sqlite3_errmsg(db->w));
        sqlite3_finalize(st);
        return -EIO;
    }
    for (struct qitem *q = items; q; q = q->next) {
        char *text;
        double start;

        if (q->incident) {
            if (write_incident(db, q->rec) != 0)
                rc = -EIO;
            continue;
        }
        text = json_dumps(q->rec, JSON_COMPACT);
        start = json_number_value(json_object_get(q->rec, "start"));

        bind_text(st, 1, q->rec, "call_id");
        sqlite3_bind_double(st, 2, start);
        bind_num(st, 3, q->rec, "answered");
        bind_num(st, 4, q->rec, "end");
        bind_text(st, 5, q->rec, "outcome");
        bind_num(st, 6, q->rec, "sip_code");
        bind_text(st, 7, q->rec, "end_reason");
        bind_num(st, 8, q->rec, "setup_ms");
        bind_text(st, 9, q->rec, "from");
        bind_text(st, 10, q->rec, "to");
        bind_text(st, 11, q->rec, "from_display");
        bind_text(st, 12, q->rec, "to_display");
        bind_text(st, 13, q->rec, "caller");
        bind_text(st, 14, q->rec, "callee");
        bind_text(st, 15, q->rec, "codec");
        bind_quality(st, q->rec);
        sqlite3_bind_text(st, 20, text ? text : "{}", -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE) {
            cw_log(CW_LOG_ERR, "%s: %s", db->path, sqlite3_errmsg(db->w));
            rc = -EIO;
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        free(text);
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

static void *writer(void *arg)
{
    calldb_t *db = arg;

    pthread_mutex_lock(&db->lock);
    for (;;) {
        struct qitem *batch, *last;
        int n = 0;

        while (!db->head && !db->stop)
            pthread_cond_wait(&db->cond, &db->lock);
        if (!db->head && db->stop)
            break;
        /* Take up to BATCH_MAX records. */
        batch = last = db->head;
        for (n = 1; last->next && n < BATCH_MAX; n++)
            last = last->next;
        db->head = last->next;
        if (!db->head)
            db->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&db->lock);

        if (write_batch(db, batch) != 0)
            db->failed = true;
        while (batch) {
            struct qitem *q = batch;

            batch = q->next;
            json_decref(q->rec);
            free(q);
        }
        pthread_mutex_lock(&db->lock);
        db->committed += (uint64_t)n;
        pthread_cond_broadcast(&db->done);
    }
    pthread_mutex_unlock(&db->lock);
    return NULL;
}

calldb_t *calldb_open(const char *path, long retention_days, char *err, size_t errlen)
{
    calldb_t *db = cw_calloc(1, sizeof(*db));
    char *msg = NULL;

    db->path = cw_strdup(path);
    db->retention_days = retention_days;
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
    pthread_mutex_init(&db->lock, NULL);
    pthread_mutex_init(&db->idle_lock, NULL);
    pthread_cond_init(&db->cond, NULL);
    pthread_cond_init(&db->done, NULL);
    if (pthread_create(&db->thread, NULL, writer, db) != 0) {
        snprintf(err, errlen, "%s: cannot start the writer thread", path);
        goto fail;
    }
    pthread_setname_np(db->thread, "cw-calldb");
    return db;
fail:
    sqlite3_close(db->w);
    free(db->path);
    free(db);
    return NULL;
}

static void enqueue(calldb_t *db, json_t *rec, bool incident)
{
    struct qitem *q = cw_calloc(1, sizeof(*q));

    q->rec = rec;
    q->incident = incident;
    pthread_mutex_lock(&db->lock);
    if (db->tail)
        db->tail->next = q;
    else
        db->head = q;
    db->tail = q;
    db->queued++;
    pthread_cond_signal(&db->cond);
    pthread_mutex_unlock(&db->lock);
}

void calldb_put(calldb_t *db, json_t *call)
{
    enqueue(db, call, false);
}

void calldb_put_incident(calldb_t *db, json_t *incident)
{
    enqueue(db, incident, true);
}

int calldb_flush(calldb_t *db)
{
    uint64_t target;

    pthread_mutex_lock(&db->lock);
    target = db->queued;
    while (db->committed < target)
        pthread_cond_wait(&db->done, &db->lock);
    pthread_mutex_unlock(&db->lock);
    return db->failed ? -EIO : 0;
}

void calldb_close(calldb_t *db)
{
    if (!db)
        return;
    pthread_mutex_lock(&db->lock);
    db->stop = true;
    pthread_cond_signal(&db->cond);
    pthread_mutex_unlock(&db->lock);
    pthread_join(db->thread, NULL);
    sqlite3_close(db->w);
    while (db->nidle)
        sqlite3_close(db->idle[--db->nidle]);
    pthread_mutex_destroy(&db->idle_lock);
    pthread_mutex_destroy(&db->lock);
    pthread_cond_destroy(&db->cond);
    pthread_cond_destroy(&db->done);
    free(db->path);
    free(db);
}

static sqlite3 *reader(calldb_t *db)
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
static void reader_done(calldb_t *db, sqlite3 *r)
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

json_t *calldb_query(calldb_t *db, const calldb_filter_t *f, char *err, size_t errlen)
{
    static const char *const sorts[] = { "start", "setup_ms", "mos", "outcome", "end", NULL };
    char where[512] = "1=1", sql[1024];
    const char *sort = "start";
    sqlite3 *r = reader(db);
    sqlite3_stmt *st = NULL;
    json_t *out = NULL, *arr;
    long limit = f->limit > 0 ? f->limit : 1000;
    int i = 1;

    if (!r) {
        snprintf(err, errlen, "%s: cannot be read", db->path);
        return NULL;
    }
    for (int k = 0; f->sort && sorts[k]; k++)
        if (strcmp(f->sort, sorts[k]) == 0)
            sort = sorts[k];
    if (f->from > 0)
        strcat(where, " AND start >= :from");
    if (f->to > 0)
        strcat(where, " AND start <= :to");
    if (f->outcome)
        strcat(where, " AND outcome = :outcome");
    if (f->state && strcmp(f->state, "active") == 0)
        strcat(where, " AND outcome = 'active'");
    else if (f->state && strcmp(f->state, "ended") == 0)
        strcat(where, " AND outcome <> 'active'");
    if (f->party)
        strcat(where, " AND (instr(from_uri, :party) OR instr(to_uri, :party) OR "
                      "instr(from_display, :party) OR instr(to_display, :party))");
    if (f->addr)
        strcat(where, " AND (instr(caller, :addr) OR instr(callee, :addr))");
    snprintf(sql, sizeof(sql),
             "SELECT json_remove(record, '$.messages'), (SELECT COUNT(*) FROM calls WHERE %s) "
             "FROM calls WHERE %s ORDER BY %s %s, id LIMIT %ld OFFSET %ld",
             where, where, sort, f->descending ? "DESC" : "ASC", limit,
             f->offset > 0 ? f->offset : 0);
    if (sqlite3_prepare_v2(r, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", db->path, sqlite3_errmsg(r));
        goto out;
    }
    if ((i = sqlite3_bind_parameter_index(st, ":from")))
        sqlite3_bind_double(st, i, f->from);
    if ((i = sqlite3_bind_parameter_index(st, ":to")))
        sqlite3_bind_double(st, i, f->to);
    if ((i = sqlite3_bind_parameter_index(st, ":outcome")))
        sqlite3_bind_text(st, i, f->outcome, -1, SQLITE_TRANSIENT);
    if ((i = sqlite3_bind_parameter_index(st, ":party")))
        sqlite3_bind_text(st, i, f->party, -1, SQLITE_TRANSIENT);
    if ((i = sqlite3_bind_parameter_index(st, ":addr")))
        sqlite3_bind_text(st, i, f->addr, -1, SQLITE_TRANSIENT);
    out = json_object();
    arr = json_array();
    json_object_set_new(out, "calls", arr);
    json_object_set_new(out, "total", json_integer(0));
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        json_t *rec = text ? json_loads(text, 0, NULL) : NULL;

        json_object_set_new(out, "total", json_integer(sqlite3_column_int64(st, 1)));
        if (rec)
            json_array_append_new(arr, rec);
    }
out:
    sqlite3_finalize(st);
    reader_done(db, r);
    return out;
}

json_t *calldb_get(calldb_t *db, const char *call_id)
{
    sqlite3 *r = reader(db);
    sqlite3_stmt *st = NULL;
    json_t *rec = NULL;

    if (!r)
        return NULL;
    if (sqlite3_prepare_v2(r,
                           "SELECT record FROM calls WHERE call_id = ? ORDER BY start DESC "
                           "LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, call_id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *text = (const char *)sqlite3_column_text(st, 0);

            rec = text ? json_loads(text, 0, NULL) : NULL;
        }
    }
    sqlite3_finalize(st);
    reader_done(db, r);
    return rec;
}

long calldb_count(calldb_t *db)
{
    sqlite3 *r = reader(db);
    sqlite3_stmt *st = NULL;
    long n = -1;

    if (!r)
        return -1;
    if (sqlite3_prepare_v2(r, "SELECT COUNT(*) FROM calls", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    reader_done(db, r);
    return n;
}

json_t *calldb_incidents(calldb_t *db, double from, double to, char *err, size_t errlen)
{
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
            " AND (?2 <= 0 OR start <= ?2) ORDER BY start, id",
            -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", db->path, sqlite3_errmsg(r));
        reader_done(db, r);
        return NULL;
    }
    sqlite3_bind_double(st, 1, from);
    sqlite3_bind_double(st, 2, to);
    arr = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        json_t *rec = text ? json_loads(text, 0, NULL) : NULL;

        if (rec)
            json_array_append_new(arr, rec);
    }
    sqlite3_finalize(st);
    reader_done(db, r);
    return arr;
}

long calldb_max_incident_id(calldb_t *db)
{
    sqlite3 *r = reader(db);
    sqlite3_stmt *st = NULL;
    long n = 0;

    if (!r)
        return 0;
    if (sqlite3_prepare_v2(r, "SELECT coalesce(MAX(id), 0) FROM incidents", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    reader_done(db, r);
    return n;
}
