#include "autoconf.h"

#include "netmon/snmp.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netmon/snmpconf.h"
#include "netmon/snmpcounter.h"
#include "netmon/snmplib.h"
#include "netmon/snmptarget.h"

#define MAX_WALK_ROWS  4096   /* table rows kept from a walk */
#define MAX_WALK_NAMES 100000 /* interfaces looked through for a name */

struct snmp_poller {
    snmptarget_t *t;
    size_t n;
    pthread_mutex_t lock;
    pthread_t thread;
    bool running;
    atomic_int stop;
    int wake[2];
};

static bool var_u64(const netsnmp_variable_list *v, uint64_t *out)
{
    switch (v->type) {
    case ASN_COUNTER64:
        *out = ((uint64_t)(v->val.counter64->high & 0xffffffffUL) << 32) |
               (uint64_t)(v->val.counter64->low & 0xffffffffUL);
        return true;
    case ASN_COUNTER:
    case ASN_GAUGE:
    case ASN_TIMETICKS:
    case ASN_UINTEGER:
        *out = (uint64_t)(uint32_t)*v->val.integer;
        return true;
    case ASN_INTEGER:
        if (*v->val.integer < 0)
            return false;
        *out = (uint64_t)*v->val.integer;
        return true;
    default:
        return false;
    }
}

static bool var_double(const netsnmp_variable_list *v, double *out)
{
    uint64_t u;

    if (v->type == ASN_INTEGER) {
        *out = (double)*v->val.integer;
        return true;
    }
    if (var_u64(v, &u)) {
        *out = (double)u;
        return true;
    }
    if (v->type == ASN_OCTET_STR && v->val_len > 0 && v->val_len < 32) {
        /* Some devices answer "12.5" or "12 %". */
        char buf[32], *end;
        double d;

        memcpy(buf, v->val.string, v->val_len);
        buf[v->val_len] = '\0';
        errno = 0;
        d = strtod(buf, &end);
        if (end == buf || errno)
            return false;
        while (*end == ' ' || *end == '%')
            end++;
        if (*end)
            return false;
        *out = d;
        return true;
    }
    return false;
}

static void var_text(const netsnmp_variable_list *v, char *buf, size_t len)
{
    size_t n = 0;

    if (v->type == ASN_OCTET_STR) {
        n = v->val_len < len - 1 ? v->val_len : len - 1;
        memcpy(buf, v->val.string, n);
    }
    buf[n] = '\0';
}

static bool is_exception(const netsnmp_variable_list *v)
{
    return v->type == SNMP_NOSUCHOBJECT || v->type == SNMP_NOSUCHINSTANCE ||
           v->type == SNMP_ENDOFMIBVIEW;
}

static const char *exception_name(int type)
{
    switch (type) {
    case SNMP_NOSUCHOBJECT:
        return "noSuchObject";
    case SNMP_NOSUCHINSTANCE:
        return "noSuchInstance";
    case SNMP_ENDOFMIBVIEW:
        return "endOfMibView";
    default:
        return "no value";
    }
}

static void oid_str(const oid *o, size_t n, char *buf, size_t len)
{
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n && off + 1 < len; i++) {
        int w = snprintf(buf + off, len - off, "%s%lu", i ? "." : "", (unsigned long)o[i]);

        if (w < 0)
            break;
        off += (size_t)w;
    }
}

static void add_row(snmptarget_t *t, const netsnmp_variable_list *v)
{
    struct snmptarget_row *row;
    size_t sl = v->name_length - t->wroot_len;

    if (t->nrows == t->rows_cap) {
        t->rows_cap = t->rows_cap ? t->rows_cap * 2 : 16;
        t->rows = cw_realloc(t->rows, t->rows_cap * sizeof(*t->rows));
    }
    row = &t->rows[t->nrows++];
    memset(row, 0, sizeof(*row));
    row->suffix_len = sl < 8 ? sl : 8;
    memcpy(row->suffix, v->name + t->wroot_len, row->suffix_len * sizeof(oid));
    if (!var_double(v, &row->value))
        row->value = NAN;
    var_text(v, row->text, sizeof(row->text));
}

static void walk_done(snmptarget_t *t);
static void publish_cpu(snmptarget_t *t, enum snmpconf_preset preset, const double *v, size_t n);

static void on_walk(snmptarget_t *t, netsnmp_pdu *r)
{
    bool end = false;

    if (r->errstat == SNMP_ERR_NOSUCHNAME && t->cfg->version == 1) {
        end = true; /* v1's end of the MIB */
    } else if (r->errstat != SNMP_ERR_NOERROR) {
        snmptarget_fail(t, SNMPTARGET_ST_ERROR, "walking %s: the agent answered %s",
                        t->wkind == SNMPTARGET_W_IFNAME ? "ifName" : "a table",
                        snmplib.snmp_errstring((int)r->errstat));
        return;
    }
    for (netsnmp_variable_list *v = r->variables; v && !end; v = v->next_variable) {
        if (is_exception(v) || v->name_length <= t->wroot_len ||
            snmplib.netsnmp_oid_is_subtree(t->wroot, t->wroot_len, v->name, v->name_length) != 0) {
            end = true;
            break;
        }
        if (snmplib.snmp_oid_compare(v->name, v->name_length, t->wlast, t->wlast_len) <= 0) {
            snmptarget_fail(t, SNMPTARGET_ST_ERROR,
                            "the agent returned OIDs out of order while walking");
            return;
        }
        memcpy(t->wlast, v->name, v->name_length * sizeof(oid));
        t->wlast_len = v->name_length;
        if (t->wkind == SNMPTARGET_W_IFNAME || t->wkind == SNMPTARGET_W_IFDESCR) {
            char text[256];

            var_text(v, text, sizeof(text));
            if (v->name_length == t->wroot_len + 1 && strcmp(text, t->link->ifname) == 0) {
                t->ifindex = (long)v->name[t->wroot_len];
                t->wfound = true;
                end = true;
                break;
            }
            t->nrows++;
        } else {
            add_row(t, v);
        }
        if (t->nrows >= ((t->wkind == SNMPTARGET_W_IFNAME || t->wkind == SNMPTARGET_W_IFDESCR)
                             ? MAX_WALK_NAMES
                             : MAX_WALK_ROWS)) {
            end = true;
            break;
        }
    }
    if (!r->variables)
        end = true;
    if (end)
        walk_done(t);
    else
        snmptarget_walk_next(t);
}

/* The walk found the interface's ifIndex by its name: poll it afresh. */
static void found_ifindex(snmptarget_t *t, bool descr)
{
    t->by_name = true;
    t->name_is_descr = descr;
    snmptarget_log(t, CW_LOG_INFO, "interface \"%s\" is ifIndex %ld (%s)", t->link->ifname,
                   t->ifindex, descr ? "ifDescr" : "ifName");
    memset(&t->prev, 0, sizeof(t->prev));
    t->v1_missing = 0;
    snmptarget_next(t);
}

/* Picks the Routing Engine rows from the walk of jnxOperatingDescr. */
static void found_jnx_rows(snmptarget_t *t)
{
    const char **descr = cw_calloc(t->nrows + 1, sizeof(*descr));
    unsigned *cont = cw_calloc(t->nrows + 1, sizeof(*cont));
    size_t pick[SNMPTARGET_MAX_JUNIPER_ROWS];

    for (size_t i = 0; i < t->nrows; i++) {
        descr[i] = t->rows[i].suffix_len == 4 ? t->rows[i].text : NULL;
        cont[i] = t->rows[i].suffix_len == 4 ? (unsigned)t->rows[i].suffix[0] : 0;
    }
    t->njnx = snmpconf_juniper_rows(descr, cont, t->nrows, pick, SNMPTARGET_MAX_JUNIPER_ROWS);
    for (size_t i = 0; i < t->njnx; i++)
        memcpy(t->jnx_rows[i], t->rows[pick[i]].suffix, 4 * sizeof(oid));
    free(descr);
    free(cont);
    if (t->njnx == 0) {
        snmptarget_fail(
            t, SNMPTARGET_ST_NOSUCH,
            "no Routing Engine row in jnxOperatingTable (%zu rows of jnxOperatingDescr)", t->nrows);
        return;
    }
    t->jnx_resolved = true;
    snmptarget_next(t);
}

static void walk_done(snmptarget_t *t)
{
    char rootbuf[96];
    double vals[MAX_WALK_ROWS < 256 ? MAX_WALK_ROWS : 256];
    size_t nv = 0;

    switch (t->wkind) {
    case SNMPTARGET_W_IFNAME:
        if (t->wfound)
            found_ifindex(t, false);
        else
            snmptarget_walk(t, SNMPTARGET_W_IFDESCR);
        return;
    case SNMPTARGET_W_IFDESCR:
        if (t->wfound)
            found_ifindex(t, true);
        else
            snmptarget_fail(t, SNMPTARGET_ST_NOSUCH,
                            "no interface has ifName or ifDescr \"%s\" (%zu interfaces walked)",
                            t->link->ifname, t->nrows);
        return;
    case SNMPTARGET_W_JNX_DESCR:
        found_jnx_rows(t);
        return;
    case SNMPTARGET_W_HRLOAD:
    case SNMPTARGET_W_CISCO:
        for (size_t i = 0; i < t->nrows && nv < sizeof(vals) / sizeof(vals[0]); i++)
            if (!isnan(t->rows[i].value))
                vals[nv++] = t->rows[i].value;
        if (nv == 0) {
            oid_str(t->wroot, t->wroot_len, rootbuf, sizeof(rootbuf));
            snmptarget_fail(
                t, SNMPTARGET_ST_NOSUCH, "%s %s has no rows%s",
                t->wkind == SNMPTARGET_W_HRLOAD ? "hrProcessorLoad" : "cpmCPUTotal5secRev", rootbuf,
                t->wkind == SNMPTARGET_W_HRLOAD ? " (snmpd fills it about a minute after it starts)"
                                                : "");
            return;
        }
        publish_cpu(t, t->wkind == SNMPTARGET_W_HRLOAD ? SNMPCONF_CPU_HOSTRES : SNMPCONF_CPU_CISCO,
                    vals, nv);
        return;
    }
}

/* Uptime bookkeeping shared by every GET; returns true if the agent
 * restarted since the last poll. */
static bool check_restart(snmptarget_t *t, bool have, uint32_t ticks, cw_ns_t now)
{
    double dt;
    bool restarted = false;

    if (!have)
        return false;
    if (t->up_have_prev &&
        snmpcounter_elapsed(true, t->up_prev, ticks, (double)(now - t->up_prev_ns) / 1e9, &dt) ==
            SNMPCOUNTER_ELAPSED_RESTART) {
        restarted = true;
        pthread_mutex_lock(t->lock);
        t->st.restarts++;
        pthread_mutex_unlock(t->lock);
        snmptarget_log(
            t, CW_LOG_WARN,
            "the agent restarted (sysUpTime went from %.2f s to %.2f s): this interval is "
            "skipped",
            t->up_prev / 100.0, ticks / 100.0);
    }
    t->up_have_prev = true;
    t->up_prev = ticks;
    t->up_prev_ns = now;
    return restarted;
}

/* Forgets the interface's ifIndex (a walk by name finds it again) and
 * what its counters were. */
static void forget_ifindex(snmptarget_t *t, long ifindex)
{
    t->ifindex = ifindex;
    t->by_name = false;
    memset(&t->prev, 0, sizeof(t->prev));
    t->v1_missing = 0;
}

/* The octet counters: ifHC* if the agent has them, else ifIn/OutOctets. */
static void link_octets(const netsnmp_variable_list *vals[SNMPTARGET_NSLOT_IDS],
                        snmpcounter_link_sample_t *cur)
{
    if (vals[SNMPTARGET_S_HCIN] && vals[SNMPTARGET_S_HCOUT] &&
        var_u64(vals[SNMPTARGET_S_HCIN], &cur->in_octets) &&
        var_u64(vals[SNMPTARGET_S_HCOUT], &cur->out_octets)) {
        cur->have_octets = true;
        cur->octet_bits = vals[SNMPTARGET_S_HCIN]->type == ASN_COUNTER64 ? 64 : 32;
    } else if (vals[SNMPTARGET_S_IN] && vals[SNMPTARGET_S_OUT] &&
               var_u64(vals[SNMPTARGET_S_IN], &cur->in_octets) &&
               var_u64(vals[SNMPTARGET_S_OUT], &cur->out_octets)) {
        cur->have_octets = true;
        cur->octet_bits = 32;
    }
}

/* The error counters and the speed into cur; returns ifOperStatus (0 if
 * unknown). */
static int link_extras(const snmptarget_t *t,
                       const netsnmp_variable_list *vals[SNMPTARGET_NSLOT_IDS],
                       snmpcounter_link_sample_t *cur)
{
    static const int es[4] = { SNMPTARGET_S_INERR, SNMPTARGET_S_OUTERR, SNMPTARGET_S_INDISC,
                               SNMPTARGET_S_OUTDISC };
    uint64_t u, hs = 0, sp = 0;
    bool have_hs = false, have_sp = false;
    int oper = 0;

    for (unsigned i = 0; i < 4; i++) {
        if (vals[es[i]] && var_u64(vals[es[i]], &u)) {
            cur->err[i] = (uint32_t)u;
            cur->err_have |= 1u << i;
        }
    }
    if (vals[SNMPTARGET_S_HIGHSPEED] && var_u64(vals[SNMPTARGET_S_HIGHSPEED], &hs))
        have_hs = true;
    if (vals[SNMPTARGET_S_SPEED] && var_u64(vals[SNMPTARGET_S_SPEED], &sp))
        have_sp = true;
    if (t->link->speed_bps)
        cur->speed_bps = t->link->speed_bps;
    else if (have_sp && sp > 0 && sp < 0xffffffffULL)
        cur->speed_bps = sp;
    else if (have_hs && hs > 0)
        cur->speed_bps = hs * 1000000ULL;
    if (vals[SNMPTARGET_S_OPER] && var_u64(vals[SNMPTARGET_S_OPER], &u))
        oper = (int)u;
    return oper;
}

/* Puts the rates of a link's interval, or says why there are none. */
static void publish_link(snmptarget_t *t, const snmpcounter_link_rates_t *r,
                         const snmpcounter_link_sample_t *cur, cw_ns_t wall)
{
    switch (r->verdict) {
    case SNMPCOUNTER_RATE_OK:
        snmptarget_put(t, "in_bps", wall, r->in_bps);
        snmptarget_put(t, "out_bps", wall, r->out_bps);
        snmptarget_put(t, "util_pct", wall, r->util_pct);
        snmptarget_put(t, "errors", wall, r->errors_ps);
        pthread_mutex_lock(t->lock);
        t->st.in_bps = r->in_bps;
        t->st.out_bps = r->out_bps;
        t->st.util_pct = r->util_pct;
        t->st.errors_ps = r->errors_ps;
        pthread_mutex_unlock(t->lock);
        if (r->util_clamped)
            snmptarget_note(t,
                            "util clamped to 100 %%: measured %.0f %% of %.0f bit/s (agents cache "
                            "counters for a few seconds; or the speed is wrong)",
                            r->util_raw_pct, (double)cur->speed_bps);
        else if (cur->speed_bps == 0)
            snmptarget_note(t, "no util_pct: the agent reports no speed and none is configured "
                               "(speed = ...)");
        else if (r->wrapped)
            snmptarget_note(t, "a %u-bit counter wrapped in this interval", cur->octet_bits);
        else
            snmptarget_note(t, NULL);
        break;
    case SNMPCOUNTER_RATE_FIRST:
        break;
    case SNMPCOUNTER_RATE_RESTART:
        snmptarget_gap(t);
        snmptarget_note(t, "agent restarted: interval skipped");
        break;
    case SNMPCOUNTER_RATE_GAP:
        snmptarget_note(t, "previous answer too old (missed polls): interval skipped");
        break;
    case SNMPCOUNTER_RATE_BACKWARDS:
        snmptarget_gap(t);
        snmptarget_note(t,
                        "an octet counter went back without an agent restart: interval discarded");
        snmptarget_log(t, CW_LOG_WARN,
                       "an octet counter went back without an agent restart: interval discarded");
        break;
    case SNMPCOUNTER_RATE_CHANGED:
        snmptarget_note(t, "counter width changed (ifHC* appeared or vanished): interval skipped");
        break;
    case SNMPCOUNTER_RATE_NO_TIME:
        break;
    }
}

static void on_get_link(snmptarget_t *t, const netsnmp_variable_list *vals[SNMPTARGET_NSLOT_IDS],
                        const char *missing_what)
{
    snmpcounter_link_sample_t cur;
    snmpcounter_link_rates_t r;
    uint64_t u;
    int oper;
    cw_ns_t now = snmptarget_now(), wall = cw_wall_now();
    char name[256];

    memset(&cur, 0, sizeof(cur));
    cur.valid = true;
    cur.t_ns = now;
    if (vals[SNMPTARGET_S_UPTIME] && var_u64(vals[SNMPTARGET_S_UPTIME], &u)) {
        cur.have_uptime = true;
        cur.uptime_ticks = (uint32_t)u;
    }
    if (check_restart(t, cur.have_uptime, cur.uptime_ticks, now) && t->by_name) {
        /* Interfaces may be numbered anew: find ours again. */
        forget_ifindex(t, t->link->ifindex);
        snmptarget_gap(t);
        snmptarget_next(t);
        return;
    }
    if (vals[SNMPTARGET_S_NAMECHECK]) {
        var_text(vals[SNMPTARGET_S_NAMECHECK], name, sizeof(name));
        if (strcmp(name, t->link->ifname) != 0) {
            snmptarget_log(t, CW_LOG_WARN,
                           "ifIndex %ld is now \"%s\", not \"%s\": looking it up again", t->ifindex,
                           name, t->link->ifname);
            forget_ifindex(t, 0);
            snmptarget_next(t);
            return;
        }
    }
    link_octets(vals, &cur);
    if (!cur.have_octets) {
        if (t->by_name && t->link->ifname && !vals[SNMPTARGET_S_NAMECHECK]) {
            /* The interface is gone; perhaps it comes back under another index. */
            t->ifindex = t->link->ifindex;
            t->by_name = false;
        }
        snmptarget_fail(
            t, SNMPTARGET_ST_NOSUCH,
            "ifIndex %ld: no ifHCInOctets/ifHCOutOctets nor ifInOctets/ifOutOctets (%s)",
            t->ifindex, missing_what);
        return;
    }
    oper = link_extras(t, vals, &cur);
    snmpcounter_link_rates(&t->prev, &cur, t->cfg->interval_s, &r);
    t->prev = cur;

    pthread_mutex_lock(t->lock);
    t->st.ifindex = t->ifindex;
    t->st.oper_status = oper;
    t->st.speed_bps = cur.speed_bps ? (double)cur.speed_bps : NAN;
    pthread_mutex_unlock(t->lock);
    publish_link(t, &r, &cur, wall);
    if (oper != 0 && oper != 1 && r.verdict == SNMPCOUNTER_RATE_OK)
        snmptarget_note(t, "ifOperStatus is %d (not up)", oper);
    snmptarget_ok(t);
}

static void publish_cpu(snmptarget_t *t, enum snmpconf_preset preset, const double *v, size_t n)
{
    double pct, raw = n ? v[0] : NAN;
    enum snmpcounter_pct c = snmpconf_cpu_combine(preset, v, n, &pct);

    if (preset == SNMPCONF_CPU_HOSTRES)
        raw = snmpcounter_mean(v, n);
    else if (preset == SNMPCONF_CPU_CISCO || preset == SNMPCONF_CPU_JUNIPER)
        raw = snmpcounter_max(v, n);
    if (c == SNMPCOUNTER_PCT_REJECTED) {
        snmptarget_fail(t, SNMPTARGET_ST_ERROR, "the agent reports %g, not a percentage (0-100)",
                        raw);
        return;
    }
    snmptarget_put(t, "pct", cw_wall_now(), pct);
    pthread_mutex_lock(t->lock);
    t->st.cpu_pct = pct;
    pthread_mutex_unlock(t->lock);
    if (c == SNMPCOUNTER_PCT_CLAMPED)
        snmptarget_note(t, "clamped %.1f %% to 100", raw);
    else if (n > 1)
        snmptarget_note(t, "%s of %zu rows", preset == SNMPCONF_CPU_HOSTRES ? "mean" : "max", n);
    else
        snmptarget_note(t, NULL);
    snmptarget_ok(t);
}

/* ucd: the busy share of the raw counters since the last poll. */
static void get_ucd(snmptarget_t *t, const netsnmp_variable_list *vals[SNMPTARGET_NSLOT_IDS],
                    bool restarted, const char *missing_what)
{
    uint32_t cur[SNMPCOUNTER_UCD_NCOUNTERS] = { 0 };
    unsigned have = 0;
    uint64_t u;
    double v;
    int rc;

    for (unsigned i = 0; i < SNMPCOUNTER_UCD_NCOUNTERS; i++) {
        if (vals[SNMPTARGET_S_VALUE + i] && var_u64(vals[SNMPTARGET_S_VALUE + i], &u)) {
            cur[i] = (uint32_t)u;
            have |= 1u << i;
        }
    }
    if (!(have & (1u << SNMPCOUNTER_UCD_IDLE)) || !(have & (1u << SNMPCOUNTER_UCD_USER))) {
        snmptarget_fail(t, SNMPTARGET_ST_NOSUCH,
                        "no ssCpuRawUser/ssCpuRawIdle (1.3.6.1.4.1.2021.11.50/53): %s",
                        missing_what);
        return;
    }
    if (!t->ucd_have_prev || restarted) {
        memcpy(t->ucd_prev, cur, sizeof(cur));
        t->ucd_prev_have = have;
        t->ucd_have_prev = true;
        if (restarted)
            snmptarget_gap(t);
        snmptarget_ok(t);
        return;
    }
    rc = snmpcounter_ucd_cpu_pct(t->ucd_prev, cur, have & t->ucd_prev_have, &v);
    memcpy(t->ucd_prev, cur, sizeof(cur));
    t->ucd_prev_have = have;
    if (rc == -EAGAIN) {
        snmptarget_ok(t);
        return;
    }
    if (rc != 0) {
        snmptarget_gap(t);
        snmptarget_note(t, "a CPU counter went back without an agent restart: interval discarded");
        snmptarget_ok(t);
        return;
    }
    publish_cpu(t, SNMPCONF_CPU_UCD, &v, 1);
}

/* juniper: the busiest Routing Engine. */
static void get_juniper(snmptarget_t *t, const netsnmp_variable_list *vals[SNMPTARGET_NSLOT_IDS],
                        bool restarted, const char *missing_what)
{
    double vs[SNMPTARGET_MAX_JUNIPER_ROWS];
    size_t n = 0;

    if (restarted) {
        t->jnx_resolved = false; /* rows may be numbered anew */
        snmptarget_next(t);
        return;
    }
    for (size_t i = 0; i < t->njnx; i++)
        if (vals[SNMPTARGET_S_VALUE + i] && var_double(vals[SNMPTARGET_S_VALUE + i], &vs[n]))
            n++;
    if (n == 0) {
        t->jnx_resolved = false;
        snmptarget_fail(t, SNMPTARGET_ST_NOSUCH, "jnxOperatingCPU of the Routing Engine rows: %s",
                        missing_what);
        return;
    }
    publish_cpu(t, SNMPCONF_CPU_JUNIPER, vs, n);
}

static void on_get_cpu(snmptarget_t *t, const netsnmp_variable_list *vals[SNMPTARGET_NSLOT_IDS],
                       const char *missing_what)
{
    uint64_t u;
    cw_ns_t now = snmptarget_now();
    bool restarted = false;
    double v;

    if (vals[SNMPTARGET_S_UPTIME] && var_u64(vals[SNMPTARGET_S_UPTIME], &u))
        restarted = check_restart(t, true, (uint32_t)u, now);
    switch (t->preset) {
    case SNMPCONF_CPU_UCD:
        get_ucd(t, vals, restarted, missing_what);
        return;
    case SNMPCONF_CPU_FORTINET:
    case SNMPCONF_CPU_OID:
        if (!vals[SNMPTARGET_S_VALUE]) {
            snmptarget_fail(t, SNMPTARGET_ST_NOSUCH, "%s", missing_what);
            return;
        }
        if (!var_double(vals[SNMPTARGET_S_VALUE], &v)) {
            snmptarget_fail(t, SNMPTARGET_ST_ERROR, "the value is not a number (ASN.1 type 0x%02x)",
                            vals[SNMPTARGET_S_VALUE]->type);
            return;
        }
        publish_cpu(t, t->preset, &v, 1);
        return;
    case SNMPCONF_CPU_JUNIPER:
        get_juniper(t, vals, restarted, missing_what);
        return;
    case SNMPCONF_CPU_HOSTRES:
        snmptarget_walk(t, SNMPTARGET_W_HRLOAD);
        return;
    case SNMPCONF_CPU_CISCO:
        snmptarget_walk(t, SNMPTARGET_W_CISCO);
        return;
    default:
        snmptarget_fail(t, SNMPTARGET_ST_ERROR, "no preset");
        return;
    }
}

static void on_get(snmptarget_t *t, netsnmp_pdu *r)
{
    const netsnmp_variable_list *vals[SNMPTARGET_NSLOT_IDS] = { NULL };
    char missing[160] = "";
    size_t i = 0;

    if (r->errstat == SNMP_ERR_NOSUCHNAME && t->cfg->version == 1 && r->errindex >= 1 &&
        (size_t)r->errindex <= t->nslots && t->resend_budget-- > 0) {
        /* v1 fails the whole request for one missing object: drop it and
         * ask again (ifHC* cannot travel in v1 at all). */
        netsnmp_variable_list *v = r->variables;
        char o[128];

        for (long k = 1; v && k < r->errindex; k++)
            v = v->next_variable;
        if (v) {
            oid_str(v->name, v->name_length, o, sizeof(o));
            snprintf(t->v1_note, sizeof(t->v1_note), "%s answered noSuchName (v1)", o);
        }
        t->v1_missing |= 1u << t->slots[r->errindex - 1];
        snmptarget_get(t);
        return;
    }
    if (r->errstat != SNMP_ERR_NOERROR) {
        snmptarget_fail(
            t, r->errstat == SNMP_ERR_NOSUCHNAME ? SNMPTARGET_ST_NOSUCH : SNMPTARGET_ST_ERROR,
            "the agent answered %s (varbind %ld)", snmplib.snmp_errstring((int)r->errstat),
            r->errindex);
        return;
    }
    for (netsnmp_variable_list *v = r->variables; v && i < t->nslots; v = v->next_variable, i++) {
        if (is_exception(v)) {
            if (!missing[0]) {
                char o[128];

                oid_str(v->name, v->name_length, o, sizeof(o));
                snprintf(missing, sizeof(missing), "%s answered %s", o, exception_name(v->type));
            }
            continue;
        }
        vals[t->slots[i]] = v;
    }
    if (!missing[0] && t->v1_missing && t->v1_note[0])
        cw_strlcpy(missing, t->v1_note, sizeof(missing));
    if (!missing[0])
        cw_strlcpy(missing, "no such object", sizeof(missing));
    if (t->kind == SNMPTARGET_LINK)
        on_get_link(t, vals, missing);
    else
        on_get_cpu(t, vals, missing);
}

static void handle_done(snmptarget_t *t)
{
    enum snmptarget_phase ph = t->phase;
    netsnmp_pdu *r = snmptarget_answer(t);

    if (!r)
        return;
    if (ph == SNMPTARGET_PH_WALK)
        on_walk(t, r);
    else if (ph == SNMPTARGET_PH_GET)
        on_get(t, r);
    snmplib.snmp_free_pdu(r);
}

/* ---------------------------------------------------------------- the thread */

static void drain_wake(int fd)
{
    char buf[64];

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

static void poll_once(snmp_poller_t *p)
{
    struct pollfd *fds = cw_calloc(p->n + 1, sizeof(*fds));
    size_t *who = cw_calloc(p->n + 1, sizeof(*who));
    size_t nfds = 0;
    cw_ns_t now = snmptarget_now(), wake_at = now + CW_SEC(60);
    int wait_ms;

    for (size_t i = 0; i < p->n; i++) {
        int fd = snmptarget_prepare(&p->t[i], now, &wake_at);

        if (fd >= 0) {
            fds[nfds].fd = fd;
            fds[nfds].events = POLLIN;
            who[nfds] = i;
            nfds++;
        }
    }
    fds[nfds].fd = p->wake[0];
    fds[nfds].events = POLLIN;
    nfds++;
    now = snmptarget_now();
    wait_ms = wake_at > now ? (int)((wake_at - now + CW_NS_PER_MS - 1) / CW_NS_PER_MS) : 0;
    if (poll(fds, nfds, wait_ms) < 0 && errno != EINTR)
        cw_log(CW_LOG_WARN, "snmp: poll: %s", strerror(errno));
    if (fds[nfds - 1].revents)
        drain_wake(p->wake[0]);
    for (size_t k = 0; k + 1 < nfds; k++) {
        snmptarget_t *t = &p->t[who[k]];

        if ((fds[k].revents & (POLLIN | POLLERR)) && t->sess) {
            netsnmp_large_fd_set lfds;

            snmplib.netsnmp_large_fd_set_init(&lfds, fds[k].fd + 1);
            snmplib.netsnmp_large_fd_setfd(fds[k].fd, &lfds);
            snmplib.snmp_sess_read2(t->sess, &lfds);
            snmplib.netsnmp_large_fd_set_cleanup(&lfds);
        }
    }
    for (size_t i = 0; i < p->n && !atomic_load(&p->stop); i++) {
        snmptarget_t *t = &p->t[i];

        if (t->sess && snmptarget_waiting(t) && !t->done)
            snmplib.snmp_sess_timeout(t->sess);
        if (t->done)
            handle_done(t);
    }
    free(fds);
    free(who);
}

static void *poller_main(void *arg)
{
    snmp_poller_t *p = arg;

    while (!atomic_load(&p->stop))
        poll_once(p);
    for (size_t i = 0; i < p->n; i++)
        snmptarget_stop(&p->t[i]);
    return NULL;
}

/* ---------------------------------------------------------------- public */

snmp_poller_t *snmp_poller_new(const cw_config_t *cfg, metrics_t *m, char *err, size_t errlen)
{
    snmp_poller_t *p;
    size_t n = 0, k = 0;
    char why[512];
    cw_ns_t now;

    if (snmpconf_check(cfg, err, errlen) != 0)
        return NULL;
    for (size_t i = 0; i < cfg->nlinks; i++)
        n += cfg->links[i].snmp.agent != NULL;
    for (size_t i = 0; i < cfg->ncpus; i++)
        n += cfg->cpus[i].snmp.agent != NULL;
    if (n > 0 && !snmplib_load(why, sizeof(why))) {
        snprintf(err, errlen, "snmp: %s", why);
        return NULL;
    }
    p = cw_calloc(1, sizeof(*p));
    p->n = n;
    p->t = cw_calloc(n ? n : 1, sizeof(*p->t));
    p->wake[0] = p->wake[1] = -1;
    pthread_mutex_init(&p->lock, NULL);
    if (n == 0)
        return p;
    now = snmptarget_now();
    /* Spread the first polls so that targets do not ask in one burst. */
    for (size_t i = 0; i < cfg->nlinks; i++) {
        if (!cfg->links[i].snmp.agent)
            continue;
        snmptarget_init_link(&p->t[k], &cfg->links[i], m, &p->lock,
                             now + (cw_ns_t)k * 37 * CW_NS_PER_MS);
        k++;
    }
    for (size_t i = 0; i < cfg->ncpus; i++) {
        if (!cfg->cpus[i].snmp.agent)
            continue;
        snmptarget_init_cpu(&p->t[k], &cfg->cpus[i], m, &p->lock,
                            now + (cw_ns_t)k * 37 * CW_NS_PER_MS);
        k++;
    }
    return p;
}

size_t snmp_poller_count(const snmp_poller_t *p)
{
    return p ? p->n : 0;
}

int snmp_poller_start(snmp_poller_t *p)
{
    int rc;

    if (p->running || p->n == 0)
        return 0;
    if (pipe(p->wake) != 0)
        return -errno;
    fcntl(p->wake[0], F_SETFL, O_NONBLOCK);
    fcntl(p->wake[1], F_SETFL, O_NONBLOCK);
    atomic_store(&p->stop, 0);
    rc = pthread_create(&p->thread, NULL, poller_main, p);
    if (rc == 0)
        pthread_setname_np(p->thread, "cw-snmp");
    if (rc != 0) {
        close(p->wake[0]);
        close(p->wake[1]);
        p->wake[0] = p->wake[1] = -1;
        return -rc;
    }
    p->running = true;
    return 0;
}

void snmp_poller_stop(snmp_poller_t *p)
{
    if (!p || !p->running)
        return;
    atomic_store(&p->stop, 1);
    if (write(p->wake[1], "x", 1) < 0) {
        /* A full pipe wakes the thread just as well. */
    }
    pthread_join(p->thread, NULL);
    p->running = false;
    close(p->wake[0]);
    close(p->wake[1]);
    p->wake[0] = p->wake[1] = -1;
}

void snmp_poller_free(snmp_poller_t *p)
{
    if (!p)
        return;
    snmp_poller_stop(p);
    for (size_t i = 0; i < p->n; i++)
        snmptarget_free(&p->t[i]);
    free(p->t);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

size_t snmp_poller_status(snmp_poller_t *p, snmp_target_status_t *out, size_t max)
{
    size_t n;

    if (!p)
        return 0;
    pthread_mutex_lock(&p->lock);
    n = p->n < max ? p->n : max;
    for (size_t i = 0; i < n; i++)
        out[i] = p->t[i].st;
    pthread_mutex_unlock(&p->lock);
    return n;
}
