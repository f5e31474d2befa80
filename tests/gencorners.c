/* gencorners: the corners of call accounting seen in real captures, as
 * captures whose right analysis is known (gencap's scenarios below).
 *
 *   gencap partial FILE EXPECTED  a capture that starts while calls are up:
 *                                 re-INVITE, UPDATE, BYE and INFO of calls
 *                                 whose INVITE it missed, beside a whole call
 *   gencap reuse FILE1 FILE2 EXPECTED
 *                                 a call, and a day later two calls on the
 *                                 same media addresses and SSRCs (one drops
 *                                 by rtp_timeout)
 *   gencap unannounced FILE       RTP with no SDP: two SSRCs sharing one
 *                                 address pair, a DTMF digit of 3 packets on
 *                                 an SSRC of its own, a burst of 4 packets,
 *                                 and UDP that is not RTP
 *   gencap icmp FILE              a call, and ICMPv4 and ICMPv6 errors that
 *                                 quote SIP requests and RTP packets
 *   gencap ws FILE EXPECTED       calls over WebSocket (RFC 7118) on ports
 *                                 80, 8080 and 5066: fragments, pings,
 *                                 masking, frames cut across TCP segments
 *
 * EXPECTED gets the calls as JSON: call_id, outcome, sip_code, end_reason,
 * partial, transport and the packets of each of the call's streams. */
#include "autoconf.h"

#include "gencorners.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "pcapgen.h"
#include "sipgen.h"

static json_t *expect;

static void want(const char *call_id, const char *outcome, int code, const char *reason,
                 bool partial, const char *transport, int npkts0, int npkts1)
{
    json_t *streams = json_array();

    if (npkts0 >= 0)
        json_array_append_new(streams, json_integer(npkts0));
    if (npkts1 >= 0)
        json_array_append_new(streams, json_integer(npkts1));
    json_array_append_new(expect, json_pack("{s:s, s:s, s:o, s:o, s:b, s:s, s:o}", "call_id",
                                            call_id, "outcome", outcome, "sip_code",
                                            code ? json_integer(code) : json_null(), "end_reason",
                                            reason ? json_string(reason) : json_null(), "partial",
                                            partial, "transport", transport, "streams", streams));
}

static int write_expect(const char *path)
{
    int rc = json_dump_file(expect, path, JSON_INDENT(1));

    json_decref(expect);
    expect = NULL;
    return rc;
}

/* An RTP packet: version 2, payload type pt, len octets of payload. */
static size_t rtp_pkt(uint8_t *b, uint8_t pt, bool marker, uint16_t seq, uint32_t ts, uint32_t ssrc,
                      size_t len)
{
    b[0] = 0x80;
    b[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    for (int i = 0; i < 4; i++) {
        b[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
        b[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    }
    memset(b + 12, 0xd5, len);
    return 12 + len;
}

/* PCMA every 20 ms from t0 to before t1, from src:sport to dst:dport;
 * returns the packets sent. */
static int media(sipgen_t *g, double t0, double t1, const char *src, uint16_t sport,
                 const char *dst, uint16_t dport, uint32_t ssrc)
{
    uint8_t b[200];
    int n = 0;

    for (double t = t0; t < t1 - 1e-9; t += 0.02, n++) {
        size_t len = rtp_pkt(b, 8, n == 0, (uint16_t)(1 + n), 160u * (uint32_t)n, ssrc, 160);

        sg_udp(g, t, src, sport, dst, dport, b, len);
    }
    return n;
}

/* Both directions of c's media, as its SDP announced it. */
static int both_ways(sipgen_t *g, const sg_call_t *c, double t0, double t1, uint32_t ssrc)
{
    int n = media(g, t0, t1, c->caller_ip, c->caller_rtp, c->callee_ip, c->callee_rtp, ssrc);

    media(g, t0 + 0.005, t1 + 0.005, c->callee_ip, c->callee_rtp, c->caller_ip, c->caller_rtp,
          ssrc + 1);
    return n;
}

static void answered_call(sipgen_t *g, sg_call_t *c, double t0, double ring)
{
    sg_request(g, c, t0, "INVITE", 1, true, false, true, NULL);
    sg_response(g, c, t0 + 0.01, 100, "Trying", 1, "INVITE", true, false, false, NULL);
    sg_response(g, c, t0 + ring, 200, "OK", 1, "INVITE", true, true, true, NULL);
    sg_request(g, c, t0 + ring + 0.01, "ACK", 1, true, true, false, NULL);
}

static int finish(sipgen_t *g, const char *path, const char *expected)
{
    int rc = sipgen_write(g, path, false);

    sipgen_free(g);
    if (expected && write_expect(expected) != 0)
        rc = -1;
    return rc ? 1 : 0;
}

/* ---- partial dialogs */

static int gen_partial(const char *path, const char *expected)
{
    sipgen_t *g = sipgen_new();
    sg_call_t c;
    int n;

    expect = json_array();
    /* A whole call: counted, as ever. */
    sg_call_init(&c, "whole-1", "10.20.0.1", "10.20.0.2", SG_UDP);
    answered_call(g, &c, 1.0, 1.0);
    n = both_ways(g, &c, 2.1, 20.0, 0x1000);
    sg_request(g, &c, 20.5, "BYE", 2, true, true, false, NULL);
    sg_response(g, &c, 20.51, 200, "OK", 2, "BYE", true, true, false, NULL);
    want("whole-1", "answered", 200, "bye", false, "udp", n, n);
    /* Up when the capture starts: its media first, then a session refresh
     * that announces it, then the callee's BYE. */
    sg_call_init(&c, "partial-reinvite", "10.20.1.1", "10.20.1.2", SG_UDP);
    n = both_ways(g, &c, 0.0, 30.0, 0x2000);
    sg_request(g, &c, 10.0, "INVITE", 7, true, true, true, NULL);
    sg_response(g, &c, 10.05, 200, "OK", 7, "INVITE", true, true, true, NULL);
    sg_request(g, &c, 10.06, "ACK", 7, true, true, false, NULL);
    sg_request(g, &c, 30.5, "BYE", 3, false, true, false, NULL);
    sg_response(g, &c, 30.51, 200, "OK", 3, "BYE", false, true, false, NULL);
    want("partial-reinvite", "answered", 0, "bye", true, "udp", n, n);
    /* An UPDATE announces its media, which then stops: dropped. */
    sg_call_init(&c, "partial-drop", "10.20.2.1", "10.20.2.2", SG_UDP);
    n = both_ways(g, &c, 0.0, 15.0, 0x3000);
    sg_request(g, &c, 5.0, "UPDATE", 4, true, true, true, NULL);
    sg_response(g, &c, 5.02, 200, "OK", 4, "UPDATE", true, true, true, NULL);
    want("partial-drop", "dropped", 0, "rtp_timeout", true, "udp", n, n);
    /* Only its BYE. */
    sg_call_init(&c, "partial-bye", "10.20.3.1", "10.20.3.2", SG_UDP);
    sg_request(g, &c, 3.0, "BYE", 9, true, true, false, NULL);
    sg_response(g, &c, 3.01, 200, "OK", 9, "BYE", true, true, false, NULL);
    want("partial-bye", "answered", 0, "bye", true, "udp", -1, -1);
    /* An INFO near the end: still up. */
    sg_call_init(&c, "partial-info", "10.20.4.1", "10.20.4.2", SG_UDP);
    sg_request(g, &c, 35.0, "INFO", 12, false, true, false, NULL);
    sg_response(g, &c, 35.01, 200, "OK", 12, "INFO", false, true, false, NULL);
    want("partial-info", "active", 0, NULL, true, "udp", -1, -1);
    /* Not calls: an ACK and a provisional response of calls not seen, and
     * an OPTIONS that keeps the capture going. */
    sg_call_init(&c, "orphan", "10.20.5.1", "10.20.5.2", SG_UDP);
    sg_request(g, &c, 36.0, "ACK", 1, true, true, false, NULL);
    sg_response(g, &c, 36.5, 180, "Ringing", 1, "INVITE", true, true, false, NULL);
    sg_request(g, &c, 40.0, "OPTIONS", 1, true, false, false, NULL);
    return finish(g, path, expected);
}

/* ---- media addresses used again */

static int gen_reuse(const char *path1, const char *path2, const char *expected)
{
    sipgen_t *g = sipgen_new();
    sg_call_t c;
    int n;
    int rc;

    expect = json_array();
    /* The first run. */
    sg_call_init(&c, "run-a", "10.30.0.1", "10.30.0.2", SG_UDP);
    answered_call(g, &c, 0.0, 1.0);
    n = both_ways(g, &c, 1.1, 11.1, 0x11110000);
    sg_request(g, &c, 12.0, "BYE", 2, true, true, false, NULL);
    sg_response(g, &c, 12.01, 200, "OK", 2, "BYE", true, true, false, NULL);
    want("run-a", "answered", 200, "bye", false, "udp", n, n);
    rc = sipgen_write(g, path1, false);
    sipgen_free(g);
    /* A day later, the same addresses, ports, SSRCs and sequence numbers:
     * a call whose media stops, then another. */
    g = sipgen_new();
    sipgen_set_base(g, 1700000000.0 + 86400);
    sg_call_init(&c, "run-b", "10.30.0.1", "10.30.0.2", SG_UDP);
    answered_call(g, &c, 0.0, 1.0);
    n = both_ways(g, &c, 1.1, 6.1, 0x11110000);
    want("run-b", "dropped", 200, "rtp_timeout", false, "udp", n, n);
    sg_call_init(&c, "run-c", "10.30.0.1", "10.30.0.2", SG_UDP);
    answered_call(g, &c, 10.0, 1.0);
    n = both_ways(g, &c, 11.1, 16.1, 0x11110000);
    sg_request(g, &c, 17.0, "BYE", 2, true, true, false, NULL);
    sg_response(g, &c, 17.01, 200, "OK", 2, "BYE", true, true, false, NULL);
    want("run-c", "answered", 200, "bye", false, "udp", n, n);
    return (finish(g, path2, expected) || rc) ? 1 : 0;
}

/* ---- RTP no SDP announced */

static int gen_unannounced(const char *path)
{
    sipgen_t *g = sipgen_new();
    uint8_t b[200];
    uint32_t lcg = 5;

    /* Two sources on one address pair, interleaved. */
    for (int i = 0; i < 200; i++) {
        size_t len = rtp_pkt(b, 0, i == 0, (uint16_t)(100 + i), 160u * (uint32_t)i, 0xa1, 160);

        sg_udp(g, 0.02 * i, "10.40.0.1", 7000, "10.40.0.2", 7002, b, len);
        len = rtp_pkt(b, 0, i == 0, (uint16_t)(9000 + i), 777u + 160u * (uint32_t)i, 0xa2, 160);
        sg_udp(g, 0.02 * i + 0.01, "10.40.0.1", 7000, "10.40.0.2", 7002, b, len);
    }
    /* A DTMF digit on a source of its own: three packets, one timestamp. */
    for (int i = 0; i < 3; i++) {
        size_t len = rtp_pkt(b, 101, i == 0, (uint16_t)(50 + i), 8000, 0xa3, 4);

        b[12] = 5;
        b[13] = (uint8_t)(i == 2 ? 0x8a : 0x0a);
        b[14] = 0;
        b[15] = (uint8_t)(80 * (i + 1));
        sg_udp(g, 2.005 + 0.05 * i, "10.40.0.1", 7000, "10.40.0.2", 7002, b, len);
    }
    /* Four packets of voice, and nothing more. */
    for (int i = 0; i < 4; i++) {
        size_t len = rtp_pkt(b, 8, i == 0, (uint16_t)(1 + i), 160u * (uint32_t)i, 0xb1, 160);

        sg_udp(g, 1.0 + 0.02 * i, "10.40.0.3", 7004, "10.40.0.4", 7006, b, len);
    }
    /* UDP that is not RTP (no version 2). */
    for (int i = 0; i < 50; i++) {
        for (int k = 0; k < 40; k++) {
            lcg = lcg * 1103515245u + 12345u;
            b[k] = (uint8_t)(lcg >> 16);
        }
        b[0] = (uint8_t)(b[0] & 0x3f);
        sg_udp(g, 0.5 + 0.03 * i, "10.40.0.5", 7008, "10.40.0.6", 7010, b, 40);
    }
    return finish(g, path, NULL);
}

/* ---- ICMP errors that quote SIP and RTP */

/* An ICMP error from `from` to the quoted datagram's sender, quoting a UDP
 * datagram from src:sport to dst:dport with payload. */
static void icmp_error(sipgen_t *g, double t, const char *from, const char *src, uint16_t sport,
                       const char *dst, uint16_t dport, const void *payload, size_t len)
{
    static pg_buf_t l4, quoted, icmp, ip, frame;
    cw_addr_t f = pg_addr(from), s = pg_addr(src), d = pg_addr(dst);
    bool v6 = s.family == 6;
    /* Destination unreachable, port unreachable (ICMPv4 3/3, ICMPv6 1/4). */
    const uint8_t hdr[8] = { v6 ? 1 : 3, v6 ? 4 : 3 };

    l4.len = quoted.len = icmp.len = ip.len = frame.len = 0;
    pg_udp(&l4, sport, dport, payload, len);
    if (v6)
        pg_ipv6(&quoted, &s, &d, 17, NULL, 0, l4.data, l4.len);
    else
        pg_ipv4(&quoted, &s, &d, 17, 77, 0, 0, l4.data, l4.len);
    memcpy(icmp.data, hdr, sizeof(hdr));
    memcpy(icmp.data + sizeof(hdr), quoted.data, quoted.len);
    icmp.len = sizeof(hdr) + quoted.len;
    if (v6)
        pg_ipv6(&ip, &f, &s, 58, NULL, 0, icmp.data, icmp.len);
    else
        pg_ipv4(&ip, &f, &s, 1, 99, 0, 0, icmp.data, icmp.len);
    pg_link(&frame, PG_LINK_ETHERNET, 0, NULL, ip.data, ip.len);
    sg_frame(g, t, &frame);
}

static const char quoted_invite[] =
    "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.50.0.1:5060;branch=z9hG4bK-q\r\n"
    "From: <sip:alice@example.com>;tag=q1\r\nTo: <sip:bob@example.com>\r\n"
    "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: 0\r\n\r\n";

static int gen_icmp(const char *path)
{
    sipgen_t *g = sipgen_new();
    sg_call_t c;
    char sip[512];
    uint8_t b[200];

    sg_call_init(&c, "icmp-real", "10.50.0.1", "10.50.0.2", SG_UDP);
    answered_call(g, &c, 0.0, 0.5);
    both_ways(g, &c, 0.6, 2.6, 0x5000);
    sg_request(g, &c, 3.0, "BYE", 2, true, true, false, NULL);
    sg_response(g, &c, 3.01, 200, "OK", 2, "BYE", true, true, false, NULL);
    for (int i = 0; i < 10; i++) {
        size_t len = rtp_pkt(b, 0, false, (uint16_t)(1 + i), 160u * (uint32_t)i, 0x7777, 160);

        icmp_error(g, 1.0 + 0.02 * i, "10.50.0.99", "10.50.0.1", 20000, "10.50.0.77", 30000, b,
                   len);
        icmp_error(g, 1.005 + 0.02 * i, "2001:db8:50::99", "2001:db8:50::1", 20000,
                   "2001:db8:50::77", 30000, b, len);
    }
    snprintf(sip, sizeof(sip), quoted_invite, "icmp-quoted-v4");
    icmp_error(g, 1.5, "10.50.0.99", "10.50.0.1", 5060, "10.50.0.77", 5060, sip, strlen(sip));
    snprintf(sip, sizeof(sip), quoted_invite, "icmp-quoted-v6");
    icmp_error(g, 1.6, "2001:db8:50::99", "2001:db8:50::1", 5060, "2001:db8:50::77", 5060, sip,
               strlen(sip));
    return finish(g, path, NULL);
}

/* ---- SIP over WebSocket */

static void ws_call(sg_call_t *c, const char *id, const char *caller, uint16_t cport,
                    uint16_t sport, unsigned fragments, unsigned chunk)
{
    sg_call_init(c, id, caller, "10.60.0.2", SG_WS);
    c->caller_port = cport;
    c->callee_port = sport;
    c->ws_fragments = fragments;
    c->tcp_chunk = chunk;
}

static int gen_ws(const char *path, const char *expected)
{
    sipgen_t *g = sipgen_new();
    sg_call_t c;
    int n;

    expect = json_array();
    /* Fragments with pings between, frames cut across segments. */
    ws_call(&c, "ws-answered", "10.60.0.1", 50001, 80, 3, 100);
    sg_request(g, &c, 1.0, "INVITE", 1, true, false, true, NULL);
    sg_response(g, &c, 1.01, 100, "Trying", 1, "INVITE", true, false, false, NULL);
    sg_response(g, &c, 1.5, 180, "Ringing", 1, "INVITE", true, true, false, NULL);
    sg_response(g, &c, 3.0, 200, "OK", 1, "INVITE", true, true, true, NULL);
    sg_request(g, &c, 3.01, "ACK", 1, true, true, false, NULL);
    n = both_ways(g, &c, 3.1, 8.1, 0x6000);
    sg_request(g, &c, 9.0, "BYE", 2, true, true, false, NULL);
    sg_response(g, &c, 9.01, 200, "OK", 2, "BYE", true, true, false, NULL);
    want("ws-answered", "answered", 200, "bye", false, "ws", n, n);
    /* One frame a message, one segment a frame. */
    ws_call(&c, "ws-busy", "10.60.0.3", 50002, 80, 1, 0);
    sg_request(g, &c, 2.0, "INVITE", 1, true, false, true, NULL);
    sg_response(g, &c, 2.5, 486, "Busy Here", 1, "INVITE", true, true, false, NULL);
    sg_request(g, &c, 2.51, "ACK", 1, true, true, false, NULL);
    want("ws-busy", "failed", 486, "sip_error", false, "ws", -1, -1);
    /* Another port. */
    ws_call(&c, "ws-8080", "10.60.0.4", 50003, 8080, 2, 0);
    answered_call(g, &c, 4.0, 0.5);
    sg_request(g, &c, 6.0, "BYE", 2, false, true, false, NULL);
    sg_response(g, &c, 6.01, 200, "OK", 2, "BYE", false, true, false, NULL);
    want("ws-8080", "answered", 200, "bye", false, "ws", -1, -1);
    /* A port tshark does not take for HTTP unless told. */
    ws_call(&c, "ws-5066", "10.60.0.5", 50004, 5066, 1, 0);
    c.callee_rtp = 30002;
    answered_call(g, &c, 7.0, 0.5);
    sg_request(g, &c, 7.6, "BYE", 2, true, true, false, NULL);
    sg_response(g, &c, 7.61, 200, "OK", 2, "BYE", true, true, false, NULL);
    want("ws-5066", "answered", 200, "bye", false, "ws", -1, -1);
    return finish(g, path, expected);
}

int gencorners(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "partial") == 0)
        return gen_partial(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "reuse") == 0)
        return gen_reuse(argv[2], argv[3], argv[4]);
    if (argc == 3 && strcmp(argv[1], "unannounced") == 0)
        return gen_unannounced(argv[2]);
    if (argc == 3 && strcmp(argv[1], "icmp") == 0)
        return gen_icmp(argv[2]);
    if (argc == 4 && strcmp(argv[1], "ws") == 0)
        return gen_ws(argv[2], argv[3]);
    return -1;
}
