/* reload: a configuration re-read on SIGHUP, applied to the running probe.
 *
 * What can change live is applied: the SNMP and NMS targets ([link] and
 * [cpu] sections: the collectors are stopped and new ones started), the
 * alert channels and their limit ([alert]), the dashboard's users (the
 * users file, read again even when its name is the same) and the incident
 * thresholds ([incident]).  Calls, streams, incidents and series are kept.
 * What needs a restart (the interface, the filter, the data directory, the
 * step, the listening address, TLS...) is named in the log when it
 * changed, and the value in force is kept. */
#ifndef CW_RELOAD_H
#define CW_RELOAD_H

#include <stddef.h>

#include "common/config.h"
#include "common/metrics.h"
#include "daemon/collectors.h"
#include "engine/engine.h"
#include "daemon/websources.h"
#include "incident/alert.h"
#include "web/web.h"

/* The running probe's parts that a reload changes. */
typedef struct reload_parts {
    cw_config_t *cfg; /* in force: the engine's and collectors'; changed in place */
    metrics_t *metrics;
    collectors_t **col; /* replaced */
    alert_t **alert;    /* replaced (NULL when no channel is configured) */
    engine_t *e;
    websources_t *ws; /* NULL without the dashboard */
    web_t *web;       /* NULL without the dashboard */
} reload_parts_t;

/* Applies next, a configuration just loaded (with the command line's
 * overrides), to the probe: 0, with what it took from next moved into
 * p->cfg and what p->cfg gave up left in next for the caller to free.
 * -EINVAL with err saying why (a target or channel that cannot be set up,
 * a users file at fault, with its file and line) when nothing was changed. */
int reload_apply(const reload_parts_t *p, cw_config_t *next, char *err, size_t errlen);

/* The settings that differ between a and b and take a restart, as
 * "[probe] interface, [web] listen" into buf ("" when none).  Returns
 * their number. */
int reload_restart_needed(const cw_config_t *a, const cw_config_t *b, char *buf, size_t len);

/* What differs between a and b and is applied live: sections added and
 * removed ("[link wan] added"), thresholds with their old and new values
 * ("[incident] window 60 -> 120"), channels and the users file named.
 * Returns their number.  Targets whose section stayed but whose keys
 * changed are restarted too, without being named. */
int reload_live_changes(const cw_config_t *a, const cw_config_t *b, char *buf, size_t len);

#endif
