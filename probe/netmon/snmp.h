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
 * NAN (a gap), never a zero.  See the README, "SNMP polling" for the wrap, restart and gap
 * rules, which the helpers at the end of this header implement. */
#ifndef CW_SNMP_H
#define CW_SNMP_H

#include <stdbool.h>
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

/* Checks the SNMP part of every [link] and [cpu] section: the agent address
 * (HOST, HOST:PORT, [V6]:PORT), the auth and priv protocols, the oid, and
 * SNMPv3 users that two sections on one agent give different passwords.
 * Returns 0, or -EINVAL with "FILE:LINE: [link NAME]: what is wrong" in err. */
int snmp_config_check(const cw_config_t *cfg, char *err, size_t errlen);

/* Creates a poller for the targets of cfg (sections with snmp = ...); cfg is
 * read, not copied, and must outlive the poller.  m receives the samples.
 * Returns NULL with a message naming the section in err when the
 * configuration is bad (see snmp_config_check).  A configuration without
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

/* ------------------------------------------------------------------------
 * Arithmetic helpers, pure and exposed for the table-driven tests.
 */

enum snmp_delta {
    SNMP_DELTA_OK = 0,    /* cur >= prev */
    SNMP_DELTA_WRAP,      /* cur < prev, accepted as one wrap of the counter */
    SNMP_DELTA_BACKWARDS, /* cur < prev and not a plausible wrap: discard */
};

/* The increase of a `bits`-wide counter (32 or 64) from prev to cur.  A
 * decrease is one wrap only when the wrapped increase is at most max_delta
 * (pass 0 for "no better bound": half the counter's range).  *out is set for
 * OK and WRAP. */
enum snmp_delta snmp_counter_delta(uint64_t prev, uint64_t cur, unsigned bits, uint64_t max_delta,
                                   uint64_t *out);

enum snmp_elapsed {
    SNMP_ELAPSED_UPTIME = 0, /* dt from the agent's sysUpTime */
    SNMP_ELAPSED_WALL,       /* dt from our poll times (no or implausible sysUpTime) */
    SNMP_ELAPSED_RESTART,    /* sysUpTime says the agent restarted: no dt */
};

/* Time between two polls.  wall_dt_s is the time between the answers as we
 * saw them; the uptimes are sysUpTime in hundredths (32-bit TimeTicks).
 * sysUpTime is used when it agrees with wall_dt_s within max(2 s, 25 %),
 * including across its own 497-day wrap; when it went back, or advanced
 * clearly less than the wall clock, the agent restarted. */
enum snmp_elapsed snmp_elapsed(bool have_uptime, uint32_t prev_ticks, uint32_t cur_ticks,
                               double wall_dt_s, double *dt_s);

/* One poll of a link, as the rate arithmetic needs it. */
typedef struct snmp_link_sample {
    bool valid;
    cw_ns_t t_ns; /* when the answer arrived (a monotonic clock) */
    bool have_uptime;
    uint32_t uptime_ticks;
    bool have_octets;
    unsigned octet_bits; /* 64 (ifHC*) or 32 (ifIn/OutOctets) */
    uint64_t in_octets, out_octets;
    unsigned err_have;  /* bit i: err[i] present */
    uint32_t err[4];    /* ifInErrors, ifOutErrors, ifInDiscards, ifOutDiscards */
    uint64_t speed_bps; /* 0: unknown */
} snmp_link_sample_t;

enum snmp_rate_verdict {
    SNMP_RATE_OK = 0,
    SNMP_RATE_FIRST,     /* no previous sample: baseline only */
    SNMP_RATE_RESTART,   /* agent restarted: interval skipped */
    SNMP_RATE_GAP,       /* previous sample too old (missed polls): interval skipped */
    SNMP_RATE_BACKWARDS, /* a counter went back without a restart: discarded */
    SNMP_RATE_NO_TIME,   /* zero or negative elapsed time */
    SNMP_RATE_CHANGED,   /* counter width changed (HC appeared or vanished) */
};

typedef struct snmp_link_rates {
    enum snmp_rate_verdict verdict;
    double dt_s;
    bool wrapped;           /* a counter wrapped in this interval */
    double in_bps, out_bps; /* NAN unless verdict is OK */
    double util_pct;        /* NAN without a speed; clamped to 0-100 */
    double util_raw_pct;    /* before the clamp */
    bool util_clamped;
    double errors_ps; /* NAN when no error counter is present in both */
} snmp_link_rates_t;

/* Longest interval turned into a rate, in configured intervals. */
#define SNMP_MAX_GAP_INTERVALS 3

/* Rates between two polls of a link polled every interval_s seconds. */
void snmp_link_rates(const snmp_link_sample_t *prev, const snmp_link_sample_t *cur, long interval_s,
                     snmp_link_rates_t *out);

/* UCD-SNMP-MIB raw CPU counters (1.3.6.1.4.1.2021.11.N.0), in the order
 * of snmp_ucd_cpu_pct's arrays. */
enum snmp_ucd_counter {
    SNMP_UCD_USER = 0,  /* ssCpuRawUser 50 */
    SNMP_UCD_NICE,      /* ssCpuRawNice 51 */
    SNMP_UCD_SYSTEM,    /* ssCpuRawSystem 52 */
    SNMP_UCD_IDLE,      /* ssCpuRawIdle 53 */
    SNMP_UCD_WAIT,      /* ssCpuRawWait 54 */
    SNMP_UCD_INTERRUPT, /* ssCpuRawInterrupt 56 */
    SNMP_UCD_SOFTIRQ,   /* ssCpuRawSoftIRQ 61 */
    SNMP_UCD_STEAL,     /* ssCpuRawSteal 64 */
    SNMP_UCD_NCOUNTERS
};

/* Busy percentage between two readings of the raw counters (Counter32, each
 * may wrap once): busy = user + nice + system + interrupt + softirq + steal,
 * idle = idle + wait.  Counters absent in either reading (bit i of have
 * clear) count as zero; idle and user must be present.  Returns 0 with
 * *pct in 0-100, -EAGAIN when no tick passed or prev is all zeros (snmpd
 * answers zeros until it first reads its counters), -EINVAL when a counter
 * went back implausibly. */
int snmp_ucd_cpu_pct(const uint32_t prev[SNMP_UCD_NCOUNTERS],
                     const uint32_t cur[SNMP_UCD_NCOUNTERS], unsigned have, double *pct);

enum snmp_cpu_preset {
    SNMP_CPU_HOSTRES,  /* host-resources: hrProcessorLoad, one row per processor */
    SNMP_CPU_UCD,      /* ucd: see snmp_ucd_cpu_pct */
    SNMP_CPU_CISCO,    /* cisco: cpmCPUTotal5secRev, one row per CPU */
    SNMP_CPU_FORTINET, /* fortinet: fgSysCpuUsage.0 */
    SNMP_CPU_JUNIPER,  /* juniper: jnxOperatingCPU of the Routing Engine rows */
    SNMP_CPU_OID,      /* oid = N.N.N...: one value read as a percentage */
};

/* The percentage a preset makes of the n values it read: the mean for
 * host-resources (the host's load over all its processors), the maximum
 * for cisco and juniper (the busiest CPU or routing engine: a backup
 * engine idles and would halve a mean), the single value for fortinet,
 * oid and ucd (already a percentage).  Then snmp_pct_check.  n == 0 gives
 * SNMP_PCT_REJECTED. */
enum snmp_pct_check snmp_cpu_combine(enum snmp_cpu_preset preset, const double *v, size_t n,
                                     double *pct);

/* The jnxOperatingTable rows the juniper preset reads, given each row's
 * jnxOperatingDescr and container (the first index, jnxOperatingContentsIndex):
 * the rows whose description contains "Routing Engine" (any case), or if
 * none does, the rows of container 9 (Routing Engine).  Writes up to max row
 * numbers into pick and returns how many. */
size_t snmp_juniper_rows(const char *const *descr, const unsigned *container, size_t n,
                         size_t *pick, size_t max);

/* Mean and max of n values; NAN when n is 0. */
double snmp_mean(const double *v, size_t n);
double snmp_max(const double *v, size_t n);

enum snmp_pct_check {
    SNMP_PCT_OK = 0,
    SNMP_PCT_CLAMPED,  /* slightly outside 0-100 (up to 110): clamped */
    SNMP_PCT_REJECTED, /* negative or above 110: not a percentage; a gap */
};

/* Sanity check of a reported percentage; *out is the value to publish. */
enum snmp_pct_check snmp_pct_check(double v, double *out);

#endif
