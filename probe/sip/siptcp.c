#include "autoconf.h"

#include "sip/siptcp.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sip/sip.h"
#include "sip/sipws.h"

#define FLOW_BUF     65536u
#define MAX_OOO      8u  /* out-of-order segments held per flow */
#define OOO_PATIENCE 32u /* segments to wait for a hole to fill */

struct ooo_seg {
    uint32_t seq;
    uint32_t len;
    uint8_t *data;
};

/* What a flow's bytes are. */
enum flow_mode {
    MODE_SIP = 0,   /* SIP messages framed by Content-Length */
    MODE_UPGRADE,   /* an HTTP upgrade to SIP over WebSocket, not complete */
    MODE_WEBSOCKET, /* WebSocket frames, each message a SIP message */
    MODE_LOST,      /* WebSocket framing lost: ignored until a segment starts a message */
    MODE_REFUSED,   /* the upgrade was not to SIP: not followed after all */
};

struct flow {
    cw_addr_t src, dst;
    uint16_t sport, dport;
    uint32_t next_seq; /* next byte we expect */
    bool synced;       /* next_seq is known */
    uint8_t mode;      /* enum flow_mode */
    sipws_dec_t ws;    /* MODE_WEBSOCKET */
    uint8_t *buf;
    uint32_t len;
    uint32_t mark; /* where the newest segment's bytes begin in buf */
    struct ooo_seg ooo[MAX_OOO];
    unsigned nooo;
    unsigned waiting; /* segments seen since a hole opened */
    cw_ns_t last_seen;
    struct flow *hnext, *prev, *next; /* hash chain; LRU list, oldest first */
};

#define NBUCKETS 4096u

struct siptcp {
    struct flow *buckets[NBUCKETS];
    struct flow *oldest, *newest;
    size_t nflows, max_flows;
    siptcp_msg_fn fn;
    void *ud;
    siptcp_stats_t st;
    sipws_stats_t ws;
    const decode_pkt_t *cur; /* the segment being taken in */
};

siptcp_t *siptcp_new(size_t max_flows, siptcp_msg_fn fn, void *ud)
{
    siptcp_t *t = cw_calloc(1, sizeof(*t));

    t->max_flows = max_flows ? max_flows : 4096;
    t->fn = fn;
    t->ud = ud;
    return t;
}

static unsigned flow_hash(const cw_addr_t *s, uint16_t sp, const cw_addr_t *d, uint16_t dp)
{
    return (cw_addr_hash(s, sp) ^ (cw_addr_hash(d, dp) * 0x9e3779b1u)) % NBUCKETS;
}

static void ooo_clear(struct flow *f)
{
    for (unsigned i = 0; i < f->nooo; i++)
        free(f->ooo[i].data);
    f->nooo = 0;
    f->waiting = 0;
}

static void flow_drop(siptcp_t *t, struct flow *f)
{
    struct flow **pp = &t->buckets[flow_hash(&f->src, f->sport, &f->dst, f->dport)];

    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    if (f->prev)
        f->prev->next = f->next;
    else
        t->oldest = f->next;
    if (f->next)
        f->next->prev = f->prev;
    else
        t->newest = f->prev;
    ooo_clear(f);
    free(f->buf);
    free(f);
    t->nflows--;
}

void siptcp_free(siptcp_t *t)
{
    if (!t)
        return;
    while (t->oldest)
        flow_drop(t, t->oldest);
    free(t);
}

static struct flow *flow_find(siptcp_t *t, const decode_pkt_t *p)
{
    unsigned b = flow_hash(&p->src, p->sport, &p->dst, p->dport);

    for (struct flow *f = t->buckets[b]; f; f = f->hnext)
        if (f->sport == p->sport && f->dport == p->dport && cw_addr_equal(&f->src, &p->src) &&
            cw_addr_equal(&f->dst, &p->dst))
            return f;
    return NULL;
}

static void touch(siptcp_t *t, struct flow *f, cw_ns_t now)
{
    f->last_seen = now;
    if (t->newest == f)
        return;
    /* Move to the young end of the LRU list. */
    if (f->prev)
        f->prev->next = f->next;
    else
        t->oldest = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->prev = t->newest;
    f->next = NULL;
    if (t->newest)
        t->newest->next = f;
    else
        t->oldest = f;
    t->newest = f;
}

static struct flow *flow_create(siptcp_t *t, const decode_pkt_t *p)
{
    struct flow *f;
    unsigned b;

    if (t->nflows >= t->max_flows) {
        t->st.evicted++;
        flow_drop(t, t->oldest);
    }
    f = cw_calloc(1, sizeof(*f));
    f->src = p->src;
    f->dst = p->dst;
    f->sport = p->sport;
    f->dport = p->dport;
    f->buf = cw_calloc(1, FLOW_BUF);
    b = flow_hash(&p->src, p->sport, &p->dst, p->dport);
    f->hnext = t->buckets[b];
    t->buckets[b] = f;
    f->prev = t->newest;
    if (t->newest)
        t->newest->next = f;
    else
        t->oldest = f;
    t->newest = f;
    t->nflows++;
    t->st.flows++;
    return f;
}

/* Value of Content-Length (or compact "l") in a header block, or -1. */
static long content_length(const uint8_t *hdr, size_t hlen)
{
    size_t i = 0;

    while (i < hlen) {
        size_t eol = i;

        while (eol < hlen && hdr[eol] != '\n')
            eol++;
        if (eol - i > 15 && strncasecmp((const char *)hdr + i, "Content-Length", 14) == 0 &&
            (hdr[i + 14] == ':' || hdr[i + 14] == ' ' || hdr[i + 14] == '\t')) {
            i += 14;
        } else if (eol - i > 2 && (hdr[i] == 'l' || hdr[i] == 'L') &&
                   (hdr[i + 1] == ':' || hdr[i + 1] == ' ' || hdr[i + 1] == '\t')) {
            i += 1;
        } else {
            i = eol + 1;
            continue;
        }
        while (i < eol && (hdr[i] == ' ' || hdr[i] == '\t'))
            i++;
        if (i >= eol || hdr[i] != ':') {
            i = eol + 1;
            continue;
        }
        i++;
        while (i < eol && (hdr[i] == ' ' || hdr[i] == '\t'))
            i++;
        {
            long v = 0;
            bool digits = false;

            while (i < eol && hdr[i] >= '0' && hdr[i] <= '9' && v < 10000000) {
                v = v * 10 + (hdr[i] - '0');
                digits = true;
                i++;
            }
            return digits ? v : -1;
        }
    }
    return -1;
}

/* Finds the start of a SIP message in the buffer (after a gap or at the
 * beginning); drops what comes before it. */
static void resync(struct flow *f)
{
    uint32_t i;

    /* A message starts at the beginning of a line, or where a segment
     * began after bytes we could not use. */
    for (i = 0; i < f->len; i++) {
        if ((i == 0 || i == f->mark || f->buf[i - 1] == '\n') &&
            sip_looks_like(f->buf + i, f->len - i))
            break;
    }
    if (i == f->len) {
        /* Keep a tail that may be the start of a line still arriving. */
        uint32_t keep = f->len > 256 ? 256 : f->len;

        memmove(f->buf, f->buf + f->len - keep, keep);
        f->len = keep;
        f->mark = keep;
        return;
    }
    memmove(f->buf, f->buf + i, f->len - i);
    f->len -= i;
    f->mark = f->mark > i ? f->mark - i : 0;
}

/* Hands every complete message in the buffer to the callback. */
static void frame(siptcp_t *t, struct flow *f, const decode_pkt_t *pkt)
{
    for (;;) {
        uint32_t start = 0, hend;
        long clen;
        uint8_t *h;

        /* Keep-alive CRLFs between messages (RFC 5626). */
        while (start < f->len && (f->buf[start] == '\r' || f->buf[start] == '\n'))
            start++;
        if (start) {
            memmove(f->buf, f->buf + start, f->len - start);
            f->len -= start;
            f->mark = f->mark > start ? f->mark - start : 0;
        }
        if (f->len == 0)
            return;
        if (f->len >= 12 && !sip_looks_like(f->buf, f->len)) {
            resync(f);
            if (f->len < 12 || !sip_looks_like(f->buf, f->len))
                return;
        }
        h = memmem(f->buf, f->len, "\r\n\r\n", 4);
        if (!h)
            return; /* headers not complete yet */
        hend = (uint32_t)(h - f->buf) + 4;
        clen = content_length(f->buf, hend);
        if (clen < 0)
            clen = 0; /* mandatory on streams; absent means no body */
        if ((uint64_t)hend + (uint64_t)clen > FLOW_BUF) {
            t->st.overflows++;
            f->len = f->mark = 0;
            return;
        }
        if (hend + (uint32_t)clen > f->len)
            return; /* body still arriving */
        t->st.messages++;
        t->fn(t->ud, pkt, f->buf, hend + (size_t)clen, false);
        memmove(f->buf, f->buf + hend + clen, f->len - hend - (uint32_t)clen);
        f->len -= hend + (uint32_t)clen;
        f->mark = f->mark > hend + (uint32_t)clen ? f->mark - hend - (uint32_t)clen : 0;
    }
}

static void ws_message(void *ud, const uint8_t *msg, size_t len)
{
    siptcp_t *t = ud;

    t->st.messages++;
    t->fn(t->ud, t->cur, msg, len, true);
}

/* Takes in-order bytes of a WebSocket flow, as much as the buffer holds at
 * a time: the rest of the upgrade, then frames. */
static void ws_append(siptcp_t *t, struct flow *f, const uint8_t *data, uint32_t len)
{
    if (f->mode == MODE_LOST && sipws_starts_message(data, len)) {
        /* Found again: a segment that starts with a message's frame. */
        f->mode = MODE_WEBSOCKET;
        f->len = f->mark = 0;
        memset(&f->ws, 0, sizeof(f->ws));
    }
    while (len && (f->mode == MODE_UPGRADE || f->mode == MODE_WEBSOCKET)) {
        uint32_t n = FLOW_BUF - f->len < len ? FLOW_BUF - f->len : len;
        long hl;

        memcpy(f->buf + f->len, data, n);
        f->len += n;
        data += n;
        len -= n;
        if (f->mode == MODE_UPGRADE) {
            hl = sipws_handshake(f->buf, f->len);
            if (hl == 0)
                continue;
            if (hl < 0) {
                t->st.ws_refused++;
                f->mode = MODE_REFUSED;
                break;
            }
            memmove(f->buf, f->buf + hl, f->len - (uint32_t)hl);
            f->len -= (uint32_t)hl;
            f->mode = MODE_WEBSOCKET;
            memset(&f->ws, 0, sizeof(f->ws));
            t->st.ws_flows++;
        }
        /* The decoder always leaves room for more (it drops what cannot
         * fit); a full buffer would be a bug: give the flow up. */
        if (sipws_decode(&f->ws, f->buf, &f->len, FLOW_BUF, ws_message, t, &t->ws) < 0 || !n)
            f->mode = MODE_LOST;
    }
    if (f->mode == MODE_LOST || f->mode == MODE_REFUSED)
        f->len = f->mark = 0;
}

static void append(siptcp_t *t, struct flow *f, const uint8_t *data, uint32_t len)
{
    if (len == 0)
        return;
    if (f->mode != MODE_SIP) {
        ws_append(t, f, data, len);
        return;
    }
    if (len > FLOW_BUF - f->len) {
        /* Cannot hold it: keep the newest bytes and look for a message. */
        t->st.overflows++;
        if (len >= FLOW_BUF) {
            data += len - FLOW_BUF;
            len = FLOW_BUF;
            f->len = f->mark = 0;
        } else {
            uint32_t drop = len - (FLOW_BUF - f->len);

            memmove(f->buf, f->buf + drop, f->len - drop);
            f->len -= drop;
        }
        f->mark = f->len;
        memcpy(f->buf + f->len, data, len);
        f->len += len;
        resync(f);
        return;
    }
    f->mark = f->len;
    memcpy(f->buf + f->len, data, len);
    f->len += len;
}

/* seq arithmetic modulo 2^32 */
static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

/* Takes in-order bytes [seq, seq+len) and anything held that now fits. */
static void take(siptcp_t *t, struct flow *f, uint32_t seq, const uint8_t *data, uint32_t len)
{
    int32_t d = seq_diff(f->next_seq, seq);

    if (d > 0) {
        if ((uint32_t)d >= len) {
            t->st.retransmits++;
            return;
        }
        data += d;
        len -= (uint32_t)d;
    }
    append(t, f, data, len);
    f->next_seq = seq + (d > 0 ? (uint32_t)d : 0) + len;
    /* Held segments that now connect. */
    for (bool progress = true; progress && f->nooo;) {
        progress = false;
        for (unsigned i = 0; i < f->nooo; i++) {
            struct ooo_seg *s = &f->ooo[i];

            if (seq_diff(s->seq, f->next_seq) > 0)
                continue;
            if (seq_diff(s->seq + s->len, f->next_seq) > 0) {
                uint32_t skip = (uint32_t)seq_diff(f->next_seq, s->seq);

                append(t, f, s->data + skip, s->len - skip);
                f->next_seq = s->seq + s->len;
            }
            free(s->data);
            f->ooo[i] = f->ooo[--f->nooo];
            progress = true;
            break;
        }
    }
    if (!f->nooo)
        f->waiting = 0;
}

static void hold(siptcp_t *t, struct flow *f, uint32_t seq, const uint8_t *data, uint32_t len)
{
    for (unsigned i = 0; i < f->nooo; i++) {
        if (f->ooo[i].seq == seq && f->ooo[i].len >= len) {
            t->st.retransmits++;
            return;
        }
    }
    if (f->nooo == MAX_OOO || ++f->waiting > OOO_PATIENCE) {
        /* The hole will not fill: give up on it and resynchronise on the
         * oldest data we hold. */
        uint32_t lowest = seq;
        bool held;

        t->st.gaps++;
        for (unsigned i = 0; i < f->nooo; i++)
            if (seq_diff(f->ooo[i].seq, lowest) < 0)
                lowest = f->ooo[i].seq;
        f->len = f->mark = 0;
        /* WebSocket frames cannot be found again after a hole. */
        if (f->mode != MODE_SIP)
            f->mode = MODE_LOST;
        f->next_seq = lowest;
        held = f->nooo < MAX_OOO;
        if (held) {
            f->ooo[f->nooo].seq = seq;
            f->ooo[f->nooo].len = len;
            f->ooo[f->nooo].data = cw_calloc(1, len);
            memcpy(f->ooo[f->nooo].data, data, len);
            f->nooo++;
        }
        take(t, f, lowest, NULL, 0);
        /* No room to hold this segment: it may connect now. */
        if (!held && seq_diff(seq, f->next_seq) <= 0)
            take(t, f, seq, data, len);
        f->waiting = 0;
        if (f->mode == MODE_SIP)
            resync(f);
        return;
    }
    f->ooo[f->nooo].seq = seq;
    f->ooo[f->nooo].len = len;
    f->ooo[f->nooo].data = cw_calloc(1, len);
    memcpy(f->ooo[f->nooo].data, data, len);
    f->nooo++;
}

/* What a flow starting with segment p carries: SIP, an upgrade to SIP over
 * WebSocket, or (-1) nothing to follow. */
static int new_flow_mode(const decode_pkt_t *p, bool sip_port)
{
    if (sipws_looks_like(p->payload, p->payload_len) &&
        sipws_handshake(p->payload, p->payload_len) >= 0)
        return MODE_UPGRADE;
    if (sip_port || sip_looks_like(p->payload, p->payload_len))
        return MODE_SIP;
    return -1;
}

bool siptcp_segment(siptcp_t *t, const decode_pkt_t *p, bool sip_port)
{
    struct flow *f = flow_find(t, p);

    if (f && (p->tcp_flags & TCP_SYN) && f->mode != MODE_SIP) {
        /* A new connection on the same ports: judged afresh. */
        flow_drop(t, f);
        f = NULL;
    }
    if (!f) {
        int mode;

        if (p->payload_len == 0 || p->truncated || (mode = new_flow_mode(p, sip_port)) < 0)
            return false;
        f = flow_create(t, p);
        f->mode = (uint8_t)mode;
    }
    t->cur = p;
    touch(t, f, p->ts);
    if (p->tcp_flags & TCP_SYN) {
        f->next_seq = p->tcp_seq + 1;
        f->synced = true;
        f->len = f->mark = 0;
        ooo_clear(f);
    }
    if (p->payload_len && !p->truncated) {
        if (!f->synced) {
            f->next_seq = p->tcp_seq;
            f->synced = true;
        }
        if (seq_diff(p->tcp_seq, f->next_seq) > 0)
            hold(t, f, p->tcp_seq, p->payload, p->payload_len);
        else
            take(t, f, p->tcp_seq, p->payload, p->payload_len);
        if (f->mode == MODE_SIP)
            frame(t, f, p);
    }
    if (f->mode == MODE_REFUSED) {
        flow_drop(t, f);
        return false;
    }
    if (p->tcp_flags & (TCP_FIN | TCP_RST)) {
        flow_drop(t, f);
    }
    return true;
}

void siptcp_expire(siptcp_t *t, int64_t now, int64_t idle_ns)
{
    while (t->oldest && now - t->oldest->last_seen > idle_ns)
        flow_drop(t, t->oldest);
}

void siptcp_get_stats(const siptcp_t *t, siptcp_stats_t *out)
{
    *out = t->st;
    out->ws_messages = t->ws.messages;
    out->ws_malformed = t->ws.malformed;
    out->ws_too_long = t->ws.too_long;
}
