/* rrdstore: the time-series store, one RRD file per family of metrics
 * (rrd/rrdschema.h says which), written off the packet path (see
 * docs/storage.md); rrd/rrdread.h reads it back.
 *
 * Names that rrdschema maps to no table entry each get a misc-*.rrd file
 * of their own: at most RRDSTORE_MAX_GENERIC such files per store; further
 * names are rejected and counted.
 *
 * Writing: producers call rrdstore_update() (or attach the store to the
 * metrics registry); it only copies the sample into a bounded queue.  One
 * writer thread per store takes the queue in batches, gathers the samples of
 * one file at one time into one row, and writes all ready rows of a file in
 * one rrd_update (or rrdcached UPDATE) call.  Files are created on first use,
 * starting one step before their first sample, so offline analysis writes at
 * capture time.
 *
 * Backfill rule: an RRD cannot take a time at or before its last update.
 * Such samples are not written; they are counted, and at the next flush the
 * store logs one warning per file naming the file, its last update and the
 * skipped range, and keeps the warning for the report.
 *
 * Every librrd call is made under rrdlib_lock() (rrd/rrdlib.h).  All
 * functions are thread-safe unless said otherwise. */
#ifndef CW_RRD_RRDSTORE_H
#define CW_RRD_RRDSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/metrics.h"
#include "common/util.h"

typedef struct rrdstore rrdstore_t;

#define RRDSTORE_MAX_GENERIC   256   /* misc-*.rrd files per store */
#define RRDSTORE_QUEUE_DEFAULT 32768 /* samples */
#define RRDSTORE_INTERVAL_MS   1000  /* writer wake-up period */

/* Opens the store in dir (created, with parents, if missing).  step_s <= 0
 * means CW_DEF_STEP_S.  daemon: NULL to use $RRDCACHED_ADDRESS when
 * set, else write the files directly; or "unix:/path" / "/path" (a local
 * rrdcached; dir is made absolute) or "host:port" (a remote one; dir must
 * then be relative to the daemon's base directory and exist there).  Starts
 * the writer thread.
 *
 * Returns NULL on failure with one line naming the directory or daemon in
 * err, and errno set to EINVAL for bad input (dir is not a directory, a
 * malformed address) or another errno for runtime failures. */
rrdstore_t *rrdstore_open(const char *dir, long step_s, const char *daemon, char *err,
                          size_t errlen);

/* As rrdstore_open(), for a probe of a site: with a remote rrdcached
 * ("host:port", given or from $RRDCACHED_ADDRESS) the store's directory
 * is the site's name, relative to the daemon's base directory (-b), which
 * the daemon creates when it runs with -B -R; with no daemon or a local
 * one it is dir, as with rrdstore_open(). */
rrdstore_t *rrdstore_open_site(const char *dir, const char *site, long step_s, const char *daemon,
                               char *err, size_t errlen);

/* A store to read only (the central dashboard): dir is read through the
 * daemon when one is given (relative to its base directory if remote), or
 * directly.  No writer thread; rrdstore_update() refuses samples with
 * -EROFS.  NULL with err as rrdstore_open(). */
rrdstore_t *rrdstore_open_reader(const char *dir, long step_s, const char *daemon, char *err,
                                 size_t errlen);

/* Tuning for tests and benchmarks; call before the first update.  queue_max:
 * samples the queue holds (0 keeps the default); interval_ms: how long the
 * writer sleeps when nothing forces it (0 keeps the default). */
void rrdstore_tune(rrdstore_t *s, size_t queue_max, long interval_ms);

/* Listens to every sample put into m.  The listener only enqueues.  Call
 * before producers start; the store must outlive the producers' puts. */
void rrdstore_attach(rrdstore_t *s, metrics_t *m);

/* Queues one sample (t: when it was measured; a NAN value is a gap).  Never
 * waits for I/O: returns 0, -EINVAL for an invalid name, -EAGAIN when the
 * queue is full (the sample is dropped and counted), -ESHUTDOWN after close
 * began. */
int rrdstore_update(rrdstore_t *s, const char *metric, cw_ns_t t, double value);

/* Returns when every sample queued before the call is on disk (or sent to
 * rrdcached and flushed there), and backfill warnings are out.  Returns 0, or
 * -EIO if some of those samples could not be written (see the log). */
int rrdstore_flush(rrdstore_t *s);

/* Flushes, stops the writer and frees the store.  Accepts NULL. */
void rrdstore_close(rrdstore_t *s);

typedef struct rrdstore_stats {
    uint64_t queued;          /* samples accepted by rrdstore_update */
    uint64_t queue_full;      /* samples dropped: the queue was full */
    uint64_t rejected;        /* invalid names, or generic files over the cap */
    uint64_t samples_written; /* samples in rows that reached a file */
    uint64_t rows_written;    /* rows (one file, one time) written */
    uint64_t updates;         /* rrd_update / rrdcached UPDATE calls */
    uint64_t files_created;
    uint64_t backfill_skipped; /* samples at or before their file's last update */
    uint64_t late;             /* samples for a step this store had already written */
    uint64_t write_errors;     /* samples lost to failed librrd calls */
    size_t queue_len;          /* samples waiting now */
} rrdstore_stats_t;

void rrdstore_get_stats(rrdstore_t *s, rrdstore_stats_t *out);

/* Calls fn for every warning given so far (backfill skips, write errors), in
 * order, with no store lock held. */
void rrdstore_foreach_warning(rrdstore_t *s, void (*fn)(void *ud, const char *msg), void *ud);

/* For graph rendering and reading: the data dir as librrd sees it, the
 * daemon address (NULL when writing directly), the step. */
const char *rrdstore_dir(const rrdstore_t *s);
const char *rrdstore_daemon(const rrdstore_t *s);
long rrdstore_step(const rrdstore_t *s);

#endif
