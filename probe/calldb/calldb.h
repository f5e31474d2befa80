/* calldb: call records and incidents, in a local SQLite file or in a
 * PostgreSQL database shared by several probes (docs/calls.md, "The call
 * database"; docs/sites.md).
 *
 * Writes go through a queue to one writer thread that commits in batches,
 * so the packet path never waits on the disk or the network.  Reads may
 * run in any thread, each on a connection of its own (SQLite's WAL mode
 * lets them run while the writer commits).
 *
 * Records carry their site (the "site" key of the call or incident
 * object); with PostgreSQL a record is keyed by site, Call-ID and start, an
 * incident by site and id. */
#ifndef CW_CALLDB_H
#define CW_CALLDB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct calldb calldb_t;

/* Opens or creates the SQLite database at path.  retention_days > 0
 * deletes calls that started more than that many days before the newest
 * call stored (the newest, not the wall clock, so analysing an old capture
 * keeps it). */
calldb_t *calldb_open(const char *path, long retention_days, char *err, size_t errlen);

typedef struct calldb_options {
    const char *path;         /* SQLite file, when url is NULL */
    const char *url;          /* a libpq connection URI: PostgreSQL */
    const char *site;         /* this probe's site: retention, counts, ids */
    long retention_days;      /* as calldb_open(); with PostgreSQL per site */
    const char *spool_path;   /* PostgreSQL: where records wait while it is away */
    uint64_t spool_max_bytes; /* the spool's bound; 0: CW_DEF_SPOOL_MB */
    bool readonly;            /* reads only (the central dashboard): no writer */
} calldb_options_t;

/* Opens the database o describes.  With PostgreSQL the tables are created
 * or migrated to the current schema version on first use, unless
 * readonly; a server that cannot be reached at open is an error (after
 * that the probe spools, see calldb_state_json()).  NULL with err naming
 * the file or server. */
calldb_t *calldb_open_options(const calldb_options_t *o, char *err, size_t errlen);

/* Queues a call record (a call object as in the report, with "streams"
 * and optionally "messages").  Takes ownership of the reference.  A record
 * with the same site, call_id and start replaces the earlier one. */
void calldb_put(calldb_t *db, json_t *call);

/* Waits until everything queued so far is committed (or, with PostgreSQL
 * away, safe in the spool); returns 0 or -EIO. */
int calldb_flush(calldb_t *db);

/* Flushes, stops the writer and closes.  Accepts NULL. */
void calldb_close(calldb_t *db);

typedef struct calldb_filter {
    double from, to;     /* start time range; 0: open */
    const char *outcome; /* NULL: any */
    const char *state;   /* "active", "ended" or NULL */
    const char *party;   /* substring of from/to URI or display name */
    const char *addr;    /* substring of the caller's or callee's ip:port */
    const char *site;    /* NULL: every site */
    const char *sort;    /* "start" (default), "setup_ms", "mos", "outcome", "end" */
    bool descending;
    long limit, offset; /* limit 0: 1000 */
} calldb_filter_t;

/* {"calls": [...], "total": N} with summaries (no messages); NULL with err
 * set on failure. */
json_t *calldb_query(calldb_t *db, const calldb_filter_t *f, char *err, size_t errlen);

/* The whole record of the newest call with this Call-ID (of site, NULL:
 * any), or NULL. */
json_t *calldb_get(calldb_t *db, const char *call_id);
json_t *calldb_get_site(calldb_t *db, const char *call_id, const char *site);

/* Calls written so far (committed) of this probe's site (every call of a
 * SQLite file), for tests and the status page; -1 on failure. */
long calldb_count(calldb_t *db);

/* Queues an incident (an INCIDENT object of docs/report.md with an integer
 * "id"); one with the same site and id replaces the earlier.  Takes
 * ownership. */
void calldb_put_incident(calldb_t *db, json_t *incident);

/* Incidents overlapping [from, to] (0: open), of site (NULL: any), oldest
 * first, as an array; NULL with err set on failure. */
json_t *calldb_incidents(calldb_t *db, double from, double to, char *err, size_t errlen);
json_t *calldb_incidents_site(calldb_t *db, double from, double to, const char *site, char *err,
                              size_t errlen);

/* The largest incident id stored for this probe's site (0 if none), so ids
 * continue across runs. */
long calldb_max_incident_id(calldb_t *db);

/* Every site with calls starting in [from, to] (0: open) or incidents, by
 * name: [{"site", "calls", "answered", "failed", "dropped", "mos_avg",
 * "mos_min", "first", "last", "incidents", "open_incidents"}]; NULL with
 * err set on failure. */
json_t *calldb_sites(calldb_t *db, double from, double to, char *err, size_t errlen);

/* The backend's state: {"backend": "sqlite"|"postgresql", "written",
 * "write_errors", and for PostgreSQL "connected", "spooled",
 * "spool_bytes", "spool_max_bytes", "spool_dropped", "last_error"}. */
json_t *calldb_state_json(calldb_t *db);

/* The site given at open (NULL for calldb_open()). */
const char *calldb_site(const calldb_t *db);

#endif
