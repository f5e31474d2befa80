#include "autoconf.h"

#include "media/media.h"

#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/mos.h"
#include "media/rtcp.h"
#include "media/rtp.h"
#include "media/rtpdetect.h"
#include "media/rtpstats.h"

#define EXPECT_IDLE CW_SEC(7200)
#define STREAM_IDLE CW_SEC(300) /* live mode: forget a stream silent this long */
/* A stream silent this long before a packet that another call's SDP
 * announced is not continued by it: the packet starts the new call's. */
#define REUSE_GAP CW_SEC(2)

/* Bytes kept of a Call-ID, its NUL included. */
#define CALL_ID_MAX 256 /* as the call table keeps it */

/* A call's Call-ID, shared by its streams and expectations. */
struct cid {
    struct cid *hnext;
    uint32_t hash; /* cw_hash32_str(s) */
    uint32_t refs;
    bool ended; /* the call ended (media_call_ended()) */
    char s[];
};

struct stream {
    cw_addr_t src, dst;
    uint16_t sport, dport;
    bool from_caller : 1;
    bool moved : 1;   /* packets since the calls were last told */
    bool retired : 1; /* out of the lookup tables: a newer stream took its packets */
    bool recheck : 1; /* its call ended: look at the SDP endpoints again */
    uint32_t ssrc;
    uint32_t hash;
    /* The expectation buckets of its destination and source, and the sum of
     * their generations when the stream last looked at them. */
    uint16_t ebkt[2];
    uint32_t egen;
    struct cid *call;                  /* NULL: no call */
    const rtp_codec_map_t *codecs;     /* from the SDP; NULL if none */
    rtcp_far_t *far;                   /* NULL until RTCP reports on the stream */
    uint32_t step_expected, step_lost; /* at the previous step, modulo 2^32 */
    struct stream *hnext;              /* by 5-tuple + SSRC */
    struct stream *snext;              /* by SSRC */
    struct stream *cnext;              /* by call */
    struct stream *prev, *next;        /* LRU, least recently active first */
    /* followed by the stream's rtpstats_t, in the same pool object */
};

_Static_assert(sizeof(struct stream) % RTPSTATS_ALIGN == 0,
               "the statistics after a stream are aligned");

static rtpstats_t *stream_st(const struct stream *s)
{
    return (rtpstats_t *)(uintptr_t)(s + 1);
}

/* The stream's latest packet. */
static cw_ns_t stream_last(const struct stream *s)
{
    return rtpstats_last_arrival(stream_st(s));
}

/* An RTP endpoint from SDP.  Its RTCP endpoint is the next port up
 * (RFC 3550 section 11), found from it rather than kept.  Expectations
 * queue in the order they were made; one used since it was queued (a new
 * SDP for it, a stream found through it) goes round again instead of
 * expiring or being evicted: a second chance, in 56 bytes. */
struct expect {
    cw_addr_t addr;
    uint8_t flags; /* EXP_* */
    uint16_t port;
    uint32_t seen_s; /* when last used, in whole seconds of capture time */
    struct cid *call;
    const rtp_codec_map_t *codecs; /* the named ones; NULL if none */
    struct expect *hnext, *next;
};

#define EXP_FROM_CALLER 1u /* the side that announced it (and receives there) */
#define EXP_USED        2u /* used since it was queued */

#define LIST(T)                                                                                    \
    struct {                                                                                       \
        T *head, *tail;                                                                            \
    }

#define STREAMS_H_MIN  256   /* buckets; two streams a bucket at most */
#define EXPECT_BUCKETS 65536 /* a stream keeps two of their numbers in 16 bits */

struct media {
    size_t max_streams, max_expect;
    bool keep;
    media_hooks_t hooks;
    size_t nb_streams, nb_calls, nb_ssrc, nb_expect;
    struct stream **streams_h, **ssrc_h, **call_h;
    struct cid **cid_h; /* nb_calls buckets */
    rtp_codec_sets_t *csets;
    cw_pool_t spool, epool; /* streams with their statistics; expectations */
    struct expect **expect_h;
    uint32_t *egen;           /* per expectation bucket: bumped when one gets another call */
    rtpdetect_flows_t *flows; /* unannounced flows not judged yet */
    LIST(struct stream) lru;
    LIST(struct expect) equeue;
    size_t nstreams, nexpect;
    struct stream **all; /* every stream kept, in creation order */
    size_t nall, capall;
    rtcp_info_t *rtcp;
    media_stats_t st;
    float *forgotten; /* live: the MOS of each voice stream forgotten */
    size_t nforgotten, capforgotten;
};

#define LRU_UNLINK(l, x)                                                                           \
    do {                                                                                           \
        if ((x)->prev)                                                                             \
            (x)->prev->next = (x)->next;                                                           \
        else                                                                                       \
            (l).head = (x)->next;                                                                  \
        if ((x)->next)                                                                             \
            (x)->next->prev = (x)->prev;                                                           \
        else                                                                                       \
            (l).tail = (x)->prev;                                                                  \
        (x)->prev = (x)->next = NULL;                                                              \
    } while (0)

#define LRU_APPEND(l, x)                                                                           \
    do {                                                                                           \
        (x)->prev = (l).tail;                                                                      \
        (x)->next = NULL;                                                                          \
        if ((l).tail)                                                                              \
            (l).tail->next = (x);                                                                  \
        else                                                                                       \
            (l).head = (x);                                                                        \
        (l).tail = (x);                                                                            \
    } while (0)

static uint32_t ep_key(const cw_addr_t *a, uint16_t port)
{
    return cw_addr_hash(a, port * 2654435761u);
}

/* The shared copy of call_id (cut to CALL_ID_MAX - 1 bytes), or NULL;
 * its hash and cut length go to *h and *len. */
static struct cid *cid_find(const media_t *m, const char *call_id, uint32_t *h, size_t *len)
{
    struct cid *c;

    *len = strnlen(call_id, CALL_ID_MAX - 1);
    *h = cw_hash32(call_id, *len);
    for (c = m->cid_h[*h & (m->nb_calls - 1)]; c; c = c->hnext)
        if (c->hash == *h && strncmp(c->s, call_id, *len) == 0 && c->s[*len] == '\0')
            return c;
    return NULL;
}

/* The shared copy of call_id, with one more reference. */
static struct cid *cid_get(media_t *m, const char *call_id)
{
    struct cid **b, *c;
    uint32_t h;
    size_t len;

    if ((c = cid_find(m, call_id, &h, &len))) {
        c->refs++;
        return c;
    }
    b = &m->cid_h[h & (m->nb_calls - 1)];
    c = cw_calloc(1, sizeof(*c) + len + 1);
    memcpy(c->s, call_id, len);
    c->hash = h;
    c->refs = 1;
    c->hnext = *b;
    *b = c;
    return c;
}

/* Removes x from a hash chain: head points at the bucket, and each element
 * links to the next through the pointer at offset off. */
static void unchain(void *head, const void *x, size_t off)
{
    char *slot = head, *cur;
    void *next;

    for (;;) {
        memcpy(&cur, slot, sizeof(cur));
        if (!cur)
            return;
        if (cur == x) {
            memcpy(&next, cur + off, sizeof(next));
            memcpy(slot, &next, sizeof(next));
            return;
        }
        slot = cur + off;
    }
}

/* Drops a reference to c (NULL allowed), freeing it with the last. */
static void cid_put(media_t *m, struct cid *c)
{
    if (!c || --c->refs)
        return;
    unchain(&m->cid_h[c->hash & (m->nb_calls - 1)], c, offsetof(struct cid, hnext));
    free(c);
}

/* The stream's Call-ID, "" for none. */
static const char *stream_call_id(const struct stream *s)
{
    return s->call ? s->call->s : "";
}

static void on_found(void *ud, const rtpdetect_found_t *f);

media_t *media_new(size_t max_streams, size_t max_flows, bool keep, const media_hooks_t *hooks)
{
    media_t *m = cw_calloc(1, sizeof(*m));

    m->max_streams = max_streams ? max_streams : 100000;
    /* An RTP endpoint on each side of a call, and room for as many again
     * announced but not (yet) sending. */
    m->max_expect = 2 * m->max_streams > 65536 ? 2 * m->max_streams : 65536;
    m->keep = keep;
    if (hooks)
        m->hooks = *hooks;
    /* Bucket counts are powers of two: a bucket is a mask, not a division,
     * on the packet path. */
    m->nb_ssrc = m->nb_calls = 65536;
    /* The table looked up for every packet grows with the streams, so
     * that a few hundred at once stay in the cache. */
    m->nb_streams = STREAMS_H_MIN;
    m->nb_expect = EXPECT_BUCKETS;
    m->streams_h = cw_calloc(m->nb_streams, sizeof(*m->streams_h));
    m->ssrc_h = cw_calloc(m->nb_ssrc, sizeof(*m->ssrc_h));
    m->call_h = cw_calloc(m->nb_calls, sizeof(*m->call_h));
    m->cid_h = cw_calloc(m->nb_calls, sizeof(*m->cid_h));
    m->csets = rtp_codec_sets_new();
    cw_pool_init(&m->spool, sizeof(struct stream) + rtpstats_size(), 64);
    cw_pool_init(&m->epool, sizeof(struct expect), 256);
    m->expect_h = cw_calloc(m->nb_expect, sizeof(*m->expect_h));
    m->egen = cw_calloc(m->nb_expect, sizeof(*m->egen));
    m->flows = rtpdetect_flows_new(max_flows, on_found, m);
    m->rtcp = cw_calloc(1, sizeof(*m->rtcp));
    return m;
}

static void stream_destroy(media_t *m, struct stream *s)
{
    cid_put(m, s->call);
    rtpstats_fini(stream_st(s));
    rtp_codec_sets_put(m->csets, s->codecs);
    rtcp_far_free(s->far);
    cw_pool_free(&m->spool, s);
}

static void expect_destroy(media_t *m, struct expect *e)
{
    cid_put(m, e->call);
    rtp_codec_sets_put(m->csets, e->codecs);
    cw_pool_free(&m->epool, e);
}

void media_free(media_t *m)
{
    if (!m)
        return;
    if (m->keep) {
        for (size_t i = 0; i < m->nall; i++)
            stream_destroy(m, m->all[i]);
    } else {
        for (struct stream *s = m->lru.head, *n; s; s = n) {
            n = s->next;
            stream_destroy(m, s);
        }
    }
    for (struct expect *e = m->equeue.head, *n; e; e = n) {
        n = e->next;
        expect_destroy(m, e);
    }
    rtpdetect_flows_free(m->flows);
    free(m->all);
    free(m->forgotten);
    free(m->streams_h);
    free(m->ssrc_h);
    free(m->call_h);
    free(m->cid_h);
    rtp_codec_sets_free(m->csets);
    cw_pool_destroy(&m->spool);
    cw_pool_destroy(&m->epool);
    free(m->expect_h);
    free(m->egen);
    free(m->rtcp);
    free(m);
}

/* ---- expectations (SDP endpoints) */

static struct expect *expect_find(media_t *m, const cw_addr_t *a, uint16_t port)
{
    for (struct expect *e = m->expect_h[ep_key(a, port) & (m->nb_expect - 1)]; e; e = e->hnext)
        if (e->port == port && cw_addr_equal(&e->addr, a))
            return e;
    return NULL;
}

static void expect_unhash(media_t *m, struct expect *e)
{
    struct expect **pp = &m->expect_h[ep_key(&e->addr, e->port) & (m->nb_expect - 1)];

    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
}

static uint32_t whole_seconds(cw_ns_t t)
{
    return (uint32_t)(t / CW_NS_PER_SEC);
}

static void equeue_push(media_t *m, struct expect *e)
{
    e->next = NULL;
    if (m->equeue.tail)
        m->equeue.tail->next = e;
    else
        m->equeue.head = e;
    m->equeue.tail = e;
}

static struct expect *equeue_pop(media_t *m)
{
    struct expect *e = m->equeue.head;

    m->equeue.head = e->next;
    if (!m->equeue.head)
        m->equeue.tail = NULL;
    e->next = NULL;
    return e;
}

/* Takes the first expectation of the queue not used since it was queued,
 * sending the used ones round again, out of the table and frees it; with
 * expired_only, only one unused for longer than EXPECT_IDLE before now.
 * Returns false when there is none to take. */
static bool expect_drop_oldest(media_t *m, bool expired_only, cw_ns_t now)
{
    while (m->equeue.head) {
        struct expect *e = m->equeue.head;

        if (e->flags & EXP_USED) {
            e->flags &= (uint8_t)~EXP_USED;
            equeue_push(m, equeue_pop(m));
            continue;
        }
        if (expired_only && (int64_t)whole_seconds(now) - e->seen_s <= EXPECT_IDLE / CW_NS_PER_SEC)
            return false;
        (void)equeue_pop(m);
        expect_unhash(m, e);
        expect_destroy(m, e);
        m->nexpect--;
        return true;
    }
    return false;
}

static void expect_add(media_t *m, struct cid *call, const cw_addr_t *a, uint16_t port,
                       bool from_caller, const sdp_stream_t *md, cw_ns_t now)
{
    struct expect *e = expect_find(m, a, port);
    unsigned b = ep_key(a, port) & (m->nb_expect - 1);

    if (!e) {
        if (m->nexpect >= m->max_expect)
            (void)expect_drop_oldest(m, false, now);
        e = cw_pool_alloc(&m->epool);
        e->addr = *a;
        e->port = port;
        e->call = NULL;
        e->hnext = m->expect_h[b];
        m->expect_h[b] = e;
        m->nexpect++;
        equeue_push(m, e);
    } else {
        e->flags |= EXP_USED;
    }
    /* Streams through this endpoint look again at whose it is. */
    if (e->call != call)
        m->egen[b]++;
    /* The latest SDP for an endpoint wins: ports are reused by later calls. */
    call->refs++;
    cid_put(m, e->call);
    e->call = call;
    e->flags = (uint8_t)((e->flags & EXP_USED) | (from_caller ? EXP_FROM_CALLER : 0));
    e->seen_s = whole_seconds(now);
    /* A stream takes the codecs with a name from its RTP endpoint. */
    rtp_codec_sets_put(m->csets, e->codecs);
    e->codecs = rtp_codec_sets_get(m->csets, md);
}

/* The expectation whose RTCP endpoint is (a, port): the RTP one below. */
static struct expect *expect_find_rtcp(media_t *m, const cw_addr_t *a, uint16_t port)
{
    return port > 0 ? expect_find(m, a, (uint16_t)(port - 1)) : NULL;
}

/* The expectation that announced a packet's endpoint: the receiver's, or
 * (symmetric RTP) the sender's; *from_caller tells which side sent it. */
static struct expect *expect_of(media_t *m, const decode_pkt_t *p, bool *from_caller)
{
    struct expect *e = expect_find(m, &p->dst, p->dport);

    if (e) {
        *from_caller = !(e->flags & EXP_FROM_CALLER);
        return e;
    }
    e = expect_find(m, &p->src, p->sport);
    if (e)
        *from_caller = (e->flags & EXP_FROM_CALLER) != 0;
    return e;
}

void media_expect(media_t *m, const char *call_id, const sdp_info_t *sdp, bool from_caller,
                  cw_ns_t now)
{
    struct cid *call = cid_get(m, call_id);

    for (unsigned i = 0; i < sdp->nmedia; i++) {
        const sdp_stream_t *md = &sdp->media[i];

        if (!md->port || !md->has_addr)
            continue;
        expect_add(m, call, &md->addr, md->port, from_caller, md, now);
    }
    cid_put(m, call);
}

/* ---- streams */

/* The packet's flow key from its precomputed address hashes. */
static uint32_t pkt_flow_key(const decode_pkt_t *p)
{
    return cw_mix32(p->src_hash ^ p->sport, p->dst_hash * 31u + p->dport);
}

static uint32_t stream_key(const decode_pkt_t *p, uint32_t ssrc)
{
    return pkt_flow_key(p) ^ (ssrc * 0x85ebca6bu);
}

static struct stream *stream_find(media_t *m, const decode_pkt_t *p, uint32_t ssrc, uint32_t h)
{
    for (struct stream *s = m->streams_h[h & (m->nb_streams - 1)]; s; s = s->hnext)
        if (s->hash == h && s->ssrc == ssrc && s->sport == p->sport && s->dport == p->dport &&
            cw_addr_equal(&s->src, &p->src) && cw_addr_equal(&s->dst, &p->dst))
            return s;
    return NULL;
}

/* The generations of the expectation buckets of s's two ends. */
static uint32_t stream_egen(const media_t *m, const struct stream *s)
{
    return m->egen[s->ebkt[0]] + m->egen[s->ebkt[1]];
}

/* Takes s out of the lookups by 5-tuple and SSRC: a newer stream gets its
 * packets and RTCP from now on; s stays in its call's streams and the
 * report. */
static void stream_retire(media_t *m, struct stream *s)
{
    unchain(&m->streams_h[s->hash & (m->nb_streams - 1)], s, offsetof(struct stream, hnext));
    unchain(&m->ssrc_h[s->ssrc & (m->nb_ssrc - 1)], s, offsetof(struct stream, snext));
    s->retired = true;
}

static void stream_forget(media_t *m, struct stream *s)
{
    LRU_UNLINK(m->lru, s);
    if (!s->retired) {
        unchain(&m->streams_h[s->hash & (m->nb_streams - 1)], s, offsetof(struct stream, hnext));
        unchain(&m->ssrc_h[s->ssrc & (m->nb_ssrc - 1)], s, offsetof(struct stream, snext));
    }
    if (s->call)
        unchain(&m->call_h[s->call->hash & (m->nb_calls - 1)], s, offsetof(struct stream, cnext));
    m->nstreams--;
    if (!m->keep) {
        rtpstats_summary_t sum;

        /* Live: keep what the MOS histogram needs of it. */
        rtpstats_get(stream_st(s), &sum);
        if (sum.voice_packets && m->nforgotten < 10000000) {
            if (m->nforgotten == m->capforgotten) {
                m->capforgotten = m->capforgotten ? m->capforgotten * 2 : 1024;
                m->forgotten = cw_realloc(m->forgotten, m->capforgotten * sizeof(*m->forgotten));
            }
            m->forgotten[m->nforgotten++] = (float)sum.mos;
        }
        stream_destroy(m, s);
    }
}

/* Doubles the buckets of the stream table. */
static void streams_h_grow(media_t *m)
{
    size_t nb = m->nb_streams * 2;
    struct stream **t = cw_calloc(nb, sizeof(*t));

    for (size_t i = 0; i < m->nb_streams; i++) {
        for (struct stream *s = m->streams_h[i], *next; s; s = next) {
            next = s->hnext;
            s->hnext = t[s->hash & (nb - 1)];
            t[s->hash & (nb - 1)] = s;
        }
    }
    free(m->streams_h);
    m->streams_h = t;
    m->nb_streams = nb;
}

static struct stream *stream_create(media_t *m, const decode_pkt_t *p, uint32_t ssrc, uint32_t h,
                                    const struct expect *e, bool from_caller, cw_ns_t now)
{
    struct stream *s;

    if (m->nstreams >= m->max_streams && m->lru.head) {
        m->st.streams_evicted++;
        stream_forget(m, m->lru.head);
    }
    s = cw_pool_alloc(&m->spool);
    rtpstats_init(stream_st(s));
    s->src = p->src;
    s->dst = p->dst;
    s->sport = p->sport;
    s->dport = p->dport;
    s->ssrc = ssrc;
    s->hash = h;
    s->ebkt[0] = (uint16_t)(ep_key(&p->dst, p->dport) & (m->nb_expect - 1));
    s->ebkt[1] = (uint16_t)(ep_key(&p->src, p->sport) & (m->nb_expect - 1));
    s->egen = stream_egen(m, s);
    if (e) {
        if (e->call->s[0]) {
            s->call = e->call;
            s->call->refs++;
        }
        s->from_caller = from_caller;
        if (e->codecs) {
            s->codecs = e->codecs;
            rtp_codec_sets_ref(s->codecs);
            rtpstats_use_codecs(stream_st(s), s->codecs);
        }
    }
    s->hnext = m->streams_h[h & (m->nb_streams - 1)];
    m->streams_h[h & (m->nb_streams - 1)] = s;
    s->snext = m->ssrc_h[ssrc & (m->nb_ssrc - 1)];
    m->ssrc_h[ssrc & (m->nb_ssrc - 1)] = s;
    if (s->call) {
        size_t b = s->call->hash & (m->nb_calls - 1);

        s->cnext = m->call_h[b];
        m->call_h[b] = s;
    }
    LRU_APPEND(m->lru, s);
    m->nstreams++;
    m->st.streams++;
    if (m->nstreams > 2 * m->nb_streams)
        streams_h_grow(m);
    if (!e)
        m->st.streams_unannounced++;
    if (m->keep) {
        if (m->nall == m->capall) {
            m->capall = m->capall ? m->capall * 2 : 256;
            m->all = cw_realloc(m->all, m->capall * sizeof(*m->all));
        }
        m->all[m->nall++] = s;
    }
    return s;
}

static void stream_feed(media_t *m, struct stream *s, cw_ns_t t, const rtp_hdr_t *h)
{
    rtpstats_packet(stream_st(s), t, h);
    s->moved = true;
    if (m->lru.tail != s) {
        LRU_UNLINK(m->lru, s);
        LRU_APPEND(m->lru, s);
    }
    m->st.rtp_packets++;
}

/* Links s, a stream no SDP announced so far, to the call of e. */
static void stream_adopt(media_t *m, struct stream *s, const struct expect *e, bool from_caller)
{
    size_t b = e->call->hash & (m->nb_calls - 1);

    s->call = e->call;
    s->call->refs++;
    s->cnext = m->call_h[b];
    m->call_h[b] = s;
    s->from_caller = from_caller;
    if (e->codecs) {
        rtp_codec_sets_put(m->csets, s->codecs);
        s->codecs = e->codecs;
        rtp_codec_sets_ref(s->codecs);
        rtpstats_use_codecs(stream_st(s), s->codecs);
    }
}

/* The stream that takes packet p of s, after an SDP endpoint of s's
 * changed hands or s's call ended: s itself while either end of p is still
 * announced by s's call; s linked to the call that now announces it (a
 * stream no SDP had announced, continuing); or a new stream of that call
 * when s belonged to another call that ended, or fell silent REUSE_GAP
 * before p (the addresses and SSRC of an earlier call used again). */
static struct stream *stream_recheck(media_t *m, struct stream *s, const decode_pkt_t *p,
                                     uint32_t key)
{
    bool from_caller = false;
    struct expect *e = expect_of(m, p, &from_caller), *src;
    bool gap;

    s->recheck = false;
    s->egen = stream_egen(m, s);
    if (!e || !e->call || !e->call->s[0] || e->call == s->call)
        return s;
    /* Several calls may share one end (a server's single media port): the
     * other end still says whose the stream is. */
    src = expect_find(m, &p->src, p->sport);
    if (s->call && src && src->call == s->call)
        return s;
    gap = p->ts - stream_last(s) > REUSE_GAP;
    if (s->call && !s->call->ended && !gap)
        return s; /* another call's, still flowing: the first SDP keeps it */
    e->seen_s = whole_seconds(p->ts);
    e->flags |= EXP_USED;
    if (!s->call && !gap) {
        stream_adopt(m, s, e, from_caller);
        return s;
    }
    stream_retire(m, s);
    return stream_create(m, p, s->ssrc, key, e, from_caller, p->ts);
}

void media_call_ended(media_t *m, const char *call_id)
{
    uint32_t h;
    size_t len;
    struct cid *c = cid_find(m, call_id, &h, &len);

    if (!c || c->ended)
        return;
    c->ended = true;
    /* Its streams look again at their endpoints on their next packet. */
    for (struct stream *s = m->call_h[h & (m->nb_calls - 1)]; s; s = s->cnext)
        if (s->call == c)
            s->recheck = true;
}

/* A stream found at the end of its flow, its packets long gone by: it
 * goes where its times put it, at the idle end of the LRU list and in
 * order of first packet among the streams kept. */
static void stream_place_late(media_t *m, struct stream *s)
{
    cw_ns_t first = rtpstats_first_arrival(stream_st(s));
    size_t i;

    LRU_UNLINK(m->lru, s);
    s->next = m->lru.head;
    if (m->lru.head)
        m->lru.head->prev = s;
    else
        m->lru.tail = s;
    m->lru.head = s;
    s->moved = false;
    if (!m->keep)
        return;
    for (i = m->nall - 1; i > 0 && rtpstats_first_arrival(stream_st(m->all[i - 1])) > first; i--)
        m->all[i] = m->all[i - 1];
    m->all[i] = s;
}

/* A source of a flow that its shape says is RTP, no SDP having announced
 * it: a stream with no call, fed the packets held for it. */
static void on_found(void *ud, const rtpdetect_found_t *f)
{
    media_t *m = ud;
    decode_pkt_t k = { .src = *f->src, .dst = *f->dst, .sport = f->sport, .dport = f->dport };
    struct stream *s;
    uint32_t key;

    k.src_hash = cw_addr_hash(&k.src, 0);
    k.dst_hash = cw_addr_hash(&k.dst, 0);
    key = stream_key(&k, f->ssrc);
    s = stream_find(m, &k, f->ssrc, key);
    if (s && f->short_stream)
        return; /* an SDP announced it meanwhile: its stream has the rest */
    if (!s)
        s = stream_create(m, &k, f->ssrc, key, NULL, false, k.ts);
    for (size_t i = 0; i < f->nheld; i++)
        stream_feed(m, s, f->held[i].arrival, &f->held[i].h);
    if (f->short_stream) {
        m->st.streams_short++;
        stream_place_late(m, s);
    }
}

void media_finish(media_t *m)
{
    rtpdetect_flows_finish(m->flows);
}

/* ---- RTCP */

/* The far end's view of s, made with the first RTCP report about it. */
static rtcp_far_t *far_end(struct stream *s)
{
    if (!s->far)
        s->far = rtcp_far_new();
    return s->far;
}

static void rtcp_packet(media_t *m, const decode_pkt_t *p)
{
    rtcp_info_t *ri = m->rtcp;

    if (rtcp_parse(p->payload, p->payload_len, ri) != 0) {
        m->st.rtcp_unparseable++;
        return;
    }
    m->st.rtcp_packets++;
    for (size_t i = 0; i < ri->nblocks; i++) {
        const rtcp_block_t *b = &ri->blocks[i];

        for (struct stream *s = m->ssrc_h[b->ssrc & (m->nb_ssrc - 1)]; s; s = s->snext) {
            rtpstats_summary_t sum;
            double rtt;

            if (s->ssrc != b->ssrc)
                continue;
            rtpstats_get(stream_st(s), &sum);
            if (rtcp_far_block(far_end(s), b, sum.clock_rate, p->ts, &rtt))
                rtpstats_set_delay_ms(stream_st(s), rtt / 2);
        }
    }
    if (ri->has_sr) {
        for (struct stream *s = m->ssrc_h[ri->sr.ssrc & (m->nb_ssrc - 1)]; s; s = s->snext) {
            if (s->ssrc != ri->sr.ssrc)
                continue;
            rtcp_far_sr(far_end(s), &ri->sr);
        }
    }
    for (size_t i = 0; i < ri->nvoip; i++) {
        for (struct stream *s = m->ssrc_h[ri->voip[i].ssrc & (m->nb_ssrc - 1)]; s; s = s->snext) {
            if (s->ssrc != ri->voip[i].ssrc)
                continue;
            rtcp_far_xr(far_end(s), &ri->voip[i]);
        }
    }
}

/* ---- the packet path */

bool media_packet(media_t *m, const decode_pkt_t *p)
{
    rtp_hdr_t h;
    struct stream *s;
    struct expect *e;
    uint32_t key;
    bool from_caller = false;

    if (p->payload_len < 8)
        return false;
    if (rtp_is_rtcp(p->payload, p->payload_len)) {
        /* Only on an announced port, or next to a known stream's port:
         * RTCP's shape alone is too weak a sign. */
        if (expect_find(m, &p->dst, p->dport) || expect_find(m, &p->src, p->sport) ||
            expect_find_rtcp(m, &p->dst, p->dport) || expect_find_rtcp(m, &p->src, p->sport) ||
            (p->sport & 1)) {
            rtcp_packet(m, p);
            return true;
        }
        return false;
    }
    if (rtp_parse(p->payload, p->payload_len, &h) != 0) {
        /* Not RTP, but on a call's media endpoint (T.38 fax over UDPTL,
         * say): media is flowing all the same. */
        if (!(e = expect_of(m, p, &from_caller)))
            return false;
        if (m->hooks.on_activity)
            m->hooks.on_activity(m->hooks.ud, e->call->s, from_caller, p->ts);
        return true;
    }
    key = stream_key(p, h.ssrc);
    s = stream_find(m, p, h.ssrc, key);
    if (s) {
        if (s->recheck || stream_egen(m, s) != s->egen)
            s = stream_recheck(m, s, p, key);
        stream_feed(m, s, p->ts, &h);
        return true;
    }
    e = expect_of(m, p, &from_caller);
    if (e) {
        e->seen_s = whole_seconds(p->ts);
        e->flags |= EXP_USED;
        s = stream_create(m, p, h.ssrc, key, e, from_caller, p->ts);
        stream_feed(m, s, p->ts, &h);
        return true;
    }
    /* Nobody announced it: let the shape decide, keeping the first packets
     * so that the stream's count is complete once it does (on_found()). */
    if (rtpdetect_flows_feed(m->flows, p, &h) != RTPDETECT_YES)
        return false;
    if (!(s = stream_find(m, p, h.ssrc, key)))
        s = stream_create(m, p, h.ssrc, key, NULL, false, p->ts);
    stream_feed(m, s, p->ts, &h);
    return true;
}

void media_tick(media_t *m, cw_ns_t now)
{
    /* Tell the calls about media that moved since the last tick. */
    /* Those fed since the last tick are the newest of the LRU list. */
    for (struct stream *s = m->lru.tail; s && s->moved; s = s->prev) {
        s->moved = false;
        if (s->call && m->hooks.on_activity)
            m->hooks.on_activity(m->hooks.ud, s->call->s, s->from_caller, stream_last(s));
    }
    rtpdetect_flows_expire(m->flows, now);
    while (expect_drop_oldest(m, true, now))
        ;
    if (!m->keep)
        while (m->lru.head && now - stream_last(m->lru.head) > STREAM_IDLE)
            stream_forget(m, m->lru.head);
}

void media_step(media_t *m, cw_ns_t t, cw_ns_t step_ns, media_step_summary_t *out)
{
    memset(out, 0, sizeof(*out));
    out->mos_min = NAN;
    for (struct stream *s = m->lru.tail; s && stream_last(s) > t - step_ns; s = s->prev) {
        rtpstats_summary_t sum;
        int64_t de, dl;
        double ppl, mos;

        rtpstats_get(stream_st(s), &sum);
        /* The step's part, modulo 2^32 (a step's are far fewer).  Lost may
         * go down: a late packet counted lost at the previous step. */
        de = (int32_t)((uint32_t)sum.expected - s->step_expected);
        dl = (int32_t)((uint32_t)sum.lost - s->step_lost);
        s->step_expected = (uint32_t)sum.expected;
        s->step_lost = (uint32_t)sum.lost;
        out->streams++;
        if (!sum.voice_packets || de <= 0)
            continue;
        ppl = dl > 0 ? 100.0 * (double)dl / (double)de : 0;
        if (ppl > 100)
            ppl = 100;
        mos = mos_listening(sum.codec, ppl, sum.burst_r, sum.delay_ms);
        out->rated++;
        out->loss_pct += ppl;
        out->jitter_ms += sum.jitter_ms;
        out->mos_avg += mos;
        if (isnan(out->mos_min) || mos < out->mos_min)
            out->mos_min = mos;
        if (m->hooks.on_quality)
            m->hooks.on_quality(m->hooks.ud, stream_call_id(s), &s->src, &s->dst, t, mos, ppl,
                                sum.jitter_ms);
    }
    if (out->rated) {
        out->loss_pct /= out->rated;
        out->jitter_ms /= out->rated;
        out->mos_avg /= out->rated;
    } else {
        out->loss_pct = out->jitter_ms = out->mos_avg = NAN;
    }
}

static json_t *stream_json(const struct stream *s)
{
    rtpstats_summary_t sum;
    char src[CW_ENDPOINT_STRLEN], dst[CW_ENDPOINT_STRLEN], ssrc[16];
    json_t *o, *r;

    rtpstats_get(stream_st(s), &sum);
    snprintf(ssrc, sizeof(ssrc), "0x%08X", s->ssrc);
    o = json_pack(
        "{s:o, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:f, s:I, s:I, s:f, s:f, s:o, s:o}", "call_id",
        s->call ? json_string(s->call->s) : json_null(), "src",
        cw_endpoint_str(&s->src, s->sport, src, sizeof(src)), "dst",
        cw_endpoint_str(&s->dst, s->dport, dst, sizeof(dst)), "ssrc", ssrc, "codec", sum.codec,
        "packets", (json_int_t)sum.packets, "expected", (json_int_t)sum.expected, "lost",
        (json_int_t)sum.lost, "loss_pct", cw_round_to(sum.loss_pct, 0.001), "duplicates",
        (json_int_t)sum.duplicates, "out_of_order", (json_int_t)sum.out_of_order, "jitter_mean_ms",
        cw_round_to(sum.jitter_mean_ms, 0.0001), "jitter_max_ms",
        cw_round_to(sum.jitter_max_ms, 0.0001), "mos",
        sum.voice_packets ? json_real(cw_round_to(sum.mos, 0.01)) : json_null(), "mos_min",
        sum.voice_packets ? json_real(cw_round_to(sum.mos_min, 0.01)) : json_null());
    json_object_set_new(o, "direction",
                        json_string(!s->call         ? "unknown"
                                    : s->from_caller ? "caller"
                                                     : "callee"));
    json_object_set_new(o, "pt", json_integer(sum.pt));
    json_object_set_new(o, "max_delta_ms", json_real(cw_round_to(sum.max_delta_ms, 0.001)));
    json_object_set_new(o, "seq_resets", json_integer((json_int_t)sum.seq_resets));
    json_object_set_new(o, "events", json_integer((json_int_t)sum.event_packets));
    json_object_set_new(o, "comfort_noise", json_integer((json_int_t)sum.cn_packets));
    json_object_set_new(o, "jb_discarded", json_integer((json_int_t)sum.jb_discarded));
    json_object_set_new(o, "r_factor", json_real(cw_round_to(sum.r_factor, 0.01)));
    json_object_set_new(o, "burst_r", json_real(cw_round_to(sum.burst_r, 0.001)));
    json_object_set_new(o, "first", json_real(cw_ns_to_sec(sum.first_arrival)));
    json_object_set_new(o, "last", json_real(cw_ns_to_sec(sum.last_arrival)));
    if ((r = rtcp_far_json(s->far)))
        json_object_set_new(o, "rtcp", r);
    return o;
}

int media_streams_foreach(media_t *m, int (*fn)(void *ud, json_t *stream), void *ud)
{
    int rc = 0;

    if (m->keep) {
        for (size_t i = 0; i < m->nall && rc == 0; i++)
            rc = fn(ud, stream_json(m->all[i]));
    } else {
        for (struct stream *s = m->lru.head; s && rc == 0; s = s->next)
            rc = fn(ud, stream_json(s));
    }
    return rc;
}

static int append_stream(void *ud, json_t *stream)
{
    json_array_append_new(ud, stream);
    return 0;
}

json_t *media_streams_json(media_t *m, const char *call_id)
{
    json_t *arr = json_array();

    if (call_id) {
        /* The chain is newest first: collect, then emit oldest first. */
        struct stream *found[64];
        size_t n = 0;

        for (struct stream *s = m->call_h[cw_hash32_str(call_id) & (m->nb_calls - 1)]; s && n < 64;
             s = s->cnext)
            if (strcmp(stream_call_id(s), call_id) == 0)
                found[n++] = s;
        while (n)
            json_array_append_new(arr, stream_json(found[--n]));
        return arr;
    }
    media_streams_foreach(m, append_stream, arr);
    return arr;
}

void media_mos_histogram(media_t *m, const double *bounds, size_t nbounds, uint64_t *counts,
                         double *sum, uint64_t *count)
{
    memset(counts, 0, (nbounds + 1) * sizeof(*counts));
    *sum = 0;
    *count = 0;
    if (m->keep) {
        for (size_t i = 0; i < m->nall; i++) {
            rtpstats_summary_t st;

            rtpstats_get(stream_st(m->all[i]), &st);
            if (!st.voice_packets)
                continue;
            mos_hist_add(st.mos, bounds, nbounds, counts);
            *sum += st.mos;
            (*count)++;
        }
        return;
    }
    /* Live: the streams already forgotten, kept as MOS values. */
    for (size_t i = 0; i < m->nforgotten; i++) {
        mos_hist_add(m->forgotten[i], bounds, nbounds, counts);
        *sum += m->forgotten[i];
        (*count)++;
    }
}

void media_get_stats(const media_t *m, media_stats_t *out)
{
    *out = m->st;
    out->flows_evicted = rtpdetect_flows_evicted(m->flows);
}
