#include "autoconf.h"

#include "netmon/snmp.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* net-snmp's configuration header repeats some autoconf names. */
#undef PACKAGE
#undef PACKAGE_BUGREPORT
#undef PACKAGE_NAME
#undef PACKAGE_STRING
#undef PACKAGE_TARNAME
#undef PACKAGE_URL
#undef PACKAGE_VERSION
#undef VERSION
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>

#include "common/dl.h"

/* net-snmp, loaded when the first SNMP target is configured: with its
 * crypto library it costs every other run the time to load it.  The calls
 * below go through this table (common/dl.h). */
#define NETSNMP_FUNCS(X)                                                                           \
    X(create_user_from_session)                                                                    \
    X(debug_register_tokens)                                                                       \
    X(generate_Ku)                                                                                 \
    X(init_snmp)                                                                                   \
    X(netsnmp_config_remember)                                                                     \
    X(netsnmp_ds_set_boolean)                                                                      \
    X(netsnmp_large_fd_set_cleanup)                                                                \
    X(netsnmp_large_fd_set_init)                                                                   \
    X(netsnmp_large_fd_setfd)                                                                      \
    X(netsnmp_memdup)                                                                              \
    X(netsnmp_oid_is_subtree)                                                                      \
    X(netsnmp_register_loghandler)                                                                 \
    X(netsnmp_set_mib_directory)                                                                   \
    X(snmp_add_null_var)                                                                           \
    X(snmp_api_errstring)                                                                          \
    X(snmp_clone_pdu)                                                                              \
    X(snmp_errstring)                                                                              \
    X(snmp_free_pdu)                                                                               \
    X(snmp_oid_compare)                                                                            \
    X(snmp_pdu_create)                                                                             \
    X(snmp_register_callback)                                                                      \
    X(snmp_sess_async_send)                                                                        \
    X(snmp_sess_close)                                                                             \
    X(snmp_sess_init)                                                                              \
    X(snmp_sess_open)                                                                              \
    X(snmp_sess_read2)                                                                             \
    X(snmp_sess_select_info2_flags)                                                                \
    X(snmp_sess_session)                                                                           \
    X(snmp_sess_timeout)                                                                           \
    X(snmp_sess_transport)                                                                         \
    X(snmp_set_do_debugging)                                                                       \
    X(snmpv3_get_report_type)

static struct snmplib_fns {
    NETSNMP_FUNCS(CW_DL_FIELD)
} snmplib;

#define SNMPLIB_SYM(f) CW_DL_SYM(struct snmplib_fns, f)
static const cw_dlsym_t snmplib_syms[] = { NETSNMP_FUNCS(SNMPLIB_SYM) };
#undef SNMPLIB_SYM
static cw_dllib_t sn_lib = CW_DLLIB(SNMP_SONAME, "libsnmp40", snmplib, snmplib_syms);

#define DEFAULT_PORT     161
#define MAX_SLOTS        16 /* varbinds in one poll GET */
#define NSLOT_IDS        (S_VALUE + 9)
#define MAX_WALK_ROWS    4096   /* table rows kept from a walk */
#define MAX_WALK_NAMES   100000 /* interfaces looked through for a name */
#define BULK_REPETITIONS 32
#define MAX_JUNIPER_ROWS 8
#define LOG_BURST        5 /* log lines per target per minute */
#define MAX_BACKOFF_S    60
#define DNS_POLL_MS      50

/* ---------------------------------------------------------------- OIDs */

static const oid OID_SYSUPTIME[] = { 1, 3, 6, 1, 2, 1, 1, 3, 0 };
/* IF-MIB columns; the ifIndex is appended. */
static const oid OID_IFDESCR[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1, 2 };
static const oid OID_IFSPEED[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1, 5 };
static const oid OID_IFOPERSTATUS[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1, 8 };
static const oid OID_IFINOCTETS[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1, 10 };
static const oid OID_IFINDISCARDS[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1, 13 };
static const oid OID_IFINERRORS[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1, 14 };
static const oid OID_IFOUTOCTETS[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1, 16 };
static const oid OID_IFOUTDISCARDS[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1, 19 };
static const oid OID_IFOUTERRORS[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1, 20 };
static const oid OID_IFNAME[] = { 1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1 };
static const oid OID_IFHCINOCTETS[] = { 1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6 };
static const oid OID_IFHCOUTOCTETS[] = { 1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 10 };
static const oid OID_IFHIGHSPEED[] = { 1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 15 };
/* HOST-RESOURCES-MIB hrProcessorLoad, indexed by hrDeviceIndex. */
static const oid OID_HRPROCESSORLOAD[] = { 1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2 };
/* UCD-SNMP-MIB systemStats; the counter number and .0 are appended. */
static const oid OID_UCD_SYSTATS[] = { 1, 3, 6, 1, 4, 1, 2021, 11 };
static const unsigned ucd_subid[SNMP_UCD_NCOUNTERS] = { 50, 51, 52, 53, 54, 56, 61, 64 };
/* CISCO-PROCESS-MIB cpmCPUTotal5secRev, indexed by cpmCPUTotalIndex. */
static const oid OID_CISCO_CPU5SEC[] = { 1, 3, 6, 1, 4, 1, 9, 9, 109, 1, 1, 1, 1, 6 };
/* FORTINET-FORTIGATE-MIB fgSysCpuUsage.0 */
static const oid OID_FORTI_CPU[] = { 1, 3, 6, 1, 4, 1, 12356, 101, 4, 1, 3, 0 };
/* JUNIPER-MIB jnxOperatingDescr and jnxOperatingCPU, indexed by
 * jnxOperatingContentsIndex.L1Index.L2Index.L3Index. */
static const oid OID_JNX_DESCR[] = { 1, 3, 6, 1, 4, 1, 2636, 3, 1, 13, 1, 5 };
static const oid OID_JNX_CPU[] = { 1, 3, 6, 1, 4, 1, 2636, 3, 1, 13, 1, 8 };
#define JNX_ROUTING_ENGINE_CONTAINER 9

#define OIDLEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- types */

enum tkind { T_LINK, T_CPU };
enum tstate { ST_RESOLVING, ST_UP, ST_TIMEOUT, ST_AUTH, ST_NOSUCH, ST_ERROR };
enum phase { PH_IDLE, PH_DNS, PH_PROBE, PH_WALK, PH_GET };
enum walk_kind { W_IFNAME, W_IFDESCR, W_HRLOAD, W_CISCO, W_JNX_DESCR };

/* Slots of a poll GET. */
enum slot {
    S_UPTIME,
    S_HCIN,
    S_HCOUT,
    S_IN,
    S_OUT,
    S_HIGHSPEED,
    S_SPEED,
    S_OPER,
    S_INERR,
    S_OUTERR,
    S_INDISC,
    S_OUTDISC,
    S_NAMECHECK,
    S_VALUE, /* cpu: fortinet or oid; ucd and juniper use S_VALUE + i */
};

static const char *const state_names[] = { "resolving",      "up",   "timeout", "auth_error",
                                           "no_such_object", "error" };

struct target;

/* Handed to net-snmp as callback data.  On some paths (a v3 report) net-snmp
 * stores an int through this pointer as if it were its own synch_state, so
 * the first member is a scratch int that it may overwrite. */
struct req_ctx {
    int netsnmp_scratch;
    struct target *t;
};

/* A background name lookup; the poller and the lookup thread share it and
 * whichever lets go last frees it. */
struct dns_req {
    pthread_mutex_t lock;
    int refs;
    bool done;
    int gai_err;
    char host[256];
    char peer[300]; /* net-snmp peername, numeric */
    unsigned port;
};

struct walk_row {
    oid suffix[8];
    size_t suffix_len;
    double value;
    char text[64];
};

struct target {
    struct snmp_poller *p;
    enum tkind kind;
    const char *name;
    const cw_snmp_cfg_t *cfg;
    const cw_link_cfg_t *link;
    const cw_cpu_cfg_t *cpu;
    enum snmp_cpu_preset preset;
    oid user_oid[MAX_OID_LEN];
    size_t user_oid_len;

    char host[256];
    unsigned port;
    bool numeric;   /* host is an address literal: no lookup needed */
    char peer[300]; /* net-snmp peername once known */
    struct dns_req *dns;

    /* v3 credentials */
    const oid *auth_oid, *priv_oid;
    size_t auth_oid_len, priv_oid_len;
    int sec_level;

    void *sess;
    bool closing;
    u_char engine_id[64];
    size_t engine_id_len;
    bool answered; /* an answer came on this session after discovery */

    /* the operation in flight */
    enum phase phase;
    struct req_ctx ctx;
    int reqid;
    bool done;
    int op;            /* NETSNMP_CALLBACK_OP_* of the completion */
    netsnmp_pdu *resp; /* owned */
    bool saw_time_window;
    cw_ns_t deadline;    /* watchdog, monotonic */
    cw_ns_t cycle_start; /* monotonic */
    int resend_budget;   /* v1 noSuchName retries in this cycle */

    /* GET in flight: what each varbind is */
    int slots[MAX_SLOTS];
    size_t nslots;
    unsigned v1_missing; /* slots a v1 agent answered noSuchName for */
    char v1_note[160];

    /* walk in flight */
    enum walk_kind wkind;
    const oid *wroot;
    size_t wroot_len;
    oid wlast[MAX_OID_LEN];
    size_t wlast_len;
    struct walk_row *rows;
    size_t nrows, rows_cap;
    bool wfound;

    /* link state */
    long ifindex;
    bool by_name;       /* ifindex came from the name: check it each poll */
    bool name_is_descr; /* the name matched ifDescr, not ifName */
    snmp_link_sample_t prev;

    /* cpu state */
    oid jnx_rows[MAX_JUNIPER_ROWS][4];
    size_t njnx;
    bool jnx_resolved;
    bool ucd_have_prev;
    uint32_t ucd_prev[SNMP_UCD_NCOUNTERS];
    unsigned ucd_prev_have;
    bool up_have_prev;
    uint32_t up_prev;
    cw_ns_t up_prev_ns;

    /* scheduling */
    cw_ns_t next_due; /* monotonic */
    unsigned fails;   /* consecutive failed cycles */

    /* logging */
    cw_ns_t log_window;
    unsigned log_count, log_suppressed;

    enum tstate state;
    snmp_target_status_t st; /* guarded by p->lock */
};

struct snmp_poller {
    const cw_config_t *cfg;
    metrics_t *m;
    struct target *t;
    size_t n;
    pthread_mutex_t lock;
    pthread_t thread;
    bool running;
    atomic_int stop;
    int wake[2];
};

/* ---------------------------------------------------------------- time */

static cw_ns_t mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (cw_ns_t)ts.tv_sec * CW_NS_PER_SEC + ts.tv_nsec;
}

/* ---------------------------------------------------------------- helpers (pure) */

enum snmp_delta snmp_counter_delta(uint64_t prev, uint64_t cur, unsigned bits, uint64_t max_delta,
                                   uint64_t *out)
{
    uint64_t mask = bits >= 64 ? UINT64_MAX : (((uint64_t)1 << bits) - 1);
    uint64_t wrapped;

    prev &= mask;
    cur &= mask;
    if (cur >= prev) {
        *out = cur - prev;
        return SNMP_DELTA_OK;
    }
    wrapped = (cur - prev) & mask; /* modulo 2^bits */
    if (max_delta == 0)
        max_delta = mask >> 1; /* half the range */
    if (wrapped > max_delta)
        return SNMP_DELTA_BACKWARDS;
    *out = wrapped;
    return SNMP_DELTA_WRAP;
}

enum snmp_elapsed snmp_elapsed(bool have_uptime, uint32_t prev_ticks, uint32_t cur_ticks,
                               double wall_dt_s, double *dt_s)
{
    double tol = wall_dt_s * 0.25;
    double up_dt;

    if (tol < 2.0)
        tol = 2.0;
    if (!have_uptime) {
        *dt_s = wall_dt_s;
        return SNMP_ELAPSED_WALL;
    }
    /* TimeTicks wrap after 2^32 hundredths (497 days); uint32 arithmetic
     * gives the forward distance either way. */
    up_dt = (double)(uint32_t)(cur_ticks - prev_ticks) / 100.0;
    if (cur_ticks < prev_ticks && fabs(up_dt - wall_dt_s) > tol) {
        /* Went back, and not by a wrap that fits the wall clock. */
        *dt_s = 0;
        return SNMP_ELAPSED_RESTART;
    }
    if (up_dt < wall_dt_s - tol) {
        /* Advanced clearly less than the time that passed: it restarted
         * in between (and has been up for less than the interval). */
        *dt_s = 0;
        return SNMP_ELAPSED_RESTART;
    }
    if (up_dt > wall_dt_s + tol) {
        /* An agent whose uptime runs fast is not a time base. */
        *dt_s = wall_dt_s;
        return SNMP_ELAPSED_WALL;
    }
    *dt_s = up_dt;
    return SNMP_ELAPSED_UPTIME;
}

void snmp_link_rates(const snmp_link_sample_t *prev, const snmp_link_sample_t *cur, long interval_s,
                     snmp_link_rates_t *out)
{
    double wall_dt, dt;
    uint64_t din, dout, sum = 0;
    enum snmp_delta r1, r2;
    unsigned both;

    memset(out, 0, sizeof(*out));
    out->in_bps = out->out_bps = out->util_pct = out->util_raw_pct = out->errors_ps = NAN;
    if (!prev || !prev->valid || !prev->have_octets) {
        out->verdict = SNMP_RATE_FIRST;
        return;
    }
    wall_dt = (double)(cur->t_ns - prev->t_ns) / 1e9;
    if (wall_dt <= 0) {
        out->verdict = SNMP_RATE_NO_TIME;
        return;
    }
    if (snmp_elapsed(prev->have_uptime && cur->have_uptime, prev->uptime_ticks, cur->uptime_ticks,
                     wall_dt, &dt) == SNMP_ELAPSED_RESTART) {
        out->verdict = SNMP_RATE_RESTART;
        return;
    }
    out->dt_s = dt;
    if (dt <= 0) {
        out->verdict = SNMP_RATE_NO_TIME;
        return;
    }
    if (interval_s > 0 && wall_dt > (double)(SNMP_MAX_GAP_INTERVALS * interval_s) + 1.0) {
        out->verdict = SNMP_RATE_GAP;
        return;
    }
    if (prev->octet_bits != cur->octet_bits) {
        out->verdict = SNMP_RATE_CHANGED;
        return;
    }
    r1 = snmp_counter_delta(prev->in_octets, cur->in_octets, cur->octet_bits, 0, &din);
    r2 = snmp_counter_delta(prev->out_octets, cur->out_octets, cur->octet_bits, 0, &dout);
    if (r1 == SNMP_DELTA_BACKWARDS || r2 == SNMP_DELTA_BACKWARDS) {
        out->verdict = SNMP_RATE_BACKWARDS;
        return;
    }
    out->wrapped = r1 == SNMP_DELTA_WRAP || r2 == SNMP_DELTA_WRAP;
    out->verdict = SNMP_RATE_OK;
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
            if (snmp_counter_delta(prev->err[i], cur->err[i], 32, 0, &d) == SNMP_DELTA_BACKWARDS)
                bad = true;
            else
                sum += d;
        }
        if (!bad)
            out->errors_ps = (double)sum / dt;
    }
}

int snmp_ucd_cpu_pct(const uint32_t prev[SNMP_UCD_NCOUNTERS],
                     const uint32_t cur[SNMP_UCD_NCOUNTERS], unsigned have, double *pct)
{
    uint64_t d[SNMP_UCD_NCOUNTERS] = { 0 };
    uint64_t busy, idle;

    uint64_t prev_sum = 0;

    if (!(have & (1u << SNMP_UCD_IDLE)) || !(have & (1u << SNMP_UCD_USER)))
        return -EINVAL;
    for (unsigned i = 0; i < SNMP_UCD_NCOUNTERS; i++)
        if (have & (1u << i))
            prev_sum += prev[i];
    /* snmpd answers zeros until it first reads /proc/stat (a few seconds
     * after it starts): a delta from there would be the average since boot. */
    if (prev_sum == 0)
        return -EAGAIN;
    for (unsigned i = 0; i < SNMP_UCD_NCOUNTERS; i++) {
        if (!(have & (1u << i)))
            continue;
        if (snmp_counter_delta(prev[i], cur[i], 32, 0, &d[i]) == SNMP_DELTA_BACKWARDS)
            return -EINVAL;
    }
    busy = d[SNMP_UCD_USER] + d[SNMP_UCD_NICE] + d[SNMP_UCD_SYSTEM] + d[SNMP_UCD_INTERRUPT] +
           d[SNMP_UCD_SOFTIRQ] + d[SNMP_UCD_STEAL];
    idle = d[SNMP_UCD_IDLE] + d[SNMP_UCD_WAIT];
    if (busy + idle == 0)
        return -EAGAIN;
    *pct = (double)busy * 100.0 / (double)(busy + idle);
    return 0;
}

double snmp_mean(const double *v, size_t n)
{
    double s = 0;

    if (n == 0)
        return NAN;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s / (double)n;
}

double snmp_max(const double *v, size_t n)
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

enum snmp_pct_check snmp_pct_check(double v, double *out)
{
    if (isnan(v) || v < 0 || v > 110.0) {
        *out = NAN;
        return SNMP_PCT_REJECTED;
    }
    if (v > 100.0) {
        *out = 100.0;
        return SNMP_PCT_CLAMPED;
    }
    *out = v;
    return SNMP_PCT_OK;
}

enum snmp_pct_check snmp_cpu_combine(enum snmp_cpu_preset preset, const double *v, size_t n,
                                     double *pct)
{
    double x;

    if (n == 0) {
        *pct = NAN;
        return SNMP_PCT_REJECTED;
    }
    switch (preset) {
    case SNMP_CPU_HOSTRES:
        x = snmp_mean(v, n);
        break;
    case SNMP_CPU_CISCO:
    case SNMP_CPU_JUNIPER:
        x = snmp_max(v, n);
        break;
    default:
        x = v[0];
        break;
    }
    return snmp_pct_check(x, pct);
}

size_t snmp_juniper_rows(const char *const *descr, const unsigned *container, size_t n,
                         size_t *pick, size_t max)
{
    size_t k = 0;

    for (size_t i = 0; i < n && k < max; i++)
        if (descr[i] && strcasestr(descr[i], "routing engine"))
            pick[k++] = i;
    if (k == 0)
        for (size_t i = 0; i < n && k < max; i++)
            if (container[i] == JNX_ROUTING_ENGINE_CONTAINER)
                pick[k++] = i;
    return k;
}

/* ---------------------------------------------------------------- configuration */

/* USM protocol OIDs (RFC 3414, RFC 3826, RFC 7860; AES-192/256 as in the
 * Blumenthal draft that net-snmp and most devices implement). */
struct proto_name {
    const char *name;
    oid o[10];
    size_t len;
};

#define USM_AUTH(n)   { 1, 3, 6, 1, 6, 3, 10, 1, 1, n }, 10
#define USM_PRIV(n)   { 1, 3, 6, 1, 6, 3, 10, 1, 2, n }, 10
#define BLUMENTHAL(n) { 1, 3, 6, 1, 4, 1, 14832, 1, n }, 9

static const struct proto_name auth_protos[] = {
    { "MD5", USM_AUTH(2) },     { "SHA", USM_AUTH(3) },     { "SHA1", USM_AUTH(3) },
    { "SHA-1", USM_AUTH(3) },   { "SHA-224", USM_AUTH(4) }, { "SHA-256", USM_AUTH(5) },
    { "SHA-384", USM_AUTH(6) }, { "SHA-512", USM_AUTH(7) }, { NULL, { 0 }, 0 },
};

static const struct proto_name priv_protos[] = {
    { "DES", USM_PRIV(2) },       { "AES", USM_PRIV(4) },       { "AES-128", USM_PRIV(4) },
    { "AES128", USM_PRIV(4) },    { "AES-192", BLUMENTHAL(3) }, { "AES192", BLUMENTHAL(3) },
    { "AES-256", BLUMENTHAL(4) }, { "AES256", BLUMENTHAL(4) },  { NULL, { 0 }, 0 },
};

static const struct proto_name *find_proto(const struct proto_name *tab, const char *name)
{
    for (; tab->name; tab++)
        if (strcasecmp(tab->name, name) == 0)
            return tab;
    return NULL;
}

static bool hostname_valid(const char *h)
{
    size_t n = strlen(h);

    if (n == 0 || n > 253)
        return false;
    for (const char *c = h; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '.' || *c == '_'))
            return false;
    return h[0] != '.' && h[0] != '-';
}

/* Splits "HOST", "HOST:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 address.
 * Returns 0 or -EINVAL. */
static int parse_agent(const char *s, char *host, size_t hostlen, unsigned *port, bool *numeric)
{
    const char *h = s, *end, *ps = NULL;
    size_t hl;
    cw_addr_t a;
    long pv = DEFAULT_PORT;
    int colons = 0;

    for (const char *c = s; *c; c++)
        colons += *c == ':';
    if (*s == '[') {
        end = strchr(s, ']');
        if (!end)
            return -EINVAL;
        h = s + 1;
        hl = (size_t)(end - h);
        if (end[1] == ':')
            ps = end + 2;
        else if (end[1] != '\0')
            return -EINVAL;
    } else if (colons == 1) {
        end = strchr(s, ':');
        hl = (size_t)(end - s);
        ps = end + 1;
    } else {
        hl = strlen(s);
    }
    if (hl == 0 || hl >= hostlen)
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (ps && cw_parse_long(ps, 1, 65535, &pv) != 0)
        return -EINVAL;
    *port = (unsigned)pv;
    if (cw_addr_parse(host, &a) == 0) {
        if (*s == '[' && a.family != 6)
            return -EINVAL;
        *numeric = true;
        return 0;
    }
    if (*s == '[' || colons > 1)
        return -EINVAL; /* brackets or several colons: must be IPv6 */
    *numeric = false;
    return hostname_valid(host) ? 0 : -EINVAL;
}

static int parse_oid(const char *s, oid *out, size_t *len)
{
    size_t n = 0;
    const char *c = s;

    if (*c == '.')
        c++;
    while (*c) {
        char *end;
        unsigned long v;

        if (!isdigit((unsigned char)*c))
            return -EINVAL;
        errno = 0;
        v = strtoul(c, &end, 10);
        if (errno || v > 0xffffffffUL || n >= MAX_OID_LEN)
            return -EINVAL;
        out[n++] = (oid)v;
        c = end;
        if (*c == '.') {
            c++;
            if (!*c)
                return -EINVAL;
        } else if (*c) {
            return -EINVAL;
        }
    }
    if (n < 2)
        return -EINVAL;
    *len = n;
    return 0;
}

struct section_ref {
    const char *what; /* "link" or "cpu" */
    const char *name;
    int line;
    const cw_snmp_cfg_t *s;
};

static int check_section(const char *path, const struct section_ref *r, const char *oidstr,
                         char *err, size_t errlen)
{
    char host[256];
    unsigned port;
    bool numeric;
    oid tmp[MAX_OID_LEN];
    size_t tlen;

    if (parse_agent(r->s->agent, host, sizeof(host), &port, &numeric) != 0) {
        snprintf(err, errlen,
                 "%s:%d: [%s %s]: snmp = \"%s\" is not an agent address (HOST, HOST:PORT, "
                 "IPv4:PORT or [IPv6]:PORT)",
                 path, r->line, r->what, r->name, r->s->agent);
        return -EINVAL;
    }
    if (r->s->version == 3) {
        if (r->s->auth && !find_proto(auth_protos, r->s->auth)) {
            snprintf(err, errlen,
                     "%s:%d: [%s %s]: auth = \"%s\" is not an SNMPv3 authentication protocol "
                     "(MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512)",
                     path, r->line, r->what, r->name, r->s->auth);
            return -EINVAL;
        }
        if (r->s->priv && !find_proto(priv_protos, r->s->priv)) {
            snprintf(err, errlen,
                     "%s:%d: [%s %s]: priv = \"%s\" is not an SNMPv3 privacy protocol (DES, "
                     "AES, AES-192, AES-256)",
                     path, r->line, r->what, r->name, r->s->priv);
            return -EINVAL;
        }
        if ((r->s->auth_pass && strlen(r->s->auth_pass) < 8) ||
            (r->s->priv_pass && strlen(r->s->priv_pass) < 8)) {
            snprintf(err, errlen,
                     "%s:%d: [%s %s]: SNMPv3 passwords must have at least 8 characters", path,
                     r->line, r->what, r->name);
            return -EINVAL;
        }
        if (r->s->auth_pass && !r->s->auth) {
            snprintf(err, errlen,
                     "%s:%d: [%s %s]: auth_pass needs auth = SHA (or another protocol)", path,
                     r->line, r->what, r->name);
            return -EINVAL;
        }
    }
    if (oidstr && parse_oid(oidstr, tmp, &tlen) != 0) {
        snprintf(err, errlen,
                 "%s:%d: [%s %s]: oid = \"%s\" is not a numeric OID such as "
                 "1.3.6.1.4.1.2021.11.9.0",
                 path, r->line, r->what, r->name, oidstr);
        return -EINVAL;
    }
    return 0;
}

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool case_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcasecmp(a, b) == 0;
}

int snmp_config_check(const cw_config_t *cfg, char *err, size_t errlen)
{
    const char *path = cfg->path ? cfg->path : "(config)";
    struct section_ref *refs = cw_calloc(cfg->nlinks + cfg->ncpus + 1, sizeof(*refs));
    size_t n = 0;
    int rc = 0;

    for (size_t i = 0; i < cfg->nlinks; i++) {
        const cw_link_cfg_t *l = &cfg->links[i];

        if (!l->snmp.agent)
            continue;
        refs[n] = (struct section_ref){ "link", l->name, l->line, &l->snmp };
        if ((rc = check_section(path, &refs[n], NULL, err, errlen)) != 0)
            goto out;
        n++;
    }
    for (size_t i = 0; i < cfg->ncpus; i++) {
        const cw_cpu_cfg_t *c = &cfg->cpus[i];

        if (!c->snmp.agent)
            continue;
        refs[n] = (struct section_ref){ "cpu", c->name, c->line, &c->snmp };
        if ((rc = check_section(path, &refs[n], c->oid, err, errlen)) != 0)
            goto out;
        n++;
    }
    /* net-snmp keeps one key set per (engine, user): two sections that give
     * one agent's user different credentials cannot both work. */
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            const cw_snmp_cfg_t *a = refs[i].s, *b = refs[j].s;

            if (a->version != 3 || b->version != 3 || strcmp(a->agent, b->agent) != 0 ||
                !str_eq(a->user, b->user))
                continue;
            if (case_eq(a->auth, b->auth) && str_eq(a->auth_pass, b->auth_pass) &&
                case_eq(a->priv, b->priv) && str_eq(a->priv_pass, b->priv_pass))
                continue;
            snprintf(err, errlen,
                     "%s:%d: [%s %s]: SNMPv3 user \"%s\" on %s has other credentials in [%s %s] "
                     "(line %d); one agent's user has one set of keys",
                     path, refs[j].line, refs[j].what, refs[j].name, b->user, b->agent,
                     refs[i].what, refs[i].name, refs[i].line);
            rc = -EINVAL;
            goto out;
        }
    }
out:
    free(refs);
    return rc;
}

/* ---------------------------------------------------------------- net-snmp setup */

static int lib_log(int major, int minor, void *server, void *client)
{
    struct snmp_log_message *msg = server;
    char line[512];
    size_t n;

    (void)major;
    (void)minor;
    (void)client;
    if (!msg || !msg->msg)
        return 0;
    cw_strlcpy(line, msg->msg, sizeof(line));
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    cw_log(msg->priority <= LOG_WARNING ? CW_LOG_WARN : CW_LOG_DEBUG, "snmp library: %s", line);
    return 0;
}

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
    /* No configuration files, no persistent state, no MIB files: OIDs are
     * numbers here and nothing outside our own configuration applies. */
    snmplib.netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    snmplib.netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    snmplib.netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD,
                                   1);
    snmplib.netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE,
                                   1);
    snmplib.netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
    snmplib.netsnmp_set_mib_directory("");
    snmplib.netsnmp_config_remember((char *)"mibs :");
    snmplib.snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, lib_log, NULL);
    snmplib.netsnmp_register_loghandler(NETSNMP_LOGHANDLER_CALLBACK, LOG_DEBUG);
    snmplib.init_snmp("callwatch");
    /* CW_SNMP_DEBUG=TOKENS turns on the library's own tracing (e.g.
     * "usm,sess_process_packet"), logged at debug level. */
    if (getenv("CW_SNMP_DEBUG")) {
        snmplib.debug_register_tokens(getenv("CW_SNMP_DEBUG"));
        snmplib.snmp_set_do_debugging(1);
    }
}

/* ---------------------------------------------------------------- status and logging */

static const char *kind_name(const struct target *t)
{
    return t->kind == T_LINK ? "link" : "cpu";
}

static void tlog(struct target *t, enum cw_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void tlog(struct target *t, enum cw_log_level lvl, const char *fmt, ...)
{
    char msg[768];
    cw_ns_t now = mono_now();
    va_list ap;

    if (lvl > cw_log_get_level())
        return;
    if (t->log_window == 0 || now - t->log_window >= CW_SEC(60)) {
        if (t->log_suppressed)
            cw_log(CW_LOG_WARN, "snmp [%s %s] %s: %u more messages suppressed in the last minute",
                   kind_name(t), t->name, t->cfg->agent, t->log_suppressed);
        t->log_window = now;
        t->log_count = 0;
        t->log_suppressed = 0;
    }
    if (t->log_count >= LOG_BURST) {
        t->log_suppressed++;
        return;
    }
    t->log_count++;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cw_log(lvl, "snmp [%s %s] %s: %s", kind_name(t), t->name, t->cfg->agent, msg);
}

/* Changes state; a change (or a new error text in a failed state) is logged
 * once, repeats are not. */
static void set_state(struct target *t, enum tstate s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_state(struct target *t, enum tstate s, const char *fmt, ...)
{
    char msg[SNMP_STATUS_TEXT] = "";
    enum tstate prev;
    bool changed;
    va_list ap;

    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_lock(&t->p->lock);
    prev = t->state;
    changed = t->state != s || (s != ST_UP && s != ST_RESOLVING && strcmp(t->st.error, msg) != 0);
    t->state = s;
    t->st.state = state_names[s];
    if (s != ST_RESOLVING)
        cw_strlcpy(t->st.error, msg, sizeof(t->st.error));
    if (changed)
        t->st.last_change = cw_wall_now();
    pthread_mutex_unlock(&t->p->lock);
    if (!changed)
        return;
    if (s == ST_UP)
        tlog(t, CW_LOG_INFO, "%s", prev == ST_RESOLVING ? "answering" : "answering again");
    else if (s != ST_RESOLVING)
        tlog(t, CW_LOG_WARN, "%s: %s", state_names[s], msg);
}

static void set_note(struct target *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_note(struct target *t, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&t->p->lock);
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(t->st.note, sizeof(t->st.note), fmt, ap);
        va_end(ap);
    } else {
        t->st.note[0] = '\0';
    }
    pthread_mutex_unlock(&t->p->lock);
}

static void put(struct target *t, const char *what, cw_ns_t when, double v)
{
    char name[METRICS_NAME_MAX];

    snprintf(name, sizeof(name), "%s.%s.%s", kind_name(t), t->name, what);
    metrics_put(t->p->m, name, when, v);
}

/* A failed poll: a gap in every series of the target. */
static void put_gap(struct target *t)
{
    cw_ns_t now = cw_wall_now();

    if (t->kind == T_LINK) {
        put(t, "in_bps", now, NAN);
        put(t, "out_bps", now, NAN);
        put(t, "util_pct", now, NAN);
        put(t, "errors", now, NAN);
    } else {
        put(t, "pct", now, NAN);
    }
    pthread_mutex_lock(&t->p->lock);
    t->st.in_bps = t->st.out_bps = t->st.util_pct = t->st.errors_ps = t->st.cpu_pct = NAN;
    pthread_mutex_unlock(&t->p->lock);
}

/* ---------------------------------------------------------------- sessions */

static void close_session(struct target *t)
{
    if (t->sess) {
        t->closing = true;
        snmplib.snmp_sess_close(t->sess);
        t->closing = false;
        t->sess = NULL;
    }
    t->engine_id_len = 0;
    t->answered = false;
    if (t->resp) {
        snmplib.snmp_free_pdu(t->resp);
        t->resp = NULL;
    }
    t->phase = PH_IDLE;
    t->done = false;
}

static int open_session(struct target *t, char *err, size_t errlen)
{
    const cw_snmp_cfg_t *c = t->cfg;
    netsnmp_session s;
    netsnmp_session *ss;

    snmplib.snmp_sess_init(&s);
    s.peername = t->peer;
    s.retries = (int)c->retries;
    s.timeout = c->timeout_ms * 1000L;
    if (c->version == 1)
        s.version = SNMP_VERSION_1;
    else if (c->version == 2)
        s.version = SNMP_VERSION_2c;
    else
        s.version = SNMP_VERSION_3;
    if (c->version != 3) {
        s.community = (u_char *)c->community;
        s.community_len = strlen(c->community);
    } else {
        s.securityName = c->user;
        s.securityNameLen = strlen(c->user);
        s.securityModel = SNMP_SEC_MODEL_USM;
        s.securityLevel = t->sec_level;
        if (t->auth_oid) {
            s.securityAuthProto = (oid *)t->auth_oid;
            s.securityAuthProtoLen = t->auth_oid_len;
            s.securityAuthKeyLen = USM_AUTH_KU_LEN;
            if (snmplib.generate_Ku(t->auth_oid, (u_int)t->auth_oid_len,
                                    (const u_char *)c->auth_pass, strlen(c->auth_pass),
                                    s.securityAuthKey, &s.securityAuthKeyLen) != SNMPERR_SUCCESS) {
                snprintf(err, errlen, "cannot make a key from auth_pass");
                return -EINVAL;
            }
        }
        if (t->priv_oid) {
            s.securityPrivProto = (oid *)t->priv_oid;
            s.securityPrivProtoLen = t->priv_oid_len;
            s.securityPrivKeyLen = USM_PRIV_KU_LEN;
            if (snmplib.generate_Ku(t->auth_oid, (u_int)t->auth_oid_len,
                                    (const u_char *)c->priv_pass, strlen(c->priv_pass),
                                    s.securityPrivKey, &s.securityPrivKeyLen) != SNMPERR_SUCCESS) {
                snprintf(err, errlen, "cannot make a key from priv_pass");
                return -EINVAL;
            }
        }
        /* The library's own engine discovery waits for the answer; ours
         * is asynchronous (see send_probe). */
        s.flags |= SNMP_FLAGS_DONT_PROBE;
    }
    t->sess = snmplib.snmp_sess_open(&s);
    if (!t->sess) {
        snprintf(err, errlen, "cannot open a session to %.200s: %s", t->peer,
                 snmplib.snmp_api_errstring(s.s_snmp_errno));
        return -EIO;
    }
    ss = snmplib.snmp_sess_session(t->sess);
    if (c->version == 3)
        ss->flags |= SNMP_FLAGS_DONT_PROBE; /* opening clears it */
    t->engine_id_len = 0;
    return 0;
}

static int on_response(int op, netsnmp_session *sp, int reqid, netsnmp_pdu *pdu, void *magic)
{
    struct req_ctx *ctx = magic;
    struct target *t = ctx->t;

    (void)sp;
    /* net-snmp 5.9 hands a report to the callback twice: first as
     * OP_SEC_ERROR, then as OP_RECEIVED_MESSAGE.  The first one counts. */
    if (op == NETSNMP_CALLBACK_OP_SEC_ERROR && pdu)
        op = NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE;
    if (t->closing || t->done || t->phase == PH_IDLE || t->phase == PH_DNS)
        return 1;
    /* One request at a time per target; a v3 report may carry request-id
     * 0 (the agent could not read ours), so only responses are matched. */
    if (pdu && pdu->command != SNMP_MSG_REPORT && reqid != t->reqid)
        return 1;
    if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu && pdu->command == SNMP_MSG_REPORT &&
        t->phase != PH_PROBE && snmplib.snmpv3_get_report_type(pdu) == SNMPERR_NOT_IN_TIME_WINDOW) {
        /* The library resends with the agent's time; not an answer yet. */
        t->saw_time_window = true;
        return 1;
    }
    if (op == NETSNMP_CALLBACK_OP_RESEND)
        return 1;
    t->op = op;
    t->done = true;
    if (pdu && op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE)
        t->resp = snmplib.snmp_clone_pdu(pdu);
    return 1;
}

static int send_pdu(struct target *t, netsnmp_pdu *pdu, enum phase ph)
{
    const cw_snmp_cfg_t *c = t->cfg;
    int id;

    t->phase = ph;
    t->done = false;
    t->saw_time_window = false;
    t->ctx.t = t;
    t->reqid = 0;
    /* The callback may only come from snmp_sess_read/timeout, after this
     * returns, so reqid is set in time. */
    id = snmplib.snmp_sess_async_send(t->sess, pdu, on_response, &t->ctx);
    if (id == 0) {
        snmplib.snmp_free_pdu(pdu);
        t->phase = PH_IDLE;
        return -EIO;
    }
    t->reqid = id;
    t->deadline =
        mono_now() + (cw_ns_t)c->timeout_ms * CW_NS_PER_MS * (c->retries + 1) * 2 + CW_SEC(1);
    return 0;
}

/* ---------------------------------------------------------------- cycle steps */

static void finish_cycle_ok(struct target *t);
static void fail(struct target *t, enum tstate s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void next_step(struct target *t);

static void fail(struct target *t, enum tstate s, const char *fmt, ...)
{
    char msg[SNMP_STATUS_TEXT];
    cw_ns_t delay;
    long iv = t->cfg->interval_s > 0 ? t->cfg->interval_s : 10;
    unsigned shift;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    t->phase = PH_IDLE;
    t->done = false;
    if (t->resp) {
        snmplib.snmp_free_pdu(t->resp);
        t->resp = NULL;
    }
    t->fails++;
    pthread_mutex_lock(&t->p->lock);
    t->st.failures++;
    t->st.polls++;
    pthread_mutex_unlock(&t->p->lock);
    set_state(t, s, "%s", msg);
    put_gap(t);
    /* Retry after the interval, doubling with every further failure up to
     * a minute (or the interval, when that is longer). */
    shift = t->fails > 1 ? t->fails - 1 : 0;
    if (shift > 6)
        shift = 6;
    delay = CW_SEC(iv) << shift;
    if (delay > CW_SEC(MAX_BACKOFF_S) && CW_SEC(iv) < CW_SEC(MAX_BACKOFF_S))
        delay = CW_SEC(MAX_BACKOFF_S);
    else if (delay > CW_SEC(iv) && CW_SEC(iv) >= CW_SEC(MAX_BACKOFF_S))
        delay = CW_SEC(iv);
    t->next_due = mono_now() + delay;
}

static void *dns_thread(void *arg)
{
    struct dns_req *d = arg;
    struct addrinfo hints, *res = NULL, *ai, *pick = NULL;
    char addr[INET6_ADDRSTRLEN];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    rc = getaddrinfo(d->host, NULL, &hints, &res);
    pthread_mutex_lock(&d->lock);
    d->gai_err = rc;
    if (rc == 0) {
        /* Prefer IPv4: snmpd listens on udp:161 (IPv4) unless told otherwise. */
        for (ai = res; ai; ai = ai->ai_next)
            if (ai->ai_family == AF_INET && (!pick || pick->ai_family != AF_INET))
                pick = ai;
        if (!pick)
            pick = res;
        if (pick->ai_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)pick->ai_addr)->sin_addr, addr,
                      sizeof(addr));
            snprintf(d->peer, sizeof(d->peer), "udp:%s:%u", addr, d->port);
        } else {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)pick->ai_addr)->sin6_addr, addr,
                      sizeof(addr));
            snprintf(d->peer, sizeof(d->peer), "udp6:[%s]:%u", addr, d->port);
        }
        freeaddrinfo(res);
    }
    d->done = true;
    if (--d->refs == 0) {
        pthread_mutex_unlock(&d->lock);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return NULL;
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

static void dns_release(struct dns_req *d)
{
    bool last;

    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    last = --d->refs == 0;
    pthread_mutex_unlock(&d->lock);
    if (last) {
        pthread_mutex_destroy(&d->lock);
        free(d);
    }
}

static void start_dns(struct target *t)
{
    struct dns_req *d = cw_calloc(1, sizeof(*d));
    pthread_attr_t attr;
    pthread_t th;

    pthread_mutex_init(&d->lock, NULL);
    d->refs = 2;
    d->port = t->port;
    cw_strlcpy(d->host, t->host, sizeof(d->host));
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, dns_thread, d) != 0) {
        pthread_attr_destroy(&attr);
        pthread_mutex_destroy(&d->lock);
        free(d);
        fail(t, ST_ERROR, "cannot start a name lookup for %s", t->host);
        return;
    }
    pthread_attr_destroy(&attr);
    t->dns = d;
    t->phase = PH_DNS;
}

static void send_probe(struct target *t)
{
    netsnmp_pdu *pdu = snmplib.snmp_pdu_create(SNMP_MSG_GET);

    /* RFC 3414 discovery: an unauthenticated request from no user; the
     * agent's report carries its engine ID. */
    pdu->version = SNMP_VERSION_3;
    pdu->securityName = strdup("");
    pdu->securityNameLen = 0;
    pdu->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
    pdu->securityModel = SNMP_SEC_MODEL_USM;
    snmplib.snmp_sess_session(t->sess)->flags |= SNMP_FLAGS_DONT_PROBE;
    if (send_pdu(t, pdu, PH_PROBE) != 0)
        fail(t, ST_ERROR, "cannot send the SNMPv3 discovery request: %s",
             snmplib.snmp_api_errstring(snmplib.snmp_sess_session(t->sess)->s_snmp_errno));
}

static void start_walk(struct target *t, enum walk_kind k)
{
    t->wkind = k;
    switch (k) {
    case W_IFNAME:
        t->wroot = OID_IFNAME;
        t->wroot_len = OIDLEN(OID_IFNAME);
        break;
    case W_IFDESCR:
        t->wroot = OID_IFDESCR;
        t->wroot_len = OIDLEN(OID_IFDESCR);
        break;
    case W_HRLOAD:
        t->wroot = OID_HRPROCESSORLOAD;
        t->wroot_len = OIDLEN(OID_HRPROCESSORLOAD);
        break;
    case W_CISCO:
        t->wroot = OID_CISCO_CPU5SEC;
        t->wroot_len = OIDLEN(OID_CISCO_CPU5SEC);
        break;
    case W_JNX_DESCR:
        t->wroot = OID_JNX_DESCR;
        t->wroot_len = OIDLEN(OID_JNX_DESCR);
        break;
    }
    memcpy(t->wlast, t->wroot, t->wroot_len * sizeof(oid));
    t->wlast_len = t->wroot_len;
    t->nrows = 0;
    t->wfound = false;
}

static void send_walk_step(struct target *t)
{
    netsnmp_pdu *pdu;

    if (t->cfg->version == 1) {
        pdu = snmplib.snmp_pdu_create(SNMP_MSG_GETNEXT);
    } else {
        pdu = snmplib.snmp_pdu_create(SNMP_MSG_GETBULK);
        pdu->non_repeaters = 0;
        pdu->max_repetitions = BULK_REPETITIONS;
    }
    snmplib.snmp_add_null_var(pdu, t->wlast, t->wlast_len);
    if (send_pdu(t, pdu, PH_WALK) != 0)
        fail(t, ST_ERROR, "cannot send a request: %s",
             snmplib.snmp_api_errstring(snmplib.snmp_sess_session(t->sess)->s_snmp_errno));
}

static void add_slot(struct target *t, netsnmp_pdu *pdu, int slot, const oid *base, size_t blen,
                     const oid *suffix, size_t slen)
{
    oid name[MAX_OID_LEN];

    if (t->nslots >= MAX_SLOTS || blen + slen > MAX_OID_LEN)
        return;
    if (slot < 32 && (t->v1_missing & (1u << slot)))
        return;
    memcpy(name, base, blen * sizeof(oid));
    if (slen)
        memcpy(name + blen, suffix, slen * sizeof(oid));
    snmplib.snmp_add_null_var(pdu, name, blen + slen);
    t->slots[t->nslots++] = slot;
}

static void send_get(struct target *t)
{
    netsnmp_pdu *pdu = snmplib.snmp_pdu_create(SNMP_MSG_GET);
    oid idx[1];

    t->nslots = 0;
    add_slot(t, pdu, S_UPTIME, OID_SYSUPTIME, OIDLEN(OID_SYSUPTIME), NULL, 0);
    if (t->kind == T_LINK) {
        idx[0] = (oid)t->ifindex;
        add_slot(t, pdu, S_HCIN, OID_IFHCINOCTETS, OIDLEN(OID_IFHCINOCTETS), idx, 1);
        add_slot(t, pdu, S_HCOUT, OID_IFHCOUTOCTETS, OIDLEN(OID_IFHCOUTOCTETS), idx, 1);
        add_slot(t, pdu, S_IN, OID_IFINOCTETS, OIDLEN(OID_IFINOCTETS), idx, 1);
        add_slot(t, pdu, S_OUT, OID_IFOUTOCTETS, OIDLEN(OID_IFOUTOCTETS), idx, 1);
        add_slot(t, pdu, S_HIGHSPEED, OID_IFHIGHSPEED, OIDLEN(OID_IFHIGHSPEED), idx, 1);
        add_slot(t, pdu, S_SPEED, OID_IFSPEED, OIDLEN(OID_IFSPEED), idx, 1);
        add_slot(t, pdu, S_OPER, OID_IFOPERSTATUS, OIDLEN(OID_IFOPERSTATUS), idx, 1);
        add_slot(t, pdu, S_INERR, OID_IFINERRORS, OIDLEN(OID_IFINERRORS), idx, 1);
        add_slot(t, pdu, S_OUTERR, OID_IFOUTERRORS, OIDLEN(OID_IFOUTERRORS), idx, 1);
        add_slot(t, pdu, S_INDISC, OID_IFINDISCARDS, OIDLEN(OID_IFINDISCARDS), idx, 1);
        add_slot(t, pdu, S_OUTDISC, OID_IFOUTDISCARDS, OIDLEN(OID_IFOUTDISCARDS), idx, 1);
        if (t->link->ifname) {
            if (t->name_is_descr)
                add_slot(t, pdu, S_NAMECHECK, OID_IFDESCR, OIDLEN(OID_IFDESCR), idx, 1);
            else
                add_slot(t, pdu, S_NAMECHECK, OID_IFNAME, OIDLEN(OID_IFNAME), idx, 1);
        }
    } else {
        switch (t->preset) {
        case SNMP_CPU_UCD:
            for (unsigned i = 0; i < SNMP_UCD_NCOUNTERS; i++) {
                oid sfx[2] = { ucd_subid[i], 0 };

                add_slot(t, pdu, S_VALUE + (int)i, OID_UCD_SYSTATS, OIDLEN(OID_UCD_SYSTATS), sfx,
                         2);
            }
            break;
        case SNMP_CPU_FORTINET:
            add_slot(t, pdu, S_VALUE, OID_FORTI_CPU, OIDLEN(OID_FORTI_CPU), NULL, 0);
            break;
        case SNMP_CPU_OID:
            add_slot(t, pdu, S_VALUE, t->user_oid, t->user_oid_len, NULL, 0);
            break;
        case SNMP_CPU_JUNIPER:
            for (size_t i = 0; i < t->njnx; i++)
                add_slot(t, pdu, S_VALUE + (int)i, OID_JNX_CPU, OIDLEN(OID_JNX_CPU), t->jnx_rows[i],
                         4);
            break;
        default:
            break;
        }
    }
    if (send_pdu(t, pdu, PH_GET) != 0)
        fail(t, ST_ERROR, "cannot send a request: %s",
             snmplib.snmp_api_errstring(snmplib.snmp_sess_session(t->sess)->s_snmp_errno));
}

/* Decides what the cycle does next, from what is known. */
static void next_step(struct target *t)
{
    char err[512];

    if (!t->peer[0]) {
        if (t->numeric) {
            cw_addr_t a;

            cw_addr_parse(t->host, &a);
            if (a.family == 6)
                snprintf(t->peer, sizeof(t->peer), "udp6:[%s]:%u", t->host, t->port);
            else
                snprintf(t->peer, sizeof(t->peer), "udp:%s:%u", t->host, t->port);
        } else {
            start_dns(t);
            return;
        }
    }
    if (!t->sess && open_session(t, err, sizeof(err)) != 0) {
        fail(t, ST_ERROR, "%s", err);
        return;
    }
    if (t->cfg->version == 3 && t->engine_id_len == 0) {
        send_probe(t);
        return;
    }
    if (t->kind == T_LINK && t->ifindex == 0) {
        start_walk(t, W_IFNAME);
        send_walk_step(t);
        return;
    }
    if (t->kind == T_CPU && t->preset == SNMP_CPU_JUNIPER && !t->jnx_resolved) {
        start_walk(t, W_JNX_DESCR);
        send_walk_step(t);
        return;
    }
    send_get(t);
}

static void start_cycle(struct target *t)
{
    t->cycle_start = mono_now();
    t->resend_budget = MAX_SLOTS;
    /* What a v1 agent lacked is left out of later polls, except after a
     * failed cycle: noSuchName may have been temporary. */
    if (t->fails > 0) {
        t->v1_missing = 0;
        t->v1_note[0] = '\0';
    }
    next_step(t);
}

/* ---------------------------------------------------------------- values */

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

/* ---------------------------------------------------------------- results */

static const char *version_name(const struct target *t)
{
    return t->cfg->version == 1 ? "v1" : t->cfg->version == 2 ? "v2c" : "v3";
}

static void on_timeout(struct target *t)
{
    const cw_snmp_cfg_t *c = t->cfg;

    if (t->phase == PH_DNS)
        return;
    if (t->saw_time_window) {
        fail(t, ST_ERROR,
             "the agent kept answering notInTimeWindow; its engine boots/time are not accepted");
        close_session(t);
        return;
    }
    if (c->version == 3 && t->sec_level == SNMP_SEC_LEVEL_AUTHPRIV && t->engine_id_len > 0 &&
        !t->answered)
        fail(t, ST_TIMEOUT,
             "no answer within %ld ms (%ld tries) after engine discovery succeeded: wrong "
             "priv_pass or priv protocol?",
             c->timeout_ms, c->retries + 1);
    else if (c->version != 3)
        fail(t, ST_TIMEOUT,
             "no answer within %ld ms (%ld tries): agent down, wrong port, or wrong %s community?",
             c->timeout_ms, c->retries + 1, version_name(t));
    else
        fail(t, ST_TIMEOUT, "no answer within %ld ms (%ld tries): agent down or wrong port?",
             c->timeout_ms, c->retries + 1);
    /* A v3 agent that comes back with another engine ID answers in a way
     * the old session cannot parse: discover it again next time.  A name
     * that keeps timing out is looked up again (its address may have moved). */
    if (c->version == 3)
        close_session(t);
    if (!t->numeric && t->fails >= 3) {
        close_session(t);
        t->peer[0] = '\0';
    }
}

/* Handles a v3 report to a request; true when it was one. */
static bool on_report(struct target *t, netsnmp_pdu *r)
{
    int type;

    if (r->command != SNMP_MSG_REPORT)
        return false;
    type = snmplib.snmpv3_get_report_type(r);
    switch (type) {
    case SNMPERR_AUTHENTICATION_FAILURE:
    case SNMPERR_UNKNOWN_USER_NAME:
    case SNMPERR_UNSUPPORTED_SEC_LEVEL:
    case SNMPERR_DECRYPTION_ERR:
        fail(t, ST_AUTH, "the agent answered with a report: %s (user \"%s\")",
             snmplib.snmp_api_errstring(type), t->cfg->user);
        break;
    case SNMPERR_UNKNOWN_ENG_ID:
        /* Its engine ID changed (new agent, lost state): discover again. */
        fail(t, ST_ERROR, "the agent answered with a report: %s; discovering it again",
             snmplib.snmp_api_errstring(type));
        close_session(t);
        break;
    default:
        fail(t, ST_ERROR, "the agent answered with a report: %s", snmplib.snmp_api_errstring(type));
        break;
    }
    return true;
}

static void on_probe(struct target *t, netsnmp_pdu *r)
{
    netsnmp_session *ss = snmplib.snmp_sess_session(t->sess);
    char hex[2 * 32 + 1];

    if (r->securityEngineIDLen == 0 || r->securityEngineIDLen > sizeof(t->engine_id)) {
        fail(t, ST_ERROR, "SNMPv3 discovery: the agent's answer carries no engine ID");
        return;
    }
    memcpy(t->engine_id, r->securityEngineID, r->securityEngineIDLen);
    t->engine_id_len = r->securityEngineIDLen;
    if (ss->securityEngineIDLen == 0) {
        ss->securityEngineID = snmplib.netsnmp_memdup(t->engine_id, t->engine_id_len);
        ss->securityEngineIDLen = t->engine_id_len;
    }
    if (ss->contextEngineIDLen == 0) {
        ss->contextEngineID = snmplib.netsnmp_memdup(t->engine_id, t->engine_id_len);
        ss->contextEngineIDLen = t->engine_id_len;
    }
    /* Localize our keys to this engine (the library's USM user table). */
    if (snmplib.create_user_from_session(ss) != SNMPERR_SUCCESS) {
        fail(t, ST_ERROR, "SNMPv3: cannot set up user \"%s\" for the agent's engine", t->cfg->user);
        close_session(t);
        return;
    }
    for (size_t i = 0; i < t->engine_id_len && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", t->engine_id[i]);
    tlog(t, CW_LOG_DEBUG, "SNMPv3 engine ID %s", hex);
    next_step(t);
}

static void add_row(struct target *t, const netsnmp_variable_list *v)
{
    struct walk_row *row;
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

static void walk_done(struct target *t);
static void publish_cpu(struct target *t, enum snmp_cpu_preset preset, const double *v, size_t n);

static void on_walk(struct target *t, netsnmp_pdu *r)
{
    bool end = false;

    if (r->errstat == SNMP_ERR_NOSUCHNAME && t->cfg->version == 1) {
        end = true; /* v1's end of the MIB */
    } else if (r->errstat != SNMP_ERR_NOERROR) {
        fail(t, ST_ERROR, "walking %s: the agent answered %s",
             t->wkind == W_IFNAME ? "ifName" : "a table", snmplib.snmp_errstring((int)r->errstat));
        return;
    }
    for (netsnmp_variable_list *v = r->variables; v && !end; v = v->next_variable) {
        if (is_exception(v) || v->name_length <= t->wroot_len ||
            snmplib.netsnmp_oid_is_subtree(t->wroot, t->wroot_len, v->name, v->name_length) != 0) {
            end = true;
            break;
        }
        if (snmplib.snmp_oid_compare(v->name, v->name_length, t->wlast, t->wlast_len) <= 0) {
            fail(t, ST_ERROR, "the agent returned OIDs out of order while walking");
            return;
        }
        memcpy(t->wlast, v->name, v->name_length * sizeof(oid));
        t->wlast_len = v->name_length;
        if (t->wkind == W_IFNAME || t->wkind == W_IFDESCR) {
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
        if (t->nrows >=
            ((t->wkind == W_IFNAME || t->wkind == W_IFDESCR) ? MAX_WALK_NAMES : MAX_WALK_ROWS)) {
            end = true;
            break;
        }
    }
    if (!r->variables)
        end = true;
    if (end)
        walk_done(t);
    else
        send_walk_step(t);
}

static void walk_done(struct target *t)
{
    char rootbuf[96];
    double vals[MAX_WALK_ROWS < 256 ? MAX_WALK_ROWS : 256];
    size_t nv = 0;

    switch (t->wkind) {
    case W_IFNAME:
        if (t->wfound) {
            t->by_name = true;
            t->name_is_descr = false;
            tlog(t, CW_LOG_INFO, "interface \"%s\" is ifIndex %ld (ifName)", t->link->ifname,
                 t->ifindex);
            memset(&t->prev, 0, sizeof(t->prev));
            t->v1_missing = 0;
            next_step(t);
            return;
        }
        start_walk(t, W_IFDESCR);
        send_walk_step(t);
        return;
    case W_IFDESCR:
        if (t->wfound) {
            t->by_name = true;
            t->name_is_descr = true;
            tlog(t, CW_LOG_INFO, "interface \"%s\" is ifIndex %ld (ifDescr)", t->link->ifname,
                 t->ifindex);
            memset(&t->prev, 0, sizeof(t->prev));
            t->v1_missing = 0;
            next_step(t);
            return;
        }
        fail(t, ST_NOSUCH, "no interface has ifName or ifDescr \"%s\" (%zu interfaces walked)",
             t->link->ifname, t->nrows);
        return;
    case W_JNX_DESCR: {
        const char **descr = cw_calloc(t->nrows + 1, sizeof(*descr));
        unsigned *cont = cw_calloc(t->nrows + 1, sizeof(*cont));
        size_t pick[MAX_JUNIPER_ROWS];

        for (size_t i = 0; i < t->nrows; i++) {
            descr[i] = t->rows[i].suffix_len == 4 ? t->rows[i].text : NULL;
            cont[i] = t->rows[i].suffix_len == 4 ? (unsigned)t->rows[i].suffix[0] : 0;
        }
        t->njnx = snmp_juniper_rows(descr, cont, t->nrows, pick, MAX_JUNIPER_ROWS);
        for (size_t i = 0; i < t->njnx; i++)
            memcpy(t->jnx_rows[i], t->rows[pick[i]].suffix, 4 * sizeof(oid));
        free(descr);
        free(cont);
        if (t->njnx == 0) {
            fail(t, ST_NOSUCH,
                 "no Routing Engine row in jnxOperatingTable (%zu rows of jnxOperatingDescr)",
                 t->nrows);
            return;
        }
        t->jnx_resolved = true;
        next_step(t);
        return;
    }
    case W_HRLOAD:
    case W_CISCO:
        for (size_t i = 0; i < t->nrows && nv < sizeof(vals) / sizeof(vals[0]); i++)
            if (!isnan(t->rows[i].value))
                vals[nv++] = t->rows[i].value;
        if (nv == 0) {
            oid_str(t->wroot, t->wroot_len, rootbuf, sizeof(rootbuf));
            fail(t, ST_NOSUCH, "%s %s has no rows%s",
                 t->wkind == W_HRLOAD ? "hrProcessorLoad" : "cpmCPUTotal5secRev", rootbuf,
                 t->wkind == W_HRLOAD ? " (snmpd fills it about a minute after it starts)" : "");
            return;
        }
        publish_cpu(t, t->wkind == W_HRLOAD ? SNMP_CPU_HOSTRES : SNMP_CPU_CISCO, vals, nv);
        return;
    }
}

/* Uptime bookkeeping shared by every GET; returns true if the agent
 * restarted since the last poll. */
static bool check_restart(struct target *t, bool have, uint32_t ticks, cw_ns_t now)
{
    double dt;
    bool restarted = false;

    if (!have)
        return false;
    if (t->up_have_prev &&
        snmp_elapsed(true, t->up_prev, ticks, (double)(now - t->up_prev_ns) / 1e9, &dt) ==
            SNMP_ELAPSED_RESTART) {
        restarted = true;
        pthread_mutex_lock(&t->p->lock);
        t->st.restarts++;
        pthread_mutex_unlock(&t->p->lock);
        tlog(t, CW_LOG_WARN,
             "the agent restarted (sysUpTime went from %.2f s to %.2f s): this interval is "
             "skipped",
             t->up_prev / 100.0, ticks / 100.0);
    }
    t->up_have_prev = true;
    t->up_prev = ticks;
    t->up_prev_ns = now;
    return restarted;
}

static void on_get_link(struct target *t, const netsnmp_variable_list *vals[NSLOT_IDS],
                        const char *missing_what)
{
    snmp_link_sample_t cur;
    snmp_link_rates_t r;
    uint64_t u, hs = 0, sp = 0;
    bool have_hs = false, have_sp = false, restarted;
    int oper = 0;
    cw_ns_t now = mono_now(), wall = cw_wall_now();
    char name[256];

    memset(&cur, 0, sizeof(cur));
    cur.valid = true;
    cur.t_ns = now;
    if (vals[S_UPTIME] && var_u64(vals[S_UPTIME], &u)) {
        cur.have_uptime = true;
        cur.uptime_ticks = (uint32_t)u;
    }
    restarted = check_restart(t, cur.have_uptime, cur.uptime_ticks, now);
    if (restarted && t->by_name) {
        /* Interfaces may be numbered anew: find ours again. */
        t->ifindex = t->link->ifindex;
        t->by_name = false;
        memset(&t->prev, 0, sizeof(t->prev));
        t->v1_missing = 0;
        put_gap(t);
        next_step(t);
        return;
    }
    if (vals[S_NAMECHECK]) {
        var_text(vals[S_NAMECHECK], name, sizeof(name));
        if (strcmp(name, t->link->ifname) != 0) {
            tlog(t, CW_LOG_WARN, "ifIndex %ld is now \"%s\", not \"%s\": looking it up again",
                 t->ifindex, name, t->link->ifname);
            t->ifindex = 0;
            t->by_name = false;
            memset(&t->prev, 0, sizeof(t->prev));
            t->v1_missing = 0;
            next_step(t);
            return;
        }
    }
    if (vals[S_HCIN] && vals[S_HCOUT] && var_u64(vals[S_HCIN], &cur.in_octets) &&
        var_u64(vals[S_HCOUT], &cur.out_octets)) {
        cur.have_octets = true;
        cur.octet_bits = vals[S_HCIN]->type == ASN_COUNTER64 ? 64 : 32;
    } else if (vals[S_IN] && vals[S_OUT] && var_u64(vals[S_IN], &cur.in_octets) &&
               var_u64(vals[S_OUT], &cur.out_octets)) {
        cur.have_octets = true;
        cur.octet_bits = 32;
    }
    if (!cur.have_octets) {
        if (t->by_name && t->link->ifname && !vals[S_NAMECHECK]) {
            /* The interface is gone; perhaps it comes back under another index. */
            t->ifindex = t->link->ifindex;
            t->by_name = false;
        }
        fail(t, ST_NOSUCH,
             "ifIndex %ld: no ifHCInOctets/ifHCOutOctets nor ifInOctets/ifOutOctets (%s)",
             t->ifindex, missing_what);
        return;
    }
    for (unsigned i = 0; i < 4; i++) {
        static const int es[4] = { S_INERR, S_OUTERR, S_INDISC, S_OUTDISC };

        if (vals[es[i]] && var_u64(vals[es[i]], &u)) {
            cur.err[i] = (uint32_t)u;
            cur.err_have |= 1u << i;
        }
    }
    if (vals[S_HIGHSPEED] && var_u64(vals[S_HIGHSPEED], &hs))
        have_hs = true;
    if (vals[S_SPEED] && var_u64(vals[S_SPEED], &sp))
        have_sp = true;
    if (t->link->speed_bps)
        cur.speed_bps = t->link->speed_bps;
    else if (have_sp && sp > 0 && sp < 0xffffffffULL)
        cur.speed_bps = sp;
    else if (have_hs && hs > 0)
        cur.speed_bps = hs * 1000000ULL;
    if (vals[S_OPER] && var_u64(vals[S_OPER], &u))
        oper = (int)u;

    snmp_link_rates(&t->prev, &cur, t->cfg->interval_s, &r);
    t->prev = cur;

    pthread_mutex_lock(&t->p->lock);
    t->st.ifindex = t->ifindex;
    t->st.oper_status = oper;
    t->st.speed_bps = cur.speed_bps ? (double)cur.speed_bps : NAN;
    pthread_mutex_unlock(&t->p->lock);

    switch (r.verdict) {
    case SNMP_RATE_OK:
        put(t, "in_bps", wall, r.in_bps);
        put(t, "out_bps", wall, r.out_bps);
        put(t, "util_pct", wall, r.util_pct);
        put(t, "errors", wall, r.errors_ps);
        pthread_mutex_lock(&t->p->lock);
        t->st.in_bps = r.in_bps;
        t->st.out_bps = r.out_bps;
        t->st.util_pct = r.util_pct;
        t->st.errors_ps = r.errors_ps;
        pthread_mutex_unlock(&t->p->lock);
        if (r.util_clamped)
            set_note(t,
                     "util clamped to 100 %%: measured %.0f %% of %.0f bit/s (agents cache "
                     "counters for a few seconds; or the speed is wrong)",
                     r.util_raw_pct, (double)cur.speed_bps);
        else if (cur.speed_bps == 0)
            set_note(t, "no util_pct: the agent reports no speed and none is configured "
                        "(speed = ...)");
        else if (r.wrapped)
            set_note(t, "a %u-bit counter wrapped in this interval", cur.octet_bits);
        else
            set_note(t, NULL);
        break;
    case SNMP_RATE_FIRST:
        break;
    case SNMP_RATE_RESTART:
        put_gap(t);
        set_note(t, "agent restarted: interval skipped");
        break;
    case SNMP_RATE_GAP:
        set_note(t, "previous answer too old (missed polls): interval skipped");
        break;
    case SNMP_RATE_BACKWARDS:
        put_gap(t);
        set_note(t, "an octet counter went back without an agent restart: interval discarded");
        tlog(t, CW_LOG_WARN,
             "an octet counter went back without an agent restart: interval discarded");
        break;
    case SNMP_RATE_CHANGED:
        set_note(t, "counter width changed (ifHC* appeared or vanished): interval skipped");
        break;
    case SNMP_RATE_NO_TIME:
        break;
    }
    if (oper != 0 && oper != 1 && r.verdict == SNMP_RATE_OK)
        set_note(t, "ifOperStatus is %d (not up)", oper);
    finish_cycle_ok(t);
}

static void publish_cpu(struct target *t, enum snmp_cpu_preset preset, const double *v, size_t n)
{
    double pct, raw = n ? v[0] : NAN;
    enum snmp_pct_check c = snmp_cpu_combine(preset, v, n, &pct);

    if (preset == SNMP_CPU_HOSTRES)
        raw = snmp_mean(v, n);
    else if (preset == SNMP_CPU_CISCO || preset == SNMP_CPU_JUNIPER)
        raw = snmp_max(v, n);
    if (c == SNMP_PCT_REJECTED) {
        fail(t, ST_ERROR, "the agent reports %g, not a percentage (0-100)", raw);
        return;
    }
    put(t, "pct", cw_wall_now(), pct);
    pthread_mutex_lock(&t->p->lock);
    t->st.cpu_pct = pct;
    pthread_mutex_unlock(&t->p->lock);
    if (c == SNMP_PCT_CLAMPED)
        set_note(t, "clamped %.1f %% to 100", raw);
    else if (n > 1)
        set_note(t, "%s of %zu rows", preset == SNMP_CPU_HOSTRES ? "mean" : "max", n);
    else
        set_note(t, NULL);
    finish_cycle_ok(t);
}

static void on_get_cpu(struct target *t, const netsnmp_variable_list *vals[NSLOT_IDS],
                       const char *missing_what)
{
    uint64_t u;
    cw_ns_t now = mono_now();
    bool restarted = false;
    double v;

    if (vals[S_UPTIME] && var_u64(vals[S_UPTIME], &u))
        restarted = check_restart(t, true, (uint32_t)u, now);
    switch (t->preset) {
    case SNMP_CPU_UCD: {
        uint32_t cur[SNMP_UCD_NCOUNTERS] = { 0 };
        unsigned have = 0;
        int rc;

        for (unsigned i = 0; i < SNMP_UCD_NCOUNTERS; i++) {
            if (vals[S_VALUE + i] && var_u64(vals[S_VALUE + i], &u)) {
                cur[i] = (uint32_t)u;
                have |= 1u << i;
            }
        }
        if (!(have & (1u << SNMP_UCD_IDLE)) || !(have & (1u << SNMP_UCD_USER))) {
            fail(t, ST_NOSUCH, "no ssCpuRawUser/ssCpuRawIdle (1.3.6.1.4.1.2021.11.50/53): %s",
                 missing_what);
            return;
        }
        if (!t->ucd_have_prev || restarted) {
            memcpy(t->ucd_prev, cur, sizeof(cur));
            t->ucd_prev_have = have;
            t->ucd_have_prev = true;
            if (restarted)
                put_gap(t);
            finish_cycle_ok(t);
            return;
        }
        rc = snmp_ucd_cpu_pct(t->ucd_prev, cur, have & t->ucd_prev_have, &v);
        memcpy(t->ucd_prev, cur, sizeof(cur));
        t->ucd_prev_have = have;
        if (rc == -EAGAIN) {
            finish_cycle_ok(t);
            return;
        }
        if (rc != 0) {
            put_gap(t);
            set_note(t, "a CPU counter went back without an agent restart: interval discarded");
            finish_cycle_ok(t);
            return;
        }
        publish_cpu(t, SNMP_CPU_UCD, &v, 1);
        return;
    }
    case SNMP_CPU_FORTINET:
    case SNMP_CPU_OID:
        if (!vals[S_VALUE]) {
            fail(t, ST_NOSUCH, "%s", missing_what);
            return;
        }
        if (!var_double(vals[S_VALUE], &v)) {
            fail(t, ST_ERROR, "the value is not a number (ASN.1 type 0x%02x)", vals[S_VALUE]->type);
            return;
        }
        publish_cpu(t, t->preset, &v, 1);
        return;
    case SNMP_CPU_JUNIPER: {
        double vs[MAX_JUNIPER_ROWS];
        size_t n = 0;

        if (restarted) {
            t->jnx_resolved = false; /* rows may be numbered anew */
            next_step(t);
            return;
        }
        for (size_t i = 0; i < t->njnx; i++)
            if (vals[S_VALUE + i] && var_double(vals[S_VALUE + i], &vs[n]))
                n++;
        if (n == 0) {
            t->jnx_resolved = false;
            fail(t, ST_NOSUCH, "jnxOperatingCPU of the Routing Engine rows: %s", missing_what);
            return;
        }
        publish_cpu(t, SNMP_CPU_JUNIPER, vs, n);
        return;
    }
    case SNMP_CPU_HOSTRES:
        start_walk(t, W_HRLOAD);
        send_walk_step(t);
        return;
    case SNMP_CPU_CISCO:
        start_walk(t, W_CISCO);
        send_walk_step(t);
        return;
    default:
        fail(t, ST_ERROR, "no preset");
        return;
    }
}

static void on_get(struct target *t, netsnmp_pdu *r)
{
    const netsnmp_variable_list *vals[NSLOT_IDS] = { NULL };
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
        send_get(t);
        return;
    }
    if (r->errstat != SNMP_ERR_NOERROR) {
        fail(t, r->errstat == SNMP_ERR_NOSUCHNAME ? ST_NOSUCH : ST_ERROR,
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
    if (t->kind == T_LINK)
        on_get_link(t, vals, missing);
    else
        on_get_cpu(t, vals, missing);
}

static void finish_cycle_ok(struct target *t)
{
    long iv = t->cfg->interval_s > 0 ? t->cfg->interval_s : 10;
    cw_ns_t now = mono_now();

    t->phase = PH_IDLE;
    t->fails = 0;
    pthread_mutex_lock(&t->p->lock);
    t->st.polls++;
    t->st.last_ok = cw_wall_now();
    pthread_mutex_unlock(&t->p->lock);
    set_state(t, ST_UP, NULL);
    /* Keep the schedule's phase; if we fell behind, start afresh. */
    t->next_due = t->cycle_start + CW_SEC(iv);
    if (t->next_due <= now)
        t->next_due = now + CW_SEC(iv);
}

/* Handles a completed request (after snmp_sess_read/timeout returned). */
static void handle_done(struct target *t)
{
    netsnmp_pdu *r;
    enum phase ph = t->phase;

    t->done = false;
    if (t->op == NETSNMP_CALLBACK_OP_TIMED_OUT) {
        on_timeout(t);
        return;
    }
    if (t->op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || !t->resp) {
        fail(t, ST_ERROR, "request failed (%s)",
             t->op == NETSNMP_CALLBACK_OP_SEND_FAILED ? "send failed"
             : t->op == NETSNMP_CALLBACK_OP_SEC_ERROR ? "security error"
                                                      : "disconnected");
        return;
    }
    r = t->resp;
    t->resp = NULL;
    if (ph == PH_PROBE) {
        if (r->command == SNMP_MSG_REPORT || r->command == SNMP_MSG_RESPONSE)
            on_probe(t, r);
        else
            fail(t, ST_ERROR, "SNMPv3 discovery: unexpected answer");
    } else if (!on_report(t, r)) {
        t->answered = true;
        if (ph == PH_WALK)
            on_walk(t, r);
        else if (ph == PH_GET)
            on_get(t, r);
    }
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
    cw_ns_t now = mono_now(), wake_at = now + CW_SEC(60);
    int wait_ms;

    for (size_t i = 0; i < p->n; i++) {
        struct target *t = &p->t[i];

        if (t->phase == PH_DNS) {
            bool done;

            pthread_mutex_lock(&t->dns->lock);
            done = t->dns->done;
            pthread_mutex_unlock(&t->dns->lock);
            if (done) {
                struct dns_req *d = t->dns;

                t->dns = NULL;
                t->phase = PH_IDLE;
                if (d->gai_err) {
                    char msg[300];

                    snprintf(msg, sizeof(msg), "cannot resolve \"%s\": %s", d->host,
                             gai_strerror(d->gai_err));
                    dns_release(d);
                    fail(t, ST_ERROR, "%s", msg);
                } else {
                    cw_strlcpy(t->peer, d->peer, sizeof(t->peer));
                    dns_release(d);
                    next_step(t);
                }
            } else if (now + DNS_POLL_MS * CW_NS_PER_MS < wake_at) {
                wake_at = now + DNS_POLL_MS * CW_NS_PER_MS;
            }
        }
        if (t->phase == PH_IDLE && now >= t->next_due)
            start_cycle(t);
        if (t->phase != PH_IDLE && t->phase != PH_DNS && now >= t->deadline) {
            /* The library lost the request (a report it swallowed): give up
             * on this session. */
            t->phase = PH_GET;
            on_timeout(t);
            close_session(t);
        }
        if (t->phase == PH_IDLE && t->next_due < wake_at)
            wake_at = t->next_due;
        if (t->sess && t->phase != PH_IDLE && t->phase != PH_DNS) {
            netsnmp_transport *tr = snmplib.snmp_sess_transport(t->sess);
            netsnmp_large_fd_set lfds;
            struct timeval tv = { 0, 0 };
            int numfds = 0, block = 1;

            if (t->deadline < wake_at)
                wake_at = t->deadline;
            snmplib.netsnmp_large_fd_set_init(&lfds, FD_SETSIZE);
            snmplib.snmp_sess_select_info2_flags(t->sess, &numfds, &lfds, &tv, &block,
                                                 NETSNMP_SELECT_NOALARMS);
            snmplib.netsnmp_large_fd_set_cleanup(&lfds);
            if (!block) {
                cw_ns_t due = now + (cw_ns_t)tv.tv_sec * CW_NS_PER_SEC + (cw_ns_t)tv.tv_usec * 1000;

                if (due < wake_at)
                    wake_at = due;
            }
            if (tr && tr->sock >= 0) {
                fds[nfds].fd = tr->sock;
                fds[nfds].events = POLLIN;
                who[nfds] = i;
                nfds++;
            }
        }
    }
    fds[nfds].fd = p->wake[0];
    fds[nfds].events = POLLIN;
    nfds++;
    now = mono_now();
    wait_ms = wake_at > now ? (int)((wake_at - now + CW_NS_PER_MS - 1) / CW_NS_PER_MS) : 0;
    if (poll(fds, nfds, wait_ms) < 0 && errno != EINTR)
        cw_log(CW_LOG_WARN, "snmp: poll: %s", strerror(errno));
    if (fds[nfds - 1].revents)
        drain_wake(p->wake[0]);
    for (size_t k = 0; k + 1 < nfds; k++) {
        struct target *t = &p->t[who[k]];

        if ((fds[k].revents & (POLLIN | POLLERR)) && t->sess) {
            netsnmp_large_fd_set lfds;

            snmplib.netsnmp_large_fd_set_init(&lfds, fds[k].fd + 1);
            snmplib.netsnmp_large_fd_setfd(fds[k].fd, &lfds);
            snmplib.snmp_sess_read2(t->sess, &lfds);
            snmplib.netsnmp_large_fd_set_cleanup(&lfds);
        }
    }
    for (size_t i = 0; i < p->n && !atomic_load(&p->stop); i++) {
        struct target *t = &p->t[i];

        if (t->sess && t->phase != PH_IDLE && t->phase != PH_DNS && !t->done)
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
    for (size_t i = 0; i < p->n; i++) {
        close_session(&p->t[i]);
        if (p->t[i].dns) {
            dns_release(p->t[i].dns);
            p->t[i].dns = NULL;
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- public */

static enum snmp_cpu_preset preset_of(const cw_cpu_cfg_t *c)
{
    static const struct {
        const char *name;
        enum snmp_cpu_preset p;
    } tab[] = { { "host-resources", SNMP_CPU_HOSTRES },
                { "ucd", SNMP_CPU_UCD },
                { "cisco", SNMP_CPU_CISCO },
                { "fortinet", SNMP_CPU_FORTINET },
                { "juniper", SNMP_CPU_JUNIPER } };

    if (c->oid)
        return SNMP_CPU_OID;
    for (size_t i = 0; c->preset && i < sizeof(tab) / sizeof(tab[0]); i++)
        if (strcmp(c->preset, tab[i].name) == 0)
            return tab[i].p;
    return SNMP_CPU_OID;
}

static void init_target(snmp_poller_t *p, struct target *t, enum tkind kind, const char *name,
                        const cw_snmp_cfg_t *cfg)
{
    t->p = p;
    t->kind = kind;
    t->name = name;
    t->cfg = cfg;
    t->state = ST_RESOLVING;
    t->ctx.t = t;
    parse_agent(cfg->agent, t->host, sizeof(t->host), &t->port, &t->numeric);
    cw_strlcpy(t->st.name, name, sizeof(t->st.name));
    t->st.kind = kind == T_LINK ? "link" : "cpu";
    t->st.state = state_names[ST_RESOLVING];
    cw_strlcpy(t->st.agent, cfg->agent, sizeof(t->st.agent));
    t->st.in_bps = t->st.out_bps = t->st.util_pct = t->st.errors_ps = t->st.cpu_pct = NAN;
    t->st.speed_bps = NAN;
    if (cfg->version == 3) {
        const struct proto_name *a = cfg->auth ? find_proto(auth_protos, cfg->auth) : NULL;
        const struct proto_name *pr = cfg->priv ? find_proto(priv_protos, cfg->priv) : NULL;

        if (a) {
            t->auth_oid = a->o;
            t->auth_oid_len = a->len;
        }
        if (pr) {
            t->priv_oid = pr->o;
            t->priv_oid_len = pr->len;
        }
        t->sec_level = t->priv_oid   ? SNMP_SEC_LEVEL_AUTHPRIV
                       : t->auth_oid ? SNMP_SEC_LEVEL_AUTHNOPRIV
                                     : SNMP_SEC_LEVEL_NOAUTH;
    }
}

snmp_poller_t *snmp_poller_new(const cw_config_t *cfg, metrics_t *m, char *err, size_t errlen)
{
    snmp_poller_t *p;
    size_t n = 0, k = 0;
    char why[512];
    cw_ns_t now;

    if (snmp_config_check(cfg, err, errlen) != 0)
        return NULL;
    for (size_t i = 0; i < cfg->nlinks; i++)
        n += cfg->links[i].snmp.agent != NULL;
    for (size_t i = 0; i < cfg->ncpus; i++)
        n += cfg->cpus[i].snmp.agent != NULL;
    if (n > 0 && !cw_dl_load(&sn_lib, why, sizeof(why))) {
        snprintf(err, errlen, "snmp: %s", why);
        return NULL;
    }
    p = cw_calloc(1, sizeof(*p));
    p->cfg = cfg;
    p->m = m;
    p->n = n;
    p->t = cw_calloc(n ? n : 1, sizeof(*p->t));
    p->wake[0] = p->wake[1] = -1;
    pthread_mutex_init(&p->lock, NULL);
    if (n == 0)
        return p;
    pthread_once(&lib_once, lib_init);
    now = mono_now();
    for (size_t i = 0; i < cfg->nlinks; i++) {
        const cw_link_cfg_t *l = &cfg->links[i];
        struct target *t;

        if (!l->snmp.agent)
            continue;
        t = &p->t[k];
        init_target(p, t, T_LINK, l->name, &l->snmp);
        t->link = l;
        t->ifindex = l->ifindex;
        /* Spread the first polls so that targets do not ask in one burst. */
        t->next_due = now + (cw_ns_t)k * 37 * CW_NS_PER_MS;
        k++;
    }
    for (size_t i = 0; i < cfg->ncpus; i++) {
        const cw_cpu_cfg_t *c = &cfg->cpus[i];
        struct target *t;

        if (!c->snmp.agent)
            continue;
        t = &p->t[k];
        init_target(p, t, T_CPU, c->name, &c->snmp);
        t->cpu = c;
        t->preset = preset_of(c);
        if (t->preset == SNMP_CPU_OID)
            parse_oid(c->oid, t->user_oid, &t->user_oid_len);
        t->next_due = now + (cw_ns_t)k * 37 * CW_NS_PER_MS;
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
    for (size_t i = 0; i < p->n; i++) {
        close_session(&p->t[i]);
        dns_release(p->t[i].dns);
        free(p->t[i].rows);
    }
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
