/* impair: drops or delays chosen RTP packets on an NFQUEUE, for callwatch's
 * network lab (tc netem is not available on the lab machines).
 *
 * The lab's firewall sends the RTP it forwards in one direction to a queue
 * (iptables ... -j NFQUEUE --queue-num N --queue-bypass).  impair takes every
 * packet from that queue and, inside its time window, either
 *   - loss:   drops the packets whose (SSRC, sequence number) hash, keyed by
 *             the seed, falls under the loss fraction: a deterministic
 *             pattern that a second run with the same seed repeats, or
 *   - jitter: holds each packet for a pseudo-random 0..MAX ms (same hash),
 *             releasing packets in arrival order so that nothing is
 *             reordered (a late packet holds back the ones behind it, as a
 *             real queue does);
 * outside the window, and for anything that is not RTP between two lab
 * addresses, it accepts at once.  It stops by itself after its total time.
 * Every dropped packet and a summary per stream go to the log, so that a
 * recording's ground truth states exactly what was done.
 *
 *   impair -q 1 -m loss -p 5 -S 7 -a 5 -d 20 -T 60 -l loss.log
 *   impair -q 1 -m jitter -j 60 -S 7 -a 5 -d 20 -T 60 -l jitter.log
 *
 * Copyright the callwatch authors.  GPL-2.0-or-later. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LAB_NET  0x0A420000u /* 10.66.0.0/16: the only addresses touched */
#define LAB_MASK 0xFFFF0000u

#define MAX_HELD    4096
#define MAX_STREAMS 64
#define MAX_TOTAL   900 /* seconds */

enum mode { M_LOSS, M_JITTER };

struct held {
    uint32_t id;
    double release;
};

struct stream {
    uint32_t src, dst, ssrc;
    uint16_t sport, dport;
    unsigned long packets, dropped, delayed;
    double delay_sum_ms, delay_max_ms;
    long first_seq, last_seq;
};

static struct {
    enum mode mode;
    double loss_pct, jitter_max_ms;
    uint64_t seed;
    double start, win_from, win_to, stop_at;
    FILE *log;
    struct nfq_q_handle *qh;
    struct held held[MAX_HELD];
    unsigned head, count;
    double last_release;
    struct stream streams[MAX_STREAMS];
    unsigned nstreams;
    unsigned long passed, ignored, overflow;
} g;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* splitmix64: a good 64-bit mixer, enough for a reproducible pattern. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static const char *ip_s(uint32_t a, char *buf)
{
    struct in_addr in = { .s_addr = htonl(a) };

    inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
    return buf;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static struct stream *stream_for(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                                 uint32_t ssrc)
{
    for (unsigned i = 0; i < g.nstreams; i++) {
        struct stream *s = &g.streams[i];

        if (s->src == src && s->dst == dst && s->sport == sport && s->dport == dport &&
            s->ssrc == ssrc)
            return s;
    }
    if (g.nstreams == MAX_STREAMS)
        return NULL;
    g.streams[g.nstreams] = (struct stream){
        .src = src, .dst = dst, .sport = sport, .dport = dport, .ssrc = ssrc, .first_seq = -1
    };
    return &g.streams[g.nstreams++];
}

static void release_due(double now)
{
    while (g.count && g.held[g.head].release <= now) {
        nfq_set_verdict(g.qh, g.held[g.head].id, NF_ACCEPT, 0, NULL);
        g.head = (g.head + 1) % MAX_HELD;
        g.count--;
    }
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *nfmsg, struct nfq_data *nfa,
                     void *data)
{
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    unsigned char *pl;
    int len = nfq_get_payload(nfa, &pl);
    uint32_t id, src, dst, ssrc;
    uint16_t sport, dport, seq;
    unsigned ihl;
    const uint8_t *udp, *rtp;
    struct stream *s;
    double now = now_s();
    uint64_t h;
    char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

    (void)nfmsg;
    (void)data;
    if (!ph)
        return 0;
    id = ntohl(ph->packet_id);
    /* IPv4 / UDP / RTP v2 between lab addresses, or it is not ours. */
    if (len < 20 || (pl[0] >> 4) != 4 || pl[9] != IPPROTO_UDP)
        goto accept;
    ihl = (pl[0] & 15) * 4u;
    if (ihl < 20 || (unsigned)len < ihl + 8 + 12)
        goto accept;
    src = get32(pl + 12);
    dst = get32(pl + 16);
    if ((src & LAB_MASK) != LAB_NET || (dst & LAB_MASK) != LAB_NET)
        goto accept;
    udp = pl + ihl;
    rtp = udp + 8;
    if ((rtp[0] >> 6) != 2)
        goto accept;
    sport = (uint16_t)(udp[0] << 8 | udp[1]);
    dport = (uint16_t)(udp[2] << 8 | udp[3]);
    seq = (uint16_t)(rtp[2] << 8 | rtp[3]);
    ssrc = get32(rtp + 8);
    if (now < g.win_from || now >= g.win_to)
        goto accept;
    s = stream_for(src, sport, dst, dport, ssrc);
    if (!s)
        goto accept;
    s->packets++;
    if (s->first_seq < 0)
        s->first_seq = seq;
    s->last_seq = seq;
    h = mix64(g.seed ^ mix64((uint64_t)ssrc << 16 | seq));
    if (g.mode == M_LOSS) {
        if ((double)(h % 1000000) < g.loss_pct * 10000.0) {
            s->dropped++;
            fprintf(g.log, "drop %.6f %s:%u > %s:%u ssrc 0x%08X seq %u\n", now, ip_s(src, a), sport,
                    ip_s(dst, b), dport, ssrc, seq);
            return nfq_set_verdict(qh, id, NF_DROP, 0, NULL);
        }
        g.passed++;
        return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
    }
    /* Jitter: hold, never reorder. */
    {
        double d_ms = (double)(h % 1000001) / 1000000.0 * g.jitter_max_ms;
        double rel = now + d_ms / 1000.0;

        if (rel < g.last_release)
            rel = g.last_release;
        if (g.count == MAX_HELD) {
            g.overflow++;
            goto accept;
        }
        g.held[(g.head + g.count) % MAX_HELD] = (struct held){ id, rel };
        g.count++;
        g.last_release = rel;
        s->delayed++;
        s->delay_sum_ms += (rel - now) * 1000.0;
        if ((rel - now) * 1000.0 > s->delay_max_ms)
            s->delay_max_ms = (rel - now) * 1000.0;
        return 0;
    }
accept:
    g.ignored++;
    return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
}

static double parse_num(const char *s, const char *what, double lo, double hi)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "impair: %s must be %g..%g, not '%s'\n", what, lo, hi, s);
        exit(2);
    }
    return v;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: impair -q QUEUE -m loss|jitter [-p LOSS_PCT] [-j MAX_MS] [-S SEED]\n"
            "              [-a AFTER_S] [-d DURATION_S] [-T TOTAL_S] [-l LOG]\n"
            "  impairs RTP between 10.66.0.0/16 addresses from AFTER_S to AFTER_S+DURATION_S\n"
            "  after it starts; accepts everything else; exits after TOTAL_S (<= %d)\n",
            MAX_TOTAL);
    exit(2);
}

int main(int argc, char **argv)
{
    struct nfq_handle *h;
    const char *mode = NULL, *logfile = NULL;
    double after = 0, duration = 30, total = 60;
    long queue = -1;
    int opt, fd, rv;
    char buf[65536] __attribute__((aligned));
    char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

    g.loss_pct = 5;
    g.jitter_max_ms = 40;
    g.seed = 1;
    while ((opt = getopt(argc, argv, "q:m:p:j:S:a:d:T:l:h")) != -1) {
        switch (opt) {
        case 'q':
            queue = (long)parse_num(optarg, "queue", 0, 65535);
            break;
        case 'm':
            mode = optarg;
            break;
        case 'p':
            g.loss_pct = parse_num(optarg, "loss percentage", 0, 100);
            break;
        case 'j':
            g.jitter_max_ms = parse_num(optarg, "jitter", 0, 1000);
            break;
        case 'S':
            g.seed = (uint64_t)parse_num(optarg, "seed", 0, 4294967295.0);
            break;
        case 'a':
            after = parse_num(optarg, "start offset", 0, MAX_TOTAL);
            break;
        case 'd':
            duration = parse_num(optarg, "duration", 0, MAX_TOTAL);
            break;
        case 'T':
            total = parse_num(optarg, "total time", 1, MAX_TOTAL);
            break;
        case 'l':
            logfile = optarg;
            break;
        default:
            usage();
        }
    }
    if (queue < 0 || !mode || optind != argc)
        usage();
    if (!strcmp(mode, "loss"))
        g.mode = M_LOSS;
    else if (!strcmp(mode, "jitter"))
        g.mode = M_JITTER;
    else
        usage();
    g.log = logfile ? fopen(logfile, "w") : stdout;
    if (!g.log) {
        perror(logfile);
        return 1;
    }
    setvbuf(g.log, NULL, _IOLBF, 0);

    h = nfq_open();
    if (!h) {
        perror("impair: nfq_open");
        return 1;
    }
    nfq_unbind_pf(h, AF_INET);
    if (nfq_bind_pf(h, AF_INET) < 0) {
        perror("impair: nfq_bind_pf");
        return 1;
    }
    g.qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL);
    if (!g.qh) {
        fprintf(stderr, "impair: cannot bind queue %ld (in use?)\n", queue);
        return 1;
    }
    if (nfq_set_mode(g.qh, NFQNL_COPY_PACKET, 128) < 0) {
        perror("impair: nfq_set_mode");
        return 1;
    }
    nfq_set_queue_maxlen(g.qh, MAX_HELD * 2);
    fd = nfq_fd(h);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    g.start = now_s();
    g.win_from = g.start + after;
    g.win_to = g.win_from + duration;
    g.stop_at = g.start + total;
    if (g.mode == M_LOSS)
        fprintf(g.log, "start %.6f mode loss pct %g seed %llu window %.6f %.6f\n", g.start,
                g.loss_pct, (unsigned long long)g.seed, g.win_from, g.win_to);
    else
        fprintf(g.log, "start %.6f mode jitter max_ms %g seed %llu window %.6f %.6f\n", g.start,
                g.jitter_max_ms, (unsigned long long)g.seed, g.win_from, g.win_to);

    while (!stop) {
        double now = now_s();
        int timeout_ms = 200;
        struct pollfd pfd = { .fd = fd, .events = POLLIN };

        if (now >= g.stop_at)
            break;
        release_due(now);
        if (g.count) {
            double wait = (g.held[g.head].release - now) * 1000.0;

            timeout_ms = wait < 0 ? 0 : wait < 200 ? (int)wait + 1 : 200;
            if (wait < 1)
                timeout_ms = 0;
        }
        if (poll(&pfd, 1, timeout_ms) <= 0)
            continue;
        rv = (int)recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (rv < 0) {
            if (errno == ENOBUFS) { /* the kernel queue overflowed: say so */
                g.overflow++;
                continue;
            }
            if (errno == EAGAIN || errno == EINTR)
                continue;
            perror("impair: recv");
            break;
        }
        nfq_handle_packet(h, buf, rv);
    }
    /* Let everything still held go before leaving. */
    release_due(1e18);
    for (unsigned i = 0; i < g.nstreams; i++) {
        struct stream *s = &g.streams[i];

        fprintf(g.log,
                "stream %s:%u > %s:%u ssrc 0x%08X packets %lu dropped %lu delayed %lu "
                "delay_mean_ms %.3f delay_max_ms %.3f first_seq %ld last_seq %ld\n",
                ip_s(s->src, a), s->sport, ip_s(s->dst, b), s->dport, s->ssrc, s->packets,
                s->dropped, s->delayed, s->delayed ? s->delay_sum_ms / s->delayed : 0.0,
                s->delay_max_ms, s->first_seq, s->last_seq);
    }
    fprintf(g.log, "end %.6f passed %lu ignored %lu overflow %lu\n", now_s(), g.passed, g.ignored,
            g.overflow);
    nfq_destroy_queue(g.qh);
    nfq_close(h);
    return 0;
}
