/* rtpdetect: runs of packets that continue RTP sources, one run per SSRC,
 * and the evidence against. */
#include "autoconf.h"

#include "media/rtpdetect.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "media/rtp.h"

/* Sources judged at once in one flow; a fifth replaces the shortest run. */
#define DETECT_SOURCES 4

/* One source's run of packets that continue each other. */
struct run {
    uint32_t ssrc;
    uint32_t ts;
    uint64_t dts; /* timestamp advance over the run */
    cw_ns_t t, t0;
    uint16_t seq;
    uint8_t pt;   /* the run's payload type (comfort noise aside) */
    uint8_t len;  /* packets in a row */
    uint8_t pkts; /* packets of the source so far (at most 255) */
    bool used;
    bool whole;  /* every packet of the source continued the run, none after a gap */
    bool events; /* every payload 4 bytes of a dynamic type: RFC 4733 events */
};

struct rtpdetect {
    int verdict;
    unsigned seen, bad, good; /* good: packets continuing a source */
    struct run runs[DETECT_SOURCES];
    uint32_t ssrc; /* of the run that made the YES */
    uint8_t pt;
};

/* Verdict limits: packets seen before a NO on bad evidence, and before
 * giving up. */
#define DETECT_MIN_SEEN 8
#define DETECT_MAX_SEEN 50
/* Per sequence step, the largest timestamp advance regardless of arrival
 * time: 120 ms at 48 kHz. */
#define DETECT_TS_PER_SEQ 5760u
/* The clock rates a real medium uses: 1 kHz text to 90 kHz video. */
#define DETECT_RATE_MIN 1000.0
#define DETECT_RATE_MAX 200000.0
/* RFC 4733: an event's payload, four octets, under a dynamic type. */
#define EVENT_LEN    4u
#define EVENT_PT_MIN 96u

rtpdetect_t *rtpdetect_new(void)
{
    return cw_calloc(1, sizeof(rtpdetect_t));
}

void rtpdetect_free(rtpdetect_t *d)
{
    free(d);
}

static bool is_event(const rtp_hdr_t *h)
{
    return h->payload_len == EVENT_LEN && h->pt >= EVENT_PT_MIN;
}

static void run_start(struct run *r, cw_ns_t t, const rtp_hdr_t *h)
{
    r->used = true;
    r->len = 1;
    r->ssrc = h->ssrc;
    r->pt = h->pt;
    r->seq = h->seq;
    r->ts = h->ts;
    r->t = r->t0 = t;
    r->dts = 0;
    r->events = is_event(h);
    if (r->pkts < UINT8_MAX)
        r->pkts++;
}

enum run_step {
    STEP_BREAK, /* implausible for the source */
    STEP_GAP,   /* the same source after a loss of 10 to 3000 packets */
    STEP_NEXT,  /* the next packet, or nearly */
};

/* Does h continue the run plausibly? */
static enum run_step run_continues(const struct run *r, cw_ns_t t, const rtp_hdr_t *h)
{
    uint16_t dseq = (uint16_t)(h->seq - r->seq);
    int32_t dts = (int32_t)(h->ts - r->ts);
    double dt_s = t > r->t ? (double)(t - r->t) / 1e9 : 0.0;

    if (h->pt != r->pt && !rtp_pt_is_cn(h->pt) && !rtp_pt_is_cn(r->pt))
        return STEP_BREAK;
    if (dseq < 1 || dseq >= 3000)
        return STEP_BREAK;
    /* Timestamps never go back; they may jump after silence, but then by
     * no more than the arrival gap allows at the highest audio/video clock
     * (96 kHz). */
    if (dts < 0 || (double)dts > (double)DETECT_TS_PER_SEQ * dseq + dt_s * 96000.0)
        return STEP_BREAK;
    return dseq <= 10 ? STEP_NEXT : STEP_GAP;
}

/* The run's clock, from timestamps against arrival times, must be one a
 * real medium uses, unless the packets came too close together to tell;
 * events may hold one timestamp (a digit's packets share it). */
static bool run_clock_ok(const struct run *r)
{
    cw_ns_t span = r->t - r->t0;
    double rate;

    if (span < 20 * CW_NS_PER_MS)
        return true;
    rate = (double)r->dts / ((double)span / 1e9);
    return rate <= DETECT_RATE_MAX && (rate >= DETECT_RATE_MIN || r->events);
}

static struct run *run_of(rtpdetect_t *d, uint32_t ssrc)
{
    for (int i = 0; i < DETECT_SOURCES; i++)
        if (d->runs[i].used && d->runs[i].ssrc == ssrc)
            return &d->runs[i];
    return NULL;
}

/* A slot for a new source: a free one, or the shortest run's.  *others
 * says whether another source was being judged. */
static struct run *run_new(rtpdetect_t *d, bool *others)
{
    struct run *best = NULL;

    *others = false;
    for (int i = 0; i < DETECT_SOURCES; i++) {
        struct run *r = &d->runs[i];

        if (!r->used) {
            if (!best || best->used)
                best = r;
            continue;
        }
        *others = true;
        if (!best || (best->used && r->len < best->len))
            best = r;
    }
    memset(best, 0, sizeof(*best));
    best->whole = true;
    return best;
}

/* One RTP-shaped packet h of the flow: starts or continues its source's
 * run, and says whether that run is now long and plausible enough. */
static void feed_rtp(rtpdetect_t *d, cw_ns_t arrival, const rtp_hdr_t *h)
{
    struct run *r = run_of(d, h->ssrc);
    bool others;

    if (!r) {
        /* A new source: evidence against while others are judged (random
         * bytes bring a new SSRC every time). */
        r = run_new(d, &others);
        if (others)
            d->bad++;
        run_start(r, arrival, h);
    } else if (r->len == 0) {
        run_start(r, arrival, h);
    } else {
        enum run_step step = run_continues(r, arrival, h);

        if (step == STEP_BREAK) {
            d->bad++;
            r->whole = false;
            run_start(r, arrival, h);
        } else {
            /* A loss gap keeps the run but does not lengthen it. */
            d->good++;
            r->dts += (uint32_t)(h->ts - r->ts);
            if (step == STEP_NEXT && r->len < UINT8_MAX)
                r->len++;
            else if (step == STEP_GAP)
                r->whole = false;
            if (r->pkts < UINT8_MAX)
                r->pkts++;
            r->seq = h->seq;
            r->ts = h->ts;
            r->t = arrival;
            r->events = r->events && is_event(h);
            if (!rtp_pt_is_cn(h->pt))
                r->pt = h->pt;
        }
    }
    if (r->len >= RTPDETECT_PACKETS) {
        if (!run_clock_ok(r)) {
            d->bad++;
            r->len = 0;
            r->whole = false;
        } else {
            d->verdict = RTPDETECT_YES;
            d->ssrc = r->ssrc;
            d->pt = r->pt;
        }
    }
}

int rtpdetect_feed(rtpdetect_t *d, cw_ns_t arrival, const uint8_t *buf, size_t len)
{
    rtp_hdr_t h;

    if (!d)
        return RTPDETECT_NO;
    if (d->verdict != RTPDETECT_MAYBE)
        return d->verdict;
    d->seen++;
    if (!rtp_is_rtcp(buf, len) && rtp_parse(buf, len, &h) == 0 &&
        /* 72-76 with the marker are RTCP's range (RFC 5761); reject the
         * low half too when the octet would read as RTCP. */
        !(h.pt >= 72 && h.pt <= 76)) {
        feed_rtp(d, arrival, &h);
    } else {
        /* Not RTP: evidence against, but the runs go on (ZRTP, STUN or
         * RTCP may share the flow with the media). */
        d->bad++;
    }
    /* NO once bad packets clearly outnumber the signs of a source. */
    if (d->verdict == RTPDETECT_MAYBE &&
        ((d->seen >= DETECT_MIN_SEEN && d->bad > 2 * d->good) || d->seen >= DETECT_MAX_SEEN))
        d->verdict = RTPDETECT_NO;
    return d->verdict;
}

uint32_t rtpdetect_ssrc(const rtpdetect_t *d)
{
    return d->ssrc;
}

uint8_t rtpdetect_pt(const rtpdetect_t *d)
{
    return d->pt;
}

void rtpdetect_take(rtpdetect_t *d)
{
    struct run *r;

    if (!d || d->verdict != RTPDETECT_YES)
        return;
    if ((r = run_of(d, d->ssrc)))
        memset(r, 0, sizeof(*r));
    d->verdict = RTPDETECT_MAYBE;
    d->seen = d->bad = d->good = 0;
}

bool rtpdetect_judging(const rtpdetect_t *d, uint32_t ssrc)
{
    return d && run_of((rtpdetect_t *)(uintptr_t)d, ssrc) != NULL;
}

unsigned rtpdetect_short(const rtpdetect_t *d, uint32_t ssrc)
{
    const struct run *r;

    if (!d || d->verdict == RTPDETECT_NO || !(r = run_of((rtpdetect_t *)(uintptr_t)d, ssrc)))
        return 0;
    if (!r->whole || r->len != r->pkts || r->len < RTPDETECT_SHORT || !run_clock_ok(r))
        return 0;
    return r->pkts;
}

/* ================================================================ flows */

#define FLOW_HELD    16 /* packets held while the detector decides */
#define FLOW_IDLE    CW_SEC(60)
#define FLOW_BUCKETS 65536

struct flow {
    cw_addr_t src, dst;
    uint16_t sport, dport;
    int verdict; /* MAYBE, or NO for good */
    uint8_t nheld, capheld;
    rtpdetect_t *det;
    rtpdetect_held_t *held; /* grown as packets are held */
    cw_ns_t last;
    struct flow *hnext, *prev, *next;
};

/* Flows in the order they were made: the oldest is evicted and expires
 * first. */
struct rtpdetect_flows {
    size_t max, n;
    uint64_t evicted;
    struct flow **h; /* FLOW_BUCKETS */
    struct flow *head, *tail;
    rtpdetect_found_fn found;
    void *ud;
    rtpdetect_held_t scratch[FLOW_HELD]; /* one source's held packets, handed on */
};

rtpdetect_flows_t *rtpdetect_flows_new(size_t max_flows, rtpdetect_found_fn found, void *ud)
{
    rtpdetect_flows_t *fl = cw_calloc(1, sizeof(*fl));

    fl->max = max_flows ? max_flows : 65536;
    fl->h = cw_calloc(FLOW_BUCKETS, sizeof(*fl->h));
    fl->found = found;
    fl->ud = ud;
    return fl;
}

static void flow_destroy(struct flow *f)
{
    rtpdetect_free(f->det);
    free(f->held);
    free(f);
}

void rtpdetect_flows_free(rtpdetect_flows_t *fl)
{
    if (!fl)
        return;
    for (struct flow *f = fl->head, *n; f; f = n) {
        n = f->next;
        flow_destroy(f);
    }
    free(fl->h);
    free(fl);
}

/* The bucket of a flow, from the packet's address hashes or from the
 * flow's addresses: the same either way. */
static uint32_t pkt_key(const decode_pkt_t *p)
{
    return cw_mix32(p->src_hash ^ p->sport, p->dst_hash * 31u + p->dport);
}

static uint32_t flow_key(const struct flow *f)
{
    return cw_mix32(cw_addr_hash(&f->src, 0) ^ f->sport, cw_addr_hash(&f->dst, 0) * 31u + f->dport);
}

static struct flow *flow_find(rtpdetect_flows_t *fl, const decode_pkt_t *p, uint32_t key)
{
    for (struct flow *f = fl->h[key & (FLOW_BUCKETS - 1)]; f; f = f->hnext)
        if (f->sport == p->sport && f->dport == p->dport && cw_addr_equal(&f->src, &p->src) &&
            cw_addr_equal(&f->dst, &p->dst))
            return f;
    return NULL;
}

static void flow_drop(rtpdetect_flows_t *fl, struct flow *f)
{
    struct flow **pp = &fl->h[flow_key(f) & (FLOW_BUCKETS - 1)];

    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    if (f->prev)
        f->prev->next = f->next;
    else
        fl->head = f->next;
    if (f->next)
        f->next->prev = f->prev;
    else
        fl->tail = f->prev;
    flow_destroy(f);
    fl->n--;
}

/* Takes the held packets of ssrc out of f, oldest first, into the
 * scratch array; returns how many. */
static size_t flow_take_held(rtpdetect_flows_t *fl, struct flow *f, uint32_t ssrc)
{
    size_t n = 0, keep = 0;

    for (size_t i = 0; i < f->nheld; i++) {
        if (f->held[i].h.ssrc == ssrc)
            fl->scratch[n++] = f->held[i];
        else
            f->held[keep++] = f->held[i];
    }
    f->nheld = (uint8_t)keep;
    return n;
}

/* Hands a source of f to the owner with its held packets. */
static void flow_found(rtpdetect_flows_t *fl, struct flow *f, uint32_t ssrc, bool short_stream,
                       size_t nheld)
{
    rtpdetect_found_t found = {
        .src = &f->src,
        .dst = &f->dst,
        .sport = f->sport,
        .dport = f->dport,
        .ssrc = ssrc,
        .held = fl->scratch,
        .nheld = nheld,
        .short_stream = short_stream,
    };

    if (fl->found)
        fl->found(fl->ud, &found);
}

/* The end of f's life (idle, evicted, or the end of the input): a source
 * too short for a YES but whose every packet fit is a stream all the same,
 * when all its packets were held. */
static void flow_end(rtpdetect_flows_t *fl, struct flow *f)
{
    while (f->verdict != RTPDETECT_NO && f->nheld) {
        uint32_t ssrc = f->held[0].h.ssrc;
        unsigned want = rtpdetect_short(f->det, ssrc);
        size_t n = flow_take_held(fl, f, ssrc);

        if (want && n == want)
            flow_found(fl, f, ssrc, true, n);
    }
    flow_drop(fl, f);
}

static struct flow *flow_create(rtpdetect_flows_t *fl, const decode_pkt_t *p, uint32_t key)
{
    struct flow *f;

    if (fl->n >= fl->max && fl->head) {
        fl->evicted++;
        flow_end(fl, fl->head);
    }
    f = cw_calloc(1, sizeof(*f));
    f->src = p->src;
    f->dst = p->dst;
    f->sport = p->sport;
    f->dport = p->dport;
    f->det = rtpdetect_new();
    f->hnext = fl->h[key & (FLOW_BUCKETS - 1)];
    fl->h[key & (FLOW_BUCKETS - 1)] = f;
    f->prev = fl->tail;
    if (fl->tail)
        fl->tail->next = f;
    else
        fl->head = f;
    fl->tail = f;
    fl->n++;
    return f;
}

/* Keeps h while the detector decides: at most FLOW_HELD packets, room
 * made by letting go of those of sources no longer judged. */
static void flow_hold(struct flow *f, cw_ns_t arrival, const rtp_hdr_t *h)
{
    if (f->nheld >= FLOW_HELD) {
        size_t keep = 0;

        for (size_t i = 0; i < f->nheld; i++)
            if (rtpdetect_judging(f->det, f->held[i].h.ssrc))
                f->held[keep++] = f->held[i];
        f->nheld = (uint8_t)keep;
        if (f->nheld >= FLOW_HELD)
            return;
    }
    if (f->nheld == f->capheld) {
        f->capheld = f->capheld ? (uint8_t)(f->capheld * 2) : 1;
        f->held = cw_realloc(f->held, f->capheld * sizeof(*f->held));
    }
    f->held[f->nheld].arrival = arrival;
    f->held[f->nheld].h = *h;
    f->held[f->nheld].h.payload = NULL;
    f->held[f->nheld].h.ext_data = NULL;
    f->nheld++;
}

int rtpdetect_flows_feed(rtpdetect_flows_t *fl, const decode_pkt_t *p, const rtp_hdr_t *h)
{
    uint32_t key = pkt_key(p);
    struct flow *f = flow_find(fl, p, key);
    int v;

    if (!f)
        f = flow_create(fl, p, key);
    f->last = p->ts;
    if (f->verdict == RTPDETECT_NO)
        return RTPDETECT_NO;
    v = rtpdetect_feed(f->det, p->ts, p->payload, p->payload_len);
    if (v == RTPDETECT_MAYBE) {
        flow_hold(f, p->ts, h);
    } else if (v == RTPDETECT_NO) {
        /* The flow stays known, so that its later packets end here at
         * once, but needs nothing held. */
        f->verdict = RTPDETECT_NO;
        free(f->held);
        f->held = NULL;
        f->nheld = f->capheld = 0;
    } else {
        /* The run that made the YES is p's: its source becomes a stream,
         * the flow goes on judging the others. */
        uint32_t ssrc = rtpdetect_ssrc(f->det);

        flow_found(fl, f, ssrc, false, flow_take_held(fl, f, ssrc));
        rtpdetect_take(f->det);
        if (!f->nheld)
            flow_drop(fl, f);
    }
    return v;
}

void rtpdetect_flows_expire(rtpdetect_flows_t *fl, cw_ns_t now)
{
    while (fl->head && now - fl->head->last > FLOW_IDLE)
        flow_end(fl, fl->head);
}

void rtpdetect_flows_finish(rtpdetect_flows_t *fl)
{
    while (fl->head)
        flow_end(fl, fl->head);
}

uint64_t rtpdetect_flows_evicted(const rtpdetect_flows_t *fl)
{
    return fl->evicted;
}
