/* rrdgraph: PNG graphs of the store's series, rendered by
 * librrd's rrd_graph in memory (see docs/storage.md, "Graphs").
 *
 * A graph name is a metric name (one series: "traffic.bps",
 * "link.wan0.util_pct") or a composite:
 *   overview  dropped calls, MOS, link utilisation and CPU on one time axis:
 *             the post-incident picture
 *   calls     active, attempts, answered, failed, dropped
 *   quality   RTP loss and jitter, MOS (average and minimum)
 *   traffic   bits per second, split into RTP, SIP and other when known
 *   links     utilisation of every link
 *   cpu       every CPU
 * and "group.NAME.calls", "group.NAME.quality", "group.NAME.traffic" for a
 * group's own series.  Incident windows are shaded across the whole height.
 * Rendering holds rrdlib_lock() (rrd/rrdlib.h). */
#ifndef CW_RRD_RRDGRAPH_H
#define CW_RRD_RRDGRAPH_H

#include <stddef.h>
#include <time.h>

#include "rrd/rrdstore.h"

#define RRDGRAPH_DEFAULT_WIDTH  800
#define RRDGRAPH_DEFAULT_HEIGHT 240
#define RRDGRAPH_MAX_WIDTH      4000
#define RRDGRAPH_MAX_HEIGHT     2000
#define RRDGRAPH_MAX_WINDOWS    64

typedef struct rrdgraph_window {
    time_t start, end; /* Unix seconds, start <= end */
} rrdgraph_window_t;

typedef struct rrdgraph_req {
    const char *name;                 /* metric or composite name */
    time_t start, end;                /* the time axis, Unix seconds, start < end */
    int width, height;                /* of the plot area in pixels; 0: the defaults */
    const rrdgraph_window_t *windows; /* incident windows to shade, may be NULL */
    size_t nwindows;
    const char *title; /* NULL: the graph's name */
} rrdgraph_req_t;

/* Renders req to PNG.  On success *png (malloc'd, the caller frees it) and
 * *len hold the image and 0 is returned; otherwise -EINVAL (bad name,
 * range or size), -ENOENT (no data for that graph) or -EIO (librrd failed),
 * with one line in err. */
int rrdgraph_png(rrdstore_t *s, const rrdgraph_req_t *req, unsigned char **png, size_t *len,
                 char *err, size_t errlen);

/* Whether name is a composite graph name. */
bool rrdgraph_is_composite(const char *name);

#endif
