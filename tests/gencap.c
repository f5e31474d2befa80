/* gencap: writes test captures whose contents are known exactly.
 *
 *   gencap mixed FILE          every layer the decoder knows, plus 2 malformed
 *   gencap link TYPE FMT FILE  50 UDP packets on one link type
 *                              (TYPE: ethernet sll sll2 raw null loop;
 *                               FMT: pcap pcap-ns pcapng)
 *   gencap truncated FILE      10 packets, the last one cut short
 *   gencap steps FILE [START]  UDP traffic over 12 ten-second steps from START
 *                              (Unix seconds, default 1700000000), a different
 *                              rate in each and none in one; prints
 *                              "step END packets N bytes B" per step
 *   gencap rtp FILE            two RTP streams (PCMU, DVI4 16 kHz) with loss,
 *                              reordering, duplicates, jitter, a delay stall
 *                              and sequence/timestamp wraps (decode the
 *                              ports 40000/40002 as RTP)
 *   gencap rtp-sdp FILE        a SIP call whose SDP maps opus/48000 and
 *                              telephone-event; an opus stream with events
 *                              and loss, and a PCMU stream with comfort
 *                              noise and a sequence restart
 *   gencap incident FILE [no-scan|no-drops|ramp]
 *                              the branch-office incident: calls, a TCP/445
 *                              scan saturating the link, calls dropping; or
 *                              one of its controls
 *   gencap sip FILE EXPECTED   SIP calls of every outcome over UDP, TCP (split
 *                              and coalesced), IPv6 with fragments; writes the
 *                              expected calls as JSON to EXPECTED
 *   gencap partial|reuse|unannounced|icmp|ws ...
 *                              the corners of call accounting (gencorners.c)
 *
 * Each prints what a correct analysis finds, one "key value" per line. */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "gencorners.h"
#include "pcapgen.h"
#include "sipgen.h"

static const cw_ns_t T0 = CW_SEC(1700000000);

static void udp_frame(pg_buf_t *frame, int link, unsigned nvlan, const char *src, const char *dst,
                      uint16_t sport, uint16_t dport, const char *text)
{
    cw_addr_t s = pg_addr(src), d = pg_addr(dst);
    uint16_t vlans[2] = { 300, 42 };
    pg_buf_t l4 = { .len = 0 }, ip = { .len = 0 };

    pg_udp(&l4, sport, dport, text, strlen(text));
    if (s.family == 6)
        pg_ipv6(&ip, &s, &d, 17, NULL, 0, l4.data, l4.len);
    else
        pg_ipv4(&ip, &s, &d, 17, 1, 0, 0, l4.data, l4.len);
    frame->len = 0;
    pg_link(frame, link, nvlan, vlans, ip.data, ip.len);
}

static int put(pcapgen_t *g, cw_ns_t *t, const pg_buf_t *f)
{
    *t += 10 * CW_NS_PER_MS;
    return pcapgen_write(g, *t, f->data, (uint32_t)f->len, (uint32_t)f->len);
}

static int gen_mixed(const char *path)
{
    static pg_buf_t frame, frags[8];
    static uint8_t big[3000];
    pcapgen_t *g = pcapgen_open(path, PG_PCAPNG, PG_LINK_ETHERNET, 0);
    cw_ns_t t = T0;
    cw_addr_t s4 = pg_addr("10.0.0.1"), d4 = pg_addr("10.0.0.2");
    cw_addr_t s6 = pg_addr("2001:db8::1"), d6 = pg_addr("2001:db8::2");
    pg_buf_t l4 = { .len = 0 }, ip = { .len = 0 };
    size_t n;
    int rc = 0;

    if (!g)
        return 1;
    for (int i = 0; i < 10; i++) {
        udp_frame(&frame, PG_LINK_ETHERNET, 0, "10.0.0.1", "10.0.0.2", 4000, 4002, "plain");
        rc |= put(g, &t, &frame);
    }
    for (int i = 0; i < 5; i++) {
        udp_frame(&frame, PG_LINK_ETHERNET, 1, "10.0.0.1", "10.0.0.2", 4000, 4002, "vlan");
        rc |= put(g, &t, &frame);
    }
    for (int i = 0; i < 5; i++) {
        udp_frame(&frame, PG_LINK_ETHERNET, 2, "2001:db8::1", "2001:db8::2", 4000, 4002, "qinq");
        rc |= put(g, &t, &frame);
    }
    for (int i = 0; i < 3; i++) {
        l4.len = ip.len = frame.len = 0;
        pg_tcp(&l4, 40000, 5060, 1000u + (uint32_t)i, 1, 0x18, "tcp", 3);
        pg_ipv4(&ip, &s4, &d4, 6, 2, 0, 0, l4.data, l4.len);
        pg_link(&frame, PG_LINK_ETHERNET, 0, NULL, ip.data, ip.len);
        rc |= put(g, &t, &frame);
    }
    for (int i = 0; i < 2; i++) {
        memset(frame.data, 0, 42);
        frame.data[12] = 0x08;
        frame.data[13] = 0x06;
        frame.len = 42;
        rc |= put(g, &t, &frame);
    }
    memset(big, 'x', sizeof(big));
    l4.len = 0;
    pg_udp(&l4, 5060, 5060, big, sizeof(big));
    n = pg_ipv4_fragments(frags, 8, &s4, &d4, 17, 777, l4.data, l4.len, 1480);
    for (size_t i = 0; i < n; i++)
        rc |= put(g, &t, &frags[i]);
    l4.len = 0;
    pg_udp(&l4, 5060, 5060, big, 2000);
    n = pg_ipv6_fragments(frags, 8, &s6, &d6, 17, 778, l4.data, l4.len, 1448);
    for (size_t i = 0; i < n; i++)
        rc |= put(g, &t, &frags[i]);
    /* Malformed: IHL of 4, and a UDP length past the datagram. */
    udp_frame(&frame, PG_LINK_ETHERNET, 0, "10.0.0.1", "10.0.0.2", 4000, 4002, "bad ihl");
    frame.data[14] = 0x44;
    rc |= put(g, &t, &frame);
    udp_frame(&frame, PG_LINK_ETHERNET, 0, "10.0.0.1", "10.0.0.2", 4000, 4002, "bad udp");
    frame.data[14 + 20 + 4] = 0x0f;
    rc |= put(g, &t, &frame);
    rc |= pcapgen_close(g);

    printf("packets 32\nipv4 22\nipv6 7\nnot_ip 2\nreassembled 2\n"
           "malformed.ipv4_bad_header_length 1\nmalformed.udp_bad_length 1\n");
    return rc ? 1 : 0;
}

static int gen_link(const char *type, const char *fmt, const char *path)
{
    static const struct {
        const char *name;
        int link;
    } links[] = { { "ethernet", PG_LINK_ETHERNET }, { "sll", PG_LINK_SLL },
                  { "sll2", PG_LINK_SLL2 },         { "raw", PG_LINK_RAW },
                  { "null", PG_LINK_NULL },         { "loop", PG_LINK_LOOP } };
    enum pg_format f;
    int link = -1;
    pcapgen_t *g;
    pg_buf_t frame;
    cw_ns_t t = T0 + 123456789;
    int rc = 0;

    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
        if (strcmp(type, links[i].name) == 0)
            link = links[i].link;
    if (strcmp(fmt, "pcap") == 0)
        f = PG_PCAP_US;
    else if (strcmp(fmt, "pcap-ns") == 0)
        f = PG_PCAP_NS;
    else if (strcmp(fmt, "pcapng") == 0)
        f = PG_PCAPNG;
    else
        link = -1;
    if (link < 0) {
        fprintf(stderr, "gencap: unknown link type or format\n");
        return 2;
    }
    g = pcapgen_open(path, f, link, 0);
    if (!g)
        return 1;
    for (int i = 0; i < 50; i++) {
        udp_frame(&frame, link, 0, i % 2 ? "2001:db8::10" : "192.0.2.10",
                  i % 2 ? "2001:db8::20" : "192.0.2.20", 5004, 5006, "media");
        rc |= pcapgen_write(g, t + (cw_ns_t)i * 20000001, frame.data, (uint32_t)frame.len,
                            (uint32_t)frame.len);
    }
    rc |= pcapgen_close(g);
    printf("packets 50\nipv4 25\nipv6 25\nudp 50\n");
    return rc ? 1 : 0;
}

static int gen_truncated(const char *path)
{
    pcapgen_t *g = pcapgen_open(path, PG_PCAP_US, PG_LINK_ETHERNET, 0);
    pg_buf_t frame;
    cw_ns_t t = T0;
    FILE *f;
    long size;
    int rc = 0;

    if (!g)
        return 1;
    for (int i = 0; i < 10; i++) {
        udp_frame(&frame, PG_LINK_ETHERNET, 0, "10.0.0.1", "10.0.0.2", 4000, 4002,
                  "a packet that will be cut");
        rc |= put(g, &t, &frame);
    }
    rc |= pcapgen_close(g);
    f = fopen(path, "r");
    if (!f)
        return 1;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    if (truncate(path, size - 20) != 0)
        return 1;
    printf("packets 9\n");
    return rc ? 1 : 0;
}

static int gen_steps(const char *path, const char *start)
{
    /* Packets per step; step 4 is silent. */
    static const int counts[12] = { 3, 17, 40, 8, 0, 25, 1, 12, 33, 5, 20, 9 };
    pcapgen_t *g = pcapgen_open(path, PG_PCAP_NS, PG_LINK_ETHERNET, 0);
    char *end = NULL;
    long long t0 = start ? strtoll(start, &end, 10) : 1700000000LL;
    static char text[1400];
    pg_buf_t frame;
    int rc = 0;

    if (!g || (start && (*end || t0 <= 0 || t0 % 10))) {
        fprintf(stderr, "gencap: START must be positive Unix seconds, a multiple of 10\n");
        return 2;
    }
    memset(text, 'v', sizeof(text) - 1);
    for (int k = 0; k < 12; k++) {
        uint64_t bytes = 0;

        for (int i = 0; i < counts[k]; i++) {
            /* Spread over the step: the first packet exactly at its start
             * (it belongs to this step), the last just before the next. */
            cw_ns_t ts = CW_SEC(t0 + 10 * k) + (cw_ns_t)i * (CW_SEC(10) - 1) / counts[k];
            size_t len = (size_t)(20 + (k * 37 + i * 11) % 1300);

            text[len] = '\0';
            udp_frame(&frame, PG_LINK_ETHERNET, 0, "192.0.2.1", "192.0.2.2", 5004, 5006, text);
            text[len] = 'v';
            rc |= pcapgen_write(g, ts, frame.data, (uint32_t)frame.len, (uint32_t)frame.len);
            bytes += frame.len;
        }
        printf("step %lld packets %d bytes %llu\n", t0 + 10 * (k + 1), counts[k],
               (unsigned long long)bytes);
    }
    rc |= pcapgen_close(g);
    return rc ? 1 : 0;
}

/* ---------------------------------------------------------------- RTP */

struct rtp_send {
    cw_ns_t t;
    unsigned order; /* ties keep the order of creation */
    const char *src, *dst;
    uint16_t sport, dport;
    uint32_t ssrc, ts;
    uint16_t seq;
    uint8_t pt;
    bool marker;
    uint16_t paylen;
};

static struct rtp_send sends[4096];
static unsigned nsends;

static void rtp_send(const char *src, uint16_t sport, const char *dst, uint16_t dport,
                     uint32_t ssrc, uint8_t pt, bool marker, uint16_t seq, uint32_t ts, cw_ns_t t,
                     uint16_t paylen)
{
    struct rtp_send *s = &sends[nsends];

    if (nsends >= sizeof(sends) / sizeof(sends[0]))
        abort();
    *s = (struct rtp_send){ t, nsends, src, dst, sport, dport, ssrc, ts, seq, pt, marker, paylen };
    nsends++;
}

static int send_cmp(const void *a, const void *b)
{
    const struct rtp_send *x = a, *y = b;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->order < y->order ? -1 : 1;
}

/* A deterministic arrival jitter in [0, max_us] microseconds. */
static cw_ns_t lcg_jitter(uint32_t *state, unsigned max_us)
{
    *state = *state * 1103515245u + 12345u;
    return (cw_ns_t)((*state >> 16) % (max_us + 1)) * 1000;
}

static int write_sends(pcapgen_t *g, const pg_buf_t *extra, size_t nextra, cw_ns_t extra_t)
{
    static pg_buf_t frame;
    uint8_t pkt[1500];
    int rc = 0;

    for (size_t i = 0; i < nextra; i++)
        rc |= pcapgen_write(g, extra_t + (cw_ns_t)i * CW_NS_PER_MS, extra[i].data,
                            (uint32_t)extra[i].len, (uint32_t)extra[i].len);
    qsort(sends, nsends, sizeof(sends[0]), send_cmp);
    for (unsigned i = 0; i < nsends; i++) {
        const struct rtp_send *s = &sends[i];

        pkt[0] = 0x80;
        pkt[1] = (uint8_t)((s->marker ? 0x80 : 0) | s->pt);
        pkt[2] = (uint8_t)(s->seq >> 8);
        pkt[3] = (uint8_t)s->seq;
        for (int b = 0; b < 4; b++) {
            pkt[4 + b] = (uint8_t)(s->ts >> (24 - 8 * b));
            pkt[8 + b] = (uint8_t)(s->ssrc >> (24 - 8 * b));
        }
        memset(pkt + 12, s->pt == 101 ? 0x01 : 0xd5, s->paylen);
        pg_eth_udp(&frame, s->src, s->sport, s->dst, s->dport, pkt, 12u + s->paylen);
        rc |= pcapgen_write(g, s->t, frame.data, (uint32_t)frame.len, (uint32_t)frame.len);
    }
    return rc;
}

/* Two streams whose every impairment is known:
 * A: PCMU 10.1.0.1:40000 -> 10.1.0.2:40002, 600 packets of 20 ms, sequence
 *    from 65300 (wraps), timestamp from 0xffff0000 (wraps), 0-8 ms arrival
 *    jitter; 12 single losses (every 50th from 7) and a burst of 5
 *    (300-304); pairs 100/101, 200/201, 400/401 swapped; 150 and 450
 *    duplicated; marker at 0 and 500.
 * B: DVI4 16 kHz 10.1.0.2:40002 -> 10.1.0.1:40000, 300 packets of 20 ms, no
 *    jitter but a stall: 150-155 held and released together 3 ms before
 *    156 is due, so a 60 ms jitter buffer discards 150 (117 ms late), 151
 *    (97.5) and 152 (78), then re-synchronises. */
static int gen_rtp(const char *path)
{
    pcapgen_t *g = pcapgen_open(path, PG_PCAP_US, PG_LINK_ETHERNET, 0);
    uint32_t lcg = 42;
    unsigned sent_a = 0;
    int rc;

    if (!g)
        return 1;
    nsends = 0;
    for (unsigned i = 0; i < 600; i++) {
        cw_ns_t t = T0 + (cw_ns_t)i * 20 * CW_NS_PER_MS + lcg_jitter(&lcg, 8000);
        uint16_t seq = (uint16_t)(65300u + i);
        uint32_t ts = 0xffff0000u + i * 160u;
        bool mark = i == 0 || i == 500;

        if (i % 50 == 7 || (i >= 300 && i <= 304))
            continue;
        if (i == 100 || i == 200 || i == 400) /* arrives after its successor */
            t = T0 + (cw_ns_t)(i + 1) * 20 * CW_NS_PER_MS + 9 * CW_NS_PER_MS;
        rtp_send("10.1.0.1", 40000, "10.1.0.2", 40002, 0x11223344, 0, mark, seq, ts, t, 160);
        sent_a++;
        if (i == 150 || i == 450) {
            rtp_send("10.1.0.1", 40000, "10.1.0.2", 40002, 0x11223344, 0, mark, seq, ts,
                     t + CW_NS_PER_MS, 160);
            sent_a++;
        }
    }
    for (unsigned i = 0; i < 300; i++) {
        cw_ns_t t = T0 + 5 * CW_NS_PER_MS + (cw_ns_t)i * 20 * CW_NS_PER_MS;

        if (i >= 150 && i <= 155)
            t = T0 + 2 * CW_NS_PER_MS + 156 * 20 * CW_NS_PER_MS + (cw_ns_t)(i - 150) * 500000;
        rtp_send("10.1.0.2", 40002, "10.1.0.1", 40000, 0x55667788, 6, i == 0, (uint16_t)(1000 + i),
                 7000u + i * 320u, t, 160);
    }
    rc = write_sends(g, NULL, 0, 0);
    rc |= pcapgen_close(g);
    printf("stream 10.1.0.1 40000 10.1.0.2 40002 0x11223344 packets=%u expected=600 lost=17 "
           "dups=2 ooo=3 resets=0 events=0 cn=0 jb_discarded=0\n",
           sent_a);
    printf("stream 10.1.0.2 40002 10.1.0.1 40000 0x55667788 packets=300 expected=300 lost=0 "
           "dups=0 ooo=0 resets=0 events=0 cn=0 jb_discarded=3\n");
    return rc ? 1 : 0;
}

static void sip_with_sdp(pg_buf_t *frame, const char *src, const char *dst, const char *first,
                         uint16_t media_port)
{
    char sdp[512], msg[1400];
    int n;

    n = snprintf(sdp, sizeof(sdp),
                 "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                 "m=audio %u RTP/AVP 111 0 101 13\r\na=rtpmap:111 opus/48000/2\r\n"
                 "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
                 "a=rtpmap:13 CN/8000\r\n",
                 src, src, media_port);
    snprintf(msg, sizeof(msg),
             "%s\r\nVia: SIP/2.0/UDP 10.2.0.1:5060;branch=z9hG4bK1\r\n"
             "From: <sip:a@10.2.0.1>;tag=1\r\nTo: <sip:b@10.2.0.2>%s\r\n"
             "Call-ID: gencap-rtp-sdp@10.2.0.1\r\nCSeq: 1 INVITE\r\n"
             "Contact: <sip:a@%s>\r\nContent-Type: application/sdp\r\n"
             "Content-Length: %d\r\n\r\n%s",
             first, first[0] == 'S' ? ";tag=2" : "", src, n, sdp);
    pg_eth_udp(frame, src, 5060, dst, 5060, msg, strlen(msg));
}

/* A SIP call (INVITE and 200 with SDP), then:
 * C: opus 10.2.0.1:30000 -> 10.2.0.2:30002, 400 packets of 20 ms (48 kHz
 *    clock), 0-5 ms jitter, RFC 4733 events in place of voice 100-109
 *    (timestamp held at the event start), 50, 250 and 350 lost.
 * D: PCMU 10.2.0.2:30002 -> 10.2.0.1:30000: 100 voice packets, silence sent
 *    as 10 comfort noise packets 100 ms apart, 200 voice packets from a
 *    marker, then the sender restarts sequence and timestamp at 0 for 100
 *    more: one reset, no loss. */
static int gen_rtp_sdp(const char *path)
{
    pcapgen_t *g = pcapgen_open(path, PG_PCAPNG, PG_LINK_ETHERNET, 0);
    static pg_buf_t sip[2];
    uint32_t lcg = 7;
    unsigned sent_c = 0, sent_d = 0;
    cw_ns_t t;
    uint16_t seq;
    uint32_t ts;
    int rc;

    if (!g)
        return 1;
    nsends = 0;
    sip_with_sdp(&sip[0], "10.2.0.1", "10.2.0.2", "INVITE sip:b@10.2.0.2 SIP/2.0", 30000);
    sip_with_sdp(&sip[1], "10.2.0.2", "10.2.0.1", "SIP/2.0 200 OK", 30002);
    for (unsigned i = 0; i < 400; i++) {
        bool event = i >= 100 && i <= 109;

        t = T0 + CW_NS_PER_SEC + (cw_ns_t)i * 20 * CW_NS_PER_MS + lcg_jitter(&lcg, 5000);
        if (i == 50 || i == 250 || i == 350)
            continue;
        rtp_send("10.2.0.1", 30000, "10.2.0.2", 30002, 0xC0C0C0C0, event ? 101 : 111,
                 i == 0 || i == 100, (uint16_t)(20000 + i), event ? 100u * 960u : 1234u + i * 960u,
                 t, event ? 4 : 80);
        sent_c++;
    }
    t = T0 + CW_NS_PER_SEC + 3 * CW_NS_PER_MS;
    seq = 40000;
    ts = 160000;
    for (unsigned i = 0; i < 410; i++) {
        bool cn = i >= 100 && i < 110;

        rtp_send("10.2.0.2", 30002, "10.2.0.1", 30000, 0xD0D0D0D0, cn ? 13 : 0, i == 0 || i == 110,
                 seq++, ts, t, cn ? 1 : 160);
        sent_d++;
        /* Comfort noise every 100 ms; voice every 20 ms. */
        t += (cn ? 100 : 20) * CW_NS_PER_MS;
        ts += cn ? 800 : 160;
        if (i == 309) { /* the sender restarts */
            seq = 0;
            ts = 0;
        }
    }
    rc = write_sends(g, sip, 2, T0);
    rc |= pcapgen_close(g);
    printf("stream 10.2.0.1 30000 10.2.0.2 30002 0xC0C0C0C0 packets=%u expected=400 lost=3 "
           "dups=0 ooo=0 resets=0 events=10 cn=0 jb_discarded=0\n",
           sent_c);
    printf("stream 10.2.0.2 30002 10.2.0.1 30000 0xD0D0D0D0 packets=%u expected=410 lost=0 "
           "dups=0 ooo=0 resets=1 events=0 cn=10 jb_discarded=0\n",
           sent_d);
    return rc ? 1 : 0;
}

static json_t *expect;

static void want(const char *call_id, const char *outcome, int code, const char *reason,
                 double setup_ms)
{
    json_t *o = json_object();

    json_object_set_new(o, "call_id", json_string(call_id));
    json_object_set_new(o, "outcome", json_string(outcome));
    json_object_set_new(o, "sip_code", code ? json_integer(code) : json_null());
    json_object_set_new(o, "end_reason", reason ? json_string(reason) : json_null());
    json_object_set_new(o, "setup_ms",
                        setup_ms >= 0 ? json_integer((json_int_t)setup_ms) : json_null());
    json_array_append_new(expect, o);
}

/* INVITE (SDP) / 100 / 180 / 200 (SDP) / ACK from t0; returns the answer time. */
static double answered_call(sipgen_t *g, sg_call_t *c, double t0, double ring)
{
    sg_request(g, c, t0, "INVITE", 1, true, false, true, NULL);
    sg_response(g, c, t0 + 0.01, 100, "Trying", 1, "INVITE", true, false, false, NULL);
    sg_response(g, c, t0 + 0.05, 180, "Ringing", 1, "INVITE", true, true, false, NULL);
    sg_response(g, c, t0 + ring, 200, "OK", 1, "INVITE", true, true, true, NULL);
    sg_request(g, c, t0 + ring + 0.01, "ACK", 1, true, true, false, NULL);
    return t0 + ring;
}

static void bye(sipgen_t *g, sg_call_t *c, double t, bool from_caller, const char *extra, int code)
{
    sg_request(g, c, t, "BYE", 2, from_caller, true, false, extra);
    sg_response(g, c, t + 0.01, code, code == 200 ? "OK" : "Call/Transaction Does Not Exist", 2,
                "BYE", !from_caller, true, false, NULL);
}

static int gen_sip(const char *path, const char *expected)
{
    sipgen_t *g = sipgen_new();
    sg_call_t c;
    FILE *f;
    int rc;

    expect = json_array();

    /* Answered, caller hangs up. */
    sg_call_init(&c, "basic-1", "10.1.0.10", "10.2.0.20", SG_UDP);
    answered_call(g, &c, 1.0, 2.5);
    bye(g, &c, 10.0, true, NULL, 200);
    want("basic-1", "answered", 200, "bye", 2500);

    /* Busy and unavailable. */
    sg_call_init(&c, "busy-486", "10.1.0.11", "10.2.0.21", SG_UDP);
    sg_request(g, &c, 2.0, "INVITE", 1, true, false, true, NULL);
    sg_response(g, &c, 2.1, 100, "Trying", 1, "INVITE", true, false, false, NULL);
    sg_response(g, &c, 2.4, 486, "Busy Here", 1, "INVITE", true, true, false, NULL);
    sg_request(g, &c, 2.41, "ACK", 1, true, true, false, NULL);
    want("busy-486", "failed", 486, "sip_error", -1);

    sg_call_init(&c, "unavail-503", "10.1.0.12", "10.2.0.22", SG_UDP);
    sg_request(g, &c, 3.0, "INVITE", 1, true, false, true, NULL);
    sg_response(g, &c, 3.2, 503, "Service Unavailable", 1, "INVITE", true, false, false, NULL);
    sg_request(g, &c, 3.21, "ACK", 1, true, false, false, NULL);
    want("unavail-503", "failed", 503, "sip_error", -1);

    /* CANCEL while ringing, 487 follows. */
    sg_call_init(&c, "cancel-487", "10.1.0.13", "10.2.0.23", SG_UDP);
    sg_request(g, &c, 4.0, "INVITE", 1, true, false, true, NULL);
    sg_response(g, &c, 4.1, 180, "Ringing", 1, "INVITE", true, true, false, NULL);
    sg_request(g, &c, 6.0, "CANCEL", 1, true, false, false, NULL);
    sg_response(g, &c, 6.01, 200, "OK", 1, "CANCEL", true, true, false, NULL);
    sg_response(g, &c, 6.02, 487, "Request Terminated", 1, "INVITE", true, true, false, NULL);
    sg_request(g, &c, 6.03, "ACK", 1, true, true, false, NULL);
    want("cancel-487", "cancelled", 487, "cancel", -1);

    /* CANCEL then 408: still cancelled. */
    sg_call_init(&c, "cancel-408", "10.1.0.14", "10.2.0.24", SG_UDP);
    sg_request(g, &c, 5.0, "INVITE", 1, true, false, true, NULL);
    sg_request(g, &c, 5.5, "CANCEL", 1, true, false, false, NULL);
    sg_response(g, &c, 8.0, 408, "Request Timeout", 1, "INVITE", true, true, false, NULL);
    want("cancel-408", "cancelled", 408, "cancel", -1);

    /* 407 challenge, then the INVITE with credentials is answered: one
     * call; setup time runs from the first INVITE. */
    sg_call_init(&c, "challenge", "10.1.0.15", "10.2.0.25", SG_UDP);
    sg_request(g, &c, 6.0, "INVITE", 1, true, false, true, NULL);
    sg_response(g, &c, 6.05, 407, "Proxy Authentication Required", 1, "INVITE", true, true, false,
                NULL);
    sg_request(g, &c, 6.06, "ACK", 1, true, true, false, NULL);
    sg_request(g, &c, 6.1, "INVITE", 2, true, false, true,
               "Proxy-Authorization: Digest username=\"alice\", realm=\"x\", nonce=\"1\", "
               "uri=\"sip:bob@example.com\", response=\"00\"\r\n");
    sg_response(g, &c, 7.1, 200, "OK", 2, "INVITE", true, true, true, NULL);
    sg_request(g, &c, 7.11, "ACK", 2, true, true, false, NULL);
    sg_request(g, &c, 12.0, "BYE", 3, false, true, false, NULL);
    sg_response(g, &c, 12.01, 200, "OK", 3, "BYE", false, true, false, NULL);
    want("challenge", "answered", 200, "bye", 1100);

    /* INVITE retransmitted twice before the answer. */
    sg_call_init(&c, "retrans", "10.1.0.16", "10.2.0.26", SG_UDP);
    sg_request(g, &c, 7.0, "INVITE", 1, true, false, true, NULL);
    sg_request(g, &c, 7.5, "INVITE", 1, true, false, true, NULL);
    sg_request(g, &c, 8.5, "INVITE", 1, true, false, true, NULL);
    sg_response(g, &c, 9.0, 200, "OK", 1, "INVITE", true, true, true, NULL);
    sg_request(g, &c, 9.01, "ACK", 1, true, true, false, NULL);
    bye(g, &c, 15.0, true, NULL, 200);
    want("retrans", "answered", 200, "bye", 2000);

    /* Forked: two early dialogs, one answers. */
    sg_call_init(&c, "fork", "10.1.0.17", "10.2.0.27", SG_UDP);
    sg_request(g, &c, 8.0, "INVITE", 1, true, false, true, NULL);
    snprintf(c.to_tag, sizeof(c.to_tag), "fork-a");
    sg_response(g, &c, 8.1, 180, "Ringing", 1, "INVITE", true, true, false, NULL);
    snprintf(c.to_tag, sizeof(c.to_tag), "fork-b");
    sg_response(g, &c, 8.2, 183, "Session Progress", 1, "INVITE", true, true, true, NULL);
    sg_response(g, &c, 9.5, 200, "OK", 1, "INVITE", true, true, true, NULL);
    sg_request(g, &c, 9.51, "ACK", 1, true, true, false, NULL);
    bye(g, &c, 16.0, false, NULL, 200);
    want("fork", "answered", 200, "bye", 1500);

    /* BYE with an error cause: dropped.  With normal clearing: answered. */
    sg_call_init(&c, "bye-cause-41", "10.1.0.18", "10.2.0.28", SG_UDP);
    answered_call(g, &c, 9.0, 1.0);
    bye(g, &c, 14.0, false, "Reason: Q.850;cause=41;text=\"Temporary failure\"\r\n", 200);
    want("bye-cause-41", "dropped", 200, "bye_error", 1000);

    sg_call_init(&c, "bye-cause-16", "10.1.0.19", "10.2.0.29", SG_UDP);
    answered_call(g, &c, 9.5, 1.0);
    bye(g, &c, 14.5, true, "Reason: Q.850;cause=16;text=\"Normal call clearing\"\r\n", 200);
    want("bye-cause-16", "answered", 200, "bye", 1000);

    /* 408 to a re-INVITE, and 481 to a BYE: dropped. */
    sg_call_init(&c, "reinvite-408", "10.1.0.20", "10.2.0.30", SG_UDP);
    answered_call(g, &c, 10.0, 0.5);
    sg_request(g, &c, 20.0, "INVITE", 2, true, true, true, NULL);
    sg_response(g, &c, 52.0, 408, "Request Timeout", 2, "INVITE", true, true, false, NULL);
    want("reinvite-408", "dropped", 200, "in_dialog_408", 500);

    sg_call_init(&c, "bye-481", "10.1.0.21", "10.2.0.31", SG_UDP);
    answered_call(g, &c, 10.5, 0.5);
    bye(g, &c, 18.0, true, NULL, 481);
    want("bye-481", "dropped", 200, "in_dialog_481", 500);

    /* No answer at all: unanswered after the 32 s INVITE timeout. */
    sg_call_init(&c, "no-answer", "10.1.0.22", "10.2.0.32", SG_UDP);
    sg_request(g, &c, 11.0, "INVITE", 1, true, false, true, NULL);
    sg_request(g, &c, 11.5, "INVITE", 1, true, false, true, NULL);
    want("no-answer", "unanswered", 0, "timeout", -1);

    /* Ringing when the capture ends, and answered with no BYE: active. */
    sg_call_init(&c, "ringing-at-end", "10.1.0.23", "10.2.0.33", SG_UDP);
    sg_request(g, &c, 50.0, "INVITE", 1, true, false, true, NULL);
    sg_response(g, &c, 50.1, 180, "Ringing", 1, "INVITE", true, true, false, NULL);
    want("ringing-at-end", "active", 0, NULL, -1);

    sg_call_init(&c, "up-at-end", "10.1.0.24", "10.2.0.34", SG_UDP);
    answered_call(g, &c, 51.0, 1.5);
    want("up-at-end", "active", 200, NULL, 1500);

    /* SIP over TCP: messages split into 100-byte segments... */
    sg_call_init(&c, "tcp-split", "10.1.0.25", "10.2.0.35", SG_TCP);
    c.tcp_chunk = 100;
    answered_call(g, &c, 12.0, 3.0);
    bye(g, &c, 22.0, true, NULL, 200);
    want("tcp-split", "answered", 200, "bye", 3000);

    /* ...and several messages in one segment, with a retransmitted one. */
    sg_call_init(&c, "tcp-coalesced", "10.1.0.26", "10.2.0.36", SG_TCP);
    c.caller_port = 40123; /* SIP on any port */
    c.callee_port = 5080;
    sg_request(g, &c, 13.0, "INVITE", 1, true, false, true, NULL);
    {
        /* 100 + 180 + 486 back to back in one segment. */
        char buf[8192];
        size_t n = 0;

        n += (size_t)snprintf(
            buf + n, sizeof(buf) - n,
            "SIP/2.0 100 Trying\r\nVia: SIP/2.0/TCP 10.1.0.26:5060;branch=z9hG4bK-1\r\n"
            "From: <sip:alice@example.com>;tag=%s\r\nTo: <sip:bob@example.com>\r\n"
            "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
            c.from_tag, c.call_id);
        n += (size_t)snprintf(
            buf + n, sizeof(buf) - n,
            "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/TCP 10.1.0.26:5060;branch=z9hG4bK-1\r\n"
            "From: <sip:alice@example.com>;tag=%s\r\nTo: <sip:bob@example.com>;tag=%s\r\n"
            "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
            c.from_tag, c.to_tag, c.call_id);
        n += (size_t)snprintf(
            buf + n, sizeof(buf) - n,
            "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/TCP 10.1.0.26:5060;branch=z9hG4bK-1\r\n"
            "From: <sip:alice@example.com>;tag=%s\r\nTo: <sip:bob@example.com>;tag=%s\r\n"
            "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
            c.from_tag, c.to_tag, c.call_id);
        sg_tcp_raw(g, &c, 13.5, false, buf, n);
        /* The same segment again: a retransmission, not three more messages. */
        c.seq[1] -= (uint32_t)n;
        sg_tcp_raw(g, &c, 13.7, false, buf, n);
    }
    sg_request(g, &c, 13.8, "ACK", 1, true, true, false, NULL);
    want("tcp-coalesced", "failed", 486, "sip_error", -1);

    /* IPv6, the INVITE fragmented. */
    sg_call_init(&c, "ipv6-frag", "2001:db8:1::10", "2001:db8:2::20", SG_UDP);
    c.fragment_mtu = 496;
    answered_call(g, &c, 14.0, 1.25);
    bye(g, &c, 24.0, true, NULL, 200);
    want("ipv6-frag", "answered", 200, "bye", 1250);

    /* IPv4, fragmented too. */
    sg_call_init(&c, "ipv4-frag", "10.1.0.27", "10.2.0.37", SG_UDP);
    c.fragment_mtu = 600;
    answered_call(g, &c, 15.0, 0.75);
    bye(g, &c, 25.0, false, NULL, 200);
    want("ipv4-frag", "answered", 200, "bye", 750);

    /* 100rel: 183 with SDP, PRACK, UPDATE with new SDP, then 200. */
    sg_call_init(&c, "prack-update", "10.1.0.28", "10.2.0.38", SG_UDP);
    sg_request(g, &c, 16.0, "INVITE", 1, true, false, true, "Supported: 100rel\r\n");
    sg_response(g, &c, 16.2, 183, "Session Progress", 1, "INVITE", true, true, true,
                "Require: 100rel\r\nRSeq: 1\r\n");
    sg_request(g, &c, 16.3, "PRACK", 2, true, true, false, "RAck: 1 1 INVITE\r\n");
    sg_response(g, &c, 16.31, 200, "OK", 2, "PRACK", true, true, false, NULL);
    sg_request(g, &c, 16.5, "UPDATE", 3, true, true, true, NULL);
    sg_response(g, &c, 16.51, 200, "OK", 3, "UPDATE", true, true, true, NULL);
    sg_response(g, &c, 18.0, 200, "OK", 1, "INVITE", true, true, false, NULL);
    sg_request(g, &c, 18.01, "ACK", 1, true, true, false, NULL);
    sg_request(g, &c, 26.0, "BYE", 4, true, true, false, NULL);
    sg_response(g, &c, 26.01, 200, "OK", 4, "BYE", true, true, false, NULL);
    want("prack-update", "answered", 200, "bye", 2000);

    /* Not calls: a REGISTER and an OPTIONS ping. */
    sg_call_init(&c, "register-1", "10.1.0.29", "10.2.0.1", SG_UDP);
    sg_request(g, &c, 17.0, "REGISTER", 1, true, false, false, "Expires: 3600\r\n");
    sg_response(g, &c, 17.1, 200, "OK", 1, "REGISTER", true, true, false, NULL);
    sg_request(g, &c, 17.2, "OPTIONS", 2, true, false, false, NULL);

    /* Something that looks nearly like SIP but is not: ignored. */
    sg_udp(g, 17.5, "10.1.0.30", 5060, "10.2.0.1", 5060, "NOTSIP garbage\r\n\r\n", 18);

    /* The capture runs on to 60 s so the INVITE timeout fires. */
    sg_call_init(&c, "late-register", "10.1.0.31", "10.2.0.1", SG_UDP);
    sg_request(g, &c, 60.0, "REGISTER", 1, true, false, false, NULL);

    rc = sipgen_write(g, path, false);
    sipgen_free(g);
    f = fopen(expected, "w");
    if (!f || json_dumpf(expect, f, JSON_INDENT(2)) != 0)
        rc = -1;
    if (f)
        fclose(f);
    printf("calls %zu\n", json_array_size(expect));
    json_decref(expect);
    return rc ? 1 : 0;
}

/* Background traffic: one UDP flow of `bps` from t0 to t1, 50 packets/s. */
static void background(sipgen_t *g, double t0, double t1, double bps0, double bps1)
{
    static uint8_t pad[1400];

    for (double t = t0; t < t1; t += 0.02) {
        double bps = bps0 + (bps1 - bps0) * (t - t0) / (t1 - t0);
        size_t len = (size_t)(bps / 8 / 50);

        if (len < 20)
            len = 20;
        if (len > sizeof(pad))
            len = sizeof(pad);
        sg_udp(g, t, "10.10.0.5", 3000, "198.51.100.7", 3000, pad, len);
    }
}

/* A bounded SYN scan: `pps` SYNs a second to distinct addresses on 445. */
static void scan(sipgen_t *g, double t0, double t1, int pps)
{
    static pg_buf_t l4;
    unsigned n = 0;

    for (double t = t0; t < t1; t += 1.0 / pps, n++) {
        char dst[32];
        cw_addr_t s = pg_addr("10.20.0.17"), d;
        pg_buf_t ip = { .len = 0 }, frame = { .len = 0 };

        snprintf(dst, sizeof(dst), "203.%u.%u.%u", (n >> 16) & 255, (n >> 8) & 255, n & 255);
        d = pg_addr(dst);
        l4.len = 0;
        pg_tcp(&l4, (uint16_t)(40000 + n % 20000), 445, n * 7919u, 0, 0x02, NULL, 0);
        pg_ipv4(&ip, &s, &d, 6, (uint16_t)n, 0, 0, l4.data, l4.len);
        pg_link(&frame, PG_LINK_ETHERNET, 0, NULL, ip.data, ip.len);
        sg_frame(g, t, &frame);
    }
}

static int gen_incident(const char *path, const char *variant)
{
    sipgen_t *g = sipgen_new();
    bool no_scan = variant && !strcmp(variant, "no-scan");
    bool no_drops = variant && !strcmp(variant, "no-drops");
    bool ramp = variant && !strcmp(variant, "ramp");
    int rc;

    if (variant && !no_scan && !no_drops && !ramp) {
        fprintf(stderr, "gencap: incident variant is no-scan, no-drops or ramp\n");
        sipgen_free(g);
        return 2;
    }
    /* 20 minutes: steady background traffic (or, for "ramp", traffic
     * that grows tenfold over the whole capture: no spike). */
    if (ramp)
        background(g, 0, 1200, 200e3, 2000e3);
    else
        background(g, 0, 1200, 200e3, 200e3);
    /* A call every 20 s, each lasting three minutes. */
    for (int i = 0; i < 50; i++) {
        sg_call_t c;
        char id[32], a[32], b[32];
        double t0 = 5 + i * 20, end = t0 + 180;
        /* Calls up when the link saturates (at 600 s) drop 20-60 s in. */
        bool drop = !no_drops && !ramp && t0 < 620 && end > 630 && i % 2 == 0;

        snprintf(id, sizeof(id), "call-%02d", i);
        snprintf(a, sizeof(a), "10.20.1.%d", 10 + i);
        snprintf(b, sizeof(b), "192.0.2.%d", 10 + i);
        sg_call_init(&c, id, a, b, SG_UDP);
        answered_call(g, &c, t0, 2.0);
        if (drop)
            bye(g, &c, 630 + (i % 8) * 4, false,
                "Reason: Q.850;cause=38;text=\"Network out of order\"\r\n", 200);
        else
            bye(g, &c, end, true, NULL, 200);
    }
    if (!no_scan && !ramp)
        scan(g, 600, 720, 1500);
    rc = sipgen_write(g, path, false);
    printf("packets %zu\n", sipgen_packets(g));
    sipgen_free(g);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    int rc;

    if (argc == 3 && strcmp(argv[1], "mixed") == 0)
        return gen_mixed(argv[2]);
    if (argc == 5 && strcmp(argv[1], "link") == 0)
        return gen_link(argv[2], argv[3], argv[4]);
    if (argc == 3 && strcmp(argv[1], "truncated") == 0)
        return gen_truncated(argv[2]);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "incident") == 0)
        return gen_incident(argv[2], argc == 4 ? argv[3] : NULL);
    if (argc == 4 && strcmp(argv[1], "sip") == 0)
        return gen_sip(argv[2], argv[3]);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "steps") == 0)
        return gen_steps(argv[2], argc == 4 ? argv[3] : NULL);
    if (argc == 3 && strcmp(argv[1], "rtp") == 0)
        return gen_rtp(argv[2]);
    if (argc == 3 && strcmp(argv[1], "rtp-sdp") == 0)
        return gen_rtp_sdp(argv[2]);
    if ((rc = gencorners(argc, argv)) >= 0)
        return rc;
    fprintf(stderr, "usage: gencap mixed FILE | link TYPE FMT FILE | truncated FILE | "
                    "sip FILE EXPECTED | incident FILE [no-scan|no-drops|ramp] | rtp FILE | "
                    "rtp-sdp FILE | steps FILE [START] | partial FILE EXPECTED | "
                    "reuse FILE1 FILE2 EXPECTED | unannounced FILE | icmp FILE | "
                    "ws FILE EXPECTED\n");
    return 2;
}
