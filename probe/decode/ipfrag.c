#include "autoconf.h"

#include "decode/ipfrag.h"

#include <stdlib.h>
#include <string.h>

#define IPFRAG_MAX_DGRAM 65535u
#define IPFRAG_BUCKETS   1024u
#define IPFRAG_MAX_RANGE 64u /* distinct holes per datagram before we give up */

struct range {
    uint32_t start, end; /* [start, end) */
};

struct dgram {
    ipfrag_key_t key;
    cw_ns_t first_seen;
    uint8_t *buf;
    uint32_t cap;   /* allocated bytes of buf */
    uint32_t total; /* datagram length once the last fragment came, else 0 */
    struct range ranges[IPFRAG_MAX_RANGE];
    unsigned nranges;
    struct dgram *hnext;       /* hash chain */
    struct dgram *prev, *next; /* age list, oldest first */
};

struct ipfrag {
    struct dgram *buckets[IPFRAG_BUCKETS];
    struct dgram *oldest, *newest;
    size_t mem_limit;
    cw_ns_t timeout;
    ipfrag_stats_t st;
    uint8_t *done_buf; /* the last completed datagram, returned to the caller */
};

static bool key_equal(const ipfrag_key_t *a, const ipfrag_key_t *b)
{
    return a->id == b->id && a->proto == b->proto && cw_addr_equal(&a->src, &b->src) &&
           cw_addr_equal(&a->dst, &b->dst);
}

static unsigned key_bucket(const ipfrag_key_t *k)
{
    uint32_t h = cw_addr_hash(&k->src, k->id) ^ (cw_addr_hash(&k->dst, k->proto) * 31u);

    return h % IPFRAG_BUCKETS;
}

ipfrag_t *ipfrag_new(size_t mem_limit, cw_ns_t timeout)
{
    ipfrag_t *f = cw_calloc(1, sizeof(*f));

    f->mem_limit = mem_limit ? mem_limit : 4u << 20;
    f->timeout = timeout ? timeout : CW_SEC(30);
    return f;
}

static void dgram_unlink(ipfrag_t *f, struct dgram *d)
{
    struct dgram **pp = &f->buckets[key_bucket(&d->key)];

    while (*pp && *pp != d)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = d->hnext;
    if (d->prev)
        d->prev->next = d->next;
    else
        f->oldest = d->next;
    if (d->next)
        d->next->prev = d->prev;
    else
        f->newest = d->prev;
    f->st.held--;
    f->st.bytes_held -= d->cap + sizeof(*d);
}

static void dgram_drop(ipfrag_t *f, struct dgram *d)
{
    dgram_unlink(f, d);
    free(d->buf);
    free(d);
}

void ipfrag_free(ipfrag_t *f)
{
    if (!f)
        return;
    while (f->oldest)
        dgram_drop(f, f->oldest);
    free(f->done_buf);
    free(f);
}

static struct dgram *dgram_find(ipfrag_t *f, const ipfrag_key_t *key)
{
    for (struct dgram *d = f->buckets[key_bucket(key)]; d; d = d->hnext)
        if (key_equal(&d->key, key))
            return d;
    return NULL;
}

static struct dgram *dgram_create(ipfrag_t *f, cw_ns_t now, const ipfrag_key_t *key)
{
    struct dgram *d = cw_calloc(1, sizeof(*d));
    unsigned b = key_bucket(key);

    d->key = *key;
    d->first_seen = now;
    d->hnext = f->buckets[b];
    f->buckets[b] = d;
    d->prev = f->newest;
    if (f->newest)
        f->newest->next = d;
    else
        f->oldest = d;
    f->newest = d;
    f->st.held++;
    f->st.bytes_held += sizeof(*d);
    return d;
}

/* Grows d->buf to hold `need` bytes, evicting older datagrams to stay
 * within the memory limit.  Returns false when even that is not enough. */
static bool dgram_reserve(ipfrag_t *f, struct dgram *d, uint32_t need)
{
    uint32_t cap;

    if (need <= d->cap)
        return true;
    cap = need < 2048 ? 2048 : need;
    if (cap > IPFRAG_MAX_DGRAM)
        cap = IPFRAG_MAX_DGRAM;
    while (f->st.bytes_held + (cap - d->cap) > f->mem_limit && f->oldest && f->oldest != d) {
        f->st.evicted++;
        dgram_drop(f, f->oldest);
    }
    if (f->st.bytes_held + (cap - d->cap) > f->mem_limit)
        return false;
    d->buf = cw_realloc(d->buf, cap);
    f->st.bytes_held += cap - d->cap;
    d->cap = cap;
    return true;
}

/* Checks [start,end) against held ranges.  Returns 1 if every byte is held
 * already with the same contents, -1 on a conflicting overlap, 0 when the
 * fragment brings new bytes and agrees with what overlaps it. */
static int check_overlap(const struct dgram *d, uint32_t start, uint32_t end, const uint8_t *data)
{
    uint32_t covered = 0;

    for (unsigned i = 0; i < d->nranges; i++) {
        uint32_t s = d->ranges[i].start > start ? d->ranges[i].start : start;
        uint32_t e = d->ranges[i].end < end ? d->ranges[i].end : end;

        if (s >= e)
            continue;
        if (memcmp(d->buf + s, data + (s - start), e - s) != 0)
            return -1;
        covered += e - s;
    }
    return covered == end - start ? 1 : 0;
}

static bool add_range(struct dgram *d, uint32_t start, uint32_t end)
{
    unsigned i, j;

    /* Insert keeping order, then merge neighbours that touch. */
    for (i = 0; i < d->nranges && d->ranges[i].start < start; i++)
        ;
    if (d->nranges == IPFRAG_MAX_RANGE)
        return false;
    memmove(&d->ranges[i + 1], &d->ranges[i], (d->nranges - i) * sizeof(d->ranges[0]));
    d->ranges[i].start = start;
    d->ranges[i].end = end;
    d->nranges++;
    for (i = 0, j = 1; j < d->nranges; j++) {
        if (d->ranges[j].start <= d->ranges[i].end) {
            if (d->ranges[j].end > d->ranges[i].end)
                d->ranges[i].end = d->ranges[j].end;
        } else {
            d->ranges[++i] = d->ranges[j];
        }
    }
    d->nranges = i + 1;
    return true;
}

int ipfrag_add(ipfrag_t *f, cw_ns_t now, const ipfrag_key_t *key, uint32_t offset,
               const uint8_t *data, uint32_t len, bool more, const uint8_t **out, uint32_t *outlen)
{
    uint32_t end = offset + len;
    struct dgram *d;
    int ov;

    if (offset > IPFRAG_MAX_DGRAM || len > IPFRAG_MAX_DGRAM || end > IPFRAG_MAX_DGRAM) {
        f->st.too_big++;
        return IPFRAG_TOO_BIG;
    }
    if ((more && (len == 0 || len % 8 != 0)) || offset % 8 != 0) {
        f->st.bad++;
        return IPFRAG_BAD;
    }
    d = dgram_find(f, key);
    if (d && now - d->first_seen > f->timeout) {
        f->st.timeouts++;
        dgram_drop(f, d);
        d = NULL;
    }
    if (!d)
        d = dgram_create(f, now, key);

    /* A last fragment fixes the length; a later one that disagrees, or a
     * fragment reaching past it, is a conflict. */
    if ((!more && d->total && d->total != end) || (d->total && end > d->total) ||
        (!more && d->nranges && d->ranges[d->nranges - 1].end > end)) {
        f->st.overlaps++;
        dgram_drop(f, d);
        return IPFRAG_OVERLAP;
    }
    ov = check_overlap(d, offset, end, data);
    if (ov < 0) {
        f->st.overlaps++;
        dgram_drop(f, d);
        return IPFRAG_OVERLAP;
    }
    if (ov > 0 && (more || d->total)) {
        f->st.duplicates++;
        return IPFRAG_DUP;
    }
    if (!dgram_reserve(f, d, end)) {
        f->st.evicted++;
        dgram_drop(f, d);
        return IPFRAG_LIMIT;
    }
    memcpy(d->buf + offset, data, len);
    if (!add_range(d, offset, end)) {
        f->st.bad++;
        dgram_drop(f, d);
        return IPFRAG_BAD;
    }
    if (!more)
        d->total = end;
    f->st.fragments++;

    if (d->total && d->nranges == 1 && d->ranges[0].start == 0 && d->ranges[0].end == d->total) {
        /* Complete: hand the buffer over to the caller. */
        free(f->done_buf);
        f->done_buf = d->buf;
        *out = d->buf;
        *outlen = d->total;
        d->buf = NULL;
        f->st.bytes_held -= d->cap;
        d->cap = 0;
        dgram_drop(f, d);
        f->st.reassembled++;
        return IPFRAG_DONE;
    }
    return IPFRAG_HELD;
}

unsigned ipfrag_expire(ipfrag_t *f, cw_ns_t now)
{
    unsigned n = 0;

    /* The age list is in arrival order of first fragments. */
    while (f->oldest && now - f->oldest->first_seen > f->timeout) {
        dgram_drop(f, f->oldest);
        f->st.timeouts++;
        n++;
    }
    return n;
}

void ipfrag_get_stats(const ipfrag_t *f, ipfrag_stats_t *out)
{
    *out = f->st;
}
