/* calldb: call records (and later incidents) in an SQLite database.
 *
 * Writes go through a queue to one writer thread that commits in batches,
 * so the packet path never waits on the disk.  Reads open their own
 * connection and may run in any thread (WAL mode lets them run while the
 * writer commits). */
#ifndef CW_CALLDB_H
#define CW_CALLDB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct calldb calldb_t;

/* Opens or creates the database at path.  retention_days > 0 deletes calls
 * that started more than that many days before the newest call stored
 * (the newest, not the wall clock, so analysing an old capture keeps it). */
calldb_t *calldb_open(const char *path, long retention_days, char *err, size_t errlen);

/* Queues a call record (a call object as in the report, with "streams"
 * and optionally "messages").  Takes ownership of the reference.  A record
 * with the same call_id and start replaces the earlier one. */
void calldb_put(calldb_t *db, json_t *call);

/* Waits until everything queued so far is committed; returns 0 or -EIO. */
int calldb_flush(calldb_t *db);

/* Flushes, stops the writer and closes.  Accepts NULL. */
void calldb_close(calldb_t *db);

typedef struct calldb_filter {
    double from, to;     /* start time range; 0: open */
    const char *outcome; /* NULL: any */
    const char *state;   /* "active", "ended" or NULL */
    const char *party;   /* substring of from/to URI or display name */
    const char *addr;    /* substring of the caller's or callee's ip:port */
    const char *sort;    /* "start" (default), "setup_ms", "mos", "outcome" */
    bool descending;
    long limit, offset; /* limit 0: 1000 */
} calldb_filter_t;

/* {"calls": [...], "total": N} with summaries (no messages); NULL with err
 * set on failure. */
json_t *calldb_query(calldb_t *db, const calldb_filter_t *f, char *err, size_t errlen);

/* The whole record of the newest call with this Call-ID, or NULL. */
json_t *calldb_get(calldb_t *db, const char *call_id);

/* Calls written so far (committed), for tests and the status page. */
long calldb_count(calldb_t *db);

/* Queues an incident (an INCIDENT object of docs/report.md with an integer
 * "id"); one with the same id replaces the earlier.  Takes ownership. */
void calldb_put_incident(calldb_t *db, json_t *incident);

/* Incidents overlapping [from, to] (0: open), oldest first, as an array;
 * NULL with err set on failure. */
json_t *calldb_incidents(calldb_t *db, double from, double to, char *err, size_t errlen);

/* The largest incident id stored (0 if none), so ids continue across runs. */
long calldb_max_incident_id(calldb_t *db);

#endif
