#include "autoconf.h"

#include "netmon/snmpcounter.h"

#include <errno.h>
#include <math.h>
#include <string.h>

enum snmpcounter_delta snmpcounter_delta(uint64_t prev, uint64_t cur, unsigned bits,
                                         uint64_t max_delta, uint64_t *out)
{
    uint64_t mask = bits >= 64 ? UINT64_MAX : (((uint64_t)1 << bits) - 1);
    uint64_t wrapped;

    prev &= mask;
    cur &= mask;
    if (cur >= prev) {
        *out = cur - prev;
        return SNMPCOUNTER_DELTA_OK;
    }
    wrapped = (cur - prev) & mask; /* modulo 2^bits */
    if (max_delta == 0)
        max_delta = mask >> 1; /* half the range */
    if (wrapped > max_delta)
        return SNMPCOUNTER_DELTA_BACKWARDS;
    *out = wrapped;
    return SNMPCOUNTER_DELTA_WRAP;
}

enum snmpcounter_elapsed snmpcounter_elapsed(bool have_uptime, uint32_t prev_ticks,
                                             uint32_t cur_ticks, double wall_dt_s, double *dt_s)
{
    double tol = wall_dt_s * 0.25;
    double up_dt;

    if (tol < 2.0)
        tol = 2.0;
    if (!have_uptime) {
        *dt_s = wall_dt_s;
        return SNMPCOUNTER_ELAPSED_WALL;
    }
    /* TimeTicks wrap after 2^32 hundredths (497 days); uint32 arithmetic
     * gives the forward distance either way. */
    up_dt = (double)(uint32_t)(cur_ticks - prev_ticks) / 100.0;
    if (cur_ticks < prev_ticks && fabs(up_dt - wall_dt_s) > tol) {
        /* Went back, and not by a wrap that fits the wall clock. */
        *dt_s = 0;
        return SNMPCOUNTER_ELAPSED_RESTART;
    }
    if (up_dt < wall_dt_s - tol) {
        /* Advanced clearly less than the time that passed: it restarted
         * in between (and has been up for less than the interval). */
        *dt_s = 0;
        return SNMPCOUNTER_ELAPSED_RESTART;
    }
    if (up_dt > wall_dt_s + tol) {
        /* An agent whose uptime runs fast is not a time base. */
        *dt_s = wall_dt_s;
        return SNMPCOUNTER_ELAPSED_WALL;
    }
    *dt_s = up_dt;
    return SNMPCOUNTER_ELAPSED_UPTIME;
}

void snmpcounter_link_rates(const snmpcounter_link_sample_t *prev,
                            const snmpcounter_link_sample_t *cur, long interval_s,
                            snmpcounter_link_rates_t *out)
{
    double wall_dt, dt;
    uint64_t din, dout, sum = 0;
    enum snmpcounter_delta r1, r2;
    unsigned both;

    memset(out, 0, sizeof(*out));
    out->in_bps = out->out_bps = out->util_pct = out->util_raw_pct = out->errors_ps = NAN;
    if (!prev || !prev->valid || !prev->have_octets) {
        out->verdict = SNMPCOUNTER_RATE_FIRST;
        return;
    }
    wall_dt = (double)(cur->t_ns - prev->t_ns) / 1e9;
    if (wall_dt <= 0) {
        out->verdict = SNMPCOUNTER_RATE_NO_TIME;
        return;
    }
    if (snmpcounter_elapsed(prev->have_uptime && cur->have_uptime, prev->uptime_ticks,
                            cur->uptime_ticks, wall_dt, &dt) == SNMPCOUNTER_ELAPSED_RESTART) {
        out->verdict = SNMPCOUNTER_RATE_RESTART;
        return;
    }
    out->dt_s = dt;
    if (dt <= 0) {
        out->verdict = SNMPCOUNTER_RATE_NO_TIME;
        return;
    }
    if (interval_s > 0 && wall_dt > (double)(SNMPCOUNTER_MAX_GAP_INTERVALS * interval_s) + 1.0) {
        out->verdict = SNMPCOUNTER_RATE_GAP;
        return;
    }
    if (prev->octet_bits != cur->octet_bits) {
        out->verdict = SNMPCOUNTER_RATE_CHANGED;
        return;
    }
    r1 = snmpcounter_delta(prev->in_octets, cur->in_octets, cur->octet_bits, 0, &din);
    r2 = snmpcounter_delta(prev->out_octets, cur->out_octets, cur->octet_bits, 0, &dout);
    if (r1 == SNMPCOUNTER_DELTA_BACKWARDS || r2 == SNMPCOUNTER_DELTA_BACKWARDS) {
        out->verdict = SNMPCOUNTER_RATE_BACKWARDS;
        return;
    }
    out->wrapped = r1 == SNMPCOUNTER_DELTA_WRAP || r2 == SNMPCOUNTER_DELTA_WRAP;
    out->verdict = SNMPCOUNTER_RATE_OK;
    out->in_bps = (double)din * 8.0 / dt;
    out->out_bps = (double)dout * 8.0 / dt;
    if (cur->speed_bps > 0) {
        double hi = out->in_bps > out->out_bps ? out->in_bps : out->out_bps;

        out->util_raw_pct = hi * 100.0 / (double)cur->speed_bps;
        out->util_pct = out->util_raw_pct;
        if (out->util_pct > 100.0) {
            out->util_pct = 100.0;
            out->util_clamped = true;
        }
    }
    both = prev->err_have & cur->err_have;
    if (both) {
        bool bad = false;

        for (unsigned i = 0; i < 4; i++) {
            uint64_t d;

            if (!(both & (1u << i)))
                continue;
            if (snmpcounter_delta(prev->err[i], cur->err[i], 32, 0, &d) ==
                SNMPCOUNTER_DELTA_BACKWARDS)
                bad = true;
            else
                sum += d;
        }
        if (!bad)
            out->errors_ps = (double)sum / dt;
    }
}

int snmpcounter_ucd_cpu_pct(const uint32_t prev[SNMPCOUNTER_UCD_NCOUNTERS],
                            const uint32_t cur[SNMPCOUNTER_UCD_NCOUNTERS], unsigned have,
                            double *pct)
{
    uint64_t d[SNMPCOUNTER_UCD_NCOUNTERS] = { 0 };
    uint64_t busy, idle;

    uint64_t prev_sum = 0;

    if (!(have & (1u << SNMPCOUNTER_UCD_IDLE)) || !(have & (1u << SNMPCOUNTER_UCD_USER)))
        return -EINVAL;
    for (unsigned i = 0; i < SNMPCOUNTER_UCD_NCOUNTERS; i++)
        if (have & (1u << i))
            prev_sum += prev[i];
    /* snmpd answers zeros until it first reads /proc/stat (a few seconds
     * after it starts): a delta from there would be the average since boot. */
    if (prev_sum == 0)
        return -EAGAIN;
    for (unsigned i = 0; i < SNMPCOUNTER_UCD_NCOUNTERS; i++) {
        if (!(have & (1u << i)))
            continue;
        if (snmpcounter_delta(prev[i], cur[i], 32, 0, &d[i]) == SNMPCOUNTER_DELTA_BACKWARDS)
            return -EINVAL;
    }
    busy = d[SNMPCOUNTER_UCD_USER] + d[SNMPCOUNTER_UCD_NICE] + d[SNMPCOUNTER_UCD_SYSTEM] +
           d[SNMPCOUNTER_UCD_INTERRUPT] + d[SNMPCOUNTER_UCD_SOFTIRQ] + d[SNMPCOUNTER_UCD_STEAL];
    idle = d[SNMPCOUNTER_UCD_IDLE] + d[SNMPCOUNTER_UCD_WAIT];
    if (busy + idle == 0)
        return -EAGAIN;
    *pct = (double)busy * 100.0 / (double)(busy + idle);
    return 0;
}

double snmpcounter_mean(const double *v, size_t n)
{
    double s = 0;

    if (n == 0)
        return NAN;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s / (double)n;
}

double snmpcounter_max(const double *v, size_t n)
{
    double m;

    if (n == 0)
        return NAN;
    m = v[0];
    for (size_t i = 1; i < n; i++)
        if (v[i] > m)
            m = v[i];
    return m;
}

enum snmpcounter_pct snmpcounter_pct_check(double v, double *out)
{
    if (isnan(v) || v < 0 || v > 110.0) {
        *out = NAN;
        return SNMPCOUNTER_PCT_REJECTED;
    }
    if (v > 100.0) {
        *out = 100.0;
        return SNMPCOUNTER_PCT_CLAMPED;
    }
    *out = v;
    return SNMPCOUNTER_PCT_OK;
}
