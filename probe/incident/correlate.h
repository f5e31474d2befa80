/* correlate: incidents from dropped calls and traffic, link and CPU spikes.
 *
 * Runs in the packet thread at every step, on packet time, so the same
 * capture gives the same incidents however fast it is read.  Kinds:
 *   drops_with_congestion  a drop burst and a spike overlap (within one
 *                          window): the incident callwatch exists for
 *   call_degradation       a drop burst (or a MOS collapse) without a spike
 *   congestion             a spike without drops, sustained
 * An incident extends while its conditions last and resolves once they
 * have been quiet for resolve_windows windows. */
#ifndef CW_CORRELATE_H
#define CW_CORRELATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"
#include "common/metrics.h"
#include "traffic/traffic.h"
#include "common/util.h"

typedef struct correlate correlate_t;

typedef struct correlate_cfg {
    cw_ns_t window;         /* drop-burst window; 0: 60 s */
    long min_drops;         /* dropped calls in a window for a burst; 0: 3 */
    double link_pct;        /* link utilisation spike; 0: 80 */
    double cpu_pct;         /* CPU spike; 0: 85 */
    double spike_factor;    /* traffic spike: k times the trailing median; 0: 3 */
    cw_ns_t baseline;       /* trailing median over; 0: 30 min */
    double min_traffic_bps; /* a relative traffic spike must also exceed this; 0: 500 kbit/s */
    long resolve_windows;   /* quiet windows before resolving; 0: 2 */
    long congestion_steps;  /* a spike alone must last this many steps; 0: 18 */
    double mos_collapse;    /* streams under this MOS count as degraded; 0: 3.1 */
    long min_degraded;      /* degraded streams in a window for a MOS collapse; 0: 3 */
} correlate_cfg_t;

/* Called when an incident opens (resolved false) or resolves (true), with
 * the INCIDENT object (borrowed for the call). */
typedef void (*correlate_notify_fn)(void *ud, const json_t *incident, bool resolved);

/* links, cpus: the configured names (link.NAME.util_pct, cpu.NAME.pct are
 * read from m). */
correlate_t *correlate_new(const correlate_cfg_t *cfg, const cw_config_t *conf, metrics_t *m,
                           traffic_t *tr, correlate_notify_fn notify, void *ud);
void correlate_free(correlate_t *c);

/* New thresholds and watched links and CPUs (a SIGHUP reload): incidents,
 * drops, degraded streams and the traffic history are kept, and so is the
 * state of every series watched before and still watched.  The step stays
 * what it was. */
void correlate_reconfigure(correlate_t *c, const correlate_cfg_t *cfg, const cw_config_t *conf);

/* Incident ids continue after this one (from the database). */
void correlate_set_next_id(correlate_t *c, long next_id);

/* A call dropped at time t (for rtp_timeout: when its media stopped). */
void correlate_call_dropped(correlate_t *c, cw_ns_t t, const char *call_id, double mos,
                            double loss_pct);

/* A stream's quality measured over a window ending at t. */
void correlate_stream_quality(correlate_t *c, cw_ns_t t, const char *call_id, double mos,
                              double loss_pct);

/* The step ending at t is over: traffic in bits and packets per second. */
void correlate_step(correlate_t *c, cw_ns_t t, double bps, double pps);

/* End of input: open incidents stay open (their end is the last step). */
void correlate_finish(correlate_t *c, cw_ns_t t);

/* Every incident so far, oldest first (INCIDENT objects). */
json_t *correlate_incidents_json(correlate_t *c);

/* Incidents still open. */
json_t *correlate_open_json(correlate_t *c);
size_t correlate_open_count(const correlate_t *c);

#endif
