/* snmpcounter: the arithmetic of what SNMP agents report, pure so that
 * table-driven tests cover it without an agent.
 *
 * Counter32/64 deltas and their wraps, the time between two polls and an
 * agent's restarts, link rates and utilisation, CPU percentages from raw
 * counters, and the sanity check of a percentage.  docs/snmp.md, "Wraps,
 * restarts and gaps", gives the rules these functions implement. */
#ifndef CW_SNMPCOUNTER_H
#define CW_SNMPCOUNTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

enum snmpcounter_delta {
    SNMPCOUNTER_DELTA_OK = 0,    /* cur >= prev */
    SNMPCOUNTER_DELTA_WRAP,      /* cur < prev, accepted as one wrap of the counter */
    SNMPCOUNTER_DELTA_BACKWARDS, /* cur < prev and not a plausible wrap: discard */
};

/* The increase of a `bits`-wide counter (32 or 64) from prev to cur.  A
 * decrease is one wrap only when the wrapped increase is at most max_delta
 * (pass 0 for "no better bound": half the counter's range).  *out is set for
 * OK and WRAP. */
enum snmpcounter_delta snmpcounter_delta(uint64_t prev, uint64_t cur, unsigned bits,
                                         uint64_t max_delta, uint64_t *out);

enum snmpcounter_elapsed {
    SNMPCOUNTER_ELAPSED_UPTIME = 0, /* dt from the agent's sysUpTime */
    SNMPCOUNTER_ELAPSED_WALL,       /* dt from our poll times (no or implausible sysUpTime) */
    SNMPCOUNTER_ELAPSED_RESTART,    /* sysUpTime says the agent restarted: no dt */
};

/* Time between two polls.  wall_dt_s is the time between the answers as we
 * saw them; the uptimes are sysUpTime in hundredths (32-bit TimeTicks).
 * sysUpTime is used when it agrees with wall_dt_s within max(2 s, 25 %),
 * including across its own 497-day wrap; when it went back, or advanced
 * clearly less than the wall clock, the agent restarted. */
enum snmpcounter_elapsed snmpcounter_elapsed(bool have_uptime, uint32_t prev_ticks,
                                             uint32_t cur_ticks, double wall_dt_s, double *dt_s);

/* One poll of a link, as the rate arithmetic needs it. */
typedef struct snmpcounter_link_sample {
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
} snmpcounter_link_sample_t;

enum snmpcounter_rate_verdict {
    SNMPCOUNTER_RATE_OK = 0,
    SNMPCOUNTER_RATE_FIRST,     /* no previous sample: baseline only */
    SNMPCOUNTER_RATE_RESTART,   /* agent restarted: interval skipped */
    SNMPCOUNTER_RATE_GAP,       /* previous sample too old (missed polls): interval skipped */
    SNMPCOUNTER_RATE_BACKWARDS, /* a counter went back without a restart: discarded */
    SNMPCOUNTER_RATE_NO_TIME,   /* zero or negative elapsed time */
    SNMPCOUNTER_RATE_CHANGED,   /* counter width changed (HC appeared or vanished) */
};

typedef struct snmpcounter_link_rates {
    enum snmpcounter_rate_verdict verdict;
    double dt_s;
    bool wrapped;           /* a counter wrapped in this interval */
    double in_bps, out_bps; /* NAN unless verdict is OK */
    double util_pct;        /* NAN without a speed; clamped to 0-100 */
    double util_raw_pct;    /* before the clamp */
    bool util_clamped;
    double errors_ps; /* NAN when no error counter is present in both */
} snmpcounter_link_rates_t;

/* Longest interval turned into a rate, in configured intervals. */
#define SNMPCOUNTER_MAX_GAP_INTERVALS 3

/* Rates between two polls of a link polled every interval_s seconds. */
void snmpcounter_link_rates(const snmpcounter_link_sample_t *prev,
                            const snmpcounter_link_sample_t *cur, long interval_s,
                            snmpcounter_link_rates_t *out);

/* UCD-SNMP-MIB raw CPU counters (1.3.6.1.4.1.2021.11.N.0), in the order
 * of snmpcounter_ucd_cpu_pct's arrays. */
enum snmpcounter_ucd {
    SNMPCOUNTER_UCD_USER = 0,  /* ssCpuRawUser 50 */
    SNMPCOUNTER_UCD_NICE,      /* ssCpuRawNice 51 */
    SNMPCOUNTER_UCD_SYSTEM,    /* ssCpuRawSystem 52 */
    SNMPCOUNTER_UCD_IDLE,      /* ssCpuRawIdle 53 */
    SNMPCOUNTER_UCD_WAIT,      /* ssCpuRawWait 54 */
    SNMPCOUNTER_UCD_INTERRUPT, /* ssCpuRawInterrupt 56 */
    SNMPCOUNTER_UCD_SOFTIRQ,   /* ssCpuRawSoftIRQ 61 */
    SNMPCOUNTER_UCD_STEAL,     /* ssCpuRawSteal 64 */
    SNMPCOUNTER_UCD_NCOUNTERS
};

/* Busy percentage between two readings of the raw counters (Counter32, each
 * may wrap once): busy = user + nice + system + interrupt + softirq + steal,
 * idle = idle + wait.  Counters absent in either reading (bit i of have
 * clear) count as zero; idle and user must be present.  Returns 0 with
 * *pct in 0-100, -EAGAIN when no tick passed or prev is all zeros (snmpd
 * answers zeros until it first reads its counters), -EINVAL when a counter
 * went back implausibly. */
int snmpcounter_ucd_cpu_pct(const uint32_t prev[SNMPCOUNTER_UCD_NCOUNTERS],
                            const uint32_t cur[SNMPCOUNTER_UCD_NCOUNTERS], unsigned have,
                            double *pct);

/* Mean and max of n values; NAN when n is 0. */
double snmpcounter_mean(const double *v, size_t n);
double snmpcounter_max(const double *v, size_t n);

enum snmpcounter_pct {
    SNMPCOUNTER_PCT_OK = 0,
    SNMPCOUNTER_PCT_CLAMPED,  /* slightly outside 0-100 (up to 110): clamped */
    SNMPCOUNTER_PCT_REJECTED, /* negative or above 110: not a percentage; a gap */
};

/* Sanity check of a reported percentage; *out is the value to publish. */
enum snmpcounter_pct snmpcounter_pct_check(double v, double *out);

#endif
