/* nmsrrd: link and CPU series read from the RRD files an NMS already keeps.
 *
 * A [link NAME] with `rrd = FILE`, `ds_in`, `ds_out` (bytes per second, as
 * Cacti's traffic_in/traffic_out, MRTG's ds0/ds1 and collectd's rx/tx store
 * them) or a [cpu NAME] with `rrd = FILE`, `ds` (percent) is read with
 * librrd's rrd_fetch (consolidation AVERAGE, the finest archive that covers
 * the range asked for).  Every row becomes a sample stamped with the row's
 * own time (the end of the interval it describes, as in the RRD):
 *
 *   link.NAME.in_bps, link.NAME.out_bps   value * 8
 *   link.NAME.util_pct                    max(in, out) / speed, only with speed =
 *   cpu.NAME.pct                          the value, checked to be 0-100
 *
 * An unknown row (NaN in the RRD) is put as NAN: a gap.  The files are
 * read through rrd/rrdread.h. */
#ifndef CW_NMSRRD_H
#define CW_NMSRRD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/metrics.h"
#include "common/util.h"

typedef struct nmsrrd nmsrrd_t;

typedef struct nmsrrd_status {
    char name[72];
    const char *kind;  /* "link" or "cpu" (static) */
    const char *state; /* "ok", "error" or "idle" (nothing read yet) (static) */
    char file[256];
    char error[256];      /* the last librrd error; "" when ok */
    char note[256];       /* e.g. why util_pct is not computed */
    cw_ns_t last_row;     /* time of the newest row put; 0: none */
    unsigned long step_s; /* resolution of the last read */
    uint64_t rows;        /* rows put since start */
} nmsrrd_status_t;

/* Checks every [link]/[cpu] section with rrd = ...: the file can be read by
 * librrd and has the data sources named.  Returns 0, or -EINVAL with
 * "FILE:LINE: [link NAME]: rrd = PATH: what is wrong" in err. */
int nmsrrd_config_check(const cw_config_t *cfg, char *err, size_t errlen);

/* Creates the reader for the sections of cfg with rrd = ... (cfg is read,
 * not copied, and must outlive it); samples go into m.  Returns NULL with a
 * message in err when nmsrrd_config_check fails.  A configuration without
 * such sections gives a reader with none (nmsrrd_count() == 0). */
nmsrrd_t *nmsrrd_new(const cw_config_t *cfg, metrics_t *m, char *err, size_t errlen);

size_t nmsrrd_count(const nmsrrd_t *n);

/* Offline: puts every row whose interval overlaps [from, to] (row time T
 * with T > from and T - step < to).  Returns 0, or -EIO with the first
 * failure in err (the other files are still read). */
int nmsrrd_load_range(nmsrrd_t *n, cw_ns_t from, cw_ns_t to, char *err, size_t errlen);

/* Live: puts the rows completed since the last call (the first call goes
 * back backfill_s seconds from now).  A row is complete once the file's
 * last update reached its time.  Returns the number of rows put. */
size_t nmsrrd_follow(nmsrrd_t *n, cw_ns_t now, long backfill_s);

/* Runs nmsrrd_follow(now, 3600) every period_ms in a thread.  Returns 0 or
 * a negative errno; stop joins promptly. */
int nmsrrd_start(nmsrrd_t *n, long period_ms);
void nmsrrd_stop(nmsrrd_t *n);

/* Stops if needed and frees; accepts NULL. */
void nmsrrd_free(nmsrrd_t *n);

/* Copies up to max statuses, in configuration order (links first). */
size_t nmsrrd_status(nmsrrd_t *n, nmsrrd_status_t *out, size_t max);

#endif
