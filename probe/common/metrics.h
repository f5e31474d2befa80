/* metrics: the latest values and recent history of every named series.
 *
 * Producers (the engine's step tick, the SNMP poller, the NMS import) put
 * samples; consumers (the RRD store, the correlator, the web API) read them
 * or listen.  Names follow docs/metrics.md: "calls.active", "link.wan0.util_pct",
 * "cpu.fw1.pct", ...  A NAN value is a gap (no sample), never a zero.
 * All functions are thread-safe. */
#ifndef CW_METRICS_H
#define CW_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"

#define METRICS_NAME_MAX 96   /* including the terminating NUL */
#define METRICS_HISTORY  1024 /* samples kept per series */

typedef struct metrics metrics_t;

/* Called for every sample put, in the producer's thread, with no metrics
 * lock held.  Must be quick (enqueue, do not write files). */
typedef void (*metrics_listener_fn)(void *ud, const char *name, cw_ns_t t, double value);

metrics_t *metrics_new(void);
void metrics_free(metrics_t *m);

/* Adds a listener; call before producers start. */
void metrics_listen(metrics_t *m, metrics_listener_fn fn, void *ud);

/* Records a sample.  Returns 0, -EINVAL for a bad name (empty, too long,
 * or characters outside [A-Za-z0-9_.-]), or -ENOSPC when the series table is
 * full. */
int metrics_put(metrics_t *m, const char *name, cw_ns_t t, double value);

/* The newest sample of a series; returns false if there is none. */
bool metrics_latest(metrics_t *m, const char *name, cw_ns_t *t, double *value);

/* Copies the samples with from <= t <= to, oldest first, at most max;
 * returns how many were copied. */
size_t metrics_range(metrics_t *m, const char *name, cw_ns_t from, cw_ns_t to, cw_ns_t *ts,
                     double *values, size_t max);

/* Calls fn for the newest sample of every series, in name order. */
void metrics_foreach_latest(metrics_t *m, metrics_listener_fn fn, void *ud);

bool metrics_name_valid(const char *name);

#endif
