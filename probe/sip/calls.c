#include "autoconf.h"

#include "sip/calls.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "sip/ladder.h"

#define NBUCKETS    65536u
#define LINGER_NS   CW_SEC(32) /* ended calls absorb late retransmissions */
#define CALL_ID_MAX 256        /* a longer Call-ID is cut to 255 bytes */
/* Call-IDs of calls forgotten, remembered (by hash, one a slot) so that a
 * late BYE of a call ended by a timer is not taken for a partial dialog. */
#define TOMBS 65536u

enum call_state {
    ST_TRYING = 0, /* INVITE sent, nothing back */
    ST_PROCEEDING, /* a provisional response */
    ST_CHALLENGED, /* 401/407: waiting for the INVITE with credentials */
    ST_CONFIRMED,  /* 2xx */
    ST_ENDED,
};

/* A call's strings other than its Call-ID, in the order of its string
 * block.  The From tag, read for every in-dialog message, comes first. */
enum call_str {
    CS_FROM_TAG = 0,
    CS_FROM_URI,
    CS_TO_URI,
    CS_FROM_DISPLAY,
    CS_TO_DISPLAY,
    CS_USER_AGENT,
    CS_CALLEE_AGENT,
    CS_CODEC,
    CS_REASON,
    CS_COUNT
};

/* Each string's limit, NUL included: longer values are cut to fit. */
static const size_t str_cap[CS_COUNT] = {
    [CS_FROM_TAG] = 96,      [CS_FROM_URI] = 160,  [CS_TO_URI] = 160,
    [CS_FROM_DISPLAY] = 96,  [CS_TO_DISPLAY] = 96, [CS_USER_AGENT] = 128,
    [CS_CALLEE_AGENT] = 128, [CS_CODEC] = 64,      [CS_REASON] = 160,
};

/* Widest fields first, so that nothing is padded. */
struct call {
    struct call *hnext;
    struct call *prev, *next; /* in progress: by last activity; ended: by end time */
    cw_ns_t start, invite_t, first_prov, last_prov, answered, end, last_sip;
    cw_ns_t last_media[2]; /* [0] from the caller's side, [1] from the callee's */
    ladder_t *ladder;      /* NULL until the first message */
    /* The enum call_str strings back to back, each NUL-terminated ("" when
     * unset); any change rebuilds the block. */
    char *strs;
    const char *end_reason; /* a literal; "" while up */
    const char *hangup_by;  /* a literal; "" unless a BYE was seen */

    uint32_t hash;
    uint32_t invite_cseq;
    int final_code;
    int q850;
    unsigned challenges, retrans;
    unsigned msgs_dropped;
    unsigned end_reports;

    uint16_t sdp_port[2];
    uint16_t caller_port, callee_port;
    cw_addr_t sdp_addr[2]; /* where each side last said to send its media */
    cw_addr_t caller, callee;
    uint8_t transport; /* IPPROTO_UDP or IPPROTO_TCP; CALL_WS over WebSocket */
    uint8_t state;     /* enum call_state */
    uint8_t outcome;   /* enum call_outcome */
    bool hashed;
    bool media_seen[2];
    bool media_inactive; /* the latest SDP put the media on hold */
    bool cancel_seen;
    bool one_way;
    bool dirty;   /* changed since on_end reported it */
    bool partial; /* seen only from the middle of its dialog: no INVITE */

    char id[]; /* the Call-ID (cut to CALL_ID_MAX - 1 bytes), allocated with the call */
};

/* A Call-ID forgotten, and until when (whole seconds of packet time). */
struct tomb {
    uint32_t hash;
    uint32_t until_s;
};

struct calls {
    calls_cfg_t cfg;
    calls_hooks_t hooks;
    struct call *buckets[NBUCKETS];
    struct call *live_head, *live_tail;     /* in progress, least recently active first */
    struct call *linger_head, *linger_tail; /* ended, still hashed, oldest first */
    call_t **all;                           /* every call kept, in start order */
    size_t nall, capall;
    calls_counters_t ctr;
    struct tomb *tombs; /* TOMBS slots */
};

calls_t *calls_new(const calls_cfg_t *cfg, const calls_hooks_t *hooks)
{
    calls_t *t = cw_calloc(1, sizeof(*t));

    if (cfg)
        t->cfg = *cfg;
    if (hooks)
        t->hooks = *hooks;
    if (!t->cfg.max_calls)
        t->cfg.max_calls = CW_DEF_MAX_CALLS;
    if (!t->cfg.invite_timeout)
        t->cfg.invite_timeout = CW_SEC(32);
    if (!t->cfg.ringing_timeout)
        t->cfg.ringing_timeout = CW_SEC(180);
    if (!t->cfg.idle_timeout)
        t->cfg.idle_timeout = CW_SEC(CW_DEF_IDLE_TIMEOUT_S);
    if (!t->cfg.rtp_timeout)
        t->cfg.rtp_timeout = CW_SEC(CW_DEF_RTP_TIMEOUT_S);
    t->tombs = cw_calloc(TOMBS, sizeof(*t->tombs));
    return t;
}

static void call_destroy(call_t *c)
{
    ladder_free(c->ladder);
    free(c->strs);
    free(c);
}

/* ---- strings */

/* Points out[k] at each of c's strings. */
static void strs_split(const struct call *c, const char *out[CS_COUNT])
{
    const char *s = c->strs;

    for (int k = 0; k < CS_COUNT; k++) {
        out[k] = s;
        s += strlen(s) + 1;
    }
}

static const char *str_get(const struct call *c, enum call_str k)
{
    const char *s = c->strs;

    for (int i = 0; i < (int)k; i++)
        s += strlen(s) + 1;
    return s;
}

/* Builds c's string block from v (each cut to its cap), replacing the old
 * one; v may point into the old block. */
static void strs_build(struct call *c, const char *const v[CS_COUNT])
{
    size_t len[CS_COUNT], total = 0;
    char *blk, *w;

    for (int k = 0; k < CS_COUNT; k++) {
        len[k] = strnlen(v[k], str_cap[k] - 1);
        total += len[k] + 1;
    }
    blk = w = cw_realloc(NULL, total);
    for (int k = 0; k < CS_COUNT; k++) {
        memcpy(w, v[k], len[k]);
        w[len[k]] = '\0';
        w += len[k] + 1;
    }
    free(c->strs);
    c->strs = blk;
}

/* Sets one of c's strings, cut to its cap. */
static void str_set(struct call *c, enum call_str k, const char *val)
{
    const char *v[CS_COUNT];
    size_t n = strnlen(val, str_cap[k] - 1);

    strs_split(c, v);
    if (strlen(v[k]) == n && memcmp(v[k], val, n) == 0)
        return;
    v[k] = val;
    strs_build(c, v);
}

void calls_free(calls_t *t)
{
    if (!t)
        return;
    if (t->cfg.keep_ended) {
        for (size_t i = 0; i < t->nall; i++)
            call_destroy(t->all[i]);
    } else {
        /* Only calls still followed are owned here. */
        for (struct call *c = t->live_head, *n; c; c = n) {
            n = c->next;
            call_destroy(c);
        }
        for (struct call *c = t->linger_head, *n; c; c = n) {
            n = c->next;
            call_destroy(c);
        }
    }
    free(t->all);
    free(t->tombs);
    free(t);
}

/* ---- lists */

static void list_unlink(struct call **head, struct call **tail, struct call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        *tail = c->prev;
    c->prev = c->next = NULL;
}

static void list_append(struct call **head, struct call **tail, struct call *c)
{
    c->prev = *tail;
    c->next = NULL;
    if (*tail)
        (*tail)->next = c;
    else
        *head = c;
    *tail = c;
}

static void unhash(calls_t *t, struct call *c)
{
    struct call **pp = &t->buckets[c->hash % NBUCKETS];

    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = c->hnext;
    c->hashed = false;
}

call_t *calls_find(calls_t *t, const char *id)
{
    uint32_t h = cw_hash32_str(id);

    for (struct call *c = t->buckets[h % NBUCKETS]; c; c = c->hnext)
        if (c->hash == h && strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

/* Marks activity: the call moves to the young end of the live list. */
static void touch(calls_t *t, struct call *c, cw_ns_t now)
{
    if (now > c->last_sip)
        c->last_sip = now;
    if (c->state == ST_ENDED || t->live_tail == c)
        return;
    list_unlink(&t->live_head, &t->live_tail, c);
    list_append(&t->live_head, &t->live_tail, c);
}

/* ---- ending */

static void finish_call(calls_t *t, struct call *c, enum call_outcome o, const char *reason,
                        cw_ns_t end)
{
    if (c->state == ST_ENDED)
        return;
    if (c->partial) {
        /* Reported, never counted: its attempt and answer were not seen. */
        t->ctr.partial_active--;
    } else {
        if (c->state == ST_CONFIRMED && t->ctr.active)
            t->ctr.active--;
        t->ctr.in_progress--;
    }
    c->state = ST_ENDED;
    c->outcome = o;
    c->end = end;
    c->end_reason = reason;
    if (c->partial)
        o = CALL_ACTIVE; /* counted under no outcome */
    switch (o) {
    case CALL_FAILED:
        t->ctr.failed++;
        break;
    case CALL_CANCELLED:
        t->ctr.cancelled++;
        break;
    case CALL_UNANSWERED:
        t->ctr.unanswered++;
        break;
    case CALL_DROPPED:
        t->ctr.dropped++;
        break;
    default:
        break;
    }
    list_unlink(&t->live_head, &t->live_tail, c);
    list_append(&t->linger_head, &t->linger_tail, c);
    c->dirty = false;
    c->end_reports++;
    if (t->hooks.on_end)
        t->hooks.on_end(t->hooks.ud, c);
}

/* An answered call that ended normally turns out to have been dropped
 * (a 408/481 after the BYE, say). */
static void redecide_dropped(calls_t *t, struct call *c, const char *reason)
{
    if (c->outcome == CALL_DROPPED || !(c->answered || c->partial))
        return;
    c->outcome = CALL_DROPPED;
    c->end_reason = reason;
    if (!c->partial)
        t->ctr.dropped++;
    c->dirty = false;
    c->end_reports++;
    if (t->hooks.on_end)
        t->hooks.on_end(t->hooks.ud, c);
}

/* An ended call's record changed (messages after the end): report it
 * again so the stored record is complete. */
static void report_again(calls_t *t, struct call *c)
{
    if (!c->dirty)
        return;
    c->dirty = false;
    if (t->hooks.on_update)
        t->hooks.on_update(t->hooks.ud, c);
}

/* Whole seconds of packet time, for the tombstones. */
static uint32_t secs_of(cw_ns_t t)
{
    return (uint32_t)(t / CW_NS_PER_SEC);
}

/* Was a call of this Call-ID hash forgotten lately? */
static bool tomb_hit(const calls_t *t, uint32_t hash, cw_ns_t now)
{
    const struct tomb *tb = &t->tombs[hash % TOMBS];

    return tb->until_s && tb->hash == hash && secs_of(now) <= tb->until_s;
}

static void forget(calls_t *t, struct call *c)
{
    struct tomb *tb = &t->tombs[c->hash % TOMBS];

    /* Its dialog may outlive it (a call ended by a timer, its BYE still to
     * come): for idle_timeout, the Call-ID starts no partial call. */
    tb->hash = c->hash;
    tb->until_s = secs_of(c->end + t->cfg.idle_timeout);
    if (c->hashed)
        unhash(t, c);
    if (!t->cfg.keep_ended)
        call_destroy(c);
}

static void record_msg(struct call *c, const sip_msg_t *m, const decode_pkt_t *p)
{
    if (!ladder_add(&c->ladder, m, p)) {
        c->msgs_dropped++;
        return;
    }
    c->dirty = true;
}

static void note_codecs(struct call *c, const sdp_info_t *sdp)
{
    for (unsigned i = 0; i < sdp->nmedia; i++) {
        const sdp_stream_t *md = &sdp->media[i];

        if (md->port == 0 || md->npts == 0 || strcmp(md->type, "audio") != 0)
            continue;
        /* The first payload type is the preferred codec. */
        if (md->pts[0].name[0])
            str_set(c, CS_CODEC, md->pts[0].name);
        break;
    }
}

static void note_sdp(calls_t *t, struct call *c, const sip_msg_t *m, bool from_caller, cw_ns_t ts)
{
    bool inactive = true;

    if (!m->has_sdp)
        return;
    for (unsigned i = 0; i < m->sdp.nmedia; i++)
        if (m->sdp.media[i].port && m->sdp.media[i].dir != SDP_INACTIVE)
            inactive = false;
    c->media_inactive = m->sdp.nmedia > 0 && inactive;
    for (unsigned i = 0; i < m->sdp.nmedia; i++) {
        const sdp_stream_t *md = &m->sdp.media[i];
        int side = from_caller ? 0 : 1;

        if (!md->port || !md->has_addr)
            continue;
        if (c->sdp_port[side] &&
            (c->sdp_port[side] != md->port || !cw_addr_equal(&c->sdp_addr[side], &md->addr))) {
            /* The media moved: until it shows up at its new place (which
             * may be outside this capture), its silence proves nothing. */
            c->media_seen[0] = c->media_seen[1] = false;
        }
        c->sdp_addr[side] = md->addr;
        c->sdp_port[side] = md->port;
        break;
    }
    /* Media that resumes after a hold starts its silence clock afresh. */
    if (!c->media_inactive) {
        if (c->media_seen[0] && c->last_media[0] < ts)
            c->last_media[0] = ts;
        if (c->media_seen[1] && c->last_media[1] < ts)
            c->last_media[1] = ts;
    }
    note_codecs(c, &m->sdp);
    if (t->hooks.on_sdp)
        t->hooks.on_sdp(t->hooks.ud, c, &m->sdp, from_caller, ts);
}

/* A new call from its first message m: an INVITE outside a dialog, or for
 * a partial call an in-dialog message (whose sender, for a request, or
 * receiver, for a response, is taken as the caller: the side of m's From). */
static struct call *create(calls_t *t, const sip_msg_t *m, const decode_pkt_t *p, bool partial)
{
    bool fwd = !partial || m->is_request;
    const char *v[CS_COUNT];
    struct call *c;
    size_t idlen;
    unsigned b;

    if (t->ctr.in_progress + t->ctr.partial_active >= t->cfg.max_calls && t->live_head) {
        /* Evict the call idle the longest. */
        struct call *old = t->live_head;

        t->ctr.evicted++;
        finish_call(t, old, CALL_ACTIVE, "evicted", p->ts);
    }
    idlen = strnlen(m->call_id, CALL_ID_MAX - 1);
    c = cw_calloc(1, sizeof(*c) + idlen + 1);
    memcpy(c->id, m->call_id, idlen);
    c->hash = cw_hash32_str(c->id);
    b = c->hash % NBUCKETS;
    c->hnext = t->buckets[b];
    t->buckets[b] = c;
    c->hashed = true;
    c->start = c->invite_t = c->last_sip = p->ts;
    c->q850 = -1;
    c->end_reason = c->hangup_by = "";
    for (int k = 0; k < CS_COUNT; k++)
        v[k] = "";
    v[CS_FROM_TAG] = m->from_tag;
    v[CS_FROM_URI] = m->from_uri;
    v[CS_TO_URI] = m->to_uri;
    v[CS_FROM_DISPLAY] = m->from_display;
    v[CS_TO_DISPLAY] = m->to_display;
    v[CS_USER_AGENT] = m->user_agent;
    strs_build(c, v);
    c->caller = fwd ? p->src : p->dst;
    c->caller_port = fwd ? p->sport : p->dport;
    c->callee = fwd ? p->dst : p->src;
    c->callee_port = fwd ? p->dport : p->sport;
    c->transport = m->over_ws ? CALL_WS : p->proto;
    c->invite_cseq = m->cseq;
    list_append(&t->live_head, &t->live_tail, c);
    if (partial) {
        /* The dialog is up: a partial call is judged as an answered one,
         * from its first message on. */
        c->partial = true;
        c->state = ST_CONFIRMED;
        t->ctr.partial++;
        t->ctr.partial_active++;
    } else {
        c->state = ST_TRYING;
        t->ctr.in_progress++;
        t->ctr.attempts++;
    }
    if (t->cfg.keep_ended) {
        if (t->nall == t->capall) {
            t->capall = t->capall ? t->capall * 2 : 256;
            t->all = cw_realloc(t->all, t->capall * sizeof(*t->all));
        }
        t->all[t->nall++] = c;
    }
    if (t->hooks.on_start && !partial)
        t->hooks.on_start(t->hooks.ud, c);
    return c;
}

/* Is the message from the caller's side of the dialog? */
static bool from_caller(const struct call *c, const sip_msg_t *m)
{
    return strcmp(m->from_tag, str_get(c, CS_FROM_TAG)) == 0 ? m->is_request : !m->is_request;
}

static bool normal_clearing(const sip_msg_t *m)
{
    /* Q.850 16 (normal call clearing) and 31 (normal, unspecified) are
     * how phones and PBXs say "hung up"; any other cause is an error.  A
     * SIP cause of 400 or more is an error too. */
    if (m->reason_q850 >= 0 && m->reason_q850 != 16 && m->reason_q850 != 31)
        return false;
    if (m->reason_sip >= 400)
        return false;
    return true;
}

static void on_request(calls_t *t, struct call *c, const sip_msg_t *m, const decode_pkt_t *p)
{
    switch (m->method) {
    case SIP_INVITE:
        if (!m->to_tag[0] && c->state != ST_CONFIRMED && c->state != ST_ENDED) {
            if (m->cseq == c->invite_cseq) {
                /* A retransmission, or the same INVITE spiralling
                 * through a proxy: one call, counted once. */
                if (p->ts != c->invite_t)
                    c->retrans++;
                t->ctr.retransmissions++;
            } else if (m->cseq > c->invite_cseq) {
                /* A new INVITE in the same Call-ID, after a challenge. */
                c->invite_cseq = m->cseq;
                c->invite_t = p->ts;
                c->final_code = 0;
                c->state = ST_TRYING;
            }
            if (m->has_sdp)
                note_sdp(t, c, m, true, p->ts);
            return;
        }
        /* A re-INVITE changing the media. */
        if (m->has_sdp)
            note_sdp(t, c, m, from_caller(c, m), p->ts);
        return;
    case SIP_UPDATE:
    case SIP_PRACK:
    case SIP_ACK:
        if (m->has_sdp)
            note_sdp(t, c, m, from_caller(c, m), p->ts);
        return;
    case SIP_CANCEL:
        if (c->state == ST_TRYING || c->state == ST_PROCEEDING)
            c->cancel_seen = true;
        return;
    case SIP_BYE:
        if (c->state == ST_CONFIRMED) {
            str_set(c, CS_REASON, m->reason_hdr);
            c->q850 = m->reason_q850;
            c->hangup_by = from_caller(c, m) ? "caller" : "callee";
            if (normal_clearing(m))
                finish_call(t, c, CALL_ANSWERED, "bye", p->ts);
            else
                finish_call(t, c, CALL_DROPPED, "bye_error", p->ts);
        } else if (c->state != ST_ENDED) {
            /* BYE on an early dialog: the caller gave up. */
            c->hangup_by = from_caller(c, m) ? "caller" : "callee";
            finish_call(t, c, CALL_CANCELLED, "bye_before_answer", p->ts);
        }
        return;
    default:
        return;
    }
}

static void on_response(calls_t *t, struct call *c, const sip_msg_t *m, const decode_pkt_t *p)
{
    bool initial = !c->partial && m->cseq_method == SIP_INVITE && m->cseq == c->invite_cseq;

    if (m->has_sdp && (m->cseq_method == SIP_INVITE || m->cseq_method == SIP_UPDATE ||
                       m->cseq_method == SIP_PRACK))
        note_sdp(t, c, m, from_caller(c, m), p->ts);

    if ((m->status == 408 || m->status == 481) && (c->answered || c->partial) && !initial &&
        m->cseq_method != SIP_CANCEL) {
        /* The far end lost the dialog: the call dropped. */
        if (c->state == ST_CONFIRMED)
            finish_call(t, c, CALL_DROPPED, m->status == 408 ? "in_dialog_408" : "in_dialog_481",
                        p->ts);
        else
            redecide_dropped(t, c, m->status == 408 ? "in_dialog_408" : "in_dialog_481");
        return;
    }
    if (c->partial && c->state == ST_CONFIRMED && m->cseq_method == SIP_BYE && m->status >= 200 &&
        m->status < 300) {
        /* The BYE itself was not seen; its success ends the dialog. */
        finish_call(t, c, CALL_ANSWERED, "bye", p->ts);
        return;
    }
    if (!initial || c->state == ST_ENDED || c->state == ST_CONFIRMED)
        return;

    if (m->status < 200) {
        if (m->status >= 180 && !c->first_prov)
            c->first_prov = p->ts;
        c->last_prov = p->ts;
        if (c->state == ST_TRYING)
            c->state = ST_PROCEEDING;
        if (m->status > 100 && m->user_agent[0] && !str_get(c, CS_CALLEE_AGENT)[0])
            str_set(c, CS_CALLEE_AGENT, m->user_agent);
        return;
    }
    c->final_code = m->status;
    if (m->status < 300) {
        c->state = ST_CONFIRMED;
        c->answered = p->ts;
        c->callee = p->src;
        c->callee_port = p->sport;
        if (m->user_agent[0])
            str_set(c, CS_CALLEE_AGENT, m->user_agent);
        t->ctr.answered++;
        t->ctr.active++;
        if (t->hooks.on_answer)
            t->hooks.on_answer(t->hooks.ud, c);
        return;
    }
    if (c->cancel_seen) {
        finish_call(t, c, CALL_CANCELLED, "cancel", p->ts);
        return;
    }
    if (m->status == 401 || m->status == 407) {
        c->challenges++;
        c->state = ST_CHALLENGED;
        return;
    }
    if (m->status == 487) {
        /* Request Terminated: the INVITE was cancelled (the CANCEL itself
         * may not be in the capture). */
        finish_call(t, c, CALL_CANCELLED, "cancel", p->ts);
        return;
    }
    finish_call(t, c, CALL_FAILED, "sip_error", p->ts);
}

/* The methods of a call's dialog that show it established: a re-INVITE,
 * BYE, UPDATE or INFO (SUBSCRIBE, NOTIFY and REFER have dialogs of their
 * own; ACK and PRACK also follow failures and early dialogs). */
static bool call_dialog_method(enum sip_method meth)
{
    return meth == SIP_INVITE || meth == SIP_BYE || meth == SIP_UPDATE || meth == SIP_INFO;
}

/* Does m, of a Call-ID not followed, show a call already up: an in-dialog
 * request of the call's methods, or a 2xx to one? */
static bool starts_partial(const sip_msg_t *m)
{
    if (!m->to_tag[0])
        return false;
    if (m->is_request)
        return call_dialog_method(m->method);
    return m->status >= 200 && m->status < 300 && call_dialog_method(m->cseq_method);
}

void calls_sip(calls_t *t, const sip_msg_t *m, const decode_pkt_t *p)
{
    struct call *c = calls_find(t, m->call_id);

    if (!c) {
        /* An INVITE outside a dialog starts a call; the middle of a
         * dialog whose start the capture missed, a partial call. */
        if (m->is_request && m->method == SIP_INVITE && !m->to_tag[0]) {
            c = create(t, m, p, false);
            record_msg(c, m, p);
            if (m->has_sdp)
                note_sdp(t, c, m, true, p->ts);
            return;
        }
        if (!starts_partial(m) || tomb_hit(t, cw_hash32_str(m->call_id), p->ts)) {
            if (m->to_tag[0] && (m->is_request || m->cseq_method == SIP_INVITE))
                t->ctr.orphans++;
            return;
        }
        c = create(t, m, p, true);
    }
    record_msg(c, m, p);
    touch(t, c, p->ts);
    if (m->is_request)
        on_request(t, c, m, p);
    else
        on_response(t, c, m, p);
}

void calls_media(calls_t *t, call_t *c, bool caller_side, cw_ns_t ts)
{
    int d = caller_side ? 0 : 1;

    (void)t;
    if (ts > c->last_media[d])
        c->last_media[d] = ts;
    c->media_seen[d] = true;
}

static void check_media(calls_t *t, struct call *c, cw_ns_t now)
{
    cw_ns_t last, since[2];

    if (c->state != ST_CONFIRMED || c->media_inactive || !(c->media_seen[0] || c->media_seen[1]))
        return;
    /* A direction that never carried media counts from the answer (for a
     * partial call, from its first message). */
    for (int d = 0; d < 2; d++)
        since[d] = c->media_seen[d] ? c->last_media[d] : c->answered ? c->answered : c->start;
    last = since[0] > since[1] ? since[0] : since[1];
    if (now - last > t->cfg.rtp_timeout) {
        finish_call(t, c, CALL_DROPPED, "rtp_timeout", last);
        return;
    }
    if (!c->one_way && (now - since[0] > t->cfg.rtp_timeout || now - since[1] > t->cfg.rtp_timeout))
        c->one_way = true;
}

void calls_tick(calls_t *t, cw_ns_t now)
{
    struct call *c, *next;

    for (c = t->live_head; c; c = next) {
        next = c->next;
        switch (c->state) {
        case ST_TRYING:
            if (now - c->invite_t > t->cfg.invite_timeout)
                finish_call(t, c, CALL_UNANSWERED, "timeout", c->invite_t + t->cfg.invite_timeout);
            break;
        case ST_PROCEEDING:
            if (now - c->last_prov > t->cfg.ringing_timeout)
                finish_call(t, c, CALL_UNANSWERED, "timeout",
                            c->last_prov + t->cfg.ringing_timeout);
            break;
        case ST_CHALLENGED:
            /* The caller never came back with credentials; a person may
             * be typing a password, so wait as long as for a ringing
             * phone. */
            if (now - c->last_sip > t->cfg.ringing_timeout)
                finish_call(t, c, CALL_FAILED, "auth_abandoned", c->last_sip);
            break;
        case ST_CONFIRMED: {
            cw_ns_t act = c->last_sip;

            check_media(t, c, now);
            if (c->state != ST_CONFIRMED)
                break;
            for (int d = 0; d < 2; d++)
                if (c->media_seen[d] && c->last_media[d] > act)
                    act = c->last_media[d];
            if (now - act > t->cfg.idle_timeout)
                finish_call(t, c, CALL_ANSWERED, "idle_timeout", act);
            break;
        }
        default:
            break;
        }
    }
    while (t->linger_head && now > t->linger_head->end + LINGER_NS) {
        c = t->linger_head;
        list_unlink(&t->linger_head, &t->linger_tail, c);
        report_again(t, c);
        forget(t, c);
    }
}

void calls_finish(calls_t *t, cw_ns_t now)
{
    calls_tick(t, now);
    for (struct call *c = t->linger_head; c; c = c->next)
        report_again(t, c);
}

void calls_get_counters(const calls_t *t, calls_counters_t *out)
{
    *out = t->ctr;
}

size_t calls_list(calls_t *t, call_t ***out)
{
    if (!t->cfg.keep_ended) {
        /* Only calls still in memory: rebuild the list from the live and
         * lingering ones. */
        size_t n = 0;

        for (struct call *c = t->linger_head; c; c = c->next)
            n++;
        for (struct call *c = t->live_head; c; c = c->next)
            n++;
        if (n > t->capall) {
            t->capall = n;
            t->all = cw_realloc(t->all, t->capall * sizeof(*t->all));
        }
        n = 0;
        for (struct call *c = t->linger_head; c; c = c->next)
            t->all[n++] = c;
        for (struct call *c = t->live_head; c; c = c->next)
            t->all[n++] = c;
        t->nall = n;
    }
    *out = t->all;
    return t->nall;
}

const char *call_id(const call_t *c)
{
    return c->id;
}

enum call_outcome call_outcome(const call_t *c)
{
    return c->state == ST_ENDED ? c->outcome : CALL_ACTIVE;
}

const char *call_outcome_name(enum call_outcome o)
{
    static const char *const names[] = { "active",    "answered",   "failed",
                                         "cancelled", "unanswered", "dropped" };

    return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "active";
}

const char *call_end_reason(const call_t *c)
{
    return c->end_reason;
}

int call_sip_code(const call_t *c)
{
    return c->final_code;
}

cw_ns_t call_start(const call_t *c)
{
    return c->start;
}

cw_ns_t call_answered(const call_t *c)
{
    return c->answered;
}

cw_ns_t call_end(const call_t *c)
{
    return c->state == ST_ENDED ? c->end : 0;
}

bool call_ended(const call_t *c)
{
    return c->state == ST_ENDED;
}

bool call_one_way(const call_t *c)
{
    return c->one_way;
}

bool call_partial(const call_t *c)
{
    return c->partial;
}

const cw_addr_t *call_caller_addr(const call_t *c)
{
    return &c->caller;
}

const cw_addr_t *call_callee_addr(const call_t *c)
{
    return &c->callee;
}

unsigned call_end_reports(const call_t *c)
{
    return c->end_reports;
}

static json_t *time_or_null(cw_ns_t t)
{
    return t ? json_real(cw_ns_to_sec(t)) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

json_t *call_json(const call_t *c, bool with_messages)
{
    json_t *o = json_object();
    char ep[CW_ENDPOINT_STRLEN];
    const char *s[CS_COUNT];

    strs_split(c, s);
    json_object_set_new(o, "call_id", sip_json_string(c->id));
    json_object_set_new(o, "from", sip_json_string(s[CS_FROM_URI]));
    json_object_set_new(o, "to", sip_json_string(s[CS_TO_URI]));
    json_object_set_new(o, "start", json_real(cw_ns_to_sec(c->start)));
    json_object_set_new(o, "answered", time_or_null(c->answered));
    json_object_set_new(o, "end", time_or_null(call_end(c)));
    json_object_set_new(o, "outcome", json_string(call_outcome_name(call_outcome(c))));
    json_object_set_new(o, "sip_code", c->final_code ? json_integer(c->final_code) : json_null());
    json_object_set_new(o, "end_reason", str_or_null(c->end_reason));
    json_object_set_new(
        o, "setup_ms",
        c->answered ? json_integer((c->answered - c->start + CW_NS_PER_MS / 2) / CW_NS_PER_MS)
                    : json_null());
    json_object_set_new(
        o, "pdd_ms",
        c->first_prov ? json_integer((c->first_prov - c->start + CW_NS_PER_MS / 2) / CW_NS_PER_MS)
                      : json_null());
    json_object_set_new(o, "from_display", sip_json_string(s[CS_FROM_DISPLAY]));
    json_object_set_new(o, "to_display", sip_json_string(s[CS_TO_DISPLAY]));
    json_object_set_new(o, "caller",
                        json_string(cw_endpoint_str(&c->caller, c->caller_port, ep, sizeof(ep))));
    json_object_set_new(o, "callee",
                        json_string(cw_endpoint_str(&c->callee, c->callee_port, ep, sizeof(ep))));
    json_object_set_new(o, "transport",
                        json_string(c->transport == CALL_WS       ? "ws"
                                    : c->transport == IPPROTO_TCP ? "tcp"
                                                                  : "udp"));
    json_object_set_new(o, "user_agent", sip_json_string(s[CS_USER_AGENT]));
    json_object_set_new(o, "callee_agent", sip_json_string(s[CS_CALLEE_AGENT]));
    json_object_set_new(o, "codec", str_or_null(s[CS_CODEC]));
    json_object_set_new(o, "hangup_by", str_or_null(c->hangup_by));
    json_object_set_new(o, "reason", s[CS_REASON][0] ? sip_json_string(s[CS_REASON]) : json_null());
    json_object_set_new(o, "q850_cause", c->q850 >= 0 ? json_integer(c->q850) : json_null());
    json_object_set_new(o, "retransmissions", json_integer(c->retrans));
    json_object_set_new(o, "challenges", json_integer(c->challenges));
    json_object_set_new(o, "one_way_audio", json_boolean(c->one_way));
    if (c->partial)
        json_object_set_new(o, "partial", json_true());
    if (with_messages) {
        json_object_set_new(o, "messages", ladder_json(c->ladder));
        json_object_set_new(o, "messages_dropped", json_integer(c->msgs_dropped));
    }
    return o;
}
