/* SIP recognition and parsing, SDP, and SIP-over-TCP framing. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sip/sdp.h"
#include "sip/sip.h"
#include "sip/siptcp.h"

struct looks_case {
    const char *text;
    bool sip;
};

static const struct looks_case looks_cases[] = {
    { "SIP/2.0 200 OK\r\nVia: x\r\n", true },
    { "SIP/2.0 180 Ringing\r\n", true },
    { "INVITE sip:bob@example.com SIP/2.0\r\n", true },
    { "OPTIONS sip:1.2.3.4 SIP/2.0\r\n", true },
    { "X-CUSTOM sip:a@b SIP/2.0\n", true },
    { "SIP/2.0 2000 OK\r\n", true }, /* three digits then more: libosip2 judges */
    { "SIP/2.0 abc OK\r\n", false },
    { "HTTP/1.1 200 OK\r\n", false },
    { "GET / HTTP/1.1\r\n", false },
    { "INVITE sip:bob@example.com\r\n", false },
    { "\x80\x08\x12\x34 RTP payload.....", false },
    { "SIP/2.0", false },
    { "", false },
};

static void test_looks_like(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(looks_cases) / sizeof(looks_cases[0]); i++) {
        const char *t = looks_cases[i].text;

        if (sip_looks_like((const uint8_t *)t, strlen(t)) != looks_cases[i].sip)
            fail_msg("case %zu \"%s\"", i, t);
    }
}

// clang-format off
static const char invite[] =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "From: \"Alice <script>alert(1)</script>\" <sip:alice@atlanta.example.com:5070>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
    "User-Agent: Softphone 1.0\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 229\r\n"
    "\r\n"
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.101\r\n"
    "t=0 0\r\n"
    "m=audio 49172 RTP/AVP 0 96 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=sendonly\r\n";
// clang-format on

static void test_parse_invite(void **state)
{
    sip_msg_t *m = calloc(1, sizeof(*m));
    char ep[64];

    (void)state;
    assert_int_equal(sip_parse((const uint8_t *)invite, sizeof(invite) - 1, m), 0);
    assert_true(m->is_request);
    assert_int_equal(m->method, SIP_INVITE);
    assert_string_equal(m->call_id, "a84b4c76e66710@pc33.atlanta.example.com");
    assert_string_equal(m->from_uri, "sip:alice@atlanta.example.com:5070");
    assert_string_equal(m->from_tag, "1928301774");
    assert_string_equal(m->from_display, "Alice <script>alert(1)</script>");
    assert_string_equal(m->to_uri, "sip:bob@biloxi.example.com");
    assert_string_equal(m->to_tag, "");
    assert_string_equal(m->to_display, "Bob");
    assert_int_equal(m->cseq, 314159);
    assert_int_equal(m->cseq_method, SIP_INVITE);
    assert_string_equal(m->user_agent, "Softphone 1.0");
    assert_int_equal(m->reason_q850, -1);
    assert_true(m->has_sdp);
    assert_int_equal(m->sdp.nmedia, 1);
    assert_int_equal(m->sdp.media[0].port, 49172);
    assert_true(m->sdp.media[0].has_addr);
    assert_string_equal(cw_addr_str(&m->sdp.media[0].addr, ep, sizeof(ep)), "192.0.2.101");
    assert_int_equal(m->sdp.media[0].dir, SDP_SENDONLY);
    assert_int_equal(m->sdp.media[0].npts, 3);
    assert_string_equal(m->sdp.media[0].pts[0].name, "PCMU");
    assert_string_equal(m->sdp.media[0].pts[1].name, "opus");
    assert_int_equal(m->sdp.media[0].pts[1].clock_hz, 48000);
    assert_string_equal(m->sdp.media[0].pts[2].name, "telephone-event");
    free(m);
}

struct bad_case {
    const char *text;
};

static const struct bad_case bad_cases[] = {
    { "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\r\n" }, /* no Call-ID etc. */
    { "INVITE sip:b@c SIP/2.0\r\nCall-ID: x\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
      "CSeq: abc INVITE\r\n\r\n" },                 /* CSeq not a number */
    { "INVITE sip:b@c SIP/2.0\r\nCall-ID: x\r\n" }, /* cut short */
    { "garbage" },
};

static void test_parse_rejects(void **state)
{
    sip_msg_t *m = calloc(1, sizeof(*m));

    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
        if (sip_parse((const uint8_t *)bad_cases[i].text, strlen(bad_cases[i].text), m) == 0)
            fail_msg("case %zu accepted", i);
    free(m);
}

static void test_response_and_reason(void **state)
{
    static const char bye[] = "BYE sip:alice@192.0.2.4 SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 192.0.2.5;branch=z9hG4bKnashds7\r\n"
                              "From: <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
                              "To: <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
                              "Call-ID: a84b4c76e66710\r\n"
                              "CSeq: 231 BYE\r\n"
                              "Reason: Q.850;cause=41;text=\"Temporary failure\"\r\n"
                              "Content-Length: 0\r\n\r\n";
    static const char resp[] = "SIP/2.0 486 Busy Here\r\n"
                               "Via: SIP/2.0/UDP 192.0.2.5;branch=z9hG4bKnashds7\r\n"
                               "From: <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
                               "To: <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
                               "Call-ID: a84b4c76e66710\r\n"
                               "CSeq: 1 INVITE\r\n"
                               "Server: PBX 2.0\r\n"
                               "Content-Length: 0\r\n\r\n";
    sip_msg_t *m = calloc(1, sizeof(*m));

    (void)state;
    assert_int_equal(sip_parse((const uint8_t *)bye, sizeof(bye) - 1, m), 0);
    assert_int_equal(m->method, SIP_BYE);
    assert_int_equal(m->reason_q850, 41);
    assert_int_equal(m->reason_sip, -1);
    assert_string_equal(m->to_tag, "1928301774");
    assert_int_equal(sip_parse((const uint8_t *)resp, sizeof(resp) - 1, m), 0);
    assert_false(m->is_request);
    assert_int_equal(m->status, 486);
    assert_string_equal(m->reason_phrase, "Busy Here");
    assert_int_equal(m->cseq_method, SIP_INVITE);
    assert_string_equal(m->user_agent, "PBX 2.0");
    assert_false(m->has_sdp);
    free(m);
}

struct reason_case {
    const char *value;
    int q850, sip;
};

static const struct reason_case reason_cases[] = {
    { "Q.850;cause=16;text=\"Normal call clearing\"", 16, -1 },
    { "SIP;cause=200;text=\"Call completed elsewhere\"", -1, 200 },
    { "SIP ;cause=580 , Q.850 ; cause=102", 102, 580 },
    { "q.850;CAUSE=41", 41, -1 },
    { "Q.850", -1, -1 },
    { "Q.850;cause=99999", -1, -1 },
    { "", -1, -1 },
};

static void test_reason(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(reason_cases) / sizeof(reason_cases[0]); i++) {
        int q, s;

        sip_reason_parse(reason_cases[i].value, &q, &s);
        if (q != reason_cases[i].q850 || s != reason_cases[i].sip)
            fail_msg("\"%s\": q850 %d sip %d", reason_cases[i].value, q, s);
    }
}

struct sdp_case {
    const char *body;
    unsigned nmedia;
    uint16_t port0;
    const char *addr0; /* NULL: no address */
    enum sdp_dir dir0;
    const char *codec0;
    uint32_t clock0;
};

static const struct sdp_case sdp_cases[] = {
    { "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 8\r\n",
      1, 4000, "10.0.0.1", SDP_SENDRECV, "PCMA", 8000 },
    { "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 2001:db8::5\r\nt=0 0\r\n"
      "m=audio 5004 RTP/AVP 9\r\na=inactive\r\n",
      1, 5004, "2001:db8::5", SDP_INACTIVE, "G722", 8000 },
    /* Media-level c= wins over the session's; session-level direction. */
    { "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=recvonly\r\n"
      "m=audio 6000 RTP/AVP 111\r\nc=IN IP4 10.9.9.9\r\na=rtpmap:111 opus/48000/2\r\n"
      "m=video 6002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n",
      2, 6000, "10.9.9.9", SDP_RECVONLY, "opus", 48000 },
    /* A disabled stream, and a host name that cannot be used. */
    { "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 media.example.com\r\nt=0 0\r\n"
      "m=audio 0 RTP/AVP 0\r\n",
      1, 0, NULL, SDP_SENDRECV, "PCMU", 8000 },
    /* T.38 fax: no numeric payload types. */
    { "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n"
      "m=image 7000 udptl t38\r\n",
      1, 7000, "10.0.0.2", SDP_SENDRECV, NULL, 0 },
    /* Multicast address with a TTL. */
    { "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 224.2.1.1/127\r\nt=0 0\r\n"
      "m=audio 8000 RTP/AVP 0\r\n",
      1, 8000, "224.2.1.1", SDP_SENDRECV, "PCMU", 8000 },
};

static void test_sdp(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(sdp_cases) / sizeof(sdp_cases[0]); i++) {
        const struct sdp_case *c = &sdp_cases[i];
        sdp_info_t info;
        char buf[64];

        if (sdp_parse(c->body, strlen(c->body), &info) != 0)
            fail_msg("case %zu refused", i);
        assert_int_equal(info.nmedia, c->nmedia);
        assert_int_equal(info.media[0].port, c->port0);
        if (c->addr0) {
            assert_true(info.media[0].has_addr);
            assert_string_equal(cw_addr_str(&info.media[0].addr, buf, sizeof(buf)), c->addr0);
        } else {
            assert_false(info.media[0].has_addr);
        }
        assert_int_equal(info.media[0].dir, c->dir0);
        if (c->codec0) {
            assert_string_equal(info.media[0].pts[0].name, c->codec0);
            assert_int_equal(info.media[0].pts[0].clock_hz, c->clock0);
        } else {
            assert_int_equal(info.media[0].npts, 0);
        }
    }
}

/* ---- SIP over TCP */

struct framed {
    int n;
    char msgs[8][1024];
};

static void collect(void *ud, const decode_pkt_t *p, const uint8_t *buf, size_t len, bool ws)
{
    struct framed *f = ud;

    (void)p, (void)ws;
    if (f->n < 8 && len < 1024) {
        memcpy(f->msgs[f->n], buf, len);
        f->msgs[f->n][len] = '\0';
    }
    f->n++;
}

static const char m1[] = "INVITE sip:b@example.com SIP/2.0\r\nCall-ID: one\r\n"
                         "Content-Length: 5\r\n\r\nhello";
static const char m2[] = "SIP/2.0 200 OK\r\nCall-ID: two\r\nl: 0\r\n\r\n";
static const char m3[] = "BYE sip:a@example.com SIP/2.0\r\nCall-ID: three\r\n"
                         "content-length:   3\r\n\r\nabc";

static decode_pkt_t seg(uint32_t seq, const char *data, size_t len, uint8_t flags)
{
    decode_pkt_t p;

    memset(&p, 0, sizeof(p));
    cw_addr_parse("10.0.0.1", &p.src);
    cw_addr_parse("10.0.0.2", &p.dst);
    p.sport = 40000;
    p.dport = 5060;
    p.proto = 6;
    p.tcp_seq = seq;
    p.tcp_flags = flags;
    p.payload = (const uint8_t *)data;
    p.payload_len = (uint32_t)len;
    return p;
}

static void check_three(const struct framed *f)
{
    assert_int_equal(f->n, 3);
    assert_string_equal(f->msgs[0], m1);
    assert_string_equal(f->msgs[1], m2);
    assert_string_equal(f->msgs[2], m3);
}

/* The stream m1 m2 m3 cut at every pair of points gives the same messages. */
static void test_tcp_every_split(void **state)
{
    char stream[1024];
    size_t len;

    (void)state;
    len = (size_t)snprintf(stream, sizeof(stream), "%s\r\n%s%s", m1, m2, m3);
    for (size_t a = 1; a < len; a += 3) {
        for (size_t b = a; b < len; b += 7) {
            struct framed f = { 0 };
            siptcp_t *t = siptcp_new(0, collect, &f);
            decode_pkt_t p;

            /* On a configured SIP port, even a first segment of one byte
             * starts the flow. */
            p = seg(100, stream, a, 0x18);
            assert_true(siptcp_segment(t, &p, true));
            p = seg(100 + (uint32_t)a, stream + a, b - a, 0x18);
            siptcp_segment(t, &p, true);
            p = seg(100 + (uint32_t)b, stream + b, len - b, 0x18);
            siptcp_segment(t, &p, true);
            check_three(&f);
            siptcp_free(t);
        }
    }
}

static void test_tcp_retransmit_and_reorder(void **state)
{
    char stream[1024];
    size_t len, third;
    struct framed f = { 0 };
    siptcp_t *t = siptcp_new(0, collect, &f);
    siptcp_stats_t st;
    decode_pkt_t p;

    (void)state;
    len = (size_t)snprintf(stream, sizeof(stream), "%s%s%s", m1, m2, m3);
    third = len / 3;
    /* SYN, then segment 1, segment 3 (early), segment 1 again, segment 2. */
    p = seg(99, NULL, 0, 0x02);
    assert_false(siptcp_segment(t, &p, false)); /* no SIP yet, not a SIP port */
    p = seg(100, stream, third, 0x18);
    assert_true(siptcp_segment(t, &p, false));
    p = seg(100 + 2 * (uint32_t)third, stream + 2 * third, len - 2 * third, 0x18);
    siptcp_segment(t, &p, false);
    p = seg(100, stream, third, 0x18);
    siptcp_segment(t, &p, false);
    assert_int_equal(f.n, 0);
    p = seg(100 + (uint32_t)third, stream + third, third, 0x18);
    siptcp_segment(t, &p, false);
    check_three(&f);
    siptcp_get_stats(t, &st);
    assert_int_equal(st.retransmits, 1);
    assert_int_equal(st.messages, 3);
    siptcp_free(t);
}

static void test_tcp_resync_and_bounds(void **state)
{
    static char big[70000];
    char stream[2048];
    size_t len;
    struct framed f = { 0 };
    siptcp_t *t = siptcp_new(2, collect, &f);
    siptcp_stats_t st;
    decode_pkt_t p;

    (void)state;
    /* The capture starts in the middle of a body: skip to the next message. */
    len = (size_t)snprintf(stream, sizeof(stream), "tail of a body\r\n%s", m2);
    p = seg(500, stream, len, 0x18);
    assert_true(siptcp_segment(t, &p, true));
    assert_int_equal(f.n, 1);
    assert_string_equal(f.msgs[0], m2);
    /* A Content-Length past the buffer: counted, then the flow recovers. */
    len = (size_t)snprintf(stream, sizeof(stream),
                           "INVITE sip:b@c SIP/2.0\r\nContent-Length: 999999\r\n\r\n");
    p = seg(500 + 16 + (uint32_t)strlen(m2), stream, len, 0x18);
    siptcp_segment(t, &p, true);
    memset(big, 'x', sizeof(big));
    p = seg(p.tcp_seq + (uint32_t)len, big, sizeof(big), 0x18);
    siptcp_segment(t, &p, true);
    p = seg(p.tcp_seq + (uint32_t)sizeof(big), m3, strlen(m3), 0x18);
    siptcp_segment(t, &p, true);
    siptcp_get_stats(t, &st);
    assert_true(st.overflows >= 1);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.msgs[1], m3);
    /* At most two flows: a third evicts the oldest. */
    for (int i = 0; i < 3; i++) {
        p = seg(1, m2, strlen(m2), 0x18);
        p.sport = (uint16_t)(41000 + i);
        siptcp_segment(t, &p, false);
    }
    siptcp_get_stats(t, &st);
    assert_int_equal(st.evicted, 2);
    siptcp_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_looks_like),
        cmocka_unit_test(test_parse_invite),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_response_and_reason),
        cmocka_unit_test(test_reason),
        cmocka_unit_test(test_sdp),
        cmocka_unit_test(test_tcp_every_split),
        cmocka_unit_test(test_tcp_retransmit_and_reorder),
        cmocka_unit_test(test_tcp_resync_and_bounds),
    };

    sip_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
