/* rtpstats: the per-stream statistics.
 *
 * The statistics run three independent accountings over the same packets:
 *   1. sequence numbers after RFC 3550 A.1 (epochs, loss, duplicates,
 *      reordering), with a ring of the latest 256 positions;
 *   2. Wireshark 4.0's RTP stream analysis (jitter, delta, and its own
 *      expected/lost) reproduced packet by packet so the figures compare
 *      with tshark -z rtp,streams;
 *   3. the E-model inputs: a 60 ms jitter buffer model and the loss
 *      sequence per 10 s window. */
#include "autoconf.h"

#include "media/rtpstats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "media/mos.h"

/* RFC 3550 A.1 thresholds. */
#define MAX_DROPOUT  3000
#define MAX_MISORDER 100
#define SEQ_MOD      65536
/* Positions whose reception state is kept (duplicates, late packets), two
 * bits each. */
#define RING       256
#define RING_WORDS (RING / 32)
/* Positions this far behind the highest are final for the MOS windows:
 * beyond MAX_MISORDER, a packet cannot arrive any more without being a
 * jump. */
#define SETTLE 128
/* Payload types counted per stream; more are counted together. */
#define PT_SLOTS 4
/* Window changes remembered among the positions not settled yet. */
#define WB_CAP 4

enum pos_state { POS_MISSING = 0, POS_RECEIVED = 1, POS_DISCARDED = 2 };

/* A payload type seen in the stream, with what the packet path needs of it. */
struct pt_slot {
    uint8_t pt;
    uint8_t kind; /* enum rtp_payload_kind */
    uint32_t clock;
    uint32_t count;
};

/* Wireshark 4.0 ui/tap-rtp-analysis.c, rtppacket_analyse(): the state it
 * keeps per stream, reduced to what -z rtp,streams prints. */
struct ws_state {
    bool under;
    uint8_t last_pt;
    uint16_t start_seq, stop_seq;
    uint16_t cycles; /* modulo 2^16, as total_nr stops: at 2^32 packets */
    uint32_t first_ts;
    uint32_t total_nr;     /* 0 before the first packet; saturating */
    double time_ms;        /* arrival of the last in-time-sequence packet */
    double lastnominal_ms; /* its timestamp, in ms since the first */
    double jitter, max_jitter, mean_jitter;
    double max_delta;
};

/* A run of positions in sequence order, kept as the three counts that,
 * with the state before the run and those of its first and last
 * positions, give the whole of a mos_loss_t back (loss_of()): every
 * position but the last is some position's predecessor, and the
 * transitions into loss and out of it alternate. */
struct loss_total {
    uint64_t positions, lost, ok_to_lost;
};

/* One 10 s window's run, in 32 bits: a window holds some thousands of
 * positions; the counts stop at the limit. */
struct win_loss {
    uint32_t positions, lost, ok_to_lost;
    int8_t before; /* the state before the window's first position: -1 none, 0 received, 1 lost */
    int8_t first;  /* of its first position */
    int8_t last;   /* of its last position counted */
};

/* The loss sequence for the E-model, fed position by position in sequence
 * order: the stream's total (whose last state is prev and which starts
 * with no state before it), the 10 s window being settled and, of the
 * windows settled before it, the one that rated worst. */
struct loss_sink {
    struct loss_total total;
    struct win_loss cur, worst;
    double worst_mos;
    uint32_t cur_w;
    int8_t first; /* the first position's state */
    int8_t prev;  /* the last position's state: -1 none yet, 0 received, 1 lost */
    bool has_cur, has_worst;
};

#define JB_BLOCK  10
#define JB_BLOCKS 5 /* with the open block: one second of 20 ms packets */

struct rtpstats {
    const struct rtp_codec_map *map; /* NULL, shared, or own */
    uint8_t npts, last_slot;
    bool delay_set;
    bool own_map; /* map is the stream's own, after a set_codec */
    uint32_t ssrc;
    double delay_ms;
    struct pt_slot pts[PT_SLOTS];

    /* Every packet is one of them.  Counts of a stream stop at 2^32 - 1
     * (four weeks of 1,500 packets a second). */
    uint32_t voice, events, cn;
    uint32_t jb_discarded; /* voice packets the jitter buffer model discarded */
    cw_ns_t first_arrival, last_arrival;

    /* Sequence numbers, current epoch.  Extended numbers are int64 so that
     * a reordered packet may extend the epoch below its first. */
    bool in_epoch;
    bool pending; /* a jump waiting for its successor */
    uint16_t pend_seq;
    /* The windows of the positions not settled yet: from wb_pos[i] on,
     * positions belong to window wb_w[i] (a queue; windows only grow). */
    uint8_t wb_head, wb_n;
    /* Jitter buffer model (below): a ring of block minima; packets in the
     * open block. */
    bool jb_anchored;
    uint8_t jb_head, jb_nblocks, jb_in;
    uint32_t jb_clock;
    int64_t base, max, settled;
    uint64_t unique;
    uint64_t ring[RING_WORDS];
    int64_t wb_pos[WB_CAP];
    uint32_t wb_w[WB_CAP];
    uint64_t expected_closed, lost_closed;
    uint32_t dups, ooo, resets, ssrc_changes, stray;

    /* Jitter buffer model, per epoch: transit times in microseconds from
     * the anchor, their minimum per block of JB_BLOCK packets. */
    uint32_t jb_last_ts;
    uint32_t jb_us_unit;         /* microseconds a media unit, when whole */
    int32_t jb_block[JB_BLOCKS]; /* minima of the last complete blocks */
    int32_t jb_open;             /* minimum of the open block */
    int32_t jb_low;              /* minimum of the complete blocks */
    int64_t jb_ext_ts;
    cw_ns_t jb_base;

    /* The E-model's loss sequence. */
    struct loss_sink sink;
    uint32_t nwin, cur_win;
    cw_ns_t last_win_first; /* the first arrival in the newest window */

    struct ws_state ws;
};

_Static_assert(_Alignof(struct rtpstats) <= RTPSTATS_ALIGN, "as rtpstats.h promises");

size_t rtpstats_size(void)
{
    return sizeof(rtpstats_t);
}

void rtpstats_init(rtpstats_t *st)
{
    memset(st, 0, sizeof(*st));
    st->sink.prev = -1;
}

void rtpstats_fini(rtpstats_t *st)
{
    if (st && st->own_map)
        free((void *)st->map);
}

rtpstats_t *rtpstats_new(void)
{
    rtpstats_t *st = cw_calloc(1, sizeof(*st));

    rtpstats_init(st);
    return st;
}

void rtpstats_free(rtpstats_t *st)
{
    rtpstats_fini(st);
    free(st);
}

/* ws_clock_of() for a slot: the same from what the slot keeps. */
static uint32_t slot_ws_clock(const struct pt_slot *s)
{
    if (s->pt < 96) {
        const rtp_pt_info_t *info = rtp_pt_lookup(s->pt);

        return info ? info->clock_rate : 0;
    }
    return s->kind == RTP_KIND_EVENT ? 0 : s->clock;
}

static void slot_fill(const rtpstats_t *st, struct pt_slot *s)
{
    s->kind = (uint8_t)rtp_codec_kind(st->map, s->pt);
    s->clock = rtp_codec_clock(st->map, s->pt);
}

/* The slot of a payload type, made on its first packet; NULL when all are
 * taken by others. */
static struct pt_slot *slot_of(rtpstats_t *st, uint8_t pt)
{
    struct pt_slot *s;

    if (st->npts && st->pts[st->last_slot].pt == pt)
        return &st->pts[st->last_slot];
    for (uint8_t i = 0; i < st->npts; i++)
        if (st->pts[i].pt == pt) {
            st->last_slot = i;
            return &st->pts[i];
        }
    if (st->npts == PT_SLOTS)
        return NULL;
    s = &st->pts[st->npts];
    s->pt = pt;
    s->count = 0;
    slot_fill(st, s);
    st->last_slot = st->npts++;
    return s;
}

static void slots_refill(rtpstats_t *st)
{
    for (uint8_t i = 0; i < st->npts; i++)
        slot_fill(st, &st->pts[i]);
}

void rtpstats_use_codecs(rtpstats_t *st, const rtp_codec_map_t *cm)
{
    if (st->own_map)
        free((void *)st->map);
    st->own_map = false;
    st->map = cm;
    slots_refill(st);
}

int rtpstats_set_codec(rtpstats_t *st, uint8_t pt, const char *name, uint32_t clock_rate)
{
    rtp_codec_map_t *own;
    int rc;

    if (!st)
        return -EINVAL;
    if (!st->own_map) {
        st->map = rtp_codec_map_dup(st->map);
        st->own_map = true;
    }
    own = (rtp_codec_map_t *)st->map;
    rc = rtp_codec_map_set(own, pt, name, clock_rate);
    slots_refill(st);
    return rc;
}

void rtpstats_set_delay_ms(rtpstats_t *st, double one_way_ms)
{
    st->delay_set = one_way_ms >= 0;
    st->delay_ms = one_way_ms;
}

/* The voice payload type with the most packets, or -1. */
static int main_pt(const rtpstats_t *st)
{
    uint32_t best = 0;
    int pt = -1;

    for (uint8_t i = 0; i < st->npts; i++)
        if (st->pts[i].kind == RTP_KIND_VOICE &&
            (st->pts[i].count > best || (st->pts[i].count == best && pt > st->pts[i].pt))) {
            best = st->pts[i].count;
            pt = st->pts[i].pt;
        }
    return best ? pt : -1;
}

static double delay_of(const rtpstats_t *st)
{
    return st->delay_set ? st->delay_ms : MOS_DEFAULT_DELAY_MS;
}

static const mos_codec_t *codec_of(const rtpstats_t *st)
{
    int pt = main_pt(st);

    return mos_codec_find(pt >= 0 ? rtp_codec_name(st->map, (uint8_t)pt) : "");
}

/* Inlined where the packet path calls it: small functions whose calls
 * would cost more than their bodies. */
#define HOT inline __attribute__((always_inline))

/* ---------------------------------------------------------------- positions */

static unsigned pos_get(const rtpstats_t *st, int64_t e)
{
    size_t slot = (size_t)(e & (RING - 1));

    return (unsigned)(st->ring[slot / 32] >> (slot % 32 * 2)) & 3u;
}

static void pos_set(rtpstats_t *st, int64_t e, unsigned v)
{
    size_t slot = (size_t)(e & (RING - 1));
    unsigned shift = (unsigned)(slot % 32 * 2);

    st->ring[slot / 32] = (st->ring[slot / 32] & ~(3ull << shift)) | ((uint64_t)v << shift);
}

/* Adds one to a count that stops at its maximum. */
static inline void count(uint32_t *c)
{
    *c += *c != UINT32_MAX;
}

/* ---------------------------------------------------------------- windows */

/* The mos_loss_t of a run of n positions, `lost` of them lost, with
 * ok_to_lost transitions from a received position to a lost one; before is
 * the state before its first position (-1 for none), first and last those
 * of its first and last positions. */
static mos_loss_t loss_of(uint64_t n, uint64_t lost, uint64_t ok_to_lost, int8_t before,
                          int8_t first, int8_t last)
{
    mos_loss_t l = MOS_LOSS_INIT;
    int8_t start = before >= 0 ? before : first; /* the chain's first state */

    if (n == 0)
        return l;
    l.positions = n;
    l.lost = lost;
    l.ok_to_lost = ok_to_lost;
    /* Predecessors: the state before the run, then every position but the
     * last. */
    l.from_ok = (uint64_t)(before == 0) + (n - lost) - (uint64_t)(last == 0);
    l.from_lost = (uint64_t)(before == 1) + lost - (uint64_t)(last == 1);
    /* Along the chain, transitions into loss and out of it alternate. */
    l.lost_to_ok = ok_to_lost - (uint64_t)(start == 0) + (uint64_t)(last == 0);
    l.prev = last;
    return l;
}

HOT static void win_add(struct win_loss *w, int8_t prev, bool lost)
{
    if (w->positions == UINT32_MAX)
        return;
    if (w->positions == 0) {
        w->before = prev;
        w->first = lost ? 1 : 0;
    }
    w->ok_to_lost += prev == 0 && lost;
    w->positions++;
    w->lost += lost;
    w->last = lost ? 1 : 0;
}

static double win_mos(const struct win_loss *w, const mos_codec_t *codec, double delay_ms)
{
    mos_loss_t l = loss_of(w->positions, w->lost, w->ok_to_lost, w->before, w->first, w->last);

    return mos_estimate(codec, &l, delay_ms, NULL);
}

/* A window is complete: keep it if it rates worst so far (with the codec
 * and delay known now; rtpstats_get rates the one kept again). */
__attribute__((noinline)) static void sink_close(const rtpstats_t *st, struct loss_sink *k)
{
    double m;

    if (!k->has_cur || k->cur.positions == 0)
        return;
    m = win_mos(&k->cur, codec_of(st), delay_of(st));
    if (!k->has_worst || m < k->worst_mos) {
        k->worst = k->cur;
        k->worst_mos = m;
        k->has_worst = true;
    }
}

/* Appends one position, in sequence order, to its window and the total. */
HOT static void sink_feed(const rtpstats_t *st, struct loss_sink *k, uint32_t w, bool lost)
{
    if (!k->has_cur || w != k->cur_w) {
        sink_close(st, k);
        memset(&k->cur, 0, sizeof(k->cur));
        k->cur_w = w;
        k->has_cur = true;
    }
    win_add(&k->cur, k->prev, lost);
    if (k->total.positions == 0)
        k->first = lost ? 1 : 0;
    k->total.positions++;
    k->total.lost += lost;
    k->total.ok_to_lost += k->prev == 0 && lost;
    k->prev = lost ? 1 : 0;
}

static void wb_reset(rtpstats_t *st, int64_t pos, uint32_t w)
{
    st->wb_head = 0;
    st->wb_n = 1;
    st->wb_pos[0] = pos;
    st->wb_w[0] = w;
}

/* The window of position e, the lowest not settled: boundaries behind it
 * are dropped. */
HOT static uint32_t wb_take(rtpstats_t *st, int64_t e)
{
    while (st->wb_n > 1 && st->wb_pos[(st->wb_head + 1) % WB_CAP] <= e) {
        st->wb_head = (uint8_t)((st->wb_head + 1) % WB_CAP);
        st->wb_n--;
    }
    return st->wb_w[st->wb_head];
}

HOT static void settle_upto(rtpstats_t *st, int64_t limit)
{
    while (st->settled < limit) {
        int64_t e = ++st->settled;

        sink_feed(st, &st->sink, wb_take(st, e), pos_get(st, e) != POS_RECEIVED);
    }
}

/* Positions from pos on belong to window w.  When the queue is full (a
 * window change every few positions), the oldest window is settled early. */
__attribute__((noinline)) static void wb_push(rtpstats_t *st, int64_t pos, uint32_t w)
{
    if (st->wb_n == WB_CAP) {
        settle_upto(st, st->wb_pos[(st->wb_head + 1) % WB_CAP] - 1);
        (void)wb_take(st, st->settled + 1);
    }
    st->wb_pos[(st->wb_head + st->wb_n) % WB_CAP] = pos;
    st->wb_w[(st->wb_head + st->wb_n) % WB_CAP] = w;
    st->wb_n++;
}

HOT static void wb_mark(rtpstats_t *st, int64_t pos, uint32_t w)
{
    if (!st->wb_n || st->wb_w[(st->wb_head + st->wb_n - 1) % WB_CAP] != w)
        wb_push(st, pos, w);
}

/* Time since the stream's first packet, saturating (capture timestamps
 * are not trusted). */
static cw_ns_t since_first(const rtpstats_t *st, cw_ns_t arrival)
{
    cw_ns_t rel;

    if (__builtin_sub_overflow(arrival, st->first_arrival, &rel))
        rel = arrival > st->first_arrival ? INT64_MAX : INT64_MIN;
    return rel;
}

static double since_first_ms(const rtpstats_t *st, cw_ns_t arrival)
{
    return (double)since_first(st, arrival) / 1e6;
}

/* Windows counted per stream (a week), and the longest silence counted as
 * empty windows (an hour): a longer gap, or a jump of the capture clock,
 * moves on to the next window instead. */
#define MAX_WINDOWS    60480u
#define MAX_WINDOW_GAP 360u

static uint32_t window_of(rtpstats_t *st, cw_ns_t arrival)
{
    cw_ns_t rel = since_first(st, arrival);
    uint64_t w = rel > 0 ? (uint64_t)(rel / RTPSTATS_WINDOW_NS) : 0;

    if (w < st->cur_win)
        w = st->cur_win; /* capture time went back: stay in the window */
    if (w > (uint64_t)st->cur_win + MAX_WINDOW_GAP)
        w = st->cur_win + 1;
    if (w >= MAX_WINDOWS)
        w = MAX_WINDOWS - 1;
    if (w >= st->nwin) {
        st->nwin = (uint32_t)w + 1;
        st->last_win_first = arrival;
    }
    st->cur_win = (uint32_t)w;
    return (uint32_t)w;
}

/* ---------------------------------------------------------------- epochs */

static void epoch_close(rtpstats_t *st)
{
    uint64_t expected;

    if (!st->in_epoch)
        return;
    settle_upto(st, st->max);
    expected = (uint64_t)(st->max - st->base + 1);
    st->expected_closed += expected;
    st->lost_closed += expected - st->unique;
    st->in_epoch = false;
}

/* Opens an epoch at seq, whose first position belongs to window w. */
static void epoch_open(rtpstats_t *st, uint16_t seq, uint32_t w)
{
    memset(st->ring, 0, sizeof(st->ring));
    /* Extended numbers start one cycle up so that reordering below the
     * first packet stays positive. */
    st->base = st->max = SEQ_MOD + seq;
    st->settled = st->base - 1;
    st->unique = 0;
    st->in_epoch = true;
    st->jb_anchored = false;
    wb_reset(st, st->base, w);
}

/* Moves the highest position to ext (> max); the new positions belong to
 * window w and start as missing. */
HOT static void advance(rtpstats_t *st, int64_t ext, uint32_t w)
{
    wb_mark(st, st->max + 1, w);
    for (int64_t e = st->max + 1; e <= ext; e++) {
        /* The slot's previous position (e - RING) settled long ago. */
        pos_set(st, e, POS_MISSING);
        st->max = e;
        settle_upto(st, st->max - SETTLE);
    }
}

/* A packet for position ext, within the ring.  Returns false for a
 * duplicate. */
HOT static bool receive(rtpstats_t *st, int64_t ext)
{
    if (pos_get(st, ext) != POS_MISSING)
        return false;
    pos_set(st, ext, POS_RECEIVED);
    st->unique++;
    return true;
}

/* A packet behind the highest position by back (1 .. RING-1): late or a
 * duplicate.  Returns the position, or -1 when it could not be placed. */
static int64_t late(rtpstats_t *st, uint32_t back)
{
    int64_t ext = st->max - back;

    if (ext < st->base) {
        /* Earlier than the epoch's first packet: RFC 3550 keeps base_seq,
         * we extend the epoch down so that "lost" stays "never received".
         * The new positions join the window of the first. */
        if (st->max - ext >= RING || ext <= SEQ_MOD - SEQ_MOD / 2) {
            st->stray++;
            return -1;
        }
        for (int64_t e = ext; e < st->base; e++)
            pos_set(st, e, POS_MISSING);
        if (st->settled == st->base - 1) {
            st->settled = ext - 1;
            st->wb_pos[st->wb_head] = ext;
        }
        st->base = ext;
    }
    if (!receive(st, ext)) {
        st->dups++;
        return -1;
    }
    st->ooo++;
    return ext;
}

/* The pending jump turned out not to start a new epoch. */
static void resolve_pending(rtpstats_t *st)
{
    uint16_t back;

    if (!st->pending)
        return;
    st->pending = false;
    back = (uint16_t)((uint16_t)st->max - st->pend_seq);
    if (back > 0 && back < RING)
        (void)late(st, back);
    else
        st->stray++;
}

/* ---------------------------------------------------------------- jitter buffer */

/* Would a 60 ms jitter buffer have played this voice packet?  The buffer
 * plays each packet 60 ms after the fastest transit (arrival minus media
 * time) of the last second or so of voice packets, which is how an
 * adaptive buffer follows a slowly drifting delay (clock skew, a path
 * change) while a packet held up by more than the buffer is late: it
 * counts as lost for the E-model.  The window is JB_BLOCKS complete blocks
 * of JB_BLOCK packets and the open block: the last 51 to 60 packets, kept
 * as one minimum a block, so each packet costs O(1) and a stream a few
 * bytes. */

static bool jb_discards(rtpstats_t *st, cw_ns_t arrival, uint32_t ts, uint32_t clock)
{
    int64_t ext, transit;
    int32_t low;

    if (clock == 0)
        return false;
    if (!st->jb_anchored || clock != st->jb_clock) {
        st->jb_anchored = true;
        st->jb_clock = clock;
        /* Clocks that divide a second (8 and 16 kHz) need no division. */
        st->jb_us_unit = 1000000 % clock ? 0 : 1000000 / clock;
        st->jb_last_ts = ts;
        st->jb_ext_ts = 0;
        st->jb_base = since_first(st, arrival);
        st->jb_head = st->jb_nblocks = st->jb_in = 0;
    }
    ext = st->jb_ext_ts + (int32_t)(ts - st->jb_last_ts);
    if (ext > st->jb_ext_ts) {
        st->jb_ext_ts = ext;
        st->jb_last_ts = ts;
    }
    /* Microseconds since the anchor minus media time since it; clamped,
     * though only a clock running wild drifts by half an hour. */
    transit = (since_first(st, arrival) - st->jb_base) / 1000 -
              (st->jb_us_unit ? ext * st->jb_us_unit : ext * 1000000 / (int64_t)clock);
    if (transit > INT32_MAX)
        transit = INT32_MAX;
    if (transit < INT32_MIN)
        transit = INT32_MIN;
    if (st->jb_in == 0 || transit < st->jb_open)
        st->jb_open = (int32_t)transit;
    low = st->jb_nblocks && st->jb_low < st->jb_open ? st->jb_low : st->jb_open;
    if (++st->jb_in == JB_BLOCK) {
        /* The block is complete: it replaces the oldest. */
        st->jb_block[st->jb_head] = st->jb_open;
        st->jb_head = (uint8_t)((st->jb_head + 1) % JB_BLOCKS);
        if (st->jb_nblocks < JB_BLOCKS)
            st->jb_nblocks++;
        st->jb_in = 0;
        st->jb_low = st->jb_block[0];
        for (uint8_t i = 1; i < st->jb_nblocks; i++)
            if (st->jb_block[i] < st->jb_low)
                st->jb_low = st->jb_block[i];
    }
    return transit - low > (int64_t)(RTPSTATS_JITTER_BUFFER_MS * 1000);
}

/* ---------------------------------------------------------------- sequence */

static void seq_packet(rtpstats_t *st, cw_ns_t arrival, const rtp_hdr_t *h, uint32_t w, bool voice,
                       uint32_t clock)
{
    uint16_t udelta;
    int64_t pos = -1;

    if (!st->in_epoch) {
        epoch_open(st, h->seq, w);
        pos = st->base;
        receive(st, pos);
        goto received;
    }
    udelta = (uint16_t)(h->seq - (uint16_t)st->max);
    if (udelta == 0) {
        resolve_pending(st);
        st->dups++;
        return;
    }
    if (udelta < MAX_DROPOUT) {
        resolve_pending(st);
        pos = st->max + udelta;
        advance(st, pos, w);
        receive(st, pos);
        goto received;
    }
    if (udelta <= SEQ_MOD - MAX_MISORDER) {
        /* A very large jump.  RFC 3550 A.1: if the next packet follows it,
         * the source restarted its sequence: a new epoch. */
        if (st->pending && h->seq == (uint16_t)(st->pend_seq + 1)) {
            st->pending = false;
            st->resets++;
            epoch_close(st);
            epoch_open(st, st->pend_seq, w);
            receive(st, st->base);
            pos = st->base + 1;
            advance(st, pos, w);
            receive(st, pos);
            goto received;
        }
        resolve_pending(st);
        st->pending = true;
        st->pend_seq = h->seq;
        return;
    }
    resolve_pending(st);
    pos = late(st, SEQ_MOD - udelta);
    if (pos < 0)
        return;

received:
    if (voice && jb_discards(st, arrival, h->ts, clock)) {
        pos_set(st, pos, POS_DISCARDED);
        count(&st->jb_discarded);
    }
}

/* ---------------------------------------------------------------- Wireshark */

/* Reproduces Wireshark 4.0's per-packet RTP analysis (facts and formulas
 * from ui/tap-rtp-analysis.c and ui/tap-rtp-common.c of that release). */
static void ws_packet(rtpstats_t *st, cw_ns_t arrival, const rtp_hdr_t *h, uint32_t clock)
{
    struct ws_state *w = &st->ws;
    double now = since_first_ms(st, arrival);
    uint32_t since_first;
    bool in_seq, cn, follow_cn;
    double current_jitter = 0, delta = 0;

    if (!w->total_nr) {
        w->start_seq = w->stop_seq = h->seq;
        w->first_ts = h->ts;
        w->time_ms = now;
        w->last_pt = h->pt;
        w->total_nr = 1;
        return;
    }
    /* "In time sequence": the timestamp is not before the stream's first
     * one, modulo 2^32 within half the range.  Wireshark writes the wrapped
     * case as (0xffffffff - first) + ts < 2^31, one less than the modular
     * difference; kept so that the boundary agrees too. */
    since_first = h->ts - w->first_ts;
    if (w->first_ts <= h->ts)
        in_seq = since_first < 0x80000000u;
    else
        in_seq = (uint64_t)(0xffffffffu - w->first_ts) + h->ts < 0x80000000u;

    /* Sequence cycles: counted when a number below the first appears,
     * re-armed once numbers climb above the first again. */
    if (in_seq && !w->under && (h->seq < w->start_seq || (h->seq == 0 && w->stop_seq == 65535))) {
        w->cycles++;
        w->under = true;
    } else if (in_seq && w->under && h->seq > w->start_seq) {
        w->under = false;
    }

    cn = rtp_pt_is_cn(h->pt);
    follow_cn = rtp_pt_is_cn(w->last_pt);
    w->last_pt = h->pt;

    if (in_seq) {
        if (clock) {
            double nominal = (double)since_first * 1000.0 / clock;
            double expected = w->time_ms + (nominal - w->lastnominal_ms);
            double d = fabs(now - expected);

            current_jitter = (15.0 * w->jitter + d) / 16.0;
            w->jitter = current_jitter;
            w->lastnominal_ms = nominal;
        }
        delta = now - w->time_ms;
    }
    /* Only "regular" packets enter the maximum and the mean. */
    if (in_seq && !h->marker && !cn && !follow_cn) {
        if (delta > w->max_delta)
            w->max_delta = delta;
        if (clock) {
            if (w->jitter > w->max_jitter)
                w->max_jitter = w->jitter;
            /* Wireshark's running mean divides by the packets so far, the
             * irregular ones included. */
            w->mean_jitter =
                (w->mean_jitter * (double)(w->total_nr - 1) + current_jitter) / (double)w->total_nr;
        }
    }
    if (in_seq)
        w->time_ms = now;
    w->stop_seq = h->seq;
    if (w->total_nr < UINT32_MAX)
        w->total_nr++;
}

/* Wireshark would show a new stream: its analysis restarts, the maxima
 * are kept. */
static void ws_restart(rtpstats_t *st)
{
    double max_jitter = st->ws.max_jitter, max_delta = st->ws.max_delta;

    memset(&st->ws, 0, sizeof(st->ws));
    st->ws.max_jitter = max_jitter;
    st->ws.max_delta = max_delta;
}

/* ---------------------------------------------------------------- packets */

/* The stream table keys streams by SSRC, so a new SSRC comes from a caller
 * that keys by addresses only: a new source restarts the numbering. */
static void ssrc_change(rtpstats_t *st, uint32_t ssrc)
{
    st->ssrc_changes++;
    st->pending = false;
    epoch_close(st);
    st->ssrc = ssrc;
    ws_restart(st);
}

int rtpstats_packet(rtpstats_t *st, cw_ns_t arrival, const rtp_hdr_t *h)
{
    const struct pt_slot *slot;
    enum rtp_payload_kind kind;
    uint32_t w, clock, ws_clock;

    if (!st || !h)
        return -EINVAL;
    if ((st->voice | st->events | st->cn) == 0) {
        st->first_arrival = st->last_arrival = arrival;
        st->ssrc = h->ssrc;
    } else if (h->ssrc != st->ssrc) {
        ssrc_change(st, h->ssrc);
    }
    if (arrival > st->last_arrival)
        st->last_arrival = arrival;
    if ((slot = slot_of(st, h->pt))) {
        ((struct pt_slot *)slot)->count++;
        kind = (enum rtp_payload_kind)slot->kind;
        clock = slot->clock;
        ws_clock = slot_ws_clock(slot);
    } else {
        kind = rtp_codec_kind(st->map, h->pt);
        clock = rtp_codec_clock(st->map, h->pt);
        ws_clock = rtp_codec_ws_clock(st->map, h->pt);
    }
    if (kind == RTP_KIND_EVENT)
        count(&st->events);
    else if (kind == RTP_KIND_CN)
        count(&st->cn);
    else
        count(&st->voice);

    w = window_of(st, arrival);
    seq_packet(st, arrival, h, w, kind == RTP_KIND_VOICE, clock);
    ws_packet(st, arrival, h, ws_clock);
    return 0;
}

/* ---------------------------------------------------------------- summary */

cw_ns_t rtpstats_last_arrival(const rtpstats_t *st)
{
    return st->last_arrival;
}

cw_ns_t rtpstats_first_arrival(const rtpstats_t *st)
{
    return st->first_arrival;
}

void rtpstats_get(const rtpstats_t *st, rtpstats_summary_t *out)
{
    const mos_codec_t *codec;
    struct loss_sink k = st->sink;
    mos_loss_t total;
    int pt = main_pt(st);
    int64_t cur_expected = 0, cur_lost = 0;

    memset(out, 0, sizeof(*out));
    out->ssrc = st->ssrc;
    out->packets = (uint64_t)st->voice + st->events + st->cn;
    out->voice_packets = st->voice;
    out->event_packets = st->events;
    out->cn_packets = st->cn;
    out->duplicates = st->dups;
    out->out_of_order = st->ooo;
    out->seq_resets = st->resets;
    out->ssrc_changes = st->ssrc_changes;
    out->stray = st->stray + (st->pending ? 1 : 0);
    out->first_arrival = st->first_arrival;
    out->last_arrival = st->last_arrival;
    out->jb_discarded = st->jb_discarded;

    if (pt >= 0) {
        out->pt = (uint8_t)pt;
        cw_strlcpy(out->codec, rtp_codec_name(st->map, (uint8_t)pt), sizeof(out->codec));
        out->clock_rate = rtp_codec_clock(st->map, (uint8_t)pt);
    }

    if (st->in_epoch) {
        cur_expected = st->max - st->base + 1;
        cur_lost = cur_expected - (int64_t)st->unique;
    }
    out->expected = st->expected_closed + (uint64_t)cur_expected;
    out->lost = st->lost_closed + (uint64_t)cur_lost;
    out->loss_pct = out->expected ? 100.0 * (double)out->lost / (double)out->expected : 0.0;

    out->jitter_ms = st->ws.jitter;
    out->jitter_mean_ms = st->ws.mean_jitter;
    out->jitter_max_ms = st->ws.max_jitter;
    out->max_delta_ms = st->ws.max_delta;
    if (st->ws.total_nr) {
        out->ws_expected = (int64_t)st->ws.stop_seq + (int64_t)st->ws.cycles * SEQ_MOD -
                           (int64_t)st->ws.start_seq + 1;
        out->ws_lost = out->ws_expected - st->ws.total_nr;
    }

    /* The E-model: settle the positions still open on a copy. */
    out->delay_ms = delay_of(st);
    codec = mos_codec_find(out->codec);
    if (st->in_epoch) {
        uint8_t head = st->wb_head, n = st->wb_n;

        for (int64_t e = st->settled + 1; e <= st->max; e++) {
            while (n > 1 && st->wb_pos[(head + 1) % WB_CAP] <= e) {
                head = (uint8_t)((head + 1) % WB_CAP);
                n--;
            }
            sink_feed(st, &k, st->wb_w[head], pos_get(st, e) != POS_RECEIVED);
        }
    }
    out->windows = st->nwin;
    total = loss_of(k.total.positions, k.total.lost, k.total.ok_to_lost, -1, k.first, k.prev);
    out->burst_r = mos_burst_r(&total);
    out->mos = mos_estimate(codec, &total, out->delay_ms, &out->r_factor);
    out->mos_min = out->mos;
    /* The worst complete window, rated again with the codec and delay
     * known now; then the window still open, which counts if it is not the
     * newest or covers half its length. */
    if (k.has_worst) {
        double m = win_mos(&k.worst, codec, out->delay_ms);

        if (m < out->mos_min)
            out->mos_min = m;
    }
    if (k.has_cur && k.cur.positions) {
        cw_ns_t span;

        if (k.cur_w + 1 != st->nwin ||
            (!__builtin_sub_overflow(st->last_arrival, st->last_win_first, &span) &&
             span >= RTPSTATS_WINDOW_NS / 2)) {
            double m = win_mos(&k.cur, codec, out->delay_ms);

            if (m < out->mos_min)
                out->mos_min = m;
        }
    }
}
