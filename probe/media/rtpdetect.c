/* rtpdetect: a run of packets that continue one RTP source, and the
 * evidence against. */
#include "autoconf.h"

#include "media/rtpdetect.h"

#include <stdbool.h>
#include <stdlib.h>

#include "media/rtp.h"

struct rtpdetect {
    int verdict;
    unsigned seen, bad, good; /* good: packets continuing one source */
    unsigned run;             /* RTP-shaped packets in a row */
    uint32_t ssrc;
    uint8_t pt; /* the run's payload type (comfort noise aside) */
    uint16_t seq;
    uint32_t ts, run_ts0;
    cw_ns_t t, run_t0;
    uint64_t run_dts; /* timestamp advance over the run */
};

/* Verdict limits: packets seen before a NO on bad evidence, and before
 * giving up. */
#define DETECT_MIN_SEEN 8
#define DETECT_MAX_SEEN 50
/* Per sequence step, the largest timestamp advance regardless of arrival
 * time: 120 ms at 48 kHz. */
#define DETECT_TS_PER_SEQ 5760u

rtpdetect_t *rtpdetect_new(void)
{
    return cw_calloc(1, sizeof(rtpdetect_t));
}

void rtpdetect_free(rtpdetect_t *d)
{
    free(d);
}

static void run_start(rtpdetect_t *d, cw_ns_t t, const rtp_hdr_t *h)
{
    d->run = 1;
    d->ssrc = h->ssrc;
    d->pt = h->pt;
    d->seq = h->seq;
    d->ts = d->run_ts0 = h->ts;
    d->t = d->run_t0 = t;
    d->run_dts = 0;
}

enum run_step {
    STEP_BREAK, /* another source, or implausible */
    STEP_GAP,   /* the same source after a loss of 10 to 3000 packets */
    STEP_NEXT,  /* the next packet, or nearly */
};

/* Does h continue the run plausibly? */
static enum run_step run_continues(const rtpdetect_t *d, cw_ns_t t, const rtp_hdr_t *h)
{
    uint16_t dseq = (uint16_t)(h->seq - d->seq);
    int32_t dts = (int32_t)(h->ts - d->ts);
    double dt_s = t > d->t ? (double)(t - d->t) / 1e9 : 0.0;

    if (h->ssrc != d->ssrc)
        return STEP_BREAK;
    if (h->pt != d->pt && !rtp_pt_is_cn(h->pt) && !rtp_pt_is_cn(d->pt))
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

int rtpdetect_feed(rtpdetect_t *d, cw_ns_t arrival, const uint8_t *buf, size_t len)
{
    rtp_hdr_t h;
    bool rtp;

    if (!d)
        return RTPDETECT_NO;
    if (d->verdict != RTPDETECT_MAYBE)
        return d->verdict;
    d->seen++;
    rtp = !rtp_is_rtcp(buf, len) && rtp_parse(buf, len, &h) == 0 &&
          /* 72-76 with the marker are RTCP's range (RFC 5761); reject the
           * low half too when the octet would read as RTCP. */
          !(h.pt >= 72 && h.pt <= 76);
    if (!rtp) {
        /* Not RTP: evidence against, but the run goes on (ZRTP, STUN or
         * RTCP may share the flow with the media). */
        d->bad++;
    } else if (d->run == 0) {
        run_start(d, arrival, &h);
    } else {
        enum run_step step = run_continues(d, arrival, &h);

        if (step == STEP_BREAK) {
            d->bad++;
            run_start(d, arrival, &h);
        } else {
            /* The same source: a loss gap keeps the run but does not
             * lengthen it. */
            d->good++;
            d->run_dts += (uint32_t)(h.ts - d->ts);
            if (step == STEP_NEXT)
                d->run++;
            d->seq = h.seq;
            d->ts = h.ts;
            d->t = arrival;
            if (!rtp_pt_is_cn(h.pt))
                d->pt = h.pt;
        }
    }

    if (d->run >= RTPDETECT_PACKETS) {
        /* The run's clock, from timestamps against arrival times, must be
         * one a real medium uses (1 kHz text to 90 kHz video), unless the
         * packets came too close together to tell. */
        cw_ns_t span = d->t - d->run_t0;

        if (span >= 20 * CW_NS_PER_MS) {
            double rate = (double)d->run_dts / ((double)span / 1e9);

            if (rate < 1000.0 || rate > 200000.0) {
                d->bad++;
                d->run = 0;
            }
        }
        if (d->run >= RTPDETECT_PACKETS)
            d->verdict = RTPDETECT_YES;
    }
    /* NO once bad packets clearly outnumber the signs of one source. */
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

/* ================================================================ flows */

#define FLOW_HELD    8 /* packets held while the detector decides */
#define FLOW_IDLE    CW_SEC(60)
#define FLOW_BUCKETS 65536

struct flow {
    cw_addr_t src, dst;
    uint16_t sport, dport;
    int verdict;
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
};

rtpdetect_flows_t *rtpdetect_flows_new(size_t max_flows)
{
    rtpdetect_flows_t *fl = cw_calloc(1, sizeof(*fl));

    fl->max = max_flows ? max_flows : 65536;
    fl->h = cw_calloc(FLOW_BUCKETS, sizeof(*fl->h));
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

static struct flow *flow_create(rtpdetect_flows_t *fl, const decode_pkt_t *p, uint32_t key)
{
    struct flow *f;

    if (fl->n >= fl->max && fl->head) {
        fl->evicted++;
        flow_drop(fl, fl->head);
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

/* Keeps h while the detector decides; the first FLOW_HELD packets only. */
static void flow_hold(struct flow *f, cw_ns_t arrival, const rtp_hdr_t *h)
{
    if (f->nheld >= FLOW_HELD)
        return;
    if (f->nheld == f->capheld) {
        f->capheld = f->capheld ? (uint8_t)(f->capheld * 2) : 1;
        f->held = cw_realloc(f->held, f->capheld * sizeof(*f->held));
    }
    f->held[f->nheld].arrival = arrival;
    f->held[f->nheld].h = *h;
    f->held[f->nheld].h.payload = NULL;
    f->nheld++;
}

int rtpdetect_flows_feed(rtpdetect_flows_t *fl, const decode_pkt_t *p, const rtp_hdr_t *h,
                         void (*replay)(void *ud, const rtpdetect_held_t *held), void *ud)
{
    uint32_t key = pkt_key(p);
    struct flow *f = flow_find(fl, p, key);

    if (!f)
        f = flow_create(fl, p, key);
    f->last = p->ts;
    if (f->verdict == RTPDETECT_NO)
        return RTPDETECT_NO;
    f->verdict = rtpdetect_feed(f->det, p->ts, p->payload, p->payload_len);
    if (f->verdict == RTPDETECT_MAYBE) {
        flow_hold(f, p->ts, h);
    } else if (f->verdict == RTPDETECT_NO) {
        /* The flow stays known, so that its later packets end here at
         * once, but needs nothing held. */
        free(f->held);
        f->held = NULL;
        f->nheld = f->capheld = 0;
    } else {
        for (unsigned i = 0; i < f->nheld; i++)
            replay(ud, &f->held[i]);
        flow_drop(fl, f);
        return RTPDETECT_YES;
    }
    return f->verdict;
}

void rtpdetect_flows_expire(rtpdetect_flows_t *fl, cw_ns_t now)
{
    while (fl->head && now - fl->head->last > FLOW_IDLE)
        flow_drop(fl, fl->head);
}

uint64_t rtpdetect_flows_evicted(const rtpdetect_flows_t *fl)
{
    return fl->evicted;
}
