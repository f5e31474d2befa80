/* rrdread: reads RRD files through librrd.
 *
 * Any RRD file, be it one of the store's or one kept by another NMS (Cacti,
 * LibreNMS): its data source (DS) names, its last update, a fetched range,
 * as plain C.  daemon: NULL to read the file directly, or the address of
 * the rrdcached that writes it; a local rrdcached is told to flush the file
 * first so that the file on disk is complete, a remote one serves the read
 * itself.  On failure err gets librrd's own message, which may be empty.
 *
 * On top of these, what the API and the graphs read from the time-series
 * store: a metric's series, the metrics on disk, whether a file exists.
 * They read what is on disk (through rrdcached when the store uses one);
 * samples still queued in the store are not included: flush first to be
 * exact.
 *
 * Each call loads librrd if needed and holds rrdlib_lock() for its librrd
 * calls only. */
#ifndef CW_RRD_RRDREAD_H
#define CW_RRD_RRDREAD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "rrd/rrdstore.h"

/* ------------------------------------------------------------ any file */

typedef struct rrdread_range {
    time_t start, end;  /* row i is stamped start + (i + 1) * step */
    unsigned long step; /* of the archive read */
    size_t rows;
    size_t nds;
    char **names; /* nds DS names */
    double *data; /* rows * nds values, row by row; NAN for unknown */
} rrdread_range_t;

/* The file's DS names, in the file's order: *names (freed with
 * rrdread_names_free()) and *count.  Returns 0, or -EIO with err (then
 * *names is NULL and *count 0); the message of rrdlib_load() when librrd
 * cannot be loaded. */
int rrdread_ds_names(const char *path, char ***names, size_t *count, char *err, size_t errlen);
void rrdread_names_free(char **names, size_t count);

/* The time of the file's last update, or -1 with err. */
time_t rrdread_last(const char *path, const char *daemon, char *err, size_t errlen);

/* Fetches the rows of consolidation cf after start up to end, from the
 * archive whose step is closest to step among those covering the range
 * (librrd widens the range to whole rows).  Returns 0 with *out to free with
 * rrdread_range_free(), or -EIO with err. */
int rrdread_fetch(const char *path, const char *daemon, const char *cf, time_t start, time_t end,
                  unsigned long step, rrdread_range_t *out, char *err, size_t errlen);
void rrdread_range_free(rrdread_range_t *r);

/* The column of DS ds in r, or -1. */
long rrdread_ds_index(const rrdread_range_t *r, const char *ds);

/* -------------------------------------------------------------- the store */

/* Reads a metric between start and end (Unix seconds) from the finest
 * archive that covers the range, as the /api/series contract object
 * {"metric": NAME, "step": N, "points": [[t, v], ...]} with rows start <= t
 * <= end and null for unknown values.  Returns a new reference, or NULL with
 * a message in err and errno EINVAL (bad name or range) or ENOENT (no
 * file). */
json_t *rrdread_series(rrdstore_t *s, const char *metric, time_t start, time_t end, char *err,
                       size_t errlen);

/* The metrics that exist on disk, as a sorted JSON array of names: every DS
 * of every store file in the data dir.  With a remote rrdcached the
 * directory is listed through it (LIST); a daemon that cannot list leaves
 * the files this store has used. */
json_t *rrdread_metrics(rrdstore_t *s);

/* The sites of a shared store: the directories directly under dir, read
 * directly, or those rrdcached lists (LIST RECURSIVE /) when daemon is
 * remote (dir is then unused), as a sorted JSON array of names. */
json_t *rrdread_subdirs(const char *dir, const char *daemon);

/* Whether the file (relative to the data dir) exists.  Takes rrdlib_lock()
 * when it asks rrdcached. */
bool rrdread_file_exists(rrdstore_t *s, const char *file);

#endif
