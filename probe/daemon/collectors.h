/* collectors: the series that come from outside the capture, the SNMP
 * poller and the NMS RRD reader, started and stopped together.  Live, the
 * poller polls and the reader follows its files; offline, the reader loads
 * the NMS series over the capture's span and nothing is polled. */
#ifndef CW_COLLECTORS_H
#define CW_COLLECTORS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"
#include "common/metrics.h"
#include "engine/engine.h"
#include "daemon/readloop.h"

typedef struct collectors collectors_t;

/* Checks cfg's [link] and [cpu] sections and makes their collectors
 * (cfg is read, not copied, and must outlive them); samples go into m.
 * NULL with the file, line and key at fault in err. */
collectors_t *collectors_new(const cw_config_t *cfg, metrics_t *m, bool live, char *err,
                             size_t errlen);
void collectors_free(collectors_t *col);

/* Live: starts polling and following (failures are logged). */
void collectors_start(collectors_t *col);

/* Offline: loads the NMS series over the span of rl's files; a failure is
 * a warning in e's report. */
void collectors_load_offline(collectors_t *col, readloop_t *rl, engine_t *e);

/* Every SNMP target and NMS series with its state, for /api/status "targets":
 * a new array. */
json_t *collectors_targets_json(const collectors_t *col);

#endif
