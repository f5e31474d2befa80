/* groups: per-site series for the [group NAME] sections (subnets = ...).
 *
 * A packet counts for every group its source or destination belongs to; a
 * call for the groups of its caller's and callee's signalling addresses; a
 * stream for those of its two ends.  Each step puts group.NAME.calls.*,
 * group.NAME.rtp.* and group.NAME.traffic.* (the same names as the
 * probe-wide series).  At most 32 groups.  Not thread-safe: the packet
 * thread owns it. */
#ifndef CW_GROUPS_H
#define CW_GROUPS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/metrics.h"
#include "traffic/traffic.h"
#include "common/util.h"

#define GROUPS_MAX 32

typedef struct groups groups_t;

/* NULL when the configuration has no groups (every call below accepts NULL). */
groups_t *groups_new(const cw_config_t *cfg);
void groups_free(groups_t *g);

/* The groups an address belongs to, as a bit mask. */
uint32_t groups_match(const groups_t *g, const cw_addr_t *a);

void groups_packet(groups_t *g, uint32_t mask, uint32_t wirelen, enum traffic_class cls);
void groups_call_attempt(groups_t *g, uint32_t mask);
void groups_call_answered(groups_t *g, uint32_t mask);
/* An answered call that ends leaves the active count (was_up); failed and
 * dropped count in their step. */
void groups_call_ended(groups_t *g, uint32_t mask, bool was_up, bool failed, bool dropped);
/* A stream's quality over the step. */
void groups_stream(groups_t *g, uint32_t mask, double mos, double loss_pct, double jitter_ms);

/* The step ending at t (secs long) is over: puts every group's series. */
void groups_step(groups_t *g, metrics_t *m, cw_ns_t t, double secs);

#endif
