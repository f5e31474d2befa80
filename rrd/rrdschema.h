/* rrdschema: which RRD file, data source (DS) and archives hold each metric
 * of the time-series store.  Pure: touches no file.
 *
 * A table maps every metric name of docs/metrics.md to a file and a DS in
 * it: "traffic.bps" -> traffic.rrd:bps, "link.wan0.util_pct" ->
 * link-wan0.rrd:util_pct, "group.branch-a.calls.dropped" ->
 * group-branch-a.calls.rrd:dropped.  Any other valid metric name goes to a
 * file of its own, misc-NAME.rrd with one DS "value".  Every DS is a GAUGE
 * with a heartbeat of two steps, so a missing sample is a gap, never a
 * zero. */
#ifndef CW_RRD_RRDSCHEMA_H
#define CW_RRD_RRDSCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#define RRDSCHEMA_FILE_MAX        128 /* a file name relative to the data dir */
#define RRDSCHEMA_DS_MAX          20  /* a DS name, as librrd allows (19 + NUL) */
#define RRDSCHEMA_HEARTBEAT_STEPS 2   /* a longer silence is a gap */

/* Where a metric lives. */
typedef struct rrdschema_loc {
    char file[RRDSCHEMA_FILE_MAX]; /* relative to the data dir, e.g. "link-wan0.rrd" */
    char ds[RRDSCHEMA_DS_MAX];     /* the data source in it, e.g. "util_pct" */
    const char *cf;                /* read with: "AVERAGE", or "MIN" for rtp.mos_min */
    double min, max;               /* the DS's bounds; NAN for none */
    bool generic;                  /* a misc-*.rrd file, not a table entry */
    size_t ds_index;               /* the DS's position in the file's update rows */
    size_t nds;                    /* data sources in the file */
} rrdschema_loc_t;

/* Maps a metric name to its file and DS.  Returns 0, or -EINVAL when the
 * name is not a valid metric name. */
int rrdschema_locate(const char *metric, rrdschema_loc_t *out);

/* The DS: and RRA: arguments rrd_create gets for the file holding metric,
 * at step_s seconds per step.  On success *argv is a NULL-terminated array
 * the caller frees with rrdschema_args_free(); returns 0 or -EINVAL. */
int rrdschema_create_args(const char *metric, long step_s, char ***argv, size_t *argc);
void rrdschema_args_free(char **argv);

/* Calls fn with every metric the file named fname (a name in the data dir)
 * holds; returns false, calling nothing, if the name is not one of the
 * store's files. */
bool rrdschema_metrics_of_file(const char *fname, void (*fn)(void *ud, const char *metric),
                               void *ud);

#endif
