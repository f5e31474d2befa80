/* rtpcheck: RTP statistics of every stream in a capture, one line each, for
 * comparison with tshark -z rtp,streams (tests/rtp_accuracy.sh).
 *
 *   rtpcheck [--frames LIST] FILE...
 *
 * With --frames, only the frames whose numbers (1-based, counted across
 * the files) are listed in LIST, one per line, are taken as RTP: the test
 * passes the frames tshark dissected as RTP, to compare the figures on the
 * same packets.
 * Reads the files in order with the capture and decode modules.  Every UDP
 * payload that parses as RTP (and is not RTCP) joins the stream keyed by
 * source, destination and SSRC; the RTP detector runs on every UDP flow
 * alongside and its verdict is printed per stream.  SDP found in any UDP or
 * TCP payload (m= port, a=rtpmap) maps dynamic payload types on that port,
 * as the stream table will from signalling.  Output, one line per stream in
 * order of appearance:
 *
 *   SRCIP SRCPORT DSTIP DSTPORT 0xSSRC key=value ...
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capture/capture.h"
#include "decode/decode.h"
#include "media/rtp.h"
#include "media/rtpdetect.h"
#include "media/rtpstats.h"

#define NBUCKETS 4096
#define MAX_SDP  256
#define MAX_MAPS 16

struct flow_key {
    cw_addr_t src, dst;
    uint16_t sport, dport;
};

struct flow {
    struct flow_key key;
    rtpdetect_t *det;
    int verdict;
    struct flow *next;
};

struct stream {
    struct flow_key key;
    uint32_t ssrc;
    rtpstats_t *st;
    struct flow *flow;
    struct stream *next;     /* bucket chain */
    struct stream *next_all; /* order of appearance */
};

/* One SDP media port with its rtpmap lines. */
struct sdp_media {
    uint16_t port;
    size_t nmaps;
    struct {
        uint8_t pt;
        uint32_t rate;
        char name[RTP_CODEC_NAME_MAX];
    } maps[MAX_MAPS];
};

static struct stream *buckets[NBUCKETS];
static struct stream *all_head, **all_tail = &all_head;
static struct flow *flows[NBUCKETS];
static struct sdp_media sdp[MAX_SDP];
static size_t nsdp;
static uint8_t *only;   /* --frames: bitmap of frame numbers */
static size_t only_max; /* highest frame number in it */
static uint64_t frameno;

static uint32_t key_hash(const struct flow_key *k, uint32_t extra)
{
    uint32_t h = cw_addr_hash(&k->src, 0x9e3779b9u ^ extra);

    h = cw_addr_hash(&k->dst, h);
    h ^= ((uint32_t)k->sport << 16) | k->dport;
    h *= 0x85ebca6bu;
    return (h ^ (h >> 13)) % NBUCKETS;
}

static bool key_equal(const struct flow_key *a, const struct flow_key *b)
{
    return a->sport == b->sport && a->dport == b->dport && cw_addr_equal(&a->src, &b->src) &&
           cw_addr_equal(&a->dst, &b->dst);
}

static struct flow *flow_get(const struct flow_key *k)
{
    uint32_t h = key_hash(k, 0);
    struct flow *f;

    for (f = flows[h]; f; f = f->next)
        if (key_equal(&f->key, k))
            return f;
    f = cw_calloc(1, sizeof(*f));
    f->key = *k;
    f->det = rtpdetect_new();
    f->next = flows[h];
    flows[h] = f;
    return f;
}

static void apply_sdp(struct stream *s)
{
    for (size_t i = 0; i < nsdp; i++) {
        if (sdp[i].port != s->key.sport && sdp[i].port != s->key.dport)
            continue;
        for (size_t j = 0; j < sdp[i].nmaps; j++)
            rtpstats_set_codec(s->st, sdp[i].maps[j].pt, sdp[i].maps[j].name, sdp[i].maps[j].rate);
    }
}

static struct stream *stream_get(const struct flow_key *k, uint32_t ssrc)
{
    uint32_t h = key_hash(k, ssrc);
    struct stream *s;

    for (s = buckets[h]; s; s = s->next)
        if (s->ssrc == ssrc && key_equal(&s->key, k))
            return s;
    s = cw_calloc(1, sizeof(*s));
    s->key = *k;
    s->ssrc = ssrc;
    s->st = rtpstats_new();
    s->next = buckets[h];
    buckets[h] = s;
    *all_tail = s;
    all_tail = &s->next_all;
    apply_sdp(s);
    return s;
}

/* Finds "a=rtpmap:PT NAME/RATE" and "m=audio PORT" lines in a payload. */
static void scan_sdp(const uint8_t *p, uint32_t len)
{
    char *text = cw_calloc(1, (size_t)len + 1);
    struct sdp_media *cur = NULL;
    char *line, *save = NULL;

    memcpy(text, p, len);
    for (uint32_t i = 0; i < len; i++)
        if (text[i] == 0)
            text[i] = ' ';
    for (line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        unsigned port, pt, rate;
        char name[RTP_CODEC_NAME_MAX];

        if (sscanf(line, "m=%*s %u", &port) == 1 && port > 0 && port < 65536) {
            cur = NULL;
            for (size_t i = 0; i < nsdp; i++)
                if (sdp[i].port == port)
                    cur = &sdp[i];
            if (!cur && nsdp < MAX_SDP) {
                cur = &sdp[nsdp++];
                cur->port = (uint16_t)port;
            }
        } else if (cur && sscanf(line, "a=rtpmap:%u %31[^/]/%u", &pt, name, &rate) == 3 &&
                   pt < 128) {
            size_t j;

            for (j = 0; j < cur->nmaps && cur->maps[j].pt != pt; j++)
                ;
            if (j == MAX_MAPS)
                continue;
            if (j == cur->nmaps)
                cur->nmaps++;
            cur->maps[j].pt = (uint8_t)pt;
            cur->maps[j].rate = rate;
            cw_strlcpy(cur->maps[j].name, name, sizeof(cur->maps[j].name));
            for (struct stream *s = all_head; s; s = s->next_all)
                if (s->key.sport == cur->port || s->key.dport == cur->port)
                    rtpstats_set_codec(s->st, (uint8_t)pt, name, rate);
        }
    }
    free(text);
}

static void packet(const decode_pkt_t *dp)
{
    struct flow_key k = { .src = dp->src, .dst = dp->dst, .sport = dp->sport, .dport = dp->dport };
    struct flow *f;
    struct stream *s;
    rtp_hdr_t h;

    if (dp->payload_len > 0 && memmem(dp->payload, dp->payload_len, "m=", 2))
        scan_sdp(dp->payload, dp->payload_len);
    if (dp->proto != 17)
        return;
    if (only && (frameno > only_max || !(only[frameno / 8] & (1u << (frameno % 8)))))
        return;
    f = flow_get(&k);
    f->verdict = rtpdetect_feed(f->det, dp->ts, dp->payload, dp->payload_len);
    if (rtp_is_rtcp(dp->payload, dp->payload_len) ||
        rtp_parse(dp->payload, dp->payload_len, &h) != 0)
        return;
    s = stream_get(&k, h.ssrc);
    s->flow = f;
    rtpstats_packet(s->st, dp->ts, &h);
}

static int read_file(const char *path)
{
    char err[512];
    capture_t *c = capture_open_file(path, err, sizeof(err));
    decoder_t *d;
    capture_pkt_t pkt;
    decode_pkt_t dp;
    int r;

    if (!c) {
        fprintf(stderr, "rtpcheck: %s\n", err);
        return -1;
    }
    d = decoder_new(0, 0);
    while ((r = capture_next(c, &pkt)) == CAPTURE_PACKET)
        if (++frameno && decode_frame(d, capture_dlt(c), pkt.ts, pkt.data, pkt.caplen, pkt.wirelen,
                                      &dp) == DECODE_OK)
            packet(&dp);
    if (r == CAPTURE_ERROR)
        fprintf(stderr, "rtpcheck: %s: %s\n", path, capture_error(c));
    decoder_free(d);
    capture_close(c);
    return r == CAPTURE_ERROR ? -1 : 0;
}

static const char *verdict_name(int v)
{
    return v == RTPDETECT_YES ? "yes" : v == RTPDETECT_NO ? "no" : "maybe";
}

static int read_frames(const char *path)
{
    FILE *f = fopen(path, "r");
    unsigned long n;

    if (!f) {
        fprintf(stderr, "rtpcheck: %s: %s\n", path, strerror(errno));
        return -1;
    }
    only_max = 0;
    only = cw_calloc(1, 1);
    while (fscanf(f, "%lu", &n) == 1) {
        if (n > only_max) {
            only = cw_realloc(only, n / 8 + 1);
            memset(only + only_max / 8 + 1, 0, n / 8 - only_max / 8);
            only_max = n;
        }
        only[n / 8] |= (uint8_t)(1u << (n % 8));
    }
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    int rc = 0, first = 1;

    if (argc >= 3 && strcmp(argv[1], "--frames") == 0) {
        if (read_frames(argv[2]) != 0)
            return 2;
        first = 3;
    }
    if (argc <= first) {
        fprintf(stderr, "usage: rtpcheck [--frames LIST] FILE...\n");
        return 2;
    }
    for (int i = first; i < argc; i++)
        if (read_file(argv[i]) != 0)
            rc = 1;
    for (struct stream *s = all_head, *next; s; s = next) {
        char a[CW_ADDR_STRLEN], b[CW_ADDR_STRLEN];
        rtpstats_summary_t m;

        next = s->next_all;
        rtpstats_get(s->st, &m);
        printf("%s %u %s %u 0x%08X pt=%u codec=%s clock=%u detect=%s packets=%llu voice=%llu "
               "events=%llu cn=%llu expected=%llu lost=%llu ws_lost=%lld dups=%llu ooo=%llu "
               "resets=%llu stray=%llu jitter_mean=%.6f jitter_max=%.6f max_delta=%.6f "
               "jb_discarded=%llu burst_r=%.3f r=%.2f mos=%.3f mos_min=%.3f\n",
               cw_addr_str(&s->key.src, a, sizeof(a)), s->key.sport,
               cw_addr_str(&s->key.dst, b, sizeof(b)), s->key.dport, s->ssrc, m.pt,
               m.codec[0] ? m.codec : "-", m.clock_rate, verdict_name(s->flow->verdict),
               (unsigned long long)m.packets, (unsigned long long)m.voice_packets,
               (unsigned long long)m.event_packets, (unsigned long long)m.cn_packets,
               (unsigned long long)m.expected, (unsigned long long)m.lost, (long long)m.ws_lost,
               (unsigned long long)m.duplicates, (unsigned long long)m.out_of_order,
               (unsigned long long)m.seq_resets, (unsigned long long)m.stray, m.jitter_mean_ms,
               m.jitter_max_ms, m.max_delta_ms, (unsigned long long)m.jb_discarded, m.burst_r,
               m.r_factor, m.mos, m.mos_min);
        rtpstats_free(s->st);
        free(s);
    }
    for (size_t i = 0; i < NBUCKETS; i++)
        for (struct flow *f = flows[i], *next; f; f = next) {
            next = f->next;
            rtpdetect_free(f->det);
            free(f);
        }
    free(only);
    return rc;
}
