#include "autoconf.h"

#include "traffic/traffic.h"

#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

/* ---- HyperLogLog (Flajolet et al. 2007), p = 8: about 6.5 % error. */

#define HLL_P 8
#define HLL_M (1u << HLL_P)

void hll_add(hll_t *h, uint64_t hash)
{
    uint32_t idx = (uint32_t)(hash >> (64 - HLL_P));
    uint64_t rest = hash << HLL_P;
    uint8_t rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1) : (uint8_t)(64 - HLL_P + 1);

    if (rank > h->reg[idx])
        h->reg[idx] = rank;
}

double hll_estimate(const hll_t *h)
{
    double sum = 0, alpha = 0.7182725932495458 /* alpha_256 */, e;
    unsigned zeros = 0;

    for (unsigned i = 0; i < HLL_M; i++) {
        /* 2^-reg, exactly, as the bits of a double (reg <= 57). */
        union {
            uint64_t u;
            double d;
        } p = { .u = (uint64_t)(1023 - h->reg[i]) << 52 };

        sum += p.d;
        if (!h->reg[i])
            zeros++;
    }
    e = alpha * HLL_M * HLL_M / sum;
    if (e <= 2.5 * HLL_M && zeros)
        e = HLL_M * log((double)HLL_M / zeros); /* linear counting for small sets */
    return e;
}

uint64_t traffic_hash64(const void *data, size_t len, uint64_t seed)
{
    /* FNV-1a, then a splitmix64 finaliser for well-spread high bits. */
    uint64_t h = cw_hash64(data, len, seed);

    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

/* ---- space-saving top-K with a min-heap on bytes */

struct entry {
    traffic_talker_t k;
    uint32_t srch; /* the source's hash, as its bucket was chosen */
    hll_t hll;
    unsigned heap; /* position in the heap */
    int next;      /* hash chain (index), -1 ends */
    bool used;
};

/* A heap node holds its entry's bytes, so that keeping the order reads the
 * heap alone. */
struct hnode {
    uint64_t bytes;
    unsigned idx;
};

struct topk {
    struct entry *e;
    struct hnode *heap; /* min bytes at 0, once heaped */
    bool heaped;
    int *buckets;
    size_t k, n, nbuckets;
};

struct window {
    cw_ns_t start, end;
    traffic_talker_t *top; /* sorted, biggest first */
    size_t ntop;
};

struct traffic {
    traffic_cfg_t cfg;
    struct topk win, all;
    traffic_step_t step;
    cw_ns_t win_start;
    struct window *hist; /* ring */
    size_t hist_head, hist_n;
};

static bool same_key(const traffic_talker_t *a, const cw_addr_t *src, uint8_t proto, uint16_t dport)
{
    return a->proto == proto && a->dport == dport && cw_addr_equal(&a->src, src);
}

/* srch is cw_addr_hash(src, 0), which decode computed for every packet. */
static size_t key_bucket(const struct topk *tk, uint32_t srch, uint8_t proto, uint16_t dport)
{
    return cw_mix32(srch, (uint32_t)proto << 16 | dport) & (tk->nbuckets - 1);
}

static void topk_init(struct topk *tk, size_t k)
{
    tk->k = k;
    tk->n = 0;
    /* At least four buckets an entry, a power of two (masked, not divided:
     * this runs for every packet). */
    tk->nbuckets = 16;
    while (tk->nbuckets < k * 4)
        tk->nbuckets *= 2;
    tk->e = cw_calloc(k, sizeof(*tk->e));
    tk->heap = cw_calloc(k, sizeof(*tk->heap));
    tk->buckets = cw_calloc(tk->nbuckets, sizeof(*tk->buckets));
    for (size_t i = 0; i < tk->nbuckets; i++)
        tk->buckets[i] = -1;
}

static void topk_clear(struct topk *tk)
{
    memset(tk->e, 0, tk->k * sizeof(*tk->e));
    tk->heaped = false;
    for (size_t i = 0; i < tk->nbuckets; i++)
        tk->buckets[i] = -1;
    tk->n = 0;
}

static void topk_free(struct topk *tk)
{
    free(tk->e);
    free(tk->heap);
    free(tk->buckets);
}

/* Moves the node at i down to its place. */
static void sift_down_at(struct topk *tk, unsigned i)
{
    struct hnode node = tk->heap[i];

    for (;;) {
        unsigned l = 2 * i + 1, r = l + 1, m = l;

        if (l >= tk->n)
            break;
        if (r < tk->n && tk->heap[r].bytes < tk->heap[l].bytes)
            m = r;
        if (tk->heap[m].bytes >= node.bytes)
            break;
        tk->heap[i] = tk->heap[m];
        tk->e[tk->heap[i].idx].heap = i;
        i = m;
    }
    tk->heap[i] = node;
    tk->e[node.idx].heap = i;
}

/* The entry's bytes grew.  The order is kept only once the table is full:
 * until then no entry is replaced, and the smallest is never asked for. */
static void bytes_grew(struct topk *tk, const struct entry *e)
{
    if (tk->heaped) {
        tk->heap[e->heap].bytes = e->k.bytes;
        sift_down_at(tk, e->heap);
    }
}

/* The table is full for the first time since it was cleared: orders the
 * heap on the bytes counted so far. */
static void heapify(struct topk *tk)
{
    for (size_t i = 0; i < tk->n; i++)
        tk->heap[i].bytes = tk->e[tk->heap[i].idx].k.bytes;
    for (size_t i = tk->n / 2; i-- > 0;)
        sift_down_at(tk, (unsigned)i);
    tk->heaped = true;
}

static void unchain(struct topk *tk, unsigned idx)
{
    struct entry *e = &tk->e[idx];
    int *pp = &tk->buckets[key_bucket(tk, e->srch, e->k.proto, e->k.dport)];

    while (*pp >= 0 && *pp != (int)idx)
        pp = &tk->e[*pp].next;
    if (*pp >= 0)
        *pp = e->next;
}

static struct entry *topk_find(struct topk *tk, const cw_addr_t *src, uint32_t srch, uint8_t proto,
                               uint16_t dport)
{
    for (int i = tk->buckets[key_bucket(tk, srch, proto, dport)]; i >= 0; i = tk->e[i].next)
        if (same_key(&tk->e[i].k, src, proto, dport))
            return &tk->e[i];
    return NULL;
}

/* Finds or takes over an entry for the key (space-saving: a new key
 * replaces the smallest and inherits its count as error). */
static struct entry *topk_slot(struct topk *tk, const cw_addr_t *src, uint32_t srch, uint8_t proto,
                               uint16_t dport)
{
    struct entry *e = topk_find(tk, src, srch, proto, dport);
    unsigned idx;
    size_t b;
    uint64_t floor = 0;

    if (e)
        return e;
    if (tk->n < tk->k) {
        idx = (unsigned)tk->n;
        tk->heap[tk->n].idx = idx;
        tk->heap[tk->n].bytes = 0;
        tk->e[idx].heap = (unsigned)tk->n;
        tk->n++;
    } else {
        if (!tk->heaped)
            heapify(tk);
        idx = tk->heap[0].idx;
        floor = tk->e[idx].k.bytes;
        unchain(tk, idx);
    }
    e = &tk->e[idx];
    memset(&e->k, 0, sizeof(e->k));
    memset(&e->hll, 0, sizeof(e->hll));
    e->k.src = *src;
    e->srch = srch;
    e->k.proto = proto;
    e->k.dport = dport;
    e->k.bytes = floor;
    e->k.error = floor;
    e->used = true;
    b = key_bucket(tk, srch, proto, dport);
    e->next = tk->buckets[b];
    tk->buckets[b] = (int)idx;
    return e;
}

static void topk_add(struct topk *tk, const decode_pkt_t *p, uint64_t dst_hash)
{
    struct entry *e = topk_slot(tk, &p->src, p->src_hash, p->proto, p->dport);

    e->k.bytes += p->wirelen;
    e->k.packets++;
    if (p->proto == IPPROTO_TCP && (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
        e->k.syn++;
    hll_add(&e->hll, dst_hash);
    bytes_grew(tk, e);
}

/* A SYN-ACK answers the SYNs of the talker it goes back to. */
static void topk_synack(struct topk *tk, const decode_pkt_t *p)
{
    struct entry *e = topk_find(tk, &p->dst, p->dst_hash, IPPROTO_TCP, p->sport);

    if (e)
        e->k.synack++;
}

/* Folds a window's talkers into the whole run's (at window close, so the
 * packet path updates one instance only). */
static void topk_fold(struct topk *all, const struct topk *win)
{
    for (size_t i = 0; i < win->n; i++) {
        const struct entry *w = &win->e[i];
        struct entry *e =
            topk_slot(all, &w->k.src, cw_addr_hash(&w->k.src, 0), w->k.proto, w->k.dport);

        e->k.bytes += w->k.bytes;
        e->k.packets += w->k.packets;
        e->k.error += w->k.error;
        e->k.syn += w->k.syn;
        e->k.synack += w->k.synack;
        for (unsigned r = 0; r < HLL_M; r++)
            if (w->hll.reg[r] > e->hll.reg[r])
                e->hll.reg[r] = w->hll.reg[r];
        bytes_grew(all, e);
    }
}

static int cmp_talker(const void *a, const void *b)
{
    const traffic_talker_t *x = a, *y = b;

    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

/* Sorted copy of an instance's talkers with their fan-out filled in. */
static size_t topk_snapshot(const struct topk *tk, long scan_hosts, traffic_talker_t *out,
                            size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < tk->n && n < max; i++) {
        out[n] = tk->e[i].k;
        out[n].fanout = (uint64_t)llround(hll_estimate(&tk->e[i].hll));
        out[n].scanner = (long)out[n].fanout > scan_hosts;
        n++;
    }
    qsort(out, n, sizeof(*out), cmp_talker);
    return n;
}

traffic_t *traffic_new(const traffic_cfg_t *cfg)
{
    traffic_t *t = cw_calloc(1, sizeof(*t));

    if (cfg)
        t->cfg = *cfg;
    if (!t->cfg.topk)
        t->cfg.topk = 1024;
    if (!t->cfg.scan_hosts)
        t->cfg.scan_hosts = CW_DEF_SCAN_HOSTS;
    if (!t->cfg.window)
        t->cfg.window = CW_SEC(60);
    if (!t->cfg.history)
        t->cfg.history = 60;
    topk_init(&t->win, t->cfg.topk);
    topk_init(&t->all, t->cfg.topk);
    t->hist = cw_calloc(t->cfg.history, sizeof(*t->hist));
    return t;
}

void traffic_free(traffic_t *t)
{
    if (!t)
        return;
    topk_free(&t->win);
    topk_free(&t->all);
    for (size_t i = 0; i < t->cfg.history; i++)
        free(t->hist[i].top);
    free(t->hist);
    free(t);
}

void traffic_packet(traffic_t *t, const decode_pkt_t *p, enum traffic_class cls)
{
    uint64_t h;

    if (!t->win_start)
        t->win_start = p->ts / t->cfg.window * t->cfg.window;
    t->step.bytes[cls] += p->wirelen;
    t->step.packets[cls]++;
    /* The destination's hash, spread to 64 bits for the sketch. */
    h = (uint64_t)p->dst_hash * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
    topk_add(&t->win, p, h);
    if (p->proto == IPPROTO_TCP && (p->tcp_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
        topk_synack(&t->win, p);
}

void traffic_take_step(traffic_t *t, traffic_step_t *out)
{
    *out = t->step;
    memset(&t->step, 0, sizeof(t->step));
}

void traffic_tick(traffic_t *t, cw_ns_t now)
{
    while (t->win_start && now >= t->win_start + t->cfg.window) {
        struct window *w = &t->hist[t->hist_head];

        free(w->top);
        w->start = t->win_start;
        w->end = t->win_start + t->cfg.window;
        w->top = cw_calloc(t->cfg.topk, sizeof(*w->top));
        w->ntop = topk_snapshot(&t->win, t->cfg.scan_hosts, w->top, t->cfg.topk);
        topk_fold(&t->all, &t->win);
        t->hist_head = (t->hist_head + 1) % t->cfg.history;
        if (t->hist_n < t->cfg.history)
            t->hist_n++;
        topk_clear(&t->win);
        t->win_start += t->cfg.window;
        if (now - t->win_start > 1000 * t->cfg.window)
            t->win_start = now / t->cfg.window * t->cfg.window; /* a long gap */
    }
}

/* Merges talkers into acc (same key: add counts, keep the larger fan-out). */
static size_t merge(traffic_talker_t *acc, size_t n, size_t cap, const traffic_talker_t *add,
                    size_t nadd)
{
    for (size_t i = 0; i < nadd; i++) {
        size_t j;

        for (j = 0; j < n; j++)
            if (same_key(&acc[j], &add[i].src, add[i].proto, add[i].dport))
                break;
        if (j < n) {
            acc[j].bytes += add[i].bytes;
            acc[j].packets += add[i].packets;
            acc[j].syn += add[i].syn;
            acc[j].synack += add[i].synack;
            if (add[i].fanout > acc[j].fanout)
                acc[j].fanout = add[i].fanout;
            acc[j].scanner = acc[j].scanner || add[i].scanner;
        } else if (n < cap) {
            acc[n++] = add[i];
        }
    }
    return n;
}

size_t traffic_top(traffic_t *t, cw_ns_t from, cw_ns_t to, traffic_talker_t *out, size_t max)
{
    size_t cap = t->cfg.topk * (t->cfg.history + 1), n = 0;
    traffic_talker_t *acc, *cur;

    if (!from && !to) {
        acc = cw_calloc(2 * t->cfg.topk, sizeof(*acc));
        n = topk_snapshot(&t->all, t->cfg.scan_hosts, acc, t->cfg.topk);
        /* The window still open is not folded in yet. */
        cur = cw_calloc(t->cfg.topk, sizeof(*cur));
        n = merge(acc, n, 2 * t->cfg.topk, cur,
                  topk_snapshot(&t->win, t->cfg.scan_hosts, cur, t->cfg.topk));
        free(cur);
        qsort(acc, n, sizeof(*acc), cmp_talker);
        /* Over the whole run, a scanner is one that scanned in some window. */
        for (size_t i = 0; i < t->hist_n; i++)
            for (size_t j = 0; j < t->hist[i].ntop; j++)
                for (size_t k = 0; k < n; k++)
                    if (t->hist[i].top[j].scanner &&
                        same_key(&acc[k], &t->hist[i].top[j].src, t->hist[i].top[j].proto,
                                 t->hist[i].top[j].dport))
                        acc[k].scanner = true;
    } else {
        acc = cw_calloc(cap, sizeof(*acc));
        for (size_t i = 0; i < t->hist_n; i++) {
            const struct window *w = &t->hist[i];

            if (w->end > from && w->start <= to)
                n = merge(acc, n, cap, w->top, w->ntop);
        }
        /* The window still open counts too. */
        if (t->win_start && t->win_start <= to && t->win_start + t->cfg.window > from) {
            cur = cw_calloc(t->cfg.topk, sizeof(*cur));
            n = merge(acc, n, cap, cur,
                      topk_snapshot(&t->win, t->cfg.scan_hosts, cur, t->cfg.topk));
            free(cur);
        }
        qsort(acc, n, sizeof(*acc), cmp_talker);
    }
    if (n > max)
        n = max;
    memcpy(out, acc, n * sizeof(*out));
    free(acc);
    return n;
}

static const char *proto_name(uint8_t proto, char *buf, size_t len)
{
    if (proto == IPPROTO_TCP)
        return "tcp";
    if (proto == IPPROTO_UDP)
        return "udp";
    if (proto == IPPROTO_ICMP)
        return "icmp";
    if (proto == IPPROTO_ICMPV6)
        return "icmpv6";
    snprintf(buf, len, "%u", proto);
    return buf;
}

void traffic_talker_str(const traffic_talker_t *k, char *buf, size_t len)
{
    char ip[CW_ADDR_STRLEN], pn[8];

    cw_addr_str(&k->src, ip, sizeof(ip));
    snprintf(buf, len, "%s %s/%u to %llu hosts", ip, proto_name(k->proto, pn, sizeof(pn)), k->dport,
             (unsigned long long)k->fanout);
}

json_t *traffic_top_json(traffic_t *t, cw_ns_t from, cw_ns_t to, size_t max)
{
    traffic_talker_t *top = cw_calloc(max ? max : 1, sizeof(*top));
    size_t n = traffic_top(t, from, to, top, max);
    json_t *arr = traffic_talkers_json(top, n);

    free(top);
    return arr;
}

json_t *traffic_talkers_json(const traffic_talker_t *top, size_t n)
{
    json_t *arr = json_array();
    char ip[CW_ADDR_STRLEN], pn[8], desc[128];

    for (size_t i = 0; i < n; i++) {
        const traffic_talker_t *k = &top[i];

        traffic_talker_str(k, desc, sizeof(desc));
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:b, s:s}", "src",
                           cw_addr_str(&k->src, ip, sizeof(ip)), "proto",
                           proto_name(k->proto, pn, sizeof(pn)), "dport", (int)k->dport, "packets",
                           (json_int_t)k->packets, "bytes", (json_int_t)k->bytes, "fanout",
                           (json_int_t)k->fanout, "syn", (json_int_t)k->syn, "synack",
                           (json_int_t)k->synack, "scanner", k->scanner, "summary", desc));
    }
    return arr;
}
