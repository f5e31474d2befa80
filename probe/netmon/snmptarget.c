#include "autoconf.h"

#include "netmon/snmptarget.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BULK_REPETITIONS 32
#define LOG_BURST        5 /* log lines per target per minute */
#define MAX_BACKOFF_S    60
#define DNS_POLL_MS      50

_Static_assert(SNMPCONF_MAX_OID_LEN == MAX_OID_LEN, "snmpconf's OIDs fit net-snmp's");

/* The table each walk reads. */
static const enum snmpconf_object walk_tables[] = {
    [SNMPTARGET_W_IFNAME] = SNMPCONF_IFNAME,          [SNMPTARGET_W_IFDESCR] = SNMPCONF_IFDESCR,
    [SNMPTARGET_W_HRLOAD] = SNMPCONF_HRPROCESSORLOAD, [SNMPTARGET_W_CISCO] = SNMPCONF_CISCO_CPU5SEC,
    [SNMPTARGET_W_JNX_DESCR] = SNMPCONF_JNX_DESCR,
};

static const char *const state_names[] = { "resolving",      "up",   "timeout", "auth_error",
                                           "no_such_object", "error" };

/* A background name lookup; the poller and the lookup thread share it and
 * whichever lets go last frees it. */
struct snmptarget_dns {
    pthread_mutex_t lock;
    int refs;
    bool done;
    int gai_err;
    char host[256];
    char peer[300]; /* net-snmp peername, numeric */
    unsigned port;
};

cw_ns_t snmptarget_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (cw_ns_t)ts.tv_sec * CW_NS_PER_SEC + ts.tv_nsec;
}

/* snmpconf's OIDs are net-snmp-free numbers. */
static size_t oid_copy(oid *dst, const uint32_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i];
    return n;
}

static const char *kind_name(const snmptarget_t *t)
{
    return t->kind == SNMPTARGET_LINK ? "link" : "cpu";
}

void snmptarget_log(snmptarget_t *t, enum cw_log_level lvl, const char *fmt, ...)
{
    char msg[768];
    cw_ns_t now = snmptarget_now();
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
static void set_state(snmptarget_t *t, enum snmptarget_state s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_state(snmptarget_t *t, enum snmptarget_state s, const char *fmt, ...)
{
    char msg[SNMP_STATUS_TEXT] = "";
    enum snmptarget_state prev;
    bool changed;
    va_list ap;

    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_lock(t->lock);
    prev = t->state;
    changed = t->state != s || (s != SNMPTARGET_ST_UP && s != SNMPTARGET_ST_RESOLVING &&
                                strcmp(t->st.error, msg) != 0);
    t->state = s;
    t->st.state = state_names[s];
    if (s != SNMPTARGET_ST_RESOLVING)
        cw_strlcpy(t->st.error, msg, sizeof(t->st.error));
    if (changed)
        t->st.last_change = cw_wall_now();
    pthread_mutex_unlock(t->lock);
    if (!changed)
        return;
    if (s == SNMPTARGET_ST_UP)
        snmptarget_log(t, CW_LOG_INFO, "%s",
                       prev == SNMPTARGET_ST_RESOLVING ? "answering" : "answering again");
    else if (s != SNMPTARGET_ST_RESOLVING)
        snmptarget_log(t, CW_LOG_WARN, "%s: %s", state_names[s], msg);
}

void snmptarget_note(snmptarget_t *t, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(t->lock);
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(t->st.note, sizeof(t->st.note), fmt, ap);
        va_end(ap);
    } else {
        t->st.note[0] = '\0';
    }
    pthread_mutex_unlock(t->lock);
}

void snmptarget_put(snmptarget_t *t, const char *what, cw_ns_t when, double v)
{
    char name[METRICS_NAME_MAX];

    snprintf(name, sizeof(name), "%s.%s.%s", kind_name(t), t->name, what);
    metrics_put(t->m, name, when, v);
}

void snmptarget_gap(snmptarget_t *t)
{
    cw_ns_t now = cw_wall_now();

    if (t->kind == SNMPTARGET_LINK) {
        snmptarget_put(t, "in_bps", now, NAN);
        snmptarget_put(t, "out_bps", now, NAN);
        snmptarget_put(t, "util_pct", now, NAN);
        snmptarget_put(t, "errors", now, NAN);
    } else {
        snmptarget_put(t, "pct", now, NAN);
    }
    pthread_mutex_lock(t->lock);
    t->st.in_bps = t->st.out_bps = t->st.util_pct = t->st.errors_ps = t->st.cpu_pct = NAN;
    pthread_mutex_unlock(t->lock);
}

static void close_session(snmptarget_t *t)
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
    t->phase = SNMPTARGET_PH_IDLE;
    t->done = false;
}

static int open_session(snmptarget_t *t, char *err, size_t errlen)
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
        if (t->auth_oid_len) {
            s.securityAuthProto = t->auth_oid;
            s.securityAuthProtoLen = t->auth_oid_len;
            s.securityAuthKeyLen = USM_AUTH_KU_LEN;
            if (snmplib.generate_Ku(t->auth_oid, (u_int)t->auth_oid_len,
                                    (const u_char *)c->auth_pass, strlen(c->auth_pass),
                                    s.securityAuthKey, &s.securityAuthKeyLen) != SNMPERR_SUCCESS) {
                snprintf(err, errlen, "cannot make a key from auth_pass");
                return -EINVAL;
            }
        }
        if (t->priv_oid_len) {
            s.securityPrivProto = t->priv_oid;
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
    struct snmptarget_ctx *ctx = magic;
    snmptarget_t *t = ctx->t;

    (void)sp;
    /* net-snmp 5.9 hands a report to the callback twice: first as
     * OP_SEC_ERROR, then as OP_RECEIVED_MESSAGE.  The first one counts. */
    if (op == NETSNMP_CALLBACK_OP_SEC_ERROR && pdu)
        op = NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE;
    if (t->closing || t->done || t->phase == SNMPTARGET_PH_IDLE || t->phase == SNMPTARGET_PH_DNS)
        return 1;
    /* One request at a time per target; a v3 report may carry request-id
     * 0 (the agent could not read ours), so only responses are matched. */
    if (pdu && pdu->command != SNMP_MSG_REPORT && reqid != t->reqid)
        return 1;
    if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu && pdu->command == SNMP_MSG_REPORT &&
        t->phase != SNMPTARGET_PH_PROBE &&
        snmplib.snmpv3_get_report_type(pdu) == SNMPERR_NOT_IN_TIME_WINDOW) {
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

/* Sends pdu as the request in flight; what names it in the failure when it
 * cannot be sent. */
static void send_pdu(snmptarget_t *t, netsnmp_pdu *pdu, enum snmptarget_phase ph, const char *what)
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
        t->phase = SNMPTARGET_PH_IDLE;
        snmptarget_fail(
            t, SNMPTARGET_ST_ERROR, "cannot send %s: %s", what,
            snmplib.snmp_api_errstring(snmplib.snmp_sess_session(t->sess)->s_snmp_errno));
        return;
    }
    t->reqid = id;
    t->deadline =
        snmptarget_now() + (cw_ns_t)c->timeout_ms * CW_NS_PER_MS * (c->retries + 1) * 2 + CW_SEC(1);
}

void snmptarget_fail(snmptarget_t *t, enum snmptarget_state s, const char *fmt, ...)
{
    char msg[SNMP_STATUS_TEXT];
    cw_ns_t delay;
    long iv = t->cfg->interval_s > 0 ? t->cfg->interval_s : 10;
    unsigned shift;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    t->phase = SNMPTARGET_PH_IDLE;
    t->done = false;
    if (t->resp) {
        snmplib.snmp_free_pdu(t->resp);
        t->resp = NULL;
    }
    t->fails++;
    pthread_mutex_lock(t->lock);
    t->st.failures++;
    t->st.polls++;
    pthread_mutex_unlock(t->lock);
    set_state(t, s, "%s", msg);
    snmptarget_gap(t);
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
    t->next_due = snmptarget_now() + delay;
}

void snmptarget_ok(snmptarget_t *t)
{
    long iv = t->cfg->interval_s > 0 ? t->cfg->interval_s : 10;
    cw_ns_t now = snmptarget_now();

    t->phase = SNMPTARGET_PH_IDLE;
    t->fails = 0;
    pthread_mutex_lock(t->lock);
    t->st.polls++;
    t->st.last_ok = cw_wall_now();
    pthread_mutex_unlock(t->lock);
    set_state(t, SNMPTARGET_ST_UP, NULL);
    /* Keep the schedule's phase; if we fell behind, start afresh. */
    t->next_due = t->cycle_start + CW_SEC(iv);
    if (t->next_due <= now)
        t->next_due = now + CW_SEC(iv);
}

static void *dns_thread(void *arg)
{
    struct snmptarget_dns *d = arg;
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

static void dns_release(struct snmptarget_dns *d)
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

static void start_dns(snmptarget_t *t)
{
    struct snmptarget_dns *d = cw_calloc(1, sizeof(*d));
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
        snmptarget_fail(t, SNMPTARGET_ST_ERROR, "cannot start a name lookup for %s", t->host);
        return;
    }
    pthread_attr_destroy(&attr);
    t->dns = d;
    t->phase = SNMPTARGET_PH_DNS;
}

static void send_probe(snmptarget_t *t)
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
    send_pdu(t, pdu, SNMPTARGET_PH_PROBE, "the SNMPv3 discovery request");
}

void snmptarget_walk(snmptarget_t *t, enum snmptarget_walk w)
{
    const snmpconf_oid_t *root = snmpconf_object(walk_tables[w]);

    t->wkind = w;
    t->wroot_len = oid_copy(t->wroot, root->sub, root->len);
    memcpy(t->wlast, t->wroot, t->wroot_len * sizeof(oid));
    t->wlast_len = t->wroot_len;
    t->nrows = 0;
    t->wfound = false;
    snmptarget_walk_next(t);
}

void snmptarget_walk_next(snmptarget_t *t)
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
    send_pdu(t, pdu, SNMPTARGET_PH_WALK, "a request");
}

static void add_slot(snmptarget_t *t, netsnmp_pdu *pdu, int slot, const snmpconf_oid_t *base,
                     const oid *suffix, size_t slen)
{
    oid name[MAX_OID_LEN];
    size_t blen = base->len;

    if (t->nslots >= SNMPTARGET_MAX_SLOTS || blen + slen > MAX_OID_LEN)
        return;
    if (slot < 32 && (t->v1_missing & (1u << slot)))
        return;
    oid_copy(name, base->sub, blen);
    if (slen)
        memcpy(name + blen, suffix, slen * sizeof(oid));
    snmplib.snmp_add_null_var(pdu, name, blen + slen);
    t->slots[t->nslots++] = slot;
}

void snmptarget_get(snmptarget_t *t)
{
    netsnmp_pdu *pdu = snmplib.snmp_pdu_create(SNMP_MSG_GET);
    oid idx[1];

    t->nslots = 0;
    add_slot(t, pdu, SNMPTARGET_S_UPTIME, snmpconf_object(SNMPCONF_SYSUPTIME), NULL, 0);
    if (t->kind == SNMPTARGET_LINK) {
        idx[0] = (oid)t->ifindex;
        add_slot(t, pdu, SNMPTARGET_S_HCIN, snmpconf_object(SNMPCONF_IFHCINOCTETS), idx, 1);
        add_slot(t, pdu, SNMPTARGET_S_HCOUT, snmpconf_object(SNMPCONF_IFHCOUTOCTETS), idx, 1);
        add_slot(t, pdu, SNMPTARGET_S_IN, snmpconf_object(SNMPCONF_IFINOCTETS), idx, 1);
        add_slot(t, pdu, SNMPTARGET_S_OUT, snmpconf_object(SNMPCONF_IFOUTOCTETS), idx, 1);
        add_slot(t, pdu, SNMPTARGET_S_HIGHSPEED, snmpconf_object(SNMPCONF_IFHIGHSPEED), idx, 1);
        add_slot(t, pdu, SNMPTARGET_S_SPEED, snmpconf_object(SNMPCONF_IFSPEED), idx, 1);
        add_slot(t, pdu, SNMPTARGET_S_OPER, snmpconf_object(SNMPCONF_IFOPERSTATUS), idx, 1);
        add_slot(t, pdu, SNMPTARGET_S_INERR, snmpconf_object(SNMPCONF_IFINERRORS), idx, 1);
        add_slot(t, pdu, SNMPTARGET_S_OUTERR, snmpconf_object(SNMPCONF_IFOUTERRORS), idx, 1);
        add_slot(t, pdu, SNMPTARGET_S_INDISC, snmpconf_object(SNMPCONF_IFINDISCARDS), idx, 1);
        add_slot(t, pdu, SNMPTARGET_S_OUTDISC, snmpconf_object(SNMPCONF_IFOUTDISCARDS), idx, 1);
        if (t->link->ifname) {
            if (t->name_is_descr)
                add_slot(t, pdu, SNMPTARGET_S_NAMECHECK, snmpconf_object(SNMPCONF_IFDESCR), idx, 1);
            else
                add_slot(t, pdu, SNMPTARGET_S_NAMECHECK, snmpconf_object(SNMPCONF_IFNAME), idx, 1);
        }
    } else {
        switch (t->preset) {
        case SNMPCONF_CPU_UCD:
            for (unsigned i = 0; i < SNMPCOUNTER_UCD_NCOUNTERS; i++) {
                oid sfx[2] = { snmpconf_ucd_subid[i], 0 };

                add_slot(t, pdu, SNMPTARGET_S_VALUE + (int)i, snmpconf_object(SNMPCONF_UCD_SYSTATS),
                         sfx, 2);
            }
            break;
        case SNMPCONF_CPU_FORTINET:
            add_slot(t, pdu, SNMPTARGET_S_VALUE, snmpconf_object(SNMPCONF_FORTI_CPU), NULL, 0);
            break;
        case SNMPCONF_CPU_OID:
            add_slot(t, pdu, SNMPTARGET_S_VALUE, &t->user_oid, NULL, 0);
            break;
        case SNMPCONF_CPU_JUNIPER:
            for (size_t i = 0; i < t->njnx; i++)
                add_slot(t, pdu, SNMPTARGET_S_VALUE + (int)i, snmpconf_object(SNMPCONF_JNX_CPU),
                         t->jnx_rows[i], 4);
            break;
        default:
            break;
        }
    }
    send_pdu(t, pdu, SNMPTARGET_PH_GET, "a request");
}

void snmptarget_next(snmptarget_t *t)
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
        snmptarget_fail(t, SNMPTARGET_ST_ERROR, "%s", err);
        return;
    }
    if (t->cfg->version == 3 && t->engine_id_len == 0) {
        send_probe(t);
        return;
    }
    if (t->kind == SNMPTARGET_LINK && t->ifindex == 0) {
        snmptarget_walk(t, SNMPTARGET_W_IFNAME);
        return;
    }
    if (t->kind == SNMPTARGET_CPU && t->preset == SNMPCONF_CPU_JUNIPER && !t->jnx_resolved) {
        snmptarget_walk(t, SNMPTARGET_W_JNX_DESCR);
        return;
    }
    snmptarget_get(t);
}

static void start_cycle(snmptarget_t *t)
{
    t->cycle_start = snmptarget_now();
    t->resend_budget = SNMPTARGET_MAX_SLOTS;
    /* What a v1 agent lacked is left out of later polls, except after a
     * failed cycle: noSuchName may have been temporary. */
    if (t->fails > 0) {
        t->v1_missing = 0;
        t->v1_note[0] = '\0';
    }
    snmptarget_next(t);
}

static const char *version_name(const snmptarget_t *t)
{
    return t->cfg->version == 1 ? "v1" : t->cfg->version == 2 ? "v2c" : "v3";
}

static void on_timeout(snmptarget_t *t)
{
    const cw_snmp_cfg_t *c = t->cfg;

    if (t->phase == SNMPTARGET_PH_DNS)
        return;
    if (t->saw_time_window) {
        snmptarget_fail(
            t, SNMPTARGET_ST_ERROR,
            "the agent kept answering notInTimeWindow; its engine boots/time are not accepted");
        close_session(t);
        return;
    }
    if (c->version == 3 && t->sec_level == SNMP_SEC_LEVEL_AUTHPRIV && t->engine_id_len > 0 &&
        !t->answered)
        snmptarget_fail(
            t, SNMPTARGET_ST_TIMEOUT,
            "no answer within %ld ms (%ld tries) after engine discovery succeeded: wrong "
            "priv_pass or priv protocol?",
            c->timeout_ms, c->retries + 1);
    else if (c->version != 3)
        snmptarget_fail(
            t, SNMPTARGET_ST_TIMEOUT,
            "no answer within %ld ms (%ld tries): agent down, wrong port, or wrong %s community?",
            c->timeout_ms, c->retries + 1, version_name(t));
    else
        snmptarget_fail(t, SNMPTARGET_ST_TIMEOUT,
                        "no answer within %ld ms (%ld tries): agent down or wrong port?",
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
static bool on_report(snmptarget_t *t, netsnmp_pdu *r)
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
        snmptarget_fail(t, SNMPTARGET_ST_AUTH, "the agent answered with a report: %s (user \"%s\")",
                        snmplib.snmp_api_errstring(type), t->cfg->user);
        break;
    case SNMPERR_UNKNOWN_ENG_ID:
        /* Its engine ID changed (new agent, lost state): discover again. */
        snmptarget_fail(t, SNMPTARGET_ST_ERROR,
                        "the agent answered with a report: %s; discovering it again",
                        snmplib.snmp_api_errstring(type));
        close_session(t);
        break;
    default:
        snmptarget_fail(t, SNMPTARGET_ST_ERROR, "the agent answered with a report: %s",
                        snmplib.snmp_api_errstring(type));
        break;
    }
    return true;
}

static void on_probe(snmptarget_t *t, netsnmp_pdu *r)
{
    netsnmp_session *ss = snmplib.snmp_sess_session(t->sess);
    char hex[2 * 32 + 1];

    if (r->securityEngineIDLen == 0 || r->securityEngineIDLen > sizeof(t->engine_id)) {
        snmptarget_fail(t, SNMPTARGET_ST_ERROR,
                        "SNMPv3 discovery: the agent's answer carries no engine ID");
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
        snmptarget_fail(t, SNMPTARGET_ST_ERROR,
                        "SNMPv3: cannot set up user \"%s\" for the agent's engine", t->cfg->user);
        close_session(t);
        return;
    }
    for (size_t i = 0; i < t->engine_id_len && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", t->engine_id[i]);
    snmptarget_log(t, CW_LOG_DEBUG, "SNMPv3 engine ID %s", hex);
    snmptarget_next(t);
}

netsnmp_pdu *snmptarget_answer(snmptarget_t *t)
{
    netsnmp_pdu *r;
    enum snmptarget_phase ph = t->phase;

    t->done = false;
    if (t->op == NETSNMP_CALLBACK_OP_TIMED_OUT) {
        on_timeout(t);
        return NULL;
    }
    if (t->op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || !t->resp) {
        snmptarget_fail(t, SNMPTARGET_ST_ERROR, "request failed (%s)",
                        t->op == NETSNMP_CALLBACK_OP_SEND_FAILED ? "send failed"
                        : t->op == NETSNMP_CALLBACK_OP_SEC_ERROR ? "security error"
                                                                 : "disconnected");
        return NULL;
    }
    r = t->resp;
    t->resp = NULL;
    if (ph == SNMPTARGET_PH_PROBE) {
        if (r->command == SNMP_MSG_REPORT || r->command == SNMP_MSG_RESPONSE)
            on_probe(t, r);
        else
            snmptarget_fail(t, SNMPTARGET_ST_ERROR, "SNMPv3 discovery: unexpected answer");
    } else if (!on_report(t, r)) {
        t->answered = true;
        return r;
    }
    snmplib.snmp_free_pdu(r);
    return NULL;
}

/* Whether a name lookup in flight is done; the cycle goes on if so. */
static void dns_check(snmptarget_t *t, cw_ns_t now, cw_ns_t *wake_at)
{
    struct snmptarget_dns *d = t->dns;
    bool done;

    pthread_mutex_lock(&d->lock);
    done = d->done;
    pthread_mutex_unlock(&d->lock);
    if (!done) {
        if (now + DNS_POLL_MS * CW_NS_PER_MS < *wake_at)
            *wake_at = now + DNS_POLL_MS * CW_NS_PER_MS;
        return;
    }
    t->dns = NULL;
    t->phase = SNMPTARGET_PH_IDLE;
    if (d->gai_err) {
        char msg[300];

        snprintf(msg, sizeof(msg), "cannot resolve \"%s\": %s", d->host, gai_strerror(d->gai_err));
        dns_release(d);
        snmptarget_fail(t, SNMPTARGET_ST_ERROR, "%s", msg);
    } else {
        cw_strlcpy(t->peer, d->peer, sizeof(t->peer));
        dns_release(d);
        snmptarget_next(t);
    }
}

/* The session's socket, and when net-snmp next wants to resend. */
static int session_wait(snmptarget_t *t, cw_ns_t now, cw_ns_t *wake_at)
{
    netsnmp_transport *tr = snmplib.snmp_sess_transport(t->sess);
    netsnmp_large_fd_set lfds;
    struct timeval tv = { 0, 0 };
    int numfds = 0, block = 1;

    if (t->deadline < *wake_at)
        *wake_at = t->deadline;
    snmplib.netsnmp_large_fd_set_init(&lfds, FD_SETSIZE);
    snmplib.snmp_sess_select_info2_flags(t->sess, &numfds, &lfds, &tv, &block,
                                         NETSNMP_SELECT_NOALARMS);
    snmplib.netsnmp_large_fd_set_cleanup(&lfds);
    if (!block) {
        cw_ns_t due = now + (cw_ns_t)tv.tv_sec * CW_NS_PER_SEC + (cw_ns_t)tv.tv_usec * 1000;

        if (due < *wake_at)
            *wake_at = due;
    }
    return tr && tr->sock >= 0 ? tr->sock : -1;
}

bool snmptarget_waiting(const snmptarget_t *t)
{
    return t->phase != SNMPTARGET_PH_IDLE && t->phase != SNMPTARGET_PH_DNS;
}

int snmptarget_prepare(snmptarget_t *t, cw_ns_t now, cw_ns_t *wake_at)
{
    if (t->phase == SNMPTARGET_PH_DNS)
        dns_check(t, now, wake_at);
    if (t->phase == SNMPTARGET_PH_IDLE && now >= t->next_due)
        start_cycle(t);
    if (snmptarget_waiting(t) && now >= t->deadline) {
        /* The library lost the request (a report it swallowed): give up
         * on this session. */
        t->phase = SNMPTARGET_PH_GET;
        on_timeout(t);
        close_session(t);
    }
    if (t->phase == SNMPTARGET_PH_IDLE && t->next_due < *wake_at)
        *wake_at = t->next_due;
    return t->sess && snmptarget_waiting(t) ? session_wait(t, now, wake_at) : -1;
}

static void init(snmptarget_t *t, enum snmptarget_kind kind, const char *name,
                 const cw_snmp_cfg_t *cfg, metrics_t *m, pthread_mutex_t *lock, cw_ns_t first_due)
{
    t->m = m;
    t->lock = lock;
    t->kind = kind;
    t->name = name;
    t->cfg = cfg;
    t->state = SNMPTARGET_ST_RESOLVING;
    t->ctx.t = t;
    snmpconf_agent(cfg->agent, t->host, sizeof(t->host), &t->port, &t->numeric);
    cw_strlcpy(t->st.name, name, sizeof(t->st.name));
    t->st.kind = kind == SNMPTARGET_LINK ? "link" : "cpu";
    t->st.state = state_names[SNMPTARGET_ST_RESOLVING];
    cw_strlcpy(t->st.agent, cfg->agent, sizeof(t->st.agent));
    t->st.in_bps = t->st.out_bps = t->st.util_pct = t->st.errors_ps = t->st.cpu_pct = NAN;
    t->st.speed_bps = NAN;
    if (cfg->version == 3) {
        const snmpconf_proto_t *a = snmpconf_auth(cfg->auth), *pr = snmpconf_priv(cfg->priv);

        if (a)
            t->auth_oid_len = oid_copy(t->auth_oid, a->sub, a->len);
        if (pr)
            t->priv_oid_len = oid_copy(t->priv_oid, pr->sub, pr->len);
        t->sec_level = t->priv_oid_len   ? SNMP_SEC_LEVEL_AUTHPRIV
                       : t->auth_oid_len ? SNMP_SEC_LEVEL_AUTHNOPRIV
                                         : SNMP_SEC_LEVEL_NOAUTH;
    }
    t->next_due = first_due;
}

void snmptarget_init_link(snmptarget_t *t, const cw_link_cfg_t *l, metrics_t *m,
                          pthread_mutex_t *lock, cw_ns_t first_due)
{
    init(t, SNMPTARGET_LINK, l->name, &l->snmp, m, lock, first_due);
    t->link = l;
    t->ifindex = l->ifindex;
}

void snmptarget_init_cpu(snmptarget_t *t, const cw_cpu_cfg_t *c, metrics_t *m,
                         pthread_mutex_t *lock, cw_ns_t first_due)
{
    init(t, SNMPTARGET_CPU, c->name, &c->snmp, m, lock, first_due);
    t->cpu = c;
    t->preset = snmpconf_preset(c);
    t->user_oid.sub = t->user_sub;
    if (t->preset == SNMPCONF_CPU_OID)
        snmpconf_oid(c->oid, t->user_sub, &t->user_oid.len);
}

void snmptarget_stop(snmptarget_t *t)
{
    close_session(t);
    dns_release(t->dns);
    t->dns = NULL;
}

void snmptarget_free(snmptarget_t *t)
{
    snmptarget_stop(t);
    free(t->rows);
}
