/* RTP: header parsing and every truncation, RTCP demultiplexing, payload
 * types, the detector, and the per-stream statistics (sequence accounting,
 * jitter against hand-computed values, clock rates, events and comfort
 * noise, the jitter buffer and the MOS). */
#include "autoconf.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media/rtp.h"
#include "media/rtpdetect.h"
#include "media/rtpstats.h"

#define MS CW_NS_PER_MS
static const cw_ns_t T0 = CW_SEC(1700000000);

static size_t build(uint8_t *b, uint8_t pt, bool marker, uint16_t seq, uint32_t ts, uint32_t ssrc,
                    size_t paylen)
{
    b[0] = 0x80;
    b[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    for (int i = 0; i < 4; i++) {
        b[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
        b[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    }
    memset(b + 12, 0xd5, paylen);
    return 12 + paylen;
}

/* Parses a built packet and feeds it. */
static void feed(rtpstats_t *st, cw_ns_t t, uint8_t pt, bool marker, uint16_t seq, uint32_t ts,
                 uint32_t ssrc)
{
    uint8_t b[200];
    rtp_hdr_t h;
    size_t n = build(b, pt, marker, seq, ts, ssrc, 160);

    assert_int_equal(rtp_parse(b, n, &h), 0);
    assert_int_equal(rtpstats_packet(st, t, &h), 0);
}

/* ================================================================ parsing */

/* A packet with 2 CSRCs, a 2-word extension, 20 bytes of payload and 4 of
 * padding: 12 + 8 + 4 + 8 + 20 + 4 = 56 bytes. */
static size_t full_packet(uint8_t *b)
{
    size_t n = build(b, 8, true, 4660, 0xdeadbeef, 0x01020304, 0);

    b[0] = 0x80 | 0x20 | 0x10 | 2;
    memcpy(b + n, "\x11\x11\x11\x11\x22\x22\x22\x22", 8);
    n += 8;
    memcpy(b + n,
           "\xbe\xde\x00\x02"
           "abcdefgh",
           12);
    n += 12;
    memset(b + n, 0x55, 20);
    n += 20;
    memcpy(b + n, "\0\0\0\x04", 4);
    return n + 4;
}

static void test_parse_full(void **state)
{
    uint8_t b[64];
    size_t n = full_packet(b);
    rtp_hdr_t h;

    (void)state;
    assert_int_equal(n, 56);
    assert_int_equal(rtp_parse(b, n, &h), 0);
    assert_int_equal(h.version, 2);
    assert_true(h.padding && h.extension && h.marker);
    assert_int_equal(h.cc, 2);
    assert_int_equal(h.csrc[0], 0x11111111);
    assert_int_equal(h.csrc[1], 0x22222222);
    assert_int_equal(h.pt, 8);
    assert_int_equal(h.seq, 4660);
    assert_int_equal(h.ts, 0xdeadbeef);
    assert_int_equal(h.ssrc, 0x01020304);
    assert_int_equal(h.ext_profile, 0xbede);
    assert_int_equal(h.ext_len, 8);
    assert_memory_equal(h.ext_data, "abcdefgh", 8);
    assert_int_equal(h.pad_len, 4);
    assert_ptr_equal(h.payload, b + 32);
    assert_int_equal(h.payload_len, 20);
}

/* Every truncation: below the headers it is malformed; from there on the
 * padding octet read is whatever ends the buffer, so the packet may parse,
 * but the payload must stay inside the buffer.  Each cut is its own heap
 * block so that ASan catches a read past it. */
static void test_parse_truncations(void **state)
{
    uint8_t b[64];
    size_t n = full_packet(b);

    (void)state;
    for (size_t len = 0; len <= n; len++) {
        uint8_t *cut = test_malloc(len ? len : 1);
        rtp_hdr_t h;
        int rc;

        memcpy(cut, b, len);
        rc = rtp_parse(cut, len, &h);
        if (len < 32 && rc != -EINVAL)
            fail_msg("cut to %zu bytes: rc %d", len, rc);
        if (rc == 0 && (h.payload < cut + 32 || h.payload + h.payload_len > cut + len))
            fail_msg("cut to %zu bytes: payload outside the buffer", len);
        if (len == n)
            assert_int_equal(rc, 0);
        test_free(cut);
    }
    /* Without padding, every length from the headers on parses. */
    b[0] &= (uint8_t)~0x20;
    for (size_t len = 32; len <= n; len++) {
        rtp_hdr_t h;

        assert_int_equal(rtp_parse(b, len, &h), 0);
        assert_int_equal(h.payload_len, len - 32);
    }
}

struct parse_case {
    const char *what;
    uint8_t b[24];
    size_t len;
    int rc;
    size_t payload_len;
};

static const struct parse_case parse_cases[] = {
    { "minimal", { 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 }, 12, 0, 0 },
    { "payload", { 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9, 9 }, 15, 0, 3 },
    { "version 1", { 0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 }, 12, -EINVAL, 0 },
    { "version 0 (STUN)", { 0x00, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0 }, 12, -EINVAL, 0 },
    { "11 bytes", { 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0 }, 11, -EINVAL, 0 },
    { "CSRC past the end", { 0x81, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3 }, 15, -EINVAL, 0 },
    { "15 CSRCs, none there", { 0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 }, 12, -EINVAL, 0 },
    { "extension header cut",
      { 0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde },
      14,
      -EINVAL,
      0 },
    { "extension longer than the packet",
      { 0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff, 0, 0, 0, 0 },
      20,
      -EINVAL,
      0 },
    { "empty extension", { 0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 0, 7 }, 17, 0, 1 },
    { "padding 0", { 0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 0 }, 15, -EINVAL, 0 },
    { "padding past the payload",
      { 0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 4 },
      15,
      -EINVAL,
      0 },
    { "padding without payload", { 0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 }, 12, -EINVAL, 0 },
    { "all padding", { 0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 3 }, 15, 0, 0 },
    { "padding 1", { 0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 5, 5, 1 }, 15, 0, 2 },
};

static void test_parse_cases(void **state)
{
    rtp_hdr_t h;

    (void)state;
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const struct parse_case *c = &parse_cases[i];
        int rc = rtp_parse(c->b, c->len, &h);

        if (rc != c->rc)
            fail_msg("%s: rc %d, want %d", c->what, rc, c->rc);
        if (rc == 0 && h.payload_len != c->payload_len)
            fail_msg("%s: payload %zu, want %zu", c->what, h.payload_len, c->payload_len);
    }
    assert_int_equal(rtp_parse(NULL, 12, &h), -EINVAL);
}

struct rtcp_case {
    uint8_t b[8];
    size_t len;
    bool rtcp;
};

static const struct rtcp_case rtcp_cases[] = {
    { { 0x80, 200, 0, 6, 1, 2, 3, 4 }, 8, true }, /* SR */
    { { 0x81, 201, 0, 7, 1, 2, 3, 4 }, 8, true }, /* RR */
    { { 0x80, 207, 0, 7, 1, 2, 3, 4 }, 8, true }, /* XR */
    { { 0x80, 192, 0, 1, 1, 2, 3, 4 }, 8, true }, /* the range's ends */
    { { 0x80, 223, 0, 1, 1, 2, 3, 4 }, 8, true },
    { { 0x80, 224, 0, 1, 1, 2, 3, 4 }, 8, false },  /* RTP PT 96 with marker */
    { { 0x80, 191, 0, 1, 1, 2, 3, 4 }, 8, false },  /* RTP PT 63 with marker */
    { { 0x80, 0x08, 0, 1, 1, 2, 3, 4 }, 8, false }, /* RTP PCMA */
    { { 0x80, 0x80, 0, 1, 1, 2, 3, 4 }, 8, false }, /* RTP PCMU with marker */
    { { 0x40, 200, 0, 6, 1, 2, 3, 4 }, 8, false },  /* version 1 */
    { { 0x80, 200, 0, 6, 1, 2, 3 }, 7, false },     /* shorter than an empty RR */
};

static void test_is_rtcp(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rtcp_cases) / sizeof(rtcp_cases[0]); i++)
        if (rtp_is_rtcp(rtcp_cases[i].b, rtcp_cases[i].len) != rtcp_cases[i].rtcp)
            fail_msg("case %zu", i);
    assert_false(rtp_is_rtcp(NULL, 8));
}

struct pt_case {
    uint8_t pt;
    const char *name;
    uint32_t rate;
};

static const struct pt_case pt_cases[] = {
    { 0, "PCMU", 8000 },  { 3, "GSM", 8000 },    { 4, "G723", 8000 },   { 5, "DVI4", 8000 },
    { 6, "DVI4", 16000 }, { 7, "LPC", 8000 },    { 8, "PCMA", 8000 },   { 9, "G722", 8000 },
    { 10, "L16", 44100 }, { 11, "L16", 44100 },  { 12, "QCELP", 8000 }, { 13, "CN", 8000 },
    { 14, "MPA", 90000 }, { 15, "G728", 8000 },  { 16, "DVI4", 11025 }, { 17, "DVI4", 22050 },
    { 18, "G729", 8000 }, { 26, "JPEG", 90000 }, { 31, "H261", 90000 }, { 34, "H263", 90000 },
    { 20, NULL, 0 },      { 35, NULL, 0 },       { 96, NULL, 0 },       { 127, NULL, 0 },
    { 200, NULL, 0 },
};

static void test_payload_types(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(pt_cases) / sizeof(pt_cases[0]); i++) {
        const rtp_pt_info_t *info = rtp_pt_lookup(pt_cases[i].pt);

        if (!pt_cases[i].name) {
            assert_null(info);
            continue;
        }
        assert_non_null(info);
        assert_string_equal(info->name, pt_cases[i].name);
        assert_int_equal(info->clock_rate, pt_cases[i].rate);
    }
    assert_int_equal(rtp_name_clock_rate("OPUS"), 48000);
    assert_int_equal(rtp_name_clock_rate("AMR-WB"), 16000);
    assert_int_equal(rtp_name_clock_rate("telephone-event"), 8000);
    assert_int_equal(rtp_name_clock_rate("nonsense"), 0);
    assert_int_equal(rtp_name_clock_rate(NULL), 0);
}

/* ================================================================ detector */

enum flow_kind {
    F_RTP,
    F_RTP_CN,
    F_RTP_LOSSY,
    F_RTCP,
    F_SIP,
    F_DNS,
    F_STUN,
    F_RANDOM,
    F_SSRC_HOPS,
    F_TS_TOO_FAST,
    F_TS_BACK,
    F_TWO_SOURCES
};

struct detect_case {
    const char *what;
    enum flow_kind kind;
    int verdict;        /* after 20 packets */
    unsigned yes_after; /* packets until YES, 0 if never */
};

static const struct detect_case detect_cases[] = {
    { "PCMU", F_RTP, RTPDETECT_YES, RTPDETECT_PACKETS },
    { "PCMU with comfort noise", F_RTP_CN, RTPDETECT_YES, RTPDETECT_PACKETS },
    { "PCMU losing every other", F_RTP_LOSSY, RTPDETECT_YES, RTPDETECT_PACKETS },
    { "RTCP", F_RTCP, RTPDETECT_NO, 0 },
    { "SIP", F_SIP, RTPDETECT_NO, 0 },
    { "DNS", F_DNS, RTPDETECT_NO, 0 },
    { "STUN", F_STUN, RTPDETECT_NO, 0 },
    { "random bytes", F_RANDOM, RTPDETECT_NO, 0 },
    { "SSRC changing", F_SSRC_HOPS, RTPDETECT_NO, 0 },
    { "timestamps too fast", F_TS_TOO_FAST, RTPDETECT_NO, 0 },
    { "timestamps going back", F_TS_BACK, RTPDETECT_NO, 0 },
    { "two sources interleaved", F_TWO_SOURCES, RTPDETECT_YES, 2 * RTPDETECT_PACKETS - 1 },
};

static size_t flow_packet(enum flow_kind k, unsigned i, uint8_t *b, uint32_t *lcg)
{
    switch (k) {
    case F_RTP:
        return build(b, 0, i == 0, (uint16_t)(65533 + i), 0xfffffe00u + 160 * i, 0xabc, 160);
    case F_RTP_CN:
        return build(b, i == 2 ? 13 : 0, false, (uint16_t)(100 + i), 160 * i, 0xabc, 160);
    case F_RTP_LOSSY:
        return build(b, 0, false, (uint16_t)(2 * i), 320 * i, 0xabc, 160);
    case F_RTCP:
        build(b, 0, false, 6, 0, 0xabc, 16);
        b[1] = 200;
        return 28;
    case F_SIP:
        memcpy(b, "INVITE sip:bob@example.com SIP/2.0\r\n", 36);
        return 36;
    case F_DNS: {
        static const uint8_t q[] = { 0x81, 0x37, 0x01, 0x00, 0,   1,   0,   0,   0,   0,   0,
                                     0,    3,    'w',  'w',  'w', 7,   'e', 'x', 'a', 'm', 'p',
                                     'l',  'e',  3,    'c',  'o', 'm', 0,   0,   1,   0,   1 };

        memcpy(b, q, sizeof(q));
        b[0] = (uint8_t)(0x80 | (i * 7)); /* version 2 by chance, every time */
        b[1] = (uint8_t)(i * 13);
        return sizeof(q);
    }
    case F_STUN: {
        static const uint8_t s[] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1,  2,
                                     3,    4,    5,    6,    7,    8,    9,    10,   11, 12 };

        memcpy(b, s, sizeof(s));
        return sizeof(s);
    }
    case F_RANDOM:
        for (int j = 0; j < 100; j++) {
            *lcg = *lcg * 1103515245u + 12345u;
            b[j] = (uint8_t)(*lcg >> 16);
        }
        b[0] = (uint8_t)(0x80 | (b[0] & 0x3f)); /* the worst case: always version 2 */
        return 100;
    case F_SSRC_HOPS:
        return build(b, 0, false, (uint16_t)i, 160 * i, 0x1000 + i, 160);
    case F_TS_TOO_FAST:
        return build(b, 0, false, (uint16_t)i, 50000 * i, 0xabc, 160);
    case F_TS_BACK:
        return build(b, 0, false, (uint16_t)i, 100000 - 160 * i, 0xabc, 160);
    case F_TWO_SOURCES:
        return build(b, 0, false, (uint16_t)(1000 * (i % 2) + i / 2), 160 * (i / 2),
                     i % 2 ? 0xdef : 0xabc, 160);
    }
    return 0;
}

static void test_detector(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(detect_cases) / sizeof(detect_cases[0]); c++) {
        const struct detect_case *dc = &detect_cases[c];
        rtpdetect_t *d = rtpdetect_new();
        uint32_t lcg = 1;
        unsigned yes_at = 0;
        int v = RTPDETECT_MAYBE;

        for (unsigned i = 0; i < 20; i++) {
            uint8_t b[200];
            size_t n = flow_packet(dc->kind, i, b, &lcg);

            v = rtpdetect_feed(d, T0 + (cw_ns_t)i * 20 * MS, b, n);
            if (v == RTPDETECT_YES && !yes_at)
                yes_at = i + 1;
        }
        if (v != dc->verdict)
            fail_msg("%s: verdict %d, want %d", dc->what, v, dc->verdict);
        if (yes_at != dc->yes_after)
            fail_msg("%s: YES after %u packets, want %u", dc->what, yes_at, dc->yes_after);
        if (v == RTPDETECT_YES) {
            assert_int_equal(rtpdetect_ssrc(d), 0xabc);
            assert_int_equal(rtpdetect_pt(d), 0);
        }
        rtpdetect_free(d);
    }
    assert_int_equal(rtpdetect_feed(NULL, 0, NULL, 0), RTPDETECT_NO);
}

/* ================================================================ flows */

/* What a flow table handed on: "SSRC:held" and "SSRC:held short", in
 * order, joined by spaces. */
static char found_log[256];

static void log_found(void *ud, const rtpdetect_found_t *f)
{
    size_t n = strlen(found_log);

    (void)ud;
    snprintf(found_log + n, sizeof(found_log) - n, "%s%X:%zu%s", n ? " " : "", f->ssrc, f->nheld,
             f->short_stream ? " short" : "");
}

/* One packet of a flow table case: source 0..2, sequence number, timestamp,
 * payload type and payload length; or junk (ssrc 0: random bytes). */
struct flow_pkt {
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    uint8_t pt;
    uint8_t len;
};

struct flows_case {
    const char *what;
    struct flow_pkt pkts[24];
    unsigned npkts;
    const char *found; /* after the end of the input */
    unsigned yes;      /* YES verdicts (a source's next packets find its stream
                        * in the stream table; here they start a flow again) */
};

#define EV(n)                                                                                      \
    {                                                                                              \
        0x5, (uint16_t)(n), 8000, 101, 4                                                           \
    }
#define V(n)                                                                                       \
    {                                                                                              \
        0xa, (uint16_t)(n), (uint32_t)(n)*160, 0, 160                                              \
    }
#define W(n)                                                                                       \
    {                                                                                              \
        0xb, (uint16_t)(n), (uint32_t)(n)*160, 0, 160                                              \
    }

// clang-format off
static const struct flows_case flows_cases[] = {
    { "one source", { V(1), V(2), V(3), V(4), V(5), V(6) }, 6, "A:4", 1 },
    { "two sources interleaved, each its stream",
      { V(1), W(1), V(2), W(2), V(3), W(3), V(4), W(4), V(5), W(5), V(6), W(6) }, 12,
      "A:4 B:4", 2 },
    { "a DTMF event: one timestamp, 4-octet payloads",
      { EV(1), EV(2), EV(3), EV(4), EV(5), EV(6), EV(7) }, 7, "5:4", 1 },
    { "a short event stream, found at the end", { EV(1), EV(2), EV(3) }, 3, "5:3 short", 0 },
    { "a short voice stream, found at the end", { V(7), V(8), V(9), V(10) }, 4, "A:4 short", 0 },
    { "two packets are not a stream", { V(1), V(2) }, 2, "", 0 },
    { "a short stream with a gap is not one", { V(1), V(2), V(20), V(21) }, 4, "", 0 },
    { "a short stream that broke is not one", { V(1), V(2), V(2), V(3) }, 4, "", 0 },
    { "one timestamp under a static type is not events", { { 0xa, 1, 800, 0, 4 },
      { 0xa, 2, 800, 0, 4 }, { 0xa, 3, 800, 0, 4 } }, 3, "", 0 },
    { "a short stream among junk that made the flow NO",
      { V(1), V(2), V(3), { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, { 0 } }, 12,
      "", 0 },
};
// clang-format on

static void test_detector_flows(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(flows_cases) / sizeof(flows_cases[0]); c++) {
        const struct flows_case *fc = &flows_cases[c];
        rtpdetect_flows_t *fl = rtpdetect_flows_new(0, log_found, NULL);
        uint32_t lcg = 7;
        unsigned streams = 0;

        found_log[0] = '\0';
        for (unsigned i = 0; i < fc->npkts; i++) {
            const struct flow_pkt *fp = &fc->pkts[i];
            uint8_t b[200];
            size_t n;
            decode_pkt_t p;
            rtp_hdr_t h;

            if (fp->ssrc) {
                n = build(b, fp->pt, false, fp->seq, fp->ts, fp->ssrc, fp->len);
            } else {
                n = flow_packet(F_RANDOM, i, b, &lcg);
                b[0] = 0x80; /* parses as RTP, type 127, a random SSRC */
                b[1] = 0x7f;
            }
            if (rtp_parse(b, n, &h) != 0)
                continue;
            memset(&p, 0, sizeof(p));
            p.ts = T0 + (cw_ns_t)i * 20 * MS;
            cw_addr_parse("10.0.0.1", &p.src);
            cw_addr_parse("10.0.0.2", &p.dst);
            p.src_hash = cw_addr_hash(&p.src, 0);
            p.dst_hash = cw_addr_hash(&p.dst, 0);
            p.sport = 4000;
            p.dport = 5000;
            p.payload = b;
            p.payload_len = (uint32_t)n;
            if (rtpdetect_flows_feed(fl, &p, &h) == RTPDETECT_YES)
                streams++;
        }
        rtpdetect_flows_finish(fl);
        if (strcmp(found_log, fc->found) != 0 || streams != fc->yes)
            fail_msg("%s: found \"%s\" (%u YES), want \"%s\" (%u)", fc->what, found_log, streams,
                     fc->found, fc->yes);
        rtpdetect_flows_free(fl);
    }
}

/* ================================================================ sequence accounting */

#define END 0x7fffffff

struct seq_case {
    const char *what;
    int32_t seqs[64]; /* sequence numbers in arrival order; END ends; -N repeats a run */
    uint64_t packets, expected, lost, dups, ooo, resets, stray;
    int64_t ws_lost;
};

/* {a, -b}: every number from a to b. */
static const struct seq_case seq_cases[] = {
    { "in order", { 1, -100, END }, 100, 100, 0, 0, 0, 0, 0, 0 },
    { "wrap at 65535", { 65530, -65535, 0, -13, END }, 20, 20, 0, 0, 0, 0, 0, 0 },
    { "loss across the wrap", { 65533, 65534, 1, 2, END }, 4, 6, 2, 0, 0, 0, 0, 2 },
    { "reordering", { 1, 2, 4, 3, 5, END }, 5, 5, 0, 0, 1, 0, 0, 0 },
    /* tshark 4.0 counts a second sequence cycle when numbers dip below the
     * first again after climbing above it: Lost 65536. */
    { "reordering across the wrap", { 65534, 0, 65535, 1, END }, 4, 4, 0, 0, 1, 0, 0, 65536 },
    { "duplicate", { 1, 2, 2, 3, END }, 4, 3, 0, 1, 0, 0, 0, -1 },
    /* tshark takes the last packet as the end: expected 2, Lost 2 - 5. */
    { "late duplicate at the end", { 1, 2, 3, 4, 2, END }, 5, 4, 0, 1, 0, 0, 0, -3 },
    { "loss", { 1, 2, 5, 6, END }, 4, 6, 2, 0, 0, 0, 0, 2 },
    { "loss and a duplicate", { 1, 2, 5, 5, 6, END }, 5, 6, 2, 1, 0, 0, 0, 1 },
    /* tshark takes a number below the first for a new cycle: Lost 65535. */
    { "late packet before the first", { 5, 6, 7, 4, 8, END }, 5, 5, 0, 0, 1, 0, 0, 65535 },
    /* A restart below the first number: tshark counts a cycle. */
    { "restart", { 1000, -1049, 0, -49, END }, 100, 100, 0, 0, 0, 1, 0, 64486 },
    { "restart then loss", { 1000, -1049, 0, -9, 12, -49, END }, 98, 100, 2, 0, 0, 1, 0, 64488 },
    { "a lone jump", { 1, -20, 30000, 21, -40, END }, 41, 40, 0, 0, 0, 0, 1, -1 },
    /* tshark's expected ends at the last packet's number. */
    { "a lone jump at the end", { 1, -20, 30000, END }, 21, 20, 0, 0, 0, 0, 1, 29979 },
    { "very late, already received", { 1, -300, 100, 301, END }, 302, 301, 0, 1, 0, 0, 0, -1 },
    { "gap below the dropout limit",
      { 1, -10, 2000, -2010, END },
      21,
      2010,
      1989,
      0,
      0,
      0,
      0,
      1989 },
    { "gap beyond it: a restart", { 1, -10, 5000, -5010, END }, 21, 21, 0, 0, 0, 1, 0, 4989 },
};

static void run_seqs(rtpstats_t *st, const int32_t *seqs, unsigned *n)
{
    int32_t prev = 0;

    for (size_t i = 0; seqs[i] != END; i++) {
        int32_t from = seqs[i], to = seqs[i];

        if (seqs[i] < 0) {
            from = prev + 1;
            to = -seqs[i];
        }
        for (int32_t s = from; s <= to; s++, (*n)++)
            feed(st, T0 + (cw_ns_t)*n * 20 * MS, 0, false, (uint16_t)s, 160u * *n, 0x1234);
        prev = to;
    }
}

static void test_sequences(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(seq_cases) / sizeof(seq_cases[0]); c++) {
        const struct seq_case *sc = &seq_cases[c];
        rtpstats_t *st = rtpstats_new();
        rtpstats_summary_t m;
        unsigned n = 0;

        run_seqs(st, sc->seqs, &n);
        rtpstats_get(st, &m);
        if (m.packets != sc->packets || m.expected != sc->expected || m.lost != sc->lost ||
            m.duplicates != sc->dups || m.out_of_order != sc->ooo || m.seq_resets != sc->resets ||
            m.stray != sc->stray || m.ws_lost != sc->ws_lost)
            fail_msg("%s: packets %llu expected %llu lost %llu dups %llu ooo %llu resets %llu "
                     "stray %llu ws_lost %lld",
                     sc->what, (unsigned long long)m.packets, (unsigned long long)m.expected,
                     (unsigned long long)m.lost, (unsigned long long)m.duplicates,
                     (unsigned long long)m.out_of_order, (unsigned long long)m.seq_resets,
                     (unsigned long long)m.stray, (long long)m.ws_lost);
        assert_true(m.loss_pct >= 0 && m.loss_pct <= 100);
        rtpstats_free(st);
    }
}

static void test_late_beyond_misorder(void **state)
{
    rtpstats_t *st = rtpstats_new();
    rtpstats_summary_t m;
    unsigned n = 0;
    static const int32_t seqs[] = { 1, -99, 101, -300, 100, 301, END };

    (void)state;
    /* 100 arrives 200 behind: RFC 3550 A.1 first takes it for a jump; the
     * next packet shows it was not a restart, and it fills its gap. */
    run_seqs(st, seqs, &n);
    rtpstats_get(st, &m);
    assert_int_equal(m.expected, 301);
    assert_int_equal(m.lost, 0);
    assert_int_equal(m.out_of_order, 1);
    assert_int_equal(m.stray, 0);
    rtpstats_free(st);
}

static void test_ssrc_change(void **state)
{
    rtpstats_t *st = rtpstats_new();
    rtpstats_summary_t m;

    (void)state;
    for (unsigned i = 0; i < 50; i++)
        feed(st, T0 + (cw_ns_t)i * 20 * MS, 0, false, (uint16_t)(100 + i), 160 * i, 0xaaaa);
    for (unsigned i = 0; i < 50; i++)
        if (i != 10)
            feed(st, T0 + (cw_ns_t)(50 + i) * 20 * MS, 0, false, (uint16_t)(9000 + i), 777 * i,
                 0xbbbb);
    rtpstats_get(st, &m);
    assert_int_equal(m.ssrc, 0xbbbb);
    assert_int_equal(m.ssrc_changes, 1);
    assert_int_equal(m.packets, 99);
    assert_int_equal(m.expected, 100);
    assert_int_equal(m.lost, 1);
    assert_int_equal(m.seq_resets, 0);
    rtpstats_free(st);
}

/* ================================================================ jitter and clocks */

/* Four packets, timestamps 20 ms apart, arriving at 0, 20, 45 and 60 ms.
 * By hand (RFC 3550 A.8, J += (|D| - J) / 16):
 *   2nd: D = |20 - 20| = 0           J = 0
 *   3rd: D = |45 - (20 + 20)| = 5    J = 5/16 = 0.3125
 *   4th: D = |60 - (45 + 20)| = 5    J = (15 * 0.3125 + 5) / 16 = 0.60546875
 * Wireshark's running mean over packets 2..4: (0 + 0.3125 + 0.60546875) / 3;
 * deltas 20, 25, 15: max 25. */
static const double arrivals_ms[] = { 0, 20, 45, 60 };
#define J_LAST 0.60546875
#define J_MEAN ((0.0 + 0.3125 + 0.60546875) / 3)

struct clock_case {
    const char *what;
    uint8_t pt;
    const char *map_name; /* set_codec, or NULL */
    uint32_t map_rate;
    uint32_t step; /* timestamp units per 20 ms */
    uint32_t ts0;
    uint32_t clock; /* expected in the summary */
    bool jitter;    /* a clock known to Wireshark's analysis */
};

static const struct clock_case clock_cases[] = {
    { "PCMU 8 kHz", 0, NULL, 0, 160, 1000, 8000, true },
    { "G722, 8 kHz RTP clock", 9, NULL, 0, 160, 1000, 8000, true },
    { "DVI4 16 kHz", 6, NULL, 0, 320, 1000, 16000, true },
    { "opus 48 kHz (SDP)", 111, "opus", 48000, 960, 1000, 48000, true },
    { "opus, rate from the name", 111, "opus", 0, 960, 1000, 48000, true },
    { "L16 16 kHz (SDP)", 97, "L16", 16000, 320, 1000, 16000, true },
    { "timestamp wrap", 0, NULL, 0, 160, 0xffffff60u, 8000, true },
    { "dynamic type without SDP", 96, NULL, 0, 160, 1000, 0, false },
};

static void test_jitter_clocks(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(clock_cases) / sizeof(clock_cases[0]); c++) {
        const struct clock_case *cc = &clock_cases[c];
        rtpstats_t *st = rtpstats_new();
        rtpstats_summary_t m;

        if (cc->map_name)
            assert_int_equal(rtpstats_set_codec(st, cc->pt, cc->map_name, cc->map_rate), 0);
        for (unsigned i = 0; i < 4; i++)
            feed(st, T0 + (cw_ns_t)(arrivals_ms[i] * MS), cc->pt, false, (uint16_t)i,
                 cc->ts0 + i * cc->step, 7);
        rtpstats_get(st, &m);
        assert_int_equal(m.clock_rate, cc->clock);
        if (cc->jitter) {
            if (fabs(m.jitter_ms - J_LAST) > 1e-9 || fabs(m.jitter_max_ms - J_LAST) > 1e-9 ||
                fabs(m.jitter_mean_ms - J_MEAN) > 1e-9)
                fail_msg("%s: jitter %.9f max %.9f mean %.9f", cc->what, m.jitter_ms,
                         m.jitter_max_ms, m.jitter_mean_ms);
        } else {
            assert_true(m.jitter_max_ms == 0 && m.jitter_mean_ms == 0);
        }
        if (fabs(m.max_delta_ms - 25.0) > 1e-9)
            fail_msg("%s: max delta %.9f", cc->what, m.max_delta_ms);
        assert_int_equal(m.lost, 0);
        rtpstats_free(st);
    }
}

/* A marker (new talkspurt) and comfort noise are not "regular": their
 * gaps stay out of the max delta and the jitter maximum, as in Wireshark. */
static void test_irregular_packets(void **state)
{
    rtpstats_t *st = rtpstats_new();
    rtpstats_summary_t m;
    unsigned i = 0;
    uint32_t ts = 0;
    cw_ns_t t = T0;

    (void)state;
    for (; i < 10; i++, ts += 160, t += 20 * MS)
        feed(st, t, 0, false, (uint16_t)i, ts, 9);
    /* Comfort noise every 200 ms, then a talkspurt with the marker. */
    for (; i < 13; i++, ts += 1600, t += 200 * MS)
        feed(st, t, 13, false, (uint16_t)i, ts, 9);
    t += 300 * MS;
    ts += 2400;
    for (unsigned k = 0; k < 10; k++, i++, ts += 160, t += 20 * MS)
        feed(st, t, 0, k == 0, (uint16_t)i, ts, 9);
    rtpstats_get(st, &m);
    assert_int_equal(m.packets, 23);
    assert_int_equal(m.cn_packets, 3);
    assert_int_equal(m.voice_packets, 20);
    assert_string_equal(m.codec, "PCMU");
    assert_true(fabs(m.max_delta_ms - 20.0) < 1e-9);
    assert_true(m.jitter_max_ms < 1e-9);
    assert_int_equal(m.lost, 0);
    rtpstats_free(st);
}

/* RFC 4733 events: counted, kept out of the voice figures; their frozen
 * timestamp still moves Wireshark's estimator on the next voice packet. */
static void test_events(void **state)
{
    rtpstats_t *st = rtpstats_new();
    rtpstats_summary_t m;

    (void)state;
    assert_int_equal(rtpstats_set_codec(st, 101, "telephone-event", 8000), 0);
    for (unsigned i = 0; i < 30; i++) {
        bool ev = i >= 10 && i < 15;

        feed(st, T0 + (cw_ns_t)i * 20 * MS, ev ? 101 : 8, ev && i == 10, (uint16_t)(500 + i),
             ev ? 1600 : 160 * i, 3);
    }
    rtpstats_get(st, &m);
    assert_int_equal(m.packets, 30);
    assert_int_equal(m.event_packets, 5);
    assert_int_equal(m.voice_packets, 25);
    assert_string_equal(m.codec, "PCMA");
    assert_int_equal(m.pt, 8);
    assert_int_equal(m.lost, 0);
    assert_int_equal(m.jb_discarded, 0);
    /* After the events the next voice packet is compared with the last
     * event's arrival (100 ms later than the last voice packet) but with the
     * last voice timestamp: D = 20 - 100 ms... by hand: time 280 ms, the
     * last voice packet at 180 ms (ts 1440); packet 15 at 300 ms, ts 2400:
     * expected 280 + (300 - 180) = 400, D = 100, J = 100/16. */
    assert_true(fabs(m.jitter_max_ms - 6.25) < 1e-9);
    rtpstats_free(st);
}

static void test_set_codec_errors(void **state)
{
    rtpstats_t *st = rtpstats_new();

    (void)state;
    assert_int_equal(rtpstats_set_codec(st, 128, "x", 8000), -EINVAL);
    assert_int_equal(rtpstats_set_codec(st, 96, "", 8000), -EINVAL);
    assert_int_equal(rtpstats_set_codec(st, 96, NULL, 8000), -EINVAL);
    assert_int_equal(rtpstats_set_codec(NULL, 96, "x", 8000), -EINVAL);
    for (uint8_t pt = 96; pt < 112; pt++)
        assert_int_equal(rtpstats_set_codec(st, pt, "x", 8000), 0);
    assert_int_equal(rtpstats_set_codec(st, 112, "x", 8000), -ENOSPC);
    assert_int_equal(rtpstats_set_codec(st, 100, "y", 16000), 0); /* a remap is fine */
    assert_int_equal(rtpstats_packet(st, T0, NULL), -EINVAL);
    rtpstats_free(st);
    rtpstats_free(NULL);
}

/* ================================================================ jitter buffer and MOS */

static int cmp_ns(const void *a, const void *b)
{
    const cw_ns_t *x = a, *y = b;

    return *x < *y ? -1 : *x > *y;
}

static void test_jitter_buffer(void **state)
{
    rtpstats_t *st = rtpstats_new();
    rtpstats_summary_t m;
    cw_ns_t order[40]; /* arrival time * 64 + packet index, sorted */

    (void)state;
    /* Packet 10 is held 80 ms (arrives after 11-13): a 60 ms buffer has
     * played past it.  Packet 20 is held 50 ms: still in time. */
    for (unsigned i = 0; i < 40; i++) {
        cw_ns_t t = (cw_ns_t)i * 20 * MS;

        if (i == 10)
            t += 80 * MS;
        if (i == 20)
            t += 50 * MS;
        order[i] = t * 64 + i;
    }
    qsort(order, 40, sizeof(order[0]), cmp_ns);
    for (unsigned k = 0; k < 40; k++) {
        unsigned i = (unsigned)(order[k] % 64);

        feed(st, T0 + order[k] / 64, 0, false, (uint16_t)i, 160 * i, 5);
    }
    rtpstats_get(st, &m);
    assert_int_equal(m.jb_discarded, 1);
    assert_int_equal(m.lost, 0);
    assert_int_equal(m.out_of_order, 2);
    assert_true(m.mos < 4.40); /* the discard counts as a loss */
    rtpstats_free(st);
}

/* A 60 s PCMU stream at 50 packets/s losing `period`-th packets, and a burst
 * in one 10 s window. */
static void mos_stream(rtpstats_summary_t *m, unsigned period, unsigned burst_from,
                       unsigned burst_len)
{
    rtpstats_t *st = rtpstats_new();

    for (unsigned i = 0; i < 3000; i++) {
        if (period && i % period == period / 2)
            continue;
        if (i >= burst_from && i < burst_from + burst_len)
            continue;
        feed(st, T0 + (cw_ns_t)i * 20 * MS, 0, false, (uint16_t)(40000 + i), 160 * i, 1);
    }
    rtpstats_get(st, m);
    rtpstats_free(st);
}

/* Loses burst_a packets from position a and burst_b from position b. */
static void two_bursts(rtpstats_summary_t *m, unsigned a, unsigned burst_a, unsigned b,
                       unsigned burst_b)
{
    rtpstats_t *st = rtpstats_new();

    for (unsigned i = 0; i < 3000; i++) {
        if ((i >= a && i < a + burst_a) || (i >= b && i < b + burst_b))
            continue;
        feed(st, T0 + (cw_ns_t)i * 20 * MS, 0, false, (uint16_t)(1000 + i), 160 * i, 1);
    }
    rtpstats_get(st, m);
    rtpstats_free(st);
}

/* Of several bad 10 s windows, mos_min is the worst one's, wherever it
 * lies: before or after a lesser one, or in the window still open. */
static void test_mos_worst_window(void **state)
{
    rtpstats_summary_t only, m;

    (void)state;
    mos_stream(&only, 0, 1200, 100); /* 100 lost in the third window alone */
    two_bursts(&m, 300, 40, 1200, 100);
    assert_int_equal(m.lost, 140);
    assert_true(fabs(m.mos_min - only.mos_min) < 1e-9);
    two_bursts(&m, 1200, 100, 2100, 40);
    assert_true(fabs(m.mos_min - only.mos_min) < 1e-9);
    /* The worst window last (positions 2600-2699, window 5 of 6). */
    mos_stream(&only, 0, 2600, 100);
    two_bursts(&m, 300, 40, 2600, 100);
    assert_true(fabs(m.mos_min - only.mos_min) < 1e-9);
    assert_true(m.mos_min < m.mos - 0.5);
}

/* A packet every 10 s: each one opens a window, more windows than the
 * stream tracks among its unsettled positions; nothing is lost. */
static void test_sparse_windows(void **state)
{
    rtpstats_t *st = rtpstats_new();
    rtpstats_summary_t m;

    (void)state;
    for (unsigned i = 0; i < 40; i++)
        feed(st, T0 + (cw_ns_t)i * 10 * 1000 * MS, 0, false, (uint16_t)(65500 + i), 80000 * i, 1);
    rtpstats_get(st, &m);
    assert_int_equal(m.packets, 40);
    assert_int_equal(m.lost, 0);
    assert_int_equal(m.windows, 40);
    assert_true(fabs(m.mos - 4.41) < 0.005);
    assert_true(m.mos_min == m.mos);
    rtpstats_free(st);
}

static void test_mos(void **state)
{
    rtpstats_summary_t clean, m, prev;
    static const unsigned periods[] = { 200, 100, 50, 20, 10 };

    (void)state;
    mos_stream(&clean, 0, 0, 0);
    assert_true(fabs(clean.r_factor - 93.2) < 0.05);
    assert_true(fabs(clean.mos - 4.41) < 0.005);
    assert_true(clean.mos_min == clean.mos);
    assert_int_equal(clean.windows, 6);
    assert_true(fabs(clean.burst_r - 1.0) < 1e-12);
    prev = clean;
    /* MOS falls monotonically with the loss rate. */
    for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
        mos_stream(&m, periods[i], 0, 0);
        assert_int_equal(m.lost, 3000 / periods[i]);
        if (!(m.mos < prev.mos))
            fail_msg("1/%u loss: MOS %.4f not below %.4f", periods[i], m.mos, prev.mos);
        prev = m;
    }
    /* 100 packets lost in a row within the third window: the window's MOS
     * is far below the stream's; bursts score worse than the same loss
     * spread out. */
    mos_stream(&m, 0, 1200, 100);
    assert_int_equal(m.lost, 100);
    assert_true(m.burst_r > 10);
    assert_true(m.mos_min < m.mos - 0.5);
    mos_stream(&prev, 30, 0, 0);
    assert_int_equal(prev.lost, 100);
    assert_true(m.mos < prev.mos);
    /* An explicit delay lowers R by the delay impairment. */
    {
        rtpstats_t *st = rtpstats_new();

        rtpstats_set_delay_ms(st, 300);
        for (unsigned i = 0; i < 100; i++)
            feed(st, T0 + (cw_ns_t)i * 20 * MS, 0, false, (uint16_t)i, 160 * i, 1);
        rtpstats_get(st, &m);
        assert_true(m.delay_ms == 300);
        assert_true(m.r_factor < clean.r_factor - 15);
        rtpstats_set_delay_ms(st, -1);
        rtpstats_get(st, &m);
        assert_true(fabs(m.r_factor - clean.r_factor) < 1e-9);
        rtpstats_free(st);
    }
}

static void test_times(void **state)
{
    rtpstats_t *st = rtpstats_new();
    rtpstats_summary_t m;

    (void)state;
    rtpstats_get(st, &m); /* empty: all zero, no crash */
    assert_int_equal(m.packets, 0);
    assert_string_equal(m.codec, "");
    feed(st, T0 + 5 * MS, 0, false, 1, 0, 1);
    feed(st, T0 + 25 * MS, 0, false, 2, 160, 1);
    feed(st, T0 + 15 * MS, 0, false, 3, 320, 1); /* capture time going back */
    rtpstats_get(st, &m);
    assert_true(m.first_arrival == T0 + 5 * MS);
    assert_true(m.last_arrival == T0 + 25 * MS);
    rtpstats_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_full),
        cmocka_unit_test(test_parse_truncations),
        cmocka_unit_test(test_parse_cases),
        cmocka_unit_test(test_is_rtcp),
        cmocka_unit_test(test_payload_types),
        cmocka_unit_test(test_detector),
        cmocka_unit_test(test_detector_flows),
        cmocka_unit_test(test_sequences),
        cmocka_unit_test(test_late_beyond_misorder),
        cmocka_unit_test(test_ssrc_change),
        cmocka_unit_test(test_jitter_clocks),
        cmocka_unit_test(test_irregular_packets),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_set_codec_errors),
        cmocka_unit_test(test_jitter_buffer),
        cmocka_unit_test(test_mos),
        cmocka_unit_test(test_mos_worst_window),
        cmocka_unit_test(test_sparse_windows),
        cmocka_unit_test(test_times),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
