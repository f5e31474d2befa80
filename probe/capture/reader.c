#include "autoconf.h"

#include "capture/reader.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

#define RING_SIZE (2u << 20) /* bytes; a power of two, small enough to stay in cache */
#define BATCH     64         /* records between publications of a position */

struct rec {
    uint32_t len; /* of the whole record, header included, 8-byte aligned */
    uint16_t kind;
    uint16_t dlt;
    uint32_t caplen, wirelen;
    int64_t ts;
    int64_t offset;
    uint32_t file;
    uint32_t pad;
};

_Static_assert(RING_SIZE / 4 >= sizeof(struct rec) + 262144, "the largest packet fits the ring");

/* The two threads' fields sit on separate cache lines: a line written by
 * one and read by the other on every packet would bounce between cores. */
struct reader {
    capture_t *const *caps;
    size_t n;
    volatile sig_atomic_t *stop;
    pthread_t thread;
    uint8_t *ring;
    alignas(64) _Atomic uint64_t head; /* bytes written, published by the reader */
    _Atomic bool done;
    alignas(64) _Atomic uint64_t tail; /* bytes consumed, published by the engine */
    alignas(64) uint64_t seen_tail;    /* producer: tail as last loaded */
    alignas(64) uint64_t my_tail;      /* consumer's private position */
    uint64_t seen_head;                /* consumer: head as last loaded */
    uint64_t pending;                  /* consumer: the record handed out last */
    unsigned since_publish;
};

static void nap(void)
{
    static const struct timespec ts = { 0, 50 * 1000 };

    nanosleep(&ts, NULL);
}

static size_t rec_len(uint32_t caplen)
{
    return (sizeof(struct rec) + caplen + 7) & ~(size_t)7;
}

/* Producer: reserves len bytes contiguous in the ring (wrapping with a pad
 * record when the end is too near), waiting for room.  Returns NULL when
 * asked to stop. */
static uint8_t *reserve(reader_t *r, uint64_t *head, size_t len)
{
    for (bool reload = false;; reload = true) {
        size_t pos = (size_t)(*head & (RING_SIZE - 1));
        size_t to_end = RING_SIZE - pos;
        size_t need = len <= to_end ? len : to_end + len;

        if (*r->stop)
            return NULL;
        /* The consumer's position is loaded again only when the one seen
         * last leaves too little room. */
        if (RING_SIZE - (*head - r->seen_tail) < need)
            r->seen_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (RING_SIZE - (*head - r->seen_tail) >= need) {
            if (len > to_end) {
                /* Pad to the end of the ring: the consumer skips it. */
                struct rec *pad = (struct rec *)(r->ring + pos);

                pad->len = (uint32_t)to_end;
                pad->kind = UINT16_MAX;
                *head += to_end;
                pos = 0;
            }
            return r->ring + pos;
        }
        /* Full: let the consumer see what is there, then wait. */
        atomic_store_explicit(&r->head, *head, memory_order_release);
        if (reload)
            nap();
    }
}

static void *produce(void *arg)
{
    reader_t *r = arg;
    uint64_t head = 0;
    unsigned batch = 0;

    for (size_t i = 0; i < r->n && !*r->stop; i++) {
        capture_t *c = r->caps[i];
        capture_pkt_t pkt;
        struct rec *h;
        int rc = CAPTURE_EOF;

        if (!(h = (struct rec *)reserve(r, &head, rec_len(0))))
            break;
        memset(h, 0, sizeof(*h));
        h->len = (uint32_t)rec_len(0);
        h->kind = READER_FILE;
        h->file = (uint32_t)i;
        head += h->len;
        while (!*r->stop && (rc = capture_next(c, &pkt)) == CAPTURE_PACKET) {
            size_t len = rec_len(pkt.caplen);

            /* A record never exceeds a quarter of the ring: libpcap's
             * caplen is at most 262144, with our header 262200 bytes. */
            if (len > RING_SIZE / 4)
                continue;
            if (!(h = (struct rec *)reserve(r, &head, len)))
                break;
            h->len = (uint32_t)len;
            h->kind = READER_PACKET;
            h->dlt = (uint16_t)capture_dlt(c);
            h->caplen = pkt.caplen;
            h->wirelen = pkt.wirelen;
            h->ts = pkt.ts;
            h->file = (uint32_t)i;
            memcpy(h + 1, pkt.data, pkt.caplen);
            head += len;
            if (++batch == BATCH) {
                atomic_store_explicit(&r->head, head, memory_order_release);
                batch = 0;
            }
        }
        if (*r->stop)
            break;
        if (rc == CAPTURE_ERROR) {
            if (!(h = (struct rec *)reserve(r, &head, rec_len(0))))
                break;
            memset(h, 0, sizeof(*h));
            h->len = (uint32_t)rec_len(0);
            h->kind = READER_TRUNCATED;
            h->file = (uint32_t)i;
            h->offset = capture_offset(c);
            head += h->len;
        }
    }
    atomic_store_explicit(&r->head, head, memory_order_release);
    atomic_store_explicit(&r->done, true, memory_order_release);
    return NULL;
}

reader_t *reader_start(capture_t *const *caps, size_t n, volatile sig_atomic_t *stop)
{
    size_t size = (sizeof(reader_t) + 63) & ~(size_t)63;
    reader_t *r = aligned_alloc(64, size);

    if (!r)
        return NULL;
    memset(r, 0, size);

    r->caps = caps;
    r->n = n;
    r->stop = stop;
    r->ring = cw_calloc(1, RING_SIZE);
    if (pthread_create(&r->thread, NULL, produce, r) != 0) {
        free(r->ring);
        free(r);
        return NULL;
    }
    pthread_setname_np(r->thread, "cw-reader"); /* as top -H and perf show it */
    return r;
}

void reader_next(reader_t *r, reader_item_t *out)
{
    const struct rec *h;

    memset(out, 0, sizeof(*out));
    /* Release the record handed out last. */
    r->my_tail += r->pending;
    r->pending = 0;
    if (++r->since_publish >= BATCH) {
        atomic_store_explicit(&r->tail, r->my_tail, memory_order_release);
        r->since_publish = 0;
    }
    for (;;) {
        if (r->seen_head == r->my_tail)
            r->seen_head = atomic_load_explicit(&r->head, memory_order_acquire);
        if (r->seen_head != r->my_tail) {
            h = (const struct rec *)(r->ring + (r->my_tail & (RING_SIZE - 1)));
            if (h->kind == UINT16_MAX) { /* padding at the end of the ring */
                r->my_tail += h->len;
                continue;
            }
            break;
        }
        /* Nothing published yet: let the producer reuse what is done. */
        atomic_store_explicit(&r->tail, r->my_tail, memory_order_release);
        if (atomic_load_explicit(&r->done, memory_order_acquire) &&
            atomic_load_explicit(&r->head, memory_order_acquire) == r->my_tail) {
            out->kind = READER_END;
            return;
        }
        nap();
    }
    r->pending = h->len;
    out->kind = (enum reader_kind)h->kind;
    switch (out->kind) {
    case READER_PACKET:
        out->dlt = h->dlt;
        out->pkt.ts = h->ts;
        out->pkt.caplen = h->caplen;
        out->pkt.wirelen = h->wirelen;
        out->pkt.data = (const uint8_t *)(h + 1);
        break;
    case READER_FILE:
        out->name = capture_name(r->caps[h->file]);
        break;
    case READER_TRUNCATED:
        out->name = capture_name(r->caps[h->file]);
        out->error = capture_error(r->caps[h->file]);
        out->offset = (long)h->offset;
        break;
    default:
        break;
    }
}

void reader_free(reader_t *r)
{
    if (!r)
        return;
    pthread_join(r->thread, NULL);
    free(r->ring);
    free(r);
}
