/* scan: a bounded TCP SYN scan generator for callwatch's network lab.
 *
 * Sends TCP SYNs to one port (445 by default) over the addresses of a
 * target prefix, from one source address, through a raw socket, the way a
 * worm in a classroom sweeps for SMB.  Everything is bounded: the packet
 * rate, the packet count and the run time, and it refuses any source or
 * target outside the lab's range (10.66.0.0/16 unless -L narrows it; -L can
 * never widen it).  It prints one line when it starts and one summary line
 * when it stops, with the times as Unix seconds, so that a recording's
 * ground truth can state the scan window exactly.
 *
 *   scan -s 10.66.20.17 -t 10.66.128.0/18 -r 8000 -c 240000 -d 30 -R
 *
 * Copyright the callwatch authors.  GPL-2.0-or-later. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LAB_NET  0x0A420000u /* 10.66.0.0 */
#define LAB_MASK 0xFFFF0000u /* /16 */

#define MAX_RATE     20000     /* packets per second */
#define MAX_COUNT    2000000UL /* packets per run */
#define MAX_DURATION 600       /* seconds */
#define TICK_NS      100000L   /* pacing tick: 0.1 ms */

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

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xffff);
}

/* A SYN from src:sport to dst:dport, IPv4 header included (40 bytes). */
static void build_syn(uint8_t *pkt, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                      uint32_t seq, uint16_t ipid)
{
    uint8_t *ip = pkt, *tcp = pkt + 20, pseudo[12];
    uint32_t sum;

    memset(pkt, 0, 40);
    ip[0] = 0x45;
    put16(ip + 2, 40);
    put16(ip + 4, ipid);
    put16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = IPPROTO_TCP;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    put16(ip + 10, csum_fold(csum_add(0, ip, 20)));

    put16(tcp, sport);
    put16(tcp + 2, dport);
    put32(tcp + 4, seq);
    tcp[12] = 5 << 4; /* data offset: 20 bytes, no options */
    tcp[13] = 0x02;   /* SYN */
    put16(tcp + 14, 64240);
    put32(pseudo, src);
    put32(pseudo + 4, dst);
    pseudo[8] = 0;
    pseudo[9] = IPPROTO_TCP;
    put16(pseudo + 10, 20);
    sum = csum_add(0, pseudo, sizeof(pseudo));
    sum = csum_add(sum, tcp, 20);
    put16(tcp + 16, csum_fold(sum));
}

/* "a.b.c.d/len" into network and mask (host order). */
static int parse_prefix(const char *s, uint32_t *net, uint32_t *mask)
{
    char buf[64], *slash, *end;
    struct in_addr a;
    long len = 32;

    if (strlen(s) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, s);
    slash = strchr(buf, '/');
    if (slash) {
        *slash = 0;
        errno = 0;
        len = strtol(slash + 1, &end, 10);
        if (errno || *end || len < 0 || len > 32)
            return -EINVAL;
    }
    if (inet_pton(AF_INET, buf, &a) != 1)
        return -EINVAL;
    *mask = len ? 0xFFFFFFFFu << (32 - len) : 0;
    *net = ntohl(a.s_addr) & *mask;
    return 0;
}

static int in_prefix(uint32_t addr, uint32_t net, uint32_t mask)
{
    return (addr & mask) == net;
}

static long parse_long(const char *s, const char *what, long lo, long hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) {
        fprintf(stderr, "scan: %s must be %ld..%ld, not '%s'\n", what, lo, hi, s);
        exit(2);
    }
    return v;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: scan -s SRC -t PREFIX [-p PORT] [-r PPS] [-c COUNT] [-d SECONDS]\n"
            "            [-L LAB_PREFIX] [-S SEED] [-R]\n"
            "  sends TCP SYNs from SRC to every address of PREFIX in turn (cycling),\n"
            "  at most PPS per second (<= %d), COUNT packets (<= %lu), SECONDS (<= %d);\n"
            "  SRC and PREFIX must lie inside LAB_PREFIX, itself inside 10.66.0.0/16;\n"
            "  -R: real-time scheduling (SCHED_FIFO) for even pacing\n",
            MAX_RATE, MAX_COUNT, MAX_DURATION);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *src_s = NULL, *tgt_s = NULL, *lab_s = "10.66.0.0/16";
    uint32_t src, src_mask, tnet, tmask, lnet, lmask, span, idx = 0;
    long port = 445, rate = 2000, duration = 30, seed = 1;
    unsigned long count = 100000, sent = 0, errors = 0;
    int opt, fd, one = 1, rt = 0;
    struct sockaddr_in to;
    struct timespec next;
    double t0, t1, budget = 0, per_tick;
    uint8_t pkt[40];

    while ((opt = getopt(argc, argv, "s:t:p:r:c:d:L:S:Rh")) != -1) {
        switch (opt) {
        case 's':
            src_s = optarg;
            break;
        case 't':
            tgt_s = optarg;
            break;
        case 'p':
            port = parse_long(optarg, "port", 1, 65535);
            break;
        case 'r':
            rate = parse_long(optarg, "rate", 1, MAX_RATE);
            break;
        case 'c':
            count = (unsigned long)parse_long(optarg, "count", 1, (long)MAX_COUNT);
            break;
        case 'd':
            duration = parse_long(optarg, "duration", 1, MAX_DURATION);
            break;
        case 'L':
            lab_s = optarg;
            break;
        case 'S':
            seed = parse_long(optarg, "seed", 0, 0x7fffffff);
            break;
        case 'R':
            rt = 1;
            break;
        default:
            usage();
        }
    }
    if (!src_s || !tgt_s || optind != argc)
        usage();
    if (parse_prefix(lab_s, &lnet, &lmask) || (lmask & LAB_MASK) != LAB_MASK ||
        !in_prefix(lnet, LAB_NET, LAB_MASK)) {
        fprintf(stderr, "scan: lab prefix %s is not inside 10.66.0.0/16\n", lab_s);
        return 2;
    }
    if (parse_prefix(src_s, &src, &src_mask) || src_mask != 0xFFFFFFFFu) {
        fprintf(stderr, "scan: source %s is not an IPv4 address\n", src_s);
        return 2;
    }
    if (parse_prefix(tgt_s, &tnet, &tmask) || tmask < 0xFFFF0000u) {
        fprintf(stderr, "scan: target %s is not an IPv4 prefix of /16 or longer\n", tgt_s);
        return 2;
    }
    /* Both ends inside the lab: every target address, not just the first. */
    if (!in_prefix(src, lnet, lmask) || !in_prefix(tnet, lnet, lmask) || (tmask & lmask) != lmask) {
        fprintf(stderr, "scan: refusing %s -> %s: outside the lab range %s\n", src_s, tgt_s, lab_s);
        return 2;
    }
    span = ~tmask + 1u;

    fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (fd < 0) {
        perror("scan: raw socket (needs root or CAP_NET_RAW)");
        return 1;
    }
    if (setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0) {
        perror("scan: IP_HDRINCL");
        return 1;
    }
    if (rt) {
        struct sched_param sp = { .sched_priority = 10 };

        if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
            perror("scan: SCHED_FIFO (continuing without)");
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    srandom((unsigned)seed);

    memset(&to, 0, sizeof(to));
    to.sin_family = AF_INET;
    per_tick = rate * (TICK_NS / 1e9);
    t0 = now_s();
    printf("scan start %.6f src %s targets %s dport %ld rate %ld count %lu duration %ld\n", t0,
           src_s, tgt_s, port, rate, count, duration);
    fflush(stdout);
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!stop && sent < count) {
        if (now_s() - t0 >= duration)
            break;
        /* Small, even bursts keep the shaped uplink's queue full all the
         * time, as a flood does; a late tick sends what it owes, capped. */
        budget += per_tick;
        if (budget > 8 * per_tick + 1)
            budget = 8 * per_tick + 1;
        while (budget >= 1 && sent < count && !stop) {
            /* Skip the network and broadcast addresses of the prefix. */
            uint32_t off = span > 2 ? 1 + idx % (span - 2) : idx % span;
            uint32_t dst = tnet + off;
            uint16_t sport = (uint16_t)(1024 + random() % 60000);

            idx++;
            build_syn(pkt, src, dst, sport, (uint16_t)port, (uint32_t)random(),
                      (uint16_t)(sent & 0xffff));
            to.sin_addr.s_addr = htonl(dst);
            if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
                errors++;
            else
                sent++;
            budget -= 1;
        }
        next.tv_nsec += TICK_NS;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    t1 = now_s();
    printf("scan end %.6f sent %lu errors %lu hosts %lu seconds %.3f pps %.1f\n", t1, sent, errors,
           idx < span ? (unsigned long)idx : (unsigned long)(span > 2 ? span - 2 : span), t1 - t0,
           t1 > t0 ? sent / (t1 - t0) : 0.0);
    close(fd);
    return 0;
}
