/* bench_throughput: callwatch on a capture of 1.15 million packets (200
 * calls at once with two-way G.711 RTP, some loss and jitter, a TCP/445
 * scan in the background), against a bare libpcap read loop and against
 * tshark's RTP stream analysis of the same file, in one run; the same
 * capture with every frame wrapped in VXLAN and in ERSPAN (type II), as a
 * mirror delivers it; and callwatch's peak resident memory, there and with
 * 100,000 streams at once.
 *
 *   bench_throughput CALLWATCH [PACKETS]
 *
 * Prints packets per second for each and the ratios the RTP issue sets as
 * targets (callwatch >= 5 million packets/s on one core, >= 20x tshark,
 * >= 25 % of the bare loop, RSS < 200 MB, at most 1 KB a stream over a
 * fixed base), and the tunnel issue's (a wrapped capture read at >= 80 %
 * of the plain one's rate).  With CW_BENCH_BASELINE naming another
 * callwatch binary (a build of an earlier commit), the two read the plain
 * capture in turn, on the same CPU, and the ratio of their rates is
 * printed: a change to the plain path shows there. */
#include "autoconf.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pcapgen.h"

#define CALLS_AT_ONCE 200
#define CALL_SECONDS  60
#define SCAN_PER_TICK 4     /* TCP SYNs to port 445, every 20 ms */
#define WIDE_CALLS    50000 /* the memory run: two streams a call */
#define WIDE_PACKETS  10    /* RTP packets each way in the memory run */

/* A fixed pseudo-random number for (a, b, c): the same capture every run. */
static uint32_t mix(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t h = a * 0x9e3779b1u ^ (b + 0x7f4a7c15u) * 0x85ebca77u ^ c * 0xc2b2ae3du;

    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    return h;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The frames of one 20 ms tick, written in time order when it ends, so
 * that the capture's timestamps never go back. */
struct frame {
    cw_ns_t t;
    uint32_t order, len;
    uint8_t data[2048];
};
static struct frame tick_frames[2048];
static size_t tick_n;
static const char *wrap_kind; /* every frame written wrapped in this (pg_wrap()), or NULL */

static int cmp_frame(const void *a, const void *b)
{
    const struct frame *x = a, *y = b;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void flush_tick(pcapgen_t *g)
{
    static pg_buf_t w;

    qsort(tick_frames, tick_n, sizeof(tick_frames[0]), cmp_frame);
    for (size_t i = 0; i < tick_n; i++) {
        if (wrap_kind &&
            pg_wrap(&w, wrap_kind, PG_LINK_ETHERNET, tick_frames[i].data, tick_frames[i].len) == 0)
            pcapgen_write(g, tick_frames[i].t, w.data, (uint32_t)w.len, (uint32_t)w.len);
        else
            pcapgen_write(g, tick_frames[i].t, tick_frames[i].data, tick_frames[i].len,
                          tick_frames[i].len);
    }
    tick_n = 0;
}

static void put_frame(pcapgen_t *g, cw_ns_t t, const pg_buf_t *frame)
{
    struct frame *f;

    if (tick_n == sizeof(tick_frames) / sizeof(tick_frames[0]))
        flush_tick(g);
    f = &tick_frames[tick_n];
    f->t = t;
    f->order = (uint32_t)tick_n++;
    f->len = (uint32_t)(frame->len < sizeof(f->data) ? frame->len : sizeof(f->data));
    memcpy(f->data, frame->data, f->len);
}

static void put_udp(pcapgen_t *g, cw_ns_t t, const char *src, uint16_t sport, const char *dst,
                    uint16_t dport, const void *payload, size_t len)
{
    static pg_buf_t frame;

    pg_eth_udp(&frame, src, sport, dst, dport, payload, len);
    put_frame(g, t, &frame);
}

static void put_syn(pcapgen_t *g, cw_ns_t t, uint32_t n)
{
    static pg_buf_t l4, ip, frame;
    cw_addr_t src = pg_addr("10.66.20.17"), dst;
    char a[32];

    snprintf(a, sizeof(a), "198.%u.%u.%u", 18 + ((n >> 16) & 1), (n >> 8) & 255, n & 255);
    dst = pg_addr(a);
    l4.len = ip.len = frame.len = 0;
    pg_tcp(&l4, (uint16_t)(40000 + n % 20000), 445, n * 7919u, 0, 0x02, NULL, 0);
    pg_ipv4(&ip, &src, &dst, 6, (uint16_t)n, 0, 0, l4.data, l4.len);
    pg_link(&frame, PG_LINK_ETHERNET, 0, NULL, ip.data, ip.len);
    put_frame(g, t, &frame);
}

static void sip(pcapgen_t *g, cw_ns_t t, int call, const char *first, const char *method,
                unsigned cseq, bool to_tag, bool from_caller, bool sdp)
{
    char a[32], b[32], msg[1600], body[400] = "";
    int blen = 0;

    snprintf(a, sizeof(a), "10.1.%d.%d", call / 250, call % 250 + 1);
    snprintf(b, sizeof(b), "10.2.%d.%d", call / 250, call % 250 + 1);
    if (sdp)
        blen = snprintf(body, sizeof(body),
                        "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                        "m=audio %d RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"
                        "a=rtpmap:101 telephone-event/8000\r\n",
                        from_caller ? a : b, from_caller ? a : b, from_caller ? 20000 : 30000);
    snprintf(msg, sizeof(msg),
             "%s\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK-%d-%u\r\n"
             "From: <sip:u%d@example.com>;tag=f%d\r\nTo: <sip:v%d@example.com>%s\r\n"
             "Call-ID: bench-%d@example.com\r\nCSeq: %u %s\r\n%s"
             "Content-Length: %d\r\n\r\n%s",
             first, a, call, cseq, call, call, call, to_tag ? ";tag=t1" : "", call, cseq, method,
             sdp ? "Content-Type: application/sdp\r\n" : "", blen, body);
    put_udp(g, t, from_caller ? a : b, 5060, from_caller ? b : a, 5060, msg, strlen(msg));
}

/* One G.711 RTP packet of call c: d 0 from its caller (10.1.x.y:20000),
 * 1 from its callee (10.2.x.y:30000). */
static void put_rtp(pcapgen_t *g, cw_ns_t t, long c, int d, uint16_t seq, uint32_t ts)
{
    uint8_t rtp[172] = { 0x80, 8 };
    uint32_t ssrc = (uint32_t)(c * 2 + d + 1);
    char a[32], b[32];

    snprintf(a, sizeof(a), "10.1.%ld.%ld", c / 250, c % 250 + 1);
    snprintf(b, sizeof(b), "10.2.%ld.%ld", c / 250, c % 250 + 1);
    rtp[2] = (uint8_t)(seq >> 8);
    rtp[3] = (uint8_t)seq;
    for (int i = 0; i < 4; i++) {
        rtp[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
        rtp[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    }
    put_udp(g, t, d ? b : a, d ? 30000 : 20000, d ? a : b, d ? 20000 : 30000, rtp, sizeof(rtp));
}

/* Sets up call c: INVITE with SDP, 200 with SDP, ACK, gap apart from t. */
static void setup_call(pcapgen_t *g, cw_ns_t t, int c, cw_ns_t gap)
{
    sip(g, t, c, "INVITE sip:v@example.com SIP/2.0", "INVITE", 1, false, true, true);
    sip(g, t + gap, c, "SIP/2.0 200 OK", "INVITE", 1, true, false, true);
    sip(g, t + 2 * gap, c, "ACK sip:v@example.com SIP/2.0", "ACK", 1, true, true, false);
}

/* Writes the capture (pcap or pcapng): calls start every
 * CALL_SECONDS/CALLS_AT_ONCE seconds and last CALL_SECONDS, each with RTP
 * both ways every 20 ms. */
static long long generate(const char *path, long long want, enum pg_format fmt)
{
    pcapgen_t *g = pcapgen_open(path, fmt, PG_LINK_ETHERNET, 0);
    const cw_ns_t t0 = CW_SEC(1700000000), tick = 20 * CW_NS_PER_MS;
    const long gap_ticks = CALL_SECONDS * 50 / CALLS_AT_ONCE;
    long long n = 0;
    long ncalls = 0;

    if (!g)
        return -1;
    for (long k = 0; n < want; k++) {
        cw_ns_t t = t0 + k * tick;

        for (uint32_t j = 0; j < SCAN_PER_TICK; j++, n++)
            put_syn(g, t + j * (tick / SCAN_PER_TICK), (uint32_t)(k * SCAN_PER_TICK + j));
        if (k % gap_ticks == 0) {
            int c = (int)ncalls++;

            setup_call(g, t, c, 1000);
            n += 3;
        }
        /* Every call started in the last CALL_SECONDS sends, both ways. */
        for (long c = ncalls - 1; c >= 0 && (k - c * gap_ticks) < CALL_SECONDS * 50; c--) {
            long i = k - c * gap_ticks;

            if (i == CALL_SECONDS * 50 - 1) {
                sip(g, t + 5000, (int)c, "BYE sip:v@example.com SIP/2.0", "BYE", 2, true, true,
                    false);
                n++;
                continue;
            }
            for (int d = 0; d < 2; d++) {
                uint32_t r = mix((uint32_t)c, (uint32_t)d, (uint32_t)i);

                /* About 1 % lost, and up to 8 ms of jitter. */
                if (r % 97 == 0)
                    continue;
                put_rtp(g, t + (d ? 300000 : 0) + (cw_ns_t)(r >> 8) % 8000000, c, d, (uint16_t)i,
                        (uint32_t)(i * 160));
                n++;
            }
        }
        flush_tick(g);
    }
    flush_tick(g);
    pcapgen_close(g);
    return n;
}

/* The memory run: `calls` calls set up in the first second, then
 * WIDE_PACKETS RTP packets each way for every one of them, so that all
 * their streams are alive at once when the capture ends. */
static long long generate_wide(const char *path, long calls)
{
    pcapgen_t *g = pcapgen_open(path, PG_PCAP_NS, PG_LINK_ETHERNET, 0);
    const cw_ns_t t0 = CW_SEC(1700000000), tick = 20 * CW_NS_PER_MS;
    const cw_ns_t setup_gap = CW_NS_PER_SEC / 3 / calls, rtp_gap = tick / 2 / calls;
    long long n = 0;

    if (!g)
        return -1;
    for (long c = 0; c < calls; c++, n += 3) {
        setup_call(g, t0 + c * 3 * setup_gap, (int)c, setup_gap);
        if (tick_n > 1000)
            flush_tick(g);
    }
    flush_tick(g);
    for (long k = 0; k < WIDE_PACKETS; k++) {
        for (long c = 0; c < calls; c++) {
            for (int d = 0; d < 2; d++, n++)
                put_rtp(g, CW_SEC(1700000001) + k * tick + (2 * c + d) * rtp_gap, c, d, (uint16_t)k,
                        (uint32_t)(k * 160));
            if (tick_n > 1000)
                flush_tick(g);
        }
    }
    flush_tick(g);
    pcapgen_close(g);
    return n;
}

static double bare_loop(const char *path, long long *count)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
    struct pcap_pkthdr *h;
    const u_char *d;
    unsigned sink = 0;
    double t;

    if (!p)
        return -1;
    *count = 0;
    t = now_s();
    while (pcap_next_ex(p, &h, &d) == 1) {
        sink += d[h->caplen - 1]; /* touch the packet as any reader must */
        (*count)++;
    }
    t = now_s() - t;
    pcap_close(p);
    if (sink == 0xdeadbeef)
        fputs("", stderr); /* keeps the reads from being optimised away */
    return t;
}

/* Keeps the calling thread, and what it starts, on one CPU (cpu < 0: any
 * allowed at the start). */
static void pin(int cpu)
{
    static cpu_set_t all;
    static bool saved;
    cpu_set_t one;

    if (!saved) {
        sched_getaffinity(0, sizeof(all), &all);
        saved = true;
    }
    if (cpu < 0) {
        sched_setaffinity(0, sizeof(all), &all);
        return;
    }
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    sched_setaffinity(0, sizeof(one), &one);
}

/* The CPUs allowed at the start. */
static int cpus_allowed(int *list, int max)
{
    cpu_set_t set;
    int n = 0;

    sched_getaffinity(0, sizeof(set), &set);
    for (int c = 0; c < CPU_SETSIZE && n < max; c++)
        if (CPU_ISSET(c, &set))
            list[n++] = c;
    return n;
}

static double run(char *const argv[], long *rss_kb);

/* The best time of callwatch binary `bin` on path, over runs pinned to
 * each CPU allowed in turn (at least `min` runs). */
static double best_of(const char *bin, const char *path, const int *cpus, int ncpus, int min)
{
    char *argv[] = { (char *)bin, "-r", (char *)path, "--report", "json", "-q", NULL };
    double best = 1e9;
    long rss;

    for (int i = 0; i < 2 * ncpus || i < min; i++) {
        double c;

        pin(cpus[i % ncpus]);
        c = run(argv, &rss);
        pin(-1);
        if (c < 0)
            return -1;
        if (c < best)
            best = c;
    }
    return best;
}

/* The capture wrapped in each encapsulation a mirror uses, read in turn
 * with the plain capture at `plain_path` on the same CPUs (a slow moment
 * of a shared host then slows both): the best of each, and their ratio. */
static int wrapped_runs(const char *bin, const char *plain_path, long long want, long long read,
                        const int *cpus, int ncpus)
{
    static const char *const kinds[] = { "vxlan", "erspan2" };
    char path[64];

    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        double plain = 1e9, wrapped = 1e9;

        snprintf(path, sizeof(path), "/tmp/cw-bench-wrapped-%d.pcap", (int)getpid());
        wrap_kind = kinds[k];
        if (generate(path, want, PG_PCAP_NS) < 0) {
            wrap_kind = NULL;
            fprintf(stderr, "bench_throughput: cannot write %s\n", path);
            return 1;
        }
        wrap_kind = NULL;
        for (int round = 0; round < 3; round++) {
            double a = best_of(bin, plain_path, cpus, ncpus, 2);
            double b = best_of(bin, path, cpus, ncpus, 2);

            if (a < 0 || b < 0) {
                unlink(path);
                return 1;
            }
            if (a < plain)
                plain = a;
            if (b < wrapped)
                wrapped = b;
        }
        unlink(path);
        printf("  callwatch, in %-7s   %12.0f packets/s  (%.2f s, one core): %.1f %% of the plain "
               "capture's rate read in turn with it, %.0f packets/s  (target >= 80 %%)\n",
               kinds[k], (double)read / wrapped, wrapped, 100.0 * plain / wrapped,
               (double)read / plain);
    }
    return 0;
}

/* The plain capture read by this callwatch and by another build, in turn
 * on each CPU: the best of each, and their ratio. */
static int baseline_runs(const char *bin, const char *base, const char *path, long long read,
                         const int *cpus, int ncpus)
{
    double mine = 1e9, theirs = 1e9;

    for (int round = 0; round < 3; round++) {
        double a = best_of(bin, path, cpus, ncpus, 2), b = best_of(base, path, cpus, ncpus, 2);

        if (a < 0 || b < 0)
            return 1;
        if (a < mine)
            mine = a;
        if (b < theirs)
            theirs = b;
    }
    printf("  plain, this build:      %12.0f packets/s  (%.2f s, in turn with the baseline)\n",
           (double)read / mine, mine);
    printf("  plain, baseline build:  %12.0f packets/s  (%.2f s): this build at %.1f %% of its "
           "rate\n",
           (double)read / theirs, theirs, 100.0 * theirs / mine);
    return 0;
}

/* Runs argv with stdout to /dev/null; returns the wall time, and the peak
 * RSS in KiB through *rss_kb. */
static double run(char *const argv[], long *rss_kb)
{
    struct rusage ru;
    int status;
    double t;
    pid_t pid;

    fflush(stdout);
    t = now_s();
    pid = fork();

    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
        return -1;
    t = now_s() - t;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_throughput: %s exited with %d\n", argv[0],
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    *rss_kb = ru.ru_maxrss;
    return t;
}

int main(int argc, char **argv)
{
    long long want = argc > 2 ? atoll(argv[2]) : 1150000, written, read = 0;
    char path[64];
    double bare, cw, ts = -1;
    long rss_cw = 0, rss_ts = 0, rss_run = 0;
    int rc = 0, cpus[64], ncpus, cw_cpu = -1;

    if (argc < 2) {
        fprintf(stderr, "usage: bench_throughput CALLWATCH [PACKETS]\n");
        return 2;
    }
    /* CW_BENCH_CAPTURE names a file to write and keep (for profiling). */
    if (getenv("CW_BENCH_CAPTURE"))
        snprintf(path, sizeof(path), "%s", getenv("CW_BENCH_CAPTURE"));
    else
        snprintf(path, sizeof(path), "/tmp/cw-bench-throughput-%d.pcap", (int)getpid());
    written = generate(path, want, PG_PCAP_NS);
    if (written < 0) {
        fprintf(stderr, "bench_throughput: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    /* Both on one core: the bare loop and callwatch each run pinned to one
     * CPU, in turn on every CPU allowed, and the best of each counts (a run
     * of a fraction of a second is easily disturbed, on a shared machine
     * one CPU more than another); tshark takes seconds, and runs once. */
    ncpus = cpus_allowed(cpus, 64);
    bare = cw = 1e9;
    /* Half the runs before tshark's and half after, seconds apart, so that
     * a passing slowdown of the host does not decide the result. */
    for (int half = 0; half < 2 && bare > 0; half++) {
        if (half == 1) {
            char *tsargv[] = { "tshark", "-r", path, "-q", "-z", "rtp,streams", NULL };

            ts = run(tsargv, &rss_ts);
        }
        for (int i = 0; i < 2 * ncpus || i < 3; i++) {
            char *cwargv[] = { argv[1], "-r", path, "--report", "json", "-q", NULL };
            double b, c;

            pin(cpus[i % ncpus]);
            b = bare_loop(path, &read);
            c = run(cwargv, &rss_run);
            pin(-1);
            if (b < 0 || c < 0) {
                bare = cw = -1;
                break;
            }
            if (b < bare)
                bare = b;
            if (c < cw) {
                cw = c;
                cw_cpu = cpus[i % ncpus];
            }
            if (rss_run > rss_cw)
                rss_cw = rss_run;
        }
    }
    if (bare <= 0 || cw <= 0 || ts <= 0) {
        fprintf(stderr, "bench_throughput: a run failed\n");
        if (!getenv("CW_BENCH_CAPTURE"))
            unlink(path);
        return 1;
    }
    printf("bench_throughput: %lld packets (%d calls at once, G.711 both ways, ~1 %% loss, "
           "jitter, a TCP/445 scan)\n",
           read, CALLS_AT_ONCE);
    printf("  bare libpcap read loop: %12.0f packets/s  (%.2f s, one core)\n", (double)read / bare,
           bare);
    printf("  callwatch --report:     %12.0f packets/s  (%.2f s, one core: CPU %d of %d), "
           "peak RSS %.1f MB  (target >= 5,000,000 packets/s)\n",
           (double)read / cw, cw, cw_cpu, ncpus, rss_cw / 1024.0);
    printf("  tshark -z rtp,streams:  %12.0f packets/s  (%.2f s), peak RSS %.1f MB\n",
           (double)read / ts, ts, rss_ts / 1024.0);
    printf("  callwatch / tshark:     %12.1f x   (target >= 20)\n", ts / cw);
    printf("  callwatch / bare loop:  %12.1f %%  (target >= 25 %%)\n", 100.0 * bare / cw);
    printf("  callwatch peak RSS:     %12.1f MB  (target < 200 MB)\n", rss_cw / 1024.0);
    if (getenv("CW_BENCH_BASELINE") &&
        baseline_runs(argv[1], getenv("CW_BENCH_BASELINE"), path, read, cpus, ncpus) != 0) {
        fprintf(stderr, "bench_throughput: the baseline runs failed\n");
        rc = 1;
    }
    if (wrapped_runs(argv[1], path, want, read, cpus, ncpus) != 0) {
        fprintf(stderr, "bench_throughput: the wrapped runs failed\n");
        rc = 1;
    }
    if (!getenv("CW_BENCH_CAPTURE"))
        unlink(path);

    /* The same capture as pcapng, the format Wireshark and dumpcap write. */
    {
        char *cwargv[] = { argv[1], "-r", path, "--report", "json", "-q", NULL };
        double ng = 1e9;

        snprintf(path, sizeof(path), "/tmp/cw-bench-throughput-%d.pcapng", (int)getpid());
        if (generate(path, want, PG_PCAPNG) != written) {
            fprintf(stderr, "bench_throughput: cannot write %s\n", path);
            unlink(path);
            return 1;
        }
        for (int i = 0; i < 2 * ncpus || i < 4; i++) {
            double c;

            pin(cpus[i % ncpus]);
            c = run(cwargv, &rss_run);
            pin(-1);
            if (c < 0) {
                unlink(path);
                return 1;
            }
            if (c < ng)
                ng = c;
        }
        unlink(path);
        printf("  callwatch, as pcapng:   %12.0f packets/s  (%.2f s, one core)\n",
               (double)read / ng, ng);
    }

    /* Memory per stream: the same run with few and with many streams at
     * once; the difference over the difference in streams. */
    {
        static const long counts[2] = { 500, WIDE_CALLS };
        long rss[2] = { 0, 0 };
        char *cwargv[] = { argv[1], "-r", path, "--report", "json", "-q", NULL };

        /* CW_BENCH_WIDE names a file for the memory run's capture, kept. */
        if (getenv("CW_BENCH_WIDE"))
            snprintf(path, sizeof(path), "%s", getenv("CW_BENCH_WIDE"));
        else
            snprintf(path, sizeof(path), "/tmp/cw-bench-wide-%d.pcap", (int)getpid());
        for (int i = 0; i < 2; i++) {
            written = generate_wide(path, counts[i]);
            if (written < 0 || run(cwargv, &rss[i]) <= 0) {
                fprintf(stderr, "bench_throughput: the memory run failed\n");
                unlink(path);
                return 1;
            }
        }
        if (!getenv("CW_BENCH_WIDE"))
            unlink(path);
        printf("  %ld streams at once:   peak RSS %.1f MB; with %ld: %.1f MB\n", 2 * counts[1],
               rss[1] / 1024.0, 2 * counts[0], rss[0] / 1024.0);
        printf("  memory per stream:      %12.2f KB  (target <= 1 KB over a fixed base)\n",
               (double)(rss[1] - rss[0]) / (double)(2 * (counts[1] - counts[0])));
    }
    return rc;
}
