/* bench_throughput: callwatch on a capture of 1.15 million packets (calls
 * with two-way G.711 RTP), against a bare libpcap read loop and against
 * tshark's RTP stream analysis of the same file, in one run; and
 * callwatch's peak resident memory.
 *
 *   bench_throughput CALLWATCH [PACKETS]
 *
 * Prints packets per second for each and the ratios the RTP issue sets as
 * targets (callwatch >= 20x tshark, >= 25 % of the bare loop, RSS < 200 MB). */
#include "config.h"

#include <errno.h>
#include <pcap/pcap.h>
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

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put_udp(pcapgen_t *g, cw_ns_t t, const char *src, uint16_t sport, const char *dst,
                    uint16_t dport, const void *payload, size_t len)
{
    static pg_buf_t frame;

    pg_eth_udp(&frame, src, sport, dst, dport, payload, len);
    pcapgen_write(g, t, frame.data, (uint32_t)frame.len, (uint32_t)frame.len);
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

/* Writes the capture: calls start every CALL_SECONDS/CALLS_AT_ONCE seconds
 * and last CALL_SECONDS, each with RTP both ways every 20 ms. */
static long long generate(const char *path, long long want)
{
    pcapgen_t *g = pcapgen_open(path, PG_PCAP_NS, PG_LINK_ETHERNET, 0);
    const cw_ns_t t0 = CW_SEC(1700000000), tick = 20 * CW_NS_PER_MS;
    const long gap_ticks = CALL_SECONDS * 50 / CALLS_AT_ONCE;
    uint8_t rtp[172] = { 0x80, 8 };
    long long n = 0;
    long ncalls = 0;

    if (!g)
        return -1;
    for (long k = 0; n < want; k++) {
        cw_ns_t t = t0 + k * tick;

        if (k % gap_ticks == 0) {
            int c = (int)ncalls++;

            sip(g, t, c, "INVITE sip:v@example.com SIP/2.0", "INVITE", 1, false, true, true);
            sip(g, t + 1000, c, "SIP/2.0 200 OK", "INVITE", 1, true, false, true);
            sip(g, t + 2000, c, "ACK sip:v@example.com SIP/2.0", "ACK", 1, true, true, false);
            n += 3;
        }
        /* Every call started in the last CALL_SECONDS sends, both ways. */
        for (long c = ncalls - 1; c >= 0 && (k - c * gap_ticks) < CALL_SECONDS * 50; c--) {
            long i = k - c * gap_ticks;
            char a[32], b[32];

            if (i == CALL_SECONDS * 50 - 1) {
                sip(g, t + 5000, (int)c, "BYE sip:v@example.com SIP/2.0", "BYE", 2, true, true,
                    false);
                n++;
                continue;
            }
            snprintf(a, sizeof(a), "10.1.%ld.%ld", c / 250, c % 250 + 1);
            snprintf(b, sizeof(b), "10.2.%ld.%ld", c / 250, c % 250 + 1);
            for (int d = 0; d < 2; d++) {
                uint32_t ssrc = (uint32_t)(c * 2 + d + 1), ts = (uint32_t)(i * 160);
                uint16_t seq = (uint16_t)i;

                rtp[2] = (uint8_t)(seq >> 8);
                rtp[3] = (uint8_t)seq;
                rtp[4] = (uint8_t)(ts >> 24);
                rtp[5] = (uint8_t)(ts >> 16);
                rtp[6] = (uint8_t)(ts >> 8);
                rtp[7] = (uint8_t)ts;
                rtp[8] = (uint8_t)(ssrc >> 24);
                rtp[9] = (uint8_t)(ssrc >> 16);
                rtp[10] = (uint8_t)(ssrc >> 8);
                rtp[11] = (uint8_t)ssrc;
                put_udp(g, t + (d ? 300000 : 0) + (cw_ns_t)(c % 7) * 50000, d ? b : a,
                        d ? 30000 : 20000, d ? a : b, d ? 20000 : 30000, rtp, sizeof(rtp));
                n++;
            }
        }
    }
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

/* Runs argv with stdout to /dev/null; returns the wall time, and the peak
 * RSS in KiB through *rss_kb. */
static double run(char *const argv[], long *rss_kb)
{
    struct rusage ru;
    int status;
    double t = now_s();
    pid_t pid = fork();

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
    double bare, cw, ts;
    long rss_cw = 0, rss_ts = 0;
    int rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: bench_throughput CALLWATCH [PACKETS]\n");
        return 2;
    }
    /* CW_BENCH_CAPTURE names a file to write and keep (for profiling). */
    if (getenv("CW_BENCH_CAPTURE"))
        snprintf(path, sizeof(path), "%s", getenv("CW_BENCH_CAPTURE"));
    else
        snprintf(path, sizeof(path), "/tmp/cw-bench-throughput-%d.pcap", (int)getpid());
    written = generate(path, want);
    if (written < 0) {
        fprintf(stderr, "bench_throughput: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    bare = bare_loop(path, &read);
    {
        char *cwargv[] = { argv[1], "-r", path, "--report", "json", "-q", NULL };

        cw = run(cwargv, &rss_cw);
    }
    {
        char *tsargv[] = { "tshark", "-r", path, "-q", "-z", "rtp,streams", NULL };

        ts = run(tsargv, &rss_ts);
    }
    if (!getenv("CW_BENCH_CAPTURE"))
        unlink(path);
    if (bare <= 0 || cw <= 0 || ts <= 0) {
        fprintf(stderr, "bench_throughput: a run failed\n");
        return 1;
    }
    printf("bench_throughput: %lld packets (%d calls at once, G.711 both ways)\n", read,
           CALLS_AT_ONCE);
    printf("  bare libpcap read loop: %12.0f packets/s  (%.2f s)\n", (double)read / bare, bare);
    printf("  callwatch --report:     %12.0f packets/s  (%.2f s), peak RSS %.1f MB\n",
           (double)read / cw, cw, rss_cw / 1024.0);
    printf("  tshark -z rtp,streams:  %12.0f packets/s  (%.2f s), peak RSS %.1f MB\n",
           (double)read / ts, ts, rss_ts / 1024.0);
    printf("  callwatch / tshark:     %12.1f x   (target >= 20)\n", ts / cw);
    printf("  callwatch / bare loop:  %12.1f %%  (target >= 25 %%)\n", 100.0 * bare / cw);
    printf("  callwatch peak RSS:     %12.1f MB  (target < 200 MB)\n", rss_cw / 1024.0);
    return rc;
}
