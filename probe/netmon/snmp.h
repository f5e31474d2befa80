/* snmp: polls link counters and CPU load from SNMP agents (net-snmp).
 *
 * One thread polls every target of the configuration: each [link NAME] and
 * [cpu NAME] section with `snmp = HOST[:PORT]`.  It uses net-snmp's
 * single-session API asynchronously, so a dead or slow agent never holds up
 * another target, and nothing here touches the packet path.  Samples go into
 * the metrics registry:
 *
 *   link.NAME.in_bps, link.NAME.out_bps   bits per second
 *   link.NAME.util_pct                    max(in, out) over the link speed, 0-100
 *   link.NAME.errors                      (in+out errors + in+out discards) per second
 *   cpu.NAME.pct                          0-100
 *
 * stamped with the wall-clock time the answer arrived.  A failed poll puts
 * NAN (a gap), never a zero.
 *
 * This module is the thread and what the answers to walks and GETs mean;
 * netmon/snmptarget sends a target's requests and keeps its state,
 * netmon/snmpcounter has the wrap, restart and gap rules, netmon/snmpconf
 * checks the configuration and netmon/snmplib loads net-snmp. */
#ifndef CW_SNMP_H
#define CW_SNMP_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/metrics.h"
#include "common/util.h"

typedef struct snmp_poller snmp_poller_t;

#define SNMP_STATUS_TEXT 256

/* A target's state, as text in snmp_target_status_t.state:
 *   "resolving"       working out where and what to poll: name lookup, SNMPv3
 *                     engine discovery, ifName -> ifIndex, table rows
 *   "up"              the last poll was answered
 *   "timeout"         no answer (agent down, wrong port, wrong v1/v2c
 *                     community, wrong v3 privacy password)
 *   "auth_error"      the agent refused the v3 credentials (wrong password,
 *                     unknown user, unsupported security level)
 *   "no_such_object"  the agent does not have the object (noSuchObject,
 *                     noSuchInstance, noSuchName, an empty table, an ifname
 *                     that no interface has)
 *   "error"           anything else (send failure, error status, bad value) */
typedef struct snmp_target_status {
    char name[72];
    const char *kind;                   /* "link" or "cpu" (static) */
    const char *state;                  /* one of the states above (static) */
    char agent[128];                    /* as configured */
    char error[SNMP_STATUS_TEXT];       /* what went wrong last; "" while up */
    char note[SNMP_STATUS_TEXT];        /* sanity remarks on the last value, e.g. a clamp */
    cw_ns_t last_ok;                    /* wall time of the last answered poll; 0: never */
    cw_ns_t last_change;                /* wall time the state last changed */
    uint64_t polls, failures, restarts; /* counts since start */
    /* Last values; NAN when unknown or not applicable. */
    double in_bps, out_bps, util_pct, errors_ps; /* links */
    double speed_bps;                            /* links: the speed used */
    long ifindex;                                /* links: 0 if unknown */
    int oper_status;                             /* links: ifOperStatus, 0 if unknown */
    double cpu_pct;                              /* cpus */
} snmp_target_status_t;

/* Creates a poller for the targets of cfg (sections with snmp = ...); cfg is
 * read, not copied, and must outlive the poller.  m receives the samples.
 * Returns NULL with a message naming the section in err when the
 * configuration is bad (see snmpconf_check).  A configuration without
 * targets gives a poller with none (snmp_poller_count() == 0). */
snmp_poller_t *snmp_poller_new(const cw_config_t *cfg, metrics_t *m, char *err, size_t errlen);

/* Number of targets. */
size_t snmp_poller_count(const snmp_poller_t *p);

/* Starts the polling thread; returns 0 or a negative errno. */
int snmp_poller_start(snmp_poller_t *p);

/* Stops and joins the thread; returns within about 100 ms whatever the
 * agents do.  Safe to call when not started. */
void snmp_poller_stop(snmp_poller_t *p);

/* Stops if needed and frees; accepts NULL. */
void snmp_poller_free(snmp_poller_t *p);

/* Copies the status of up to max targets into out, in configuration order
 * (links first); returns how many were copied.  Thread-safe. */
size_t snmp_poller_status(snmp_poller_t *p, snmp_target_status_t *out, size_t max);

#endif
