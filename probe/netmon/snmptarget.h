/* snmptarget: one SNMP target (a [link] or [cpu] section with snmp = ...)
 * and the requests of its poll cycle.
 *
 * A cycle first works out what it needs (the agent's address, its SNMPv3
 * engine, the interface's ifIndex, the Juniper rows), then GETs the values.
 * This file sends the requests and handles what is the same for every
 * answer (timeouts, reports, discovery); the poller (netmon/snmp.c) reads
 * the walks and GETs.  A failure anywhere is a gap in the target's series
 * and a retry after a backoff.  All of it runs on the poller's thread;
 * only st is read from others, under *lock. */
#ifndef CW_SNMPTARGET_H
#define CW_SNMPTARGET_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/metrics.h"
#include "common/util.h"
#include "netmon/snmp.h"
#include "netmon/snmpconf.h"
#include "netmon/snmpcounter.h"
#include "netmon/snmplib.h"

#define SNMPTARGET_MAX_SLOTS        16 /* varbinds in one poll GET */
#define SNMPTARGET_MAX_JUNIPER_ROWS 8

enum snmptarget_kind { SNMPTARGET_LINK, SNMPTARGET_CPU };

/* As text in snmp_target_status_t.state (see netmon/snmp.h). */
enum snmptarget_state {
    SNMPTARGET_ST_RESOLVING,
    SNMPTARGET_ST_UP,
    SNMPTARGET_ST_TIMEOUT,
    SNMPTARGET_ST_AUTH,
    SNMPTARGET_ST_NOSUCH,
    SNMPTARGET_ST_ERROR
};

/* What the target waits for. */
enum snmptarget_phase {
    SNMPTARGET_PH_IDLE, /* its next cycle */
    SNMPTARGET_PH_DNS,
    SNMPTARGET_PH_PROBE, /* SNMPv3 engine discovery */
    SNMPTARGET_PH_WALK,
    SNMPTARGET_PH_GET
};

/* The tables a target walks. */
enum snmptarget_walk {
    SNMPTARGET_W_IFNAME,
    SNMPTARGET_W_IFDESCR,
    SNMPTARGET_W_HRLOAD,
    SNMPTARGET_W_CISCO,
    SNMPTARGET_W_JNX_DESCR
};

/* Slots of a poll GET: what each varbind asks for. */
enum snmptarget_slot {
    SNMPTARGET_S_UPTIME,
    SNMPTARGET_S_HCIN,
    SNMPTARGET_S_HCOUT,
    SNMPTARGET_S_IN,
    SNMPTARGET_S_OUT,
    SNMPTARGET_S_HIGHSPEED,
    SNMPTARGET_S_SPEED,
    SNMPTARGET_S_OPER,
    SNMPTARGET_S_INERR,
    SNMPTARGET_S_OUTERR,
    SNMPTARGET_S_INDISC,
    SNMPTARGET_S_OUTDISC,
    SNMPTARGET_S_NAMECHECK,
    SNMPTARGET_S_VALUE, /* cpu: fortinet or oid; ucd and juniper use VALUE + i */
};
#define SNMPTARGET_NSLOT_IDS (SNMPTARGET_S_VALUE + 9)

typedef struct snmptarget snmptarget_t;

/* Handed to net-snmp as callback data.  On some paths (a v3 report) net-snmp
 * stores an int through this pointer as if it were its own synch_state, so
 * the first member is a scratch int that it may overwrite. */
struct snmptarget_ctx {
    int netsnmp_scratch;
    snmptarget_t *t;
};

/* A background name lookup (snmptarget.c). */
struct snmptarget_dns;

/* A row kept from a table walk. */
struct snmptarget_row {
    oid suffix[8];
    size_t suffix_len;
    double value;
    char text[64];
};

struct snmptarget {
    /* Identity and configuration, fixed once set up. */
    enum snmptarget_kind kind;
    const char *name;
    const cw_snmp_cfg_t *cfg;
    const cw_link_cfg_t *link; /* links */
    const cw_cpu_cfg_t *cpu;   /* cpus */
    enum snmpconf_preset preset;
    uint32_t user_sub[SNMPCONF_MAX_OID_LEN]; /* cpus with oid = */
    snmpconf_oid_t user_oid;                 /* of user_sub */
    char host[256];
    unsigned port;
    bool numeric; /* host is an address literal: no lookup needed */
    oid auth_oid[10], priv_oid[10];
    size_t auth_oid_len, priv_oid_len; /* 0: none */
    int sec_level;
    metrics_t *m;
    pthread_mutex_t *lock; /* the poller's; guards st */

    /* The session: where the agent is and net-snmp's session to it. */
    char peer[300]; /* net-snmp peername once known */
    struct snmptarget_dns *dns;
    void *sess;
    bool closing;
    u_char engine_id[64];
    size_t engine_id_len;
    bool answered; /* an answer came on this session after discovery */

    /* The request in flight. */
    enum snmptarget_phase phase;
    struct snmptarget_ctx ctx;
    int reqid;
    bool done;
    int op;            /* NETSNMP_CALLBACK_OP_* of the completion */
    netsnmp_pdu *resp; /* owned */
    bool saw_time_window;
    cw_ns_t deadline; /* watchdog, monotonic */

    /* Poll slots: what each varbind of the GET in flight is. */
    int slots[SNMPTARGET_MAX_SLOTS];
    size_t nslots;
    unsigned v1_missing; /* slots a v1 agent answered noSuchName for */
    char v1_note[160];
    int resend_budget; /* v1 noSuchName retries in this cycle */

    /* Discovery: the walk in flight, and what walks found. */
    enum snmptarget_walk wkind;
    oid wroot[MAX_OID_LEN];
    size_t wroot_len;
    oid wlast[MAX_OID_LEN];
    size_t wlast_len;
    struct snmptarget_row *rows;
    size_t nrows, rows_cap;
    bool wfound;
    long ifindex;       /* links: 0 until known */
    bool by_name;       /* ifindex came from the name: check it each poll */
    bool name_is_descr; /* the name matched ifDescr, not ifName */
    oid jnx_rows[SNMPTARGET_MAX_JUNIPER_ROWS][4];
    size_t njnx;
    bool jnx_resolved;

    /* Last values, which the next poll's deltas start from. */
    snmpcounter_link_sample_t prev;
    bool ucd_have_prev;
    uint32_t ucd_prev[SNMPCOUNTER_UCD_NCOUNTERS];
    unsigned ucd_prev_have;
    bool up_have_prev; /* sysUpTime, which tells restarts */
    uint32_t up_prev;
    cw_ns_t up_prev_ns;

    /* State, schedule and backoff (monotonic times). */
    enum snmptarget_state state;
    cw_ns_t cycle_start;
    cw_ns_t next_due;
    unsigned fails;          /* consecutive failed cycles */
    snmp_target_status_t st; /* guarded by *lock */

    /* Logging, rate-limited per target. */
    cw_ns_t log_window;
    unsigned log_count, log_suppressed;
};

/* The monotonic clock that schedules targets. */
cw_ns_t snmptarget_now(void);

/* Set up a target (t zeroed) for a [link] or [cpu] section that has
 * snmp = ...; its first cycle is due at first_due. */
void snmptarget_init_link(snmptarget_t *t, const cw_link_cfg_t *l, metrics_t *m,
                          pthread_mutex_t *lock, cw_ns_t first_due);
void snmptarget_init_cpu(snmptarget_t *t, const cw_cpu_cfg_t *c, metrics_t *m,
                         pthread_mutex_t *lock, cw_ns_t first_due);

/* Closes the session and lets go of a name lookup in flight. */
void snmptarget_stop(snmptarget_t *t);

/* snmptarget_stop, and frees what the target holds. */
void snmptarget_free(snmptarget_t *t);

/* Starts what is due (a cycle; the rest of one after a name lookup) and
 * gives up a request that net-snmp lost.  Returns the socket to wait on
 * (-1: none), and lowers *wake_at to when the target next needs it. */
int snmptarget_prepare(snmptarget_t *t, cw_ns_t now, cw_ns_t *wake_at);

/* Whether a request is in flight (on the session, not a name lookup). */
bool snmptarget_waiting(const snmptarget_t *t);

/* Takes the completed request (t->done): handles a timeout, a failure, a
 * report or the SNMPv3 discovery answer itself and returns NULL, or
 * returns the answer to a walk or GET, which the caller frees. */
netsnmp_pdu *snmptarget_answer(snmptarget_t *t);

/* Sends what the cycle needs next: a lookup, the discovery, a walk, or the
 * poll GET. */
void snmptarget_next(snmptarget_t *t);

/* Starts walking table w, or asks for its next rows. */
void snmptarget_walk(snmptarget_t *t, enum snmptarget_walk w);
void snmptarget_walk_next(snmptarget_t *t);

/* Sends the poll GET (again, after a v1 agent refused an object). */
void snmptarget_get(snmptarget_t *t);

/* Ends the cycle: answered, or failed into state s (a gap in every series,
 * and a retry after a backoff).  A change of state is logged once. */
void snmptarget_ok(snmptarget_t *t);
void snmptarget_fail(snmptarget_t *t, enum snmptarget_state s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Logs about the target, at most a few lines a minute. */
void snmptarget_log(snmptarget_t *t, enum cw_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets the status' remark on the last value; NULL clears it. */
void snmptarget_note(snmptarget_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Puts a sample of the target's series "what" (e.g. "in_bps") into the
 * metrics; snmptarget_gap puts a gap into every one. */
void snmptarget_put(snmptarget_t *t, const char *what, cw_ns_t when, double v);
void snmptarget_gap(snmptarget_t *t);

#endif
