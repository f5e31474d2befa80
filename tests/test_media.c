/* test_media: the stream table's links to calls through SDP endpoints,
 * RTCP found next to an announced port, the bound and expiry of those
 * endpoints, shared codec sets, and the per-step loss. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "media/media.h"

#define T0 CW_SEC(1700000000)

static cw_addr_t addr(const char *s)
{
    cw_addr_t a;

    assert_int_equal(cw_addr_parse(s, &a), 0);
    return a;
}

/* A UDP packet from src:sport to dst:dport carrying buf. */
static decode_pkt_t udp(const char *src, uint16_t sport, const char *dst, uint16_t dport,
                        cw_ns_t ts, const uint8_t *buf, size_t len)
{
    decode_pkt_t p;

    memset(&p, 0, sizeof(p));
    p.ts = ts;
    p.src = addr(src);
    p.dst = addr(dst);
    p.src_hash = cw_addr_hash(&p.src, 0);
    p.dst_hash = cw_addr_hash(&p.dst, 0);
    p.proto = 17;
    p.sport = sport;
    p.dport = dport;
    p.payload = buf;
    p.payload_len = (uint32_t)len;
    return p;
}

static bool rtp(media_t *m, const char *src, uint16_t sport, const char *dst, uint16_t dport,
                cw_ns_t ts, uint8_t pt, uint16_t seq, uint32_t ssrc)
{
    uint8_t b[12 + 160];
    decode_pkt_t p;
    uint32_t rts = (uint32_t)seq * 160;

    memset(b, 0xd5, sizeof(b));
    b[0] = 0x80;
    b[1] = pt;
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    b[4] = (uint8_t)(rts >> 24);
    b[5] = (uint8_t)(rts >> 16);
    b[6] = (uint8_t)(rts >> 8);
    b[7] = (uint8_t)rts;
    b[8] = (uint8_t)(ssrc >> 24);
    b[9] = (uint8_t)(ssrc >> 16);
    b[10] = (uint8_t)(ssrc >> 8);
    b[11] = (uint8_t)ssrc;
    p = udp(src, sport, dst, dport, ts, b, sizeof(b));
    return media_packet(m, &p);
}

/* An RTCP receiver report from `reporter` about `about`. */
static bool rtcp_rr(media_t *m, const char *src, uint16_t sport, const char *dst, uint16_t dport,
                    cw_ns_t ts, uint32_t reporter, uint32_t about)
{
    uint8_t b[32] = { 0x81, 201, 0, 7 };
    decode_pkt_t p;

    for (int i = 0; i < 4; i++) {
        b[4 + i] = (uint8_t)(reporter >> (24 - 8 * i));
        b[8 + i] = (uint8_t)(about >> (24 - 8 * i));
    }
    b[12] = 64; /* a quarter lost */
    p = udp(src, sport, dst, dport, ts, b, sizeof(b));
    return media_packet(m, &p);
}

/* An SDP announcing one audio stream at a:port with n named codecs. */
static sdp_info_t sdp_at(const char *a, uint16_t port, unsigned n, const sdp_codec_t *named)
{
    sdp_info_t s;

    memset(&s, 0, sizeof(s));
    s.nmedia = 1;
    strcpy(s.media[0].type, "audio");
    strcpy(s.media[0].proto, "RTP/AVP");
    s.media[0].port = port;
    s.media[0].addr = addr(a);
    s.media[0].has_addr = true;
    for (unsigned i = 0; i < n; i++)
        s.media[0].pts[s.media[0].npts++] = named[i];
    return s;
}

/* The one stream of the table with this SSRC, as JSON (owned by *all). */
static json_t *stream_by_ssrc(media_t *m, uint32_t ssrc, json_t **all)
{
    char want[16];
    size_t i;
    json_t *s;

    *all = media_streams_json(m, NULL);
    snprintf(want, sizeof(want), "0x%08X", ssrc);
    json_array_foreach(
        *all, i, s) if (strcmp(json_string_value(json_object_get(s, "ssrc")), want) == 0) return s;
    fail_msg("no stream with SSRC %s", want);
    return NULL;
}

static void test_links_and_rtcp_next_port(void **state)
{
    media_t *m = media_new(0, 0, true, NULL);
    sdp_codec_t pcmu = { 0, "PCMU", 8000 };
    sdp_info_t offer = sdp_at("10.0.0.1", 4000, 1, &pcmu),
               answer = sdp_at("10.0.0.2", 5000, 1, &pcmu);
    json_t *all, *s, *r;

    (void)state;
    media_expect(m, "call-a", &offer, true, T0);
    media_expect(m, "call-a", &answer, false, T0);
    /* Callee to caller, and caller to callee from another port (NAT). */
    assert_true(rtp(m, "10.0.0.2", 5000, "10.0.0.1", 4000, T0 + CW_SEC(1), 0, 1, 0x1111));
    assert_true(rtp(m, "10.0.0.1", 3990, "10.0.0.2", 5000, T0 + CW_SEC(1), 0, 1, 0x2222));
    /* RTCP from even ports nobody announced, to the ports above the two
     * announced ones: the caller reports on 0x1111, the callee on 0x2222. */
    assert_true(rtcp_rr(m, "10.0.0.1", 6000, "10.0.0.2", 5001, T0 + CW_SEC(2), 0x2222, 0x1111));
    assert_true(rtcp_rr(m, "10.0.0.2", 6000, "10.0.0.1", 4001, T0 + CW_SEC(2), 0x1111, 0x2222));
    /* Not next to an announced port: not taken for RTCP. */
    assert_false(rtcp_rr(m, "10.0.0.3", 7000, "10.0.0.4", 7001, T0 + CW_SEC(2), 1, 0x1111));
    /* Nor RTP to the RTCP port itself. */
    assert_false(rtp(m, "10.0.0.2", 5001, "10.0.0.1", 4001, T0 + CW_SEC(3), 0, 1, 0x3333));

    s = stream_by_ssrc(m, 0x1111, &all);
    assert_string_equal(json_string_value(json_object_get(s, "call_id")), "call-a");
    assert_string_equal(json_string_value(json_object_get(s, "direction")), "callee");
    r = json_object_get(s, "rtcp");
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "reports")), 1);
    assert_float_equal(json_real_value(json_object_get(r, "fraction_lost_pct")), 25.0, 1e-9);
    json_decref(all);
    s = stream_by_ssrc(m, 0x2222, &all);
    assert_string_equal(json_string_value(json_object_get(s, "direction")), "caller");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "rtcp"), "reports")), 1);
    json_decref(all);
    media_free(m);
}

static void test_codec_sets_shared_and_distinct(void **state)
{
    media_t *m = media_new(0, 0, true, NULL);
    sdp_codec_t opus[2] = { { 96, "opus", 48000 }, { 101, "telephone-event", 8000 } };
    sdp_codec_t amr[1] = { { 96, "AMR-WB", 16000 } };
    sdp_info_t a = sdp_at("10.0.1.1", 4000, 2, opus), b = sdp_at("10.0.1.2", 4000, 2, opus),
               c = sdp_at("10.0.1.3", 4000, 1, amr), a_amr = sdp_at("10.0.1.1", 4000, 1, amr);
    json_t *all, *s;

    (void)state;
    media_expect(m, "call-1", &a, true, T0);
    media_expect(m, "call-2", &b, true, T0);
    media_expect(m, "call-3", &c, true, T0);
    /* A re-INVITE moving call-1 to another set: the old one is released. */
    media_expect(m, "call-1", &a_amr, true, T0);
    media_expect(m, "call-1", &a, true, T0);
    for (uint16_t i = 0; i < 3; i++) {
        assert_true(
            rtp(m, "10.9.9.9", 9000, "10.0.1.1", 4000, T0 + i * (20 * CW_NS_PER_MS), 96, i, 1));
        assert_true(
            rtp(m, "10.9.9.9", 9002, "10.0.1.2", 4000, T0 + i * (20 * CW_NS_PER_MS), 96, i, 2));
        assert_true(
            rtp(m, "10.9.9.9", 9004, "10.0.1.3", 4000, T0 + i * (20 * CW_NS_PER_MS), 96, i, 3));
    }
    assert_true(rtp(m, "10.9.9.9", 9000, "10.0.1.1", 4000, T0 + (70 * CW_NS_PER_MS), 101, 3, 1));
    s = stream_by_ssrc(m, 1, &all);
    assert_string_equal(json_string_value(json_object_get(s, "codec")), "opus");
    assert_int_equal(json_integer_value(json_object_get(s, "events")), 1);
    json_decref(all);
    s = stream_by_ssrc(m, 2, &all);
    assert_string_equal(json_string_value(json_object_get(s, "codec")), "opus");
    assert_string_equal(json_string_value(json_object_get(s, "call_id")), "call-2");
    json_decref(all);
    s = stream_by_ssrc(m, 3, &all);
    assert_string_equal(json_string_value(json_object_get(s, "codec")), "AMR-WB");
    json_decref(all);
    media_free(m);
}

static void endpoint(unsigned i, char *buf, size_t len)
{
    snprintf(buf, len, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
}

/* 65,536 endpoints are kept (twice the streams, at least that); the next
 * one evicts the oldest not used since it was queued. */
static void test_expect_bound_second_chance(void **state)
{
    media_t *m = media_new(1000, 0, true, NULL);
    sdp_codec_t pcmu = { 0, "PCMU", 8000 };
    char a[32], id[32];

    (void)state;
    for (unsigned i = 0; i < 65536; i++) {
        sdp_info_t s;

        endpoint(i + 1, a, sizeof(a));
        snprintf(id, sizeof(id), "call-%u", i);
        s = sdp_at(a, 4000, 1, &pcmu);
        media_expect(m, id, &s, true, T0 + i);
    }
    /* The first one is announced again: it gets a second chance. */
    {
        sdp_info_t s = sdp_at("10.0.0.1", 4000, 1, &pcmu);

        media_expect(m, "call-0", &s, true, T0 + CW_SEC(1));
    }
    {
        sdp_info_t s = sdp_at("10.200.0.1", 4000, 1, &pcmu);

        media_expect(m, "call-new", &s, true, T0 + CW_SEC(1));
    }
    /* The first packet to a known endpoint makes a stream; to a forgotten
     * one, it waits for the shape detector. */
    assert_true(rtp(m, "10.100.0.1", 9000, "10.0.0.1", 4000, T0 + CW_SEC(2), 0, 1, 1));
    assert_false(rtp(m, "10.100.0.1", 9000, "10.0.0.2", 4000, T0 + CW_SEC(2), 0, 1, 2));
    assert_true(rtp(m, "10.100.0.1", 9000, "10.0.0.3", 4000, T0 + CW_SEC(2), 0, 1, 3));
    assert_true(rtp(m, "10.100.0.1", 9000, "10.200.0.1", 4000, T0 + CW_SEC(2), 0, 1, 4));
    media_free(m);
}

/* An endpoint unused for two hours is forgotten; one a stream was found
 * through goes round again. */
static void test_expect_idle_expiry(void **state)
{
    media_t *m = media_new(0, 0, true, NULL);
    sdp_codec_t pcmu = { 0, "PCMU", 8000 };
    sdp_info_t idle = sdp_at("10.0.2.1", 4000, 1, &pcmu), used = sdp_at("10.0.2.2", 4000, 1, &pcmu);

    (void)state;
    media_expect(m, "idle", &idle, true, T0);
    media_expect(m, "used", &used, true, T0);
    assert_true(rtp(m, "10.9.9.9", 9000, "10.0.2.2", 4000, T0 + CW_SEC(60), 0, 1, 1));
    media_tick(m, T0 + CW_SEC(3600));
    media_tick(m, T0 + CW_SEC(7201));
    assert_false(rtp(m, "10.9.9.9", 9000, "10.0.2.1", 4000, T0 + CW_SEC(7202), 0, 1, 2));
    assert_true(rtp(m, "10.9.9.9", 9002, "10.0.2.2", 4000, T0 + CW_SEC(7202), 0, 1, 3));
    /* Two more hours of nothing after its last use: gone too. */
    media_tick(m, T0 + CW_SEC(7202 + 7201));
    media_tick(m, T0 + CW_SEC(7202 + 7202));
    assert_false(rtp(m, "10.9.9.9", 9004, "10.0.2.2", 4000, T0 + CW_SEC(7202 + 7203), 0, 1, 4));
    media_free(m);
}

/* The streams of the table with this SSRC, in order, as "call_id:packets"
 * joined by spaces ("-" for no call). */
static void streams_of_ssrc(media_t *m, uint32_t ssrc, char *out, size_t len)
{
    json_t *all = media_streams_json(m, NULL), *s;
    char want[16];
    size_t i, n = 0;

    snprintf(want, sizeof(want), "0x%08X", ssrc);
    out[0] = '\0';
    json_array_foreach(all, i, s)
    {
        const char *id = json_string_value(json_object_get(s, "call_id"));

        if (strcmp(json_string_value(json_object_get(s, "ssrc")), want) != 0)
            continue;
        n += (size_t)snprintf(out + n, len - n, "%s%s:%lld", n ? " " : "", id ? id : "-",
                              (long long)json_integer_value(json_object_get(s, "packets")));
    }
    json_decref(all);
}

/* n packets of one direction of a call, 20 ms apart from t, sequence
 * numbers from seq0. */
static void talk(media_t *m, const char *src, uint16_t sport, const char *dst, uint16_t dport,
                 cw_ns_t t, unsigned n, uint16_t seq0, uint32_t ssrc)
{
    for (unsigned i = 0; i < n; i++)
        assert_true(rtp(m, src, sport, dst, dport, t + i * (20 * CW_NS_PER_MS), 0,
                        (uint16_t)(seq0 + i), ssrc));
}

/* Calls that use the addresses and SSRC of an earlier one again (a SIPp
 * scenario run twice, a phone with a fixed SSRC) get streams of their own:
 * after the earlier call ended, or fell silent; two calls announcing one
 * endpoint while its media flows (both legs of a B2BUA) leave the stream
 * with the first.  A stream no SDP announced is linked to the call that
 * announces it while it flows, and left alone when it had stopped. */
static void test_reuse_of_addresses(void **state)
{
    media_t *m = media_new(0, 0, true, NULL);
    sdp_codec_t pcmu = { 0, "PCMU", 8000 };
    sdp_info_t a = sdp_at("10.0.4.1", 4000, 1, &pcmu), b = sdp_at("10.0.4.2", 5000, 1, &pcmu);
    sdp_info_t u = sdp_at("10.0.5.1", 4000, 1, &pcmu);
    char got[256];

    (void)state;
    media_expect(m, "run-1", &a, true, T0);
    media_expect(m, "run-1", &b, false, T0);
    talk(m, "10.0.4.2", 5000, "10.0.4.1", 4000, T0 + CW_SEC(1), 50, 1, 0x77);
    media_call_ended(m, "run-1");
    /* The next run at once, the same SDP, sequence numbers and SSRC. */
    media_expect(m, "run-2", &a, true, T0 + CW_SEC(2));
    media_expect(m, "run-2", &b, false, T0 + CW_SEC(2));
    talk(m, "10.0.4.2", 5000, "10.0.4.1", 4000, T0 + CW_SEC(2), 50, 1, 0x77);
    streams_of_ssrc(m, 0x77, got, sizeof(got));
    assert_string_equal(got, "run-1:50 run-2:50");
    /* A third run while run-2 is not known to have ended, after a pause. */
    media_expect(m, "run-3", &a, true, T0 + CW_SEC(10));
    media_expect(m, "run-3", &b, false, T0 + CW_SEC(10));
    talk(m, "10.0.4.2", 5000, "10.0.4.1", 4000, T0 + CW_SEC(10), 20, 1, 0x77);
    streams_of_ssrc(m, 0x77, got, sizeof(got));
    assert_string_equal(got, "run-1:50 run-2:50 run-3:20");
    /* Another call announces the endpoint while run-3's media flows. */
    media_expect(m, "leg-b", &a, true, T0 + CW_SEC(10) + 400 * CW_NS_PER_MS);
    talk(m, "10.0.4.2", 5000, "10.0.4.1", 4000, T0 + CW_SEC(10) + 400 * CW_NS_PER_MS, 10, 21, 0x77);
    streams_of_ssrc(m, 0x77, got, sizeof(got));
    assert_string_equal(got, "run-1:50 run-2:50 run-3:30");
    /* Two calls to one server port: the first call's media stalls, the
     * call is ended by the timeout, and its media resumes after the second
     * call announced the server's port: still the first call's stream,
     * which its own end says. */
    {
        sdp_info_t c1 = sdp_at("10.0.7.1", 6000, 1, &pcmu), c2 = sdp_at("10.0.7.2", 6000, 1, &pcmu);
        sdp_info_t srv = sdp_at("10.0.7.100", 7000, 1, &pcmu);

        media_expect(m, "srv-1", &c1, true, T0);
        media_expect(m, "srv-1", &srv, false, T0);
        talk(m, "10.0.7.1", 6000, "10.0.7.100", 7000, T0, 10, 1, 0x55);
        media_expect(m, "srv-2", &c2, true, T0 + CW_SEC(1));
        media_expect(m, "srv-2", &srv, false, T0 + CW_SEC(1));
        media_call_ended(m, "srv-1");
        talk(m, "10.0.7.1", 6000, "10.0.7.100", 7000, T0 + CW_SEC(30), 10, 11, 0x55);
        streams_of_ssrc(m, 0x55, got, sizeof(got));
        assert_string_equal(got, "srv-1:20");
    }

    /* No SDP: found by its shape, then announced while it flows. */
    for (unsigned i = 0; i < 10; i++)
        (void)rtp(m, "10.0.5.2", 6000, "10.0.5.1", 4000, T0 + i * (20 * CW_NS_PER_MS), 0,
                  (uint16_t)(100 + i), 0x88);
    media_expect(m, "partial", &u, true, T0 + 200 * CW_NS_PER_MS);
    talk(m, "10.0.5.2", 6000, "10.0.5.1", 4000, T0 + 200 * CW_NS_PER_MS, 10, 110, 0x88);
    streams_of_ssrc(m, 0x88, got, sizeof(got));
    assert_string_equal(got, "partial:20");
    /* No SDP, stopped long before another call announces its endpoint. */
    for (unsigned i = 0; i < 10; i++)
        (void)rtp(m, "10.0.6.2", 6000, "10.0.6.1", 4000, T0 + i * (20 * CW_NS_PER_MS), 0,
                  (uint16_t)(100 + i), 0x99);
    u = sdp_at("10.0.6.1", 4000, 1, &pcmu);
    media_expect(m, "later", &u, true, T0 + CW_SEC(60));
    talk(m, "10.0.6.2", 6000, "10.0.6.1", 4000, T0 + CW_SEC(60), 10, 110, 0x99);
    streams_of_ssrc(m, 0x99, got, sizeof(got));
    assert_string_equal(got, "-:10 later:10");
    media_free(m);
}

/* An RTP packet with a payload of len octets and timestamp ts. */
static bool rtp_len(media_t *m, const char *src, uint16_t sport, const char *dst, uint16_t dport,
                    cw_ns_t t, uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, size_t len)
{
    uint8_t b[12 + 160] = { 0x80, pt, (uint8_t)(seq >> 8), (uint8_t)seq };
    decode_pkt_t p;

    for (int i = 0; i < 4; i++) {
        b[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
        b[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    }
    p = udp(src, sport, dst, dport, t, b, 12 + len);
    return media_packet(m, &p);
}

/* RTP no SDP announced: two sources sharing one address pair become two
 * streams, every packet counted; a source too short for the shape
 * detector (a DTMF digit of three packets) becomes a stream at the end of
 * the input, listed in order of its first packet; random bytes shaped
 * like RTP headers become nothing. */
static void test_unannounced_sources(void **state)
{
    media_t *m = media_new(0, 0, true, NULL);
    uint32_t lcg = 1;
    json_t *all;
    media_stats_t st;
    char got[256];

    (void)state;
    for (unsigned i = 0; i < 40; i++)
        (void)rtp_len(m, "10.0.8.1", 7000, "10.0.8.2", 7002, T0 + i * (10 * CW_NS_PER_MS), 0,
                      (uint16_t)(500 * (i % 2) + i / 2), 160 * (i / 2), i % 2 ? 2 : 1, 160);
    for (unsigned i = 0; i < 3; i++)
        (void)rtp_len(m, "10.0.8.3", 7004, "10.0.8.4", 7006,
                      T0 + CW_SEC(1) + i * (50 * CW_NS_PER_MS), 101, (uint16_t)(9 + i), 48000, 3,
                      4);
    for (unsigned i = 0; i < 60; i++) {
        lcg = lcg * 1103515245u + 12345u;
        (void)rtp_len(m, "10.0.8.5", 7008, "10.0.8.6", 7010, T0 + CW_SEC(2) + i * CW_NS_PER_MS,
                      (uint8_t)(lcg >> 25), (uint16_t)(lcg >> 8), lcg * 7u, lcg >> 3, 20);
    }
    for (unsigned i = 0; i < 10; i++)
        (void)rtp(m, "10.0.8.7", 7012, "10.0.8.8", 7014, T0 + CW_SEC(3) + i * (20 * CW_NS_PER_MS),
                  0, (uint16_t)(1 + i), 4);
    media_finish(m);
    streams_of_ssrc(m, 1, got, sizeof(got));
    assert_string_equal(got, "-:20");
    streams_of_ssrc(m, 2, got, sizeof(got));
    assert_string_equal(got, "-:20");
    streams_of_ssrc(m, 3, got, sizeof(got));
    assert_string_equal(got, "-:3");
    all = media_streams_json(m, NULL);
    assert_int_equal(json_array_size(all), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(all, 2), "ssrc")),
                        "0x00000003");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(all, 2), "packets")), 3);
    json_decref(all);
    media_get_stats(m, &st);
    assert_int_equal(st.streams_unannounced, 4);
    assert_int_equal(st.streams_short, 1);
    media_free(m);
}

static double step_loss[4];
static unsigned nsteps;

static void on_quality(void *ud, const char *call_id, const cw_addr_t *src, const cw_addr_t *dst,
                       cw_ns_t t, double mos, double loss_pct, double jitter_ms)
{
    (void)ud, (void)call_id, (void)src, (void)dst, (void)t, (void)mos, (void)jitter_ms;
    if (nsteps < 4)
        step_loss[nsteps++] = loss_pct;
}

/* A packet counted lost at one step that arrives in the next lowers the
 * loss; the next step's loss is then none, not a wrapped count. */
static void test_step_loss_late_packet(void **state)
{
    media_hooks_t h = { .on_quality = on_quality };
    media_t *m = media_new(0, 0, true, &h);
    sdp_codec_t pcmu = { 0, "PCMU", 8000 };
    sdp_info_t s = sdp_at("10.0.3.1", 4000, 1, &pcmu);
    media_step_summary_t sum;
    const uint16_t first[] = { 1, 2, 4, 5 }, second[] = { 3, 6, 7 };

    (void)state;
    nsteps = 0;
    media_expect(m, "late", &s, true, T0);
    for (unsigned i = 0; i < 4; i++)
        assert_true(rtp(m, "10.9.9.9", 9000, "10.0.3.1", 4000, T0 + i * (20 * CW_NS_PER_MS), 0,
                        first[i], 7));
    media_step(m, T0 + CW_SEC(1), CW_SEC(1), &sum);
    for (unsigned i = 0; i < 3; i++)
        assert_true(rtp(m, "10.9.9.9", 9000, "10.0.3.1", 4000,
                        T0 + CW_SEC(1) + i * (20 * CW_NS_PER_MS), 0, second[i], 7));
    media_step(m, T0 + CW_SEC(2), CW_SEC(1), &sum);
    assert_int_equal(nsteps, 2);
    assert_float_equal(step_loss[0], 20.0, 1e-9); /* 1 of 5 */
    assert_float_equal(step_loss[1], 0.0, 1e-9);
    assert_float_equal(sum.loss_pct, 0.0, 1e-9);
    media_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_links_and_rtcp_next_port),
        cmocka_unit_test(test_codec_sets_shared_and_distinct),
        cmocka_unit_test(test_expect_bound_second_chance),
        cmocka_unit_test(test_expect_idle_expiry),
        cmocka_unit_test(test_step_loss_late_packet),
        cmocka_unit_test(test_reuse_of_addresses),
        cmocka_unit_test(test_unannounced_sources),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
