#include "autoconf.h"

#include "calldb/calldb.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calldb/calldb_pg.h"
#include "calldb/calldb_sqlite.h"
#include "calldb/calldb_sql.h"
#include "common/util.h"

#define BATCH_MAX      500
#define RETRY_EVERY_MS 1000 /* while records wait for the server */

struct calldb {
    const calldb_ops_t *ops;
    void *b; /* the backend */
    char *site;
    bool readonly;
    pthread_t thread;
    bool running;
    pthread_mutex_t lock;
    pthread_cond_t cond, done;
    calldb_item_t *head, *tail;
    uint64_t queued, committed;
    uint64_t written, write_errors;
    bool stop;
    bool failed;
};

static void items_free(calldb_item_t *items)
{
    while (items) {
        calldb_item_t *q = items;

        items = q->next;
        json_decref(q->rec);
        free(q);
    }
}

/* Waits for records; while the backend holds some for a retry, wakes
 * every RETRY_EVERY_MS to retry.  Must hold the lock. */
static void wait_for_work(calldb_t *db)
{
    while (!db->head && !db->stop) {
        struct timespec until;

        if (!db->ops->pending || !db->ops->pending(db->b)) {
            pthread_cond_wait(&db->cond, &db->lock);
            continue;
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += RETRY_EVERY_MS / 1000;
        if (pthread_cond_timedwait(&db->cond, &db->lock, &until) == ETIMEDOUT) {
            pthread_mutex_unlock(&db->lock);
            db->ops->retry(db->b);
            pthread_mutex_lock(&db->lock);
        }
    }
}

static void *writer(void *arg)
{
    calldb_t *db = arg;

    pthread_mutex_lock(&db->lock);
    for (;;) {
        calldb_item_t *batch, *last;
        int n = 0, rc;

        wait_for_work(db);
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

        rc = db->ops->write(db->b, batch);
        items_free(batch);
        pthread_mutex_lock(&db->lock);
        if (rc != 0) {
            db->failed = true;
            db->write_errors += (uint64_t)n;
        } else {
            db->written += (uint64_t)n;
        }
        db->committed += (uint64_t)n;
        pthread_cond_broadcast(&db->done);
    }
    pthread_mutex_unlock(&db->lock);
    return NULL;
}

static void db_free(calldb_t *db)
{
    if (db->b)
        db->ops->close(db->b);
    pthread_mutex_destroy(&db->lock);
    pthread_cond_destroy(&db->cond);
    pthread_cond_destroy(&db->done);
    free(db->site);
    free(db);
}

calldb_t *calldb_open_options(const calldb_options_t *o, char *err, size_t errlen)
{
    calldb_t *db = cw_calloc(1, sizeof(*db));

    db->site = o->site ? cw_strdup(o->site) : NULL;
    db->readonly = o->readonly;
    pthread_mutex_init(&db->lock, NULL);
    pthread_cond_init(&db->cond, NULL);
    pthread_cond_init(&db->done, NULL);
    if (o->url)
        db->b = calldb_pg_open(o, &db->ops, err, errlen);
    else
        db->b = calldb_sqlite_open(o->path, o->site, o->retention_days, &db->ops, err, errlen);
    if (!db->b)
        goto fail;
    if (!o->readonly) {
        if (pthread_create(&db->thread, NULL, writer, db) != 0) {
            snprintf(err, errlen, "%s: cannot start the writer thread",
                     o->url ? "PostgreSQL" : o->path);
            goto fail;
        }
        pthread_setname_np(db->thread, "cw-calldb");
        db->running = true;
    }
    return db;
fail:
    db_free(db);
    return NULL;
}

calldb_t *calldb_open(const char *path, long retention_days, char *err, size_t errlen)
{
    calldb_options_t o = { .path = path, .retention_days = retention_days };

    return calldb_open_options(&o, err, errlen);
}

static void enqueue(calldb_t *db, json_t *rec, bool incident)
{
    calldb_item_t *q;

    if (db->readonly) {
        json_decref(rec);
        return;
    }
    q = cw_calloc(1, sizeof(*q));
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
    while (db->committed < target && db->running)
        pthread_cond_wait(&db->done, &db->lock);
    pthread_mutex_unlock(&db->lock);
    return db->failed ? -EIO : 0;
}

void calldb_close(calldb_t *db)
{
    if (!db)
        return;
    if (db->running) {
        pthread_mutex_lock(&db->lock);
        db->stop = true;
        pthread_cond_signal(&db->cond);
        pthread_mutex_unlock(&db->lock);
        pthread_join(db->thread, NULL);
    }
    items_free(db->head);
    db_free(db);
}

json_t *calldb_query(calldb_t *db, const calldb_filter_t *f, char *err, size_t errlen)
{
    return db->ops->query(db->b, f, err, errlen);
}

json_t *calldb_get(calldb_t *db, const char *call_id)
{
    return db->ops->get(db->b, call_id, NULL);
}

json_t *calldb_get_site(calldb_t *db, const char *call_id, const char *site)
{
    return db->ops->get(db->b, call_id, site);
}

long calldb_count(calldb_t *db)
{
    return db->ops->count(db->b, db->site);
}

json_t *calldb_incidents(calldb_t *db, double from, double to, char *err, size_t errlen)
{
    return db->ops->incidents(db->b, from, to, NULL, err, errlen);
}

json_t *calldb_incidents_site(calldb_t *db, double from, double to, const char *site, char *err,
                              size_t errlen)
{
    return db->ops->incidents(db->b, from, to, site, err, errlen);
}

long calldb_max_incident_id(calldb_t *db)
{
    return db->ops->max_incident_id(db->b, db->site);
}

json_t *calldb_sites(calldb_t *db, double from, double to, char *err, size_t errlen)
{
    return db->ops->sites(db->b, from, to, err, errlen);
}

json_t *calldb_state_json(calldb_t *db)
{
    json_t *o = json_object();

    json_object_set_new(o, "backend", json_string(db->ops->name));
    pthread_mutex_lock(&db->lock);
    json_object_set_new(o, "written", json_integer((json_int_t)db->written));
    json_object_set_new(o, "write_errors", json_integer((json_int_t)db->write_errors));
    pthread_mutex_unlock(&db->lock);
    db->ops->state(db->b, o);
    return o;
}

const char *calldb_site(const calldb_t *db)
{
    return db->site;
}
