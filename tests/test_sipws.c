/* test_sipws: SIP over WebSocket.  Frame headers of every length form,
 * masked or not, malformed ones, and every truncation; the decoder on
 * streams of frames (fragments, control frames between them, keep-alives,
 * close, messages too long for the buffer, lying lengths, fragments out of
 * place) fed whole and cut at every octet; the upgrade handshake; and
 * siptcp following a WebSocket connection segment by segment. */
#include "autoconf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sip/siptcp.h"
#include "sip/sipws.h"

/* ---- frame headers */

struct hdr_case {
    const char *what;
    uint8_t b[16];
    size_t n;
    int rc;
    bool fin;
    uint8_t opcode;
    bool masked;
    uint32_t hdr_len;
    uint64_t payload_len;
};

#define M 0x11, 0x22, 0x33, 0x44

// clang-format off
static const struct hdr_case hdr_cases[] = {
    { "7-bit text", { 0x81, 0x05 }, 2, 0, true, 1, false, 2, 5 },
    { "7-bit, 125", { 0x82, 0x7d }, 2, 0, true, 2, false, 2, 125 },
    { "16-bit binary", { 0x82, 0x7e, 0x01, 0x00 }, 4, 0, true, 2, false, 4, 256 },
    { "16-bit, 126", { 0x01, 0x7e, 0x00, 0x7e }, 4, 0, false, 1, false, 4, 126 },
    { "64-bit", { 0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0 }, 10, 0, true, 2, false, 10, 65536 },
    { "masked 7-bit", { 0x81, 0x85, M }, 6, 0, true, 1, true, 6, 5 },
    { "masked 16-bit", { 0x81, 0xfe, 0x12, 0x34, M }, 8, 0, true, 1, true, 8, 0x1234 },
    { "masked 64-bit", { 0x80, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, M }, 14, 0, true, 0, true, 14,
      1ull << 32 },
    { "ping", { 0x89, 0x00 }, 2, 0, true, 9, false, 2, 0 },
    { "masked pong", { 0x8a, 0x84, M }, 6, 0, true, 10, true, 6, 4 },
    { "close", { 0x88, 0x02 }, 2, 0, true, 8, false, 2, 2 },
    { "a reserved bit", { 0xc1, 0x05 }, 2, -EINVAL, true, 1, false, 0, 0 },
    { "another reserved bit", { 0x91, 0x05 }, 2, -EINVAL, true, 1, false, 0, 0 },
    { "opcode 3", { 0x83, 0x05 }, 2, -EINVAL, true, 3, false, 0, 0 },
    { "opcode 0xb", { 0x8b, 0x00 }, 2, -EINVAL, true, 11, false, 0, 0 },
    { "a fragmented ping", { 0x09, 0x00 }, 2, -EINVAL, false, 9, false, 0, 0 },
    { "a control frame over 125", { 0x88, 0x7e, 0x00, 0x80 }, 4, -EINVAL, true, 8, false, 0, 0 },
    { "16-bit length under 126", { 0x81, 0x7e, 0x00, 0x05 }, 4, -EINVAL, true, 1, false, 0, 0 },
    { "64-bit length under 65536", { 0x81, 0x7f, 0, 0, 0, 0, 0, 0, 0x10, 0 }, 10, -EINVAL, true,
      1, false, 0, 0 },
    { "64-bit length, top bit set", { 0x81, 0x7f, 0x80, 0, 0, 0, 0, 1, 0, 0 }, 10, -EINVAL, true,
      1, false, 0, 0 },
};
// clang-format on

static void test_frame_headers(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(hdr_cases) / sizeof(hdr_cases[0]); c++) {
        const struct hdr_case *hc = &hdr_cases[c];
        sipws_frame_t f;
        int rc = sipws_frame_parse(hc->b, hc->n, &f);

        if (rc != hc->rc)
            fail_msg("%s: rc %d, want %d", hc->what, rc, hc->rc);
        if (rc == 0 && (f.fin != hc->fin || f.opcode != hc->opcode || f.masked != hc->masked ||
                        f.hdr_len != hc->hdr_len || f.payload_len != hc->payload_len))
            fail_msg("%s: fin %d opcode %u masked %d header %u length %llu", hc->what, f.fin,
                     f.opcode, f.masked, f.hdr_len, (unsigned long long)f.payload_len);
        if (rc == 0 && hc->masked && memcmp(f.mask, (const uint8_t[]){ M }, 4) != 0)
            fail_msg("%s: mask", hc->what);
        /* Cut anywhere before its end, a valid header needs more. */
        for (size_t n = 0; rc == 0 && n < hc->n; n++)
            if (sipws_frame_parse(hc->b, n, &f) != -EAGAIN)
                fail_msg("%s: cut at %zu is not -EAGAIN", hc->what, n);
    }
}

static void test_unmask(void **state)
{
    const uint8_t mask[4] = { 0x01, 0x02, 0x04, 0x08 };
    uint8_t p[9] = "abcdefgh";

    (void)state;
    sipws_unmask(p, 8, mask, 0);
    assert_int_equal(p[0], 'a' ^ 1);
    assert_int_equal(p[5], 'f' ^ 2);
    /* Unmasking again, in two pieces at an odd offset, gives it back. */
    sipws_unmask(p, 3, mask, 0);
    sipws_unmask(p + 3, 5, mask, 3);
    assert_memory_equal(p, "abcdefgh", 8);
}

/* ---- the decoder */

/* Appends a frame to out: opcode, FIN, mask (NULL: none), payload. */
static size_t frame(uint8_t *out, uint8_t opcode, bool fin, const uint8_t *mask, const void *data,
                    size_t len)
{
    size_t h = 0;

    out[h++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        out[h++] = (uint8_t)((mask ? 0x80 : 0) | len);
    } else if (len <= 0xffff) {
        out[h++] = (uint8_t)((mask ? 0x80 : 0) | 126);
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    } else {
        out[h++] = (uint8_t)((mask ? 0x80 : 0) | 127);
        for (int i = 7; i >= 0; i--)
            out[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    if (mask) {
        memcpy(out + h, mask, 4);
        h += 4;
    }
    memcpy(out + h, data, len);
    if (mask)
        sipws_unmask(out + h, len, mask, 0);
    return h + len;
}

struct got {
    size_t n;
    char msgs[8][700];
};

static void keep(void *ud, const uint8_t *msg, size_t len)
{
    struct got *g = ud;

    if (g->n < 8) {
        size_t k = len < 699 ? len : 699;

        memcpy(g->msgs[g->n], msg, k);
        g->msgs[g->n][k] = '\0';
    }
    g->n++;
}

#define CAP 600

static const uint8_t K1[4] = { 0x37, 0xfa, 0x21, 0x3d }, K2[4] = { 0, 0xff, 0x80, 1 };
static char big[700];  /* 'x' * 699: longer than CAP */
static char mid[300];  /* 'm' * 299: a 16-bit length */
static char fill[563]; /* 'f' * 560 + "ok": nearly CAP */

/* A stream of frames for one case, written into out; returns its length. */
typedef size_t (*builder_fn)(uint8_t *out);

static size_t b_single(uint8_t *o)
{
    return frame(o, SIPWS_TEXT, true, K1, "INVITE", 6);
}

static size_t b_binary(uint8_t *o)
{
    return frame(o, SIPWS_BINARY, true, NULL, "SIP/2.0 200 OK", 14);
}

static size_t b_fragments(uint8_t *o)
{
    size_t n = frame(o, SIPWS_TEXT, false, K1, "BY", 2);

    n += frame(o + n, SIPWS_PING, true, K2, "hi", 2);
    n += frame(o + n, SIPWS_CONTINUATION, false, K2, "E s", 3);
    n += frame(o + n, SIPWS_PONG, true, NULL, "", 0);
    n += frame(o + n, SIPWS_CONTINUATION, true, K1, "ip:x", 4);
    return n;
}

static size_t b_two_and_mid(uint8_t *o)
{
    size_t n = frame(o, SIPWS_TEXT, true, NULL, "one", 3);

    n += frame(o + n, SIPWS_TEXT, true, K2, mid, strlen(mid));
    n += frame(o + n, SIPWS_BINARY, true, K1, "two", 3);
    return n;
}

static size_t b_keepalive(uint8_t *o)
{
    size_t n = frame(o, SIPWS_TEXT, true, K1, "\r\n\r\n", 4);

    n += frame(o + n, SIPWS_TEXT, true, K1, "ACK", 3);
    return n;
}

static size_t b_close(uint8_t *o)
{
    size_t n = frame(o, SIPWS_TEXT, true, NULL, "OPTIONS", 7);

    n += frame(o + n, SIPWS_CLOSE, true, NULL, "\x03\xe8", 2);
    memcpy(o + n, "\xff\xff garbage after the close", 26);
    return n + 26;
}

static size_t b_too_long(uint8_t *o)
{
    size_t n = frame(o, SIPWS_TEXT, true, K1, big, strlen(big));

    n += frame(o + n, SIPWS_TEXT, true, K2, "after", 5);
    return n;
}

static size_t b_too_long_fragments(uint8_t *o)
{
    size_t n = frame(o, SIPWS_TEXT, false, K1, mid, strlen(mid));

    n += frame(o + n, SIPWS_CONTINUATION, false, NULL, mid, strlen(mid));
    n += frame(o + n, SIPWS_PING, true, NULL, "", 0);
    n += frame(o + n, SIPWS_CONTINUATION, true, K2, mid, strlen(mid));
    n += frame(o + n, SIPWS_TEXT, true, NULL, "next", 4);
    return n;
}

static size_t b_ping_beside_a_full_buffer(uint8_t *o)
{
    /* The ping does not fit beside the 560 octets put together: it is
     * dropped as it comes, and the message completes. */
    static char ping[60];
    size_t n = frame(o, SIPWS_TEXT, false, K1, fill, 560);

    n += frame(o + n, SIPWS_PING, true, NULL, ping, sizeof(ping));
    n += frame(o + n, SIPWS_CONTINUATION, true, K2, "ok", 2);
    return n;
}

static size_t b_64bit(uint8_t *o)
{
    /* A 64-bit length no buffer holds: it and its message are dropped as
     * they come; what follows it is read. */
    static uint8_t huge[70000];
    size_t n = frame(o, SIPWS_BINARY, true, NULL, huge, sizeof(huge));

    n += frame(o + n, SIPWS_TEXT, true, NULL, "tail", 4);
    return n;
}

static size_t b_lying(uint8_t *o)
{
    /* Says 200 octets, has 10: the next frame is taken as its payload,
     * and the decoder waits for the rest. */
    static const uint8_t h[] = { 0x81, 126, 0, 200 };
    size_t n = sizeof(h);

    memcpy(o, h, n);
    memcpy(o + n, "0123456789", 10);
    n += 10;
    n += frame(o + n, SIPWS_TEXT, true, NULL, "lost", 4);
    return n;
}

static size_t b_stray_continuation(uint8_t *o)
{
    size_t n = frame(o, SIPWS_TEXT, true, NULL, "ok", 2);

    n += frame(o + n, SIPWS_CONTINUATION, true, NULL, "stray", 5);
    return n;
}

static size_t b_text_inside_fragments(uint8_t *o)
{
    size_t n = frame(o, SIPWS_TEXT, false, NULL, "half", 4);

    n += frame(o + n, SIPWS_TEXT, true, NULL, "new", 3);
    return n;
}

static size_t b_reserved_bit(uint8_t *o)
{
    size_t n = frame(o, SIPWS_TEXT, true, K1, "ok", 2);

    n += frame(o + n, SIPWS_TEXT, true, NULL, "bad", 3);
    o[n - 5] |= 0x40;
    return n;
}

struct dec_case {
    const char *what;
    builder_fn build;
    const char *msgs[4]; /* in order */
    int rc;              /* of the last call */
    uint64_t too_long, malformed;
};

static const struct dec_case dec_cases[] = {
    { "one masked text frame", b_single, { "INVITE" }, 0, 0, 0 },
    { "one binary frame, not masked", b_binary, { "SIP/2.0 200 OK" }, 0, 0, 0 },
    { "fragments with a ping and a pong between", b_fragments, { "BYE sip:x" }, 0, 0, 0 },
    { "back to back, a 16-bit length between", b_two_and_mid, { "one", mid, "two" }, 0, 0, 0 },
    { "a keep-alive of line ends", b_keepalive, { "ACK" }, 0, 0, 0 },
    { "nothing after a close", b_close, { "OPTIONS" }, 0, 0, 0 },
    { "a message too long", b_too_long, { "after" }, 0, 1, 0 },
    { "fragments growing too long", b_too_long_fragments, { "next" }, 0, 1, 0 },
    { "a ping beside a full buffer", b_ping_beside_a_full_buffer, { fill }, 0, 0, 0 },
    { "a 64-bit length", b_64bit, { "tail" }, 0, 1, 0 },
    { "a length longer than the data", b_lying, { NULL }, 0, 0, 0 },
    { "a continuation with no message open", b_stray_continuation, { "ok" }, -EINVAL, 0, 1 },
    { "a new message inside a fragmented one", b_text_inside_fragments, { NULL }, -EINVAL, 0, 1 },
    { "a reserved bit", b_reserved_bit, { "ok" }, -EINVAL, 0, 1 },
};

/* Feeds stream[0, n) to a fresh decoder in pieces of `piece` octets, as
 * siptcp does: appended after what the buffer keeps, then decoded. */
static int run_decoder(const uint8_t *stream, size_t n, size_t piece, struct got *g,
                       sipws_stats_t *st)
{
    static uint8_t buf[CAP];
    sipws_dec_t d = { 0 };
    uint32_t len = 0;
    size_t off = 0;
    int rc = 0;

    memset(g, 0, sizeof(*g));
    memset(st, 0, sizeof(*st));
    while (off < n && rc == 0) {
        size_t k = n - off < piece ? n - off : piece;

        if (k > CAP - len)
            k = CAP - len;
        assert_true(k > 0); /* the decoder always leaves room */
        memcpy(buf + len, stream + off, k);
        len += (uint32_t)k;
        off += k;
        rc = sipws_decode(&d, buf, &len, CAP, keep, g, st);
        assert_true(len <= CAP);
    }
    return rc;
}

static void test_decoder(void **state)
{
    static uint8_t stream[80000];

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    memset(mid, 'm', sizeof(mid) - 1);
    memset(fill, 'f', 560);
    memcpy(fill + 560, "ok", 3);
    for (size_t c = 0; c < sizeof(dec_cases) / sizeof(dec_cases[0]); c++) {
        const struct dec_case *dc = &dec_cases[c];
        size_t n = dc->build(stream), want = 0;

        while (want < 4 && dc->msgs[want])
            want++;
        /* Whole, then cut into pieces of every size up to 40 octets. */
        for (size_t piece = 0; piece <= 40; piece++) {
            struct got g;
            sipws_stats_t st;
            int rc = run_decoder(stream, n, piece ? piece : n, &g, &st);

            if (rc != dc->rc || g.n != want || st.too_long != dc->too_long ||
                st.malformed != dc->malformed)
                fail_msg("%s, pieces of %zu: rc %d, %zu messages, too long %llu, malformed %llu",
                         dc->what, piece, rc, g.n, (unsigned long long)st.too_long,
                         (unsigned long long)st.malformed);
            for (size_t i = 0; i < want; i++)
                if (strcmp(g.msgs[i], dc->msgs[i]) != 0)
                    fail_msg("%s, pieces of %zu: message %zu is \"%.40s\"", dc->what, piece, i,
                             g.msgs[i]);
        }
        /* Cut short anywhere: no message but those complete before the
         * cut, in order, and no error before the bad frame is whole. */
        for (size_t cut = 0; cut < n; cut += 1 + n / 2000) {
            struct got g;
            sipws_stats_t st;
            int rc = run_decoder(stream, cut, 7, &g, &st);

            if (g.n > want || (rc != 0 && rc != dc->rc))
                fail_msg("%s, cut at %zu: rc %d, %zu messages", dc->what, cut, rc, g.n);
            for (size_t i = 0; i < g.n && i < want; i++)
                if (strcmp(g.msgs[i], dc->msgs[i]) != 0)
                    fail_msg("%s, cut at %zu: message %zu is \"%.40s\"", dc->what, cut, i,
                             g.msgs[i]);
        }
    }
}

/* ---- the upgrade */

struct hs_case {
    const char *what;
    const char *text;
    long rc; /* > 0: the whole text is the block */
};

static const struct hs_case hs_cases[] = {
    { "a SIP upgrade request",
      "GET /ws HTTP/1.1\r\nHost: pbx\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: sip\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n",
      1 },
    { "its answer",
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n",
      1 },
    { "sip among others, names in lower case",
      "GET / HTTP/1.1\r\nupgrade: WebSocket\r\nsec-websocket-protocol: xmpp, sip\r\n\r\n", 1 },
    { "two protocol headers",
      "GET / HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: xmpp\r\n"
      "Sec-WebSocket-Protocol: sip\r\n\r\n",
      1 },
    { "another subprotocol",
      "GET / HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: sips, xmpp\r\n\r\n",
      -EINVAL },
    { "no upgrade", "GET / HTTP/1.1\r\nSec-WebSocket-Protocol: sip\r\n\r\n", -EINVAL },
    { "a plain GET", "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", -EINVAL },
    { "HTTP/1.0", "GET / HTTP/1.0\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: sip\r\n\r\n",
      -EINVAL },
    { "another answer", "HTTP/1.1 1010\r\nUpgrade: websocket\r\n\r\n", -EINVAL },
    { "a bare line feed in the headers",
      "GET / HTTP/1.1\r\n\nUpgrade: websocket\r\nSec-WebSocket-Protocol: sip\r\n\r\n", 1 },
    { "not complete, mentions websocket", "GET / HTTP/1.1\r\nUpgrade: websocket\r\n", 0 },
    { "not complete, does not", "GET / HTTP/1.1\r\nHost: x\r\n", -EINVAL },
    { "not HTTP", "INVITE sip:x SIP/2.0\r\n\r\n", -EINVAL },
};

static void test_handshake(void **state)
{
    static char huge[SIPWS_HANDSHAKE_MAX + 100];

    (void)state;
    for (size_t c = 0; c < sizeof(hs_cases) / sizeof(hs_cases[0]); c++) {
        const struct hs_case *hc = &hs_cases[c];
        size_t n = strlen(hc->text);
        long want = hc->rc > 0 ? (long)n : hc->rc;
        long rc = sipws_handshake((const uint8_t *)hc->text, n);

        if (rc != want)
            fail_msg("%s: %ld, want %ld", hc->what, rc, want);
        /* Frames after the block do not change it. */
        if (want > 0) {
            char more[1024];

            snprintf(more, sizeof(more), "%s\x81\x02hi", hc->text);
            assert_int_equal(sipws_handshake((const uint8_t *)more, n + 4), want);
        }
    }
    snprintf(huge, sizeof(huge), "GET / HTTP/1.1\r\nUpgrade: websocket\r\nX: ");
    memset(huge + strlen(huge), 'y', sizeof(huge) - strlen(huge));
    assert_int_equal(sipws_handshake((const uint8_t *)huge, sizeof(huge)), -E2BIG);
    assert_true(sipws_looks_like((const uint8_t *)"GET ", 4));
    assert_true(sipws_looks_like((const uint8_t *)"HTTP/1.1 101 x", 14));
    assert_false(sipws_looks_like((const uint8_t *)"HTTP/1.1 200 OK", 15));
    assert_false(sipws_looks_like((const uint8_t *)"GE", 2));
}

/* ---- siptcp following a connection */

struct tcp_got {
    int n, ws;
    char msgs[4][256];
};

static void tcp_keep(void *ud, const decode_pkt_t *p, const uint8_t *buf, size_t len, bool ws)
{
    struct tcp_got *g = ud;

    (void)p;
    if (g->n < 4 && len < 256) {
        memcpy(g->msgs[g->n], buf, len);
        g->msgs[g->n][len] = '\0';
    }
    g->n++;
    g->ws += ws;
}

static decode_pkt_t tcp_seg(uint32_t seq, const uint8_t *data, size_t len, uint8_t flags)
{
    decode_pkt_t p;

    memset(&p, 0, sizeof(p));
    cw_addr_parse("10.0.0.1", &p.src);
    cw_addr_parse("10.0.0.2", &p.dst);
    p.sport = 50000;
    p.dport = 80;
    p.proto = 6;
    p.tcp_seq = seq;
    p.tcp_flags = flags;
    p.payload = data;
    p.payload_len = (uint32_t)len;
    return p;
}

static const char invite[] = "INVITE sip:bob@example.com SIP/2.0\r\nCall-ID: ws-1\r\n\r\n";

/* The upgrade in one segment, as it is sent, and the frames after it cut
 * into segments of every size; a connection that is no SIP upgrade is not
 * followed; a malformed frame ends the following of the connection,
 * counted. */
static void test_siptcp_websocket(void **state)
{
    static const char get[] = "GET /sip HTTP/1.1\r\nHost: pbx\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Protocol: sip\r\n\r\n";
    uint8_t stream[1024];
    size_t n = strlen(get);
    siptcp_stats_t st;

    (void)state;
    memcpy(stream, get, n);
    n += frame(stream + n, SIPWS_TEXT, false, K1, invite, 20);
    n += frame(stream + n, SIPWS_PING, true, K2, "", 0);
    n += frame(stream + n, SIPWS_CONTINUATION, true, K2, invite + 20, strlen(invite) - 20);
    n += frame(stream + n, SIPWS_BINARY, true, K1, "SIP/2.0 200 OK\r\n\r\n", 18);
    for (size_t piece = 1; piece <= n; piece += piece < 40 ? 1 : 37) {
        struct tcp_got g = { 0 };
        siptcp_t *t = siptcp_new(0, tcp_keep, &g);
        decode_pkt_t p = tcp_seg(999, NULL, 0, TCP_SYN);

        assert_false(siptcp_segment(t, &p, false)); /* nothing to judge yet */
        p = tcp_seg(1000, stream, strlen(get), TCP_ACK);
        assert_true(siptcp_segment(t, &p, false));
        for (size_t off = strlen(get); off < n; off += piece) {
            size_t k = n - off < piece ? n - off : piece;

            p = tcp_seg(1000 + (uint32_t)off, stream + off, k, TCP_ACK);
            if (!siptcp_segment(t, &p, false))
                fail_msg("pieces of %zu: segment at %zu not followed", piece, off);
        }
        if (g.n != 2 || g.ws != 2 || strcmp(g.msgs[0], invite) != 0 ||
            strcmp(g.msgs[1], "SIP/2.0 200 OK\r\n\r\n") != 0)
            fail_msg("pieces of %zu: %d messages (%d over WebSocket)", piece, g.n, g.ws);
        siptcp_get_stats(t, &st);
        assert_int_equal(st.ws_flows, 1);
        assert_int_equal(st.ws_messages, 2);
        siptcp_free(t);
    }
    {
        struct tcp_got g = { 0 };
        siptcp_t *t = siptcp_new(0, tcp_keep, &g);
        static const char plain[] = "GET / HTTP/1.1\r\nHost: www\r\n\r\n";
        decode_pkt_t p = tcp_seg(1, (const uint8_t *)plain, strlen(plain), TCP_ACK);
        uint8_t bad[64];
        size_t k;

        assert_false(siptcp_segment(t, &p, false));
        /* An upgrade, then a frame with a reserved bit. */
        p = tcp_seg(1, (const uint8_t *)get, strlen(get), TCP_ACK);
        p.sport = 50002;
        assert_true(siptcp_segment(t, &p, false));
        k = frame(bad, SIPWS_TEXT, true, K1, invite, 30);
        bad[0] |= 0x20;
        p = tcp_seg(1 + (uint32_t)strlen(get), bad, k, TCP_ACK);
        p.sport = 50002;
        assert_true(siptcp_segment(t, &p, false));
        siptcp_get_stats(t, &st);
        assert_int_equal(st.ws_malformed, 1);
        assert_int_equal(g.n, 0);
        siptcp_free(t);
    }
    {
        /* An upgrade in two segments that turns out to be another
         * protocol's: followed for its first segment, then let go. */
        struct tcp_got g = { 0 };
        siptcp_t *t = siptcp_new(0, tcp_keep, &g);
        static const char chat1[] = "GET /chat HTTP/1.1\r\nUpgrade: websocket\r\n";
        static const char chat2[] = "Sec-WebSocket-Protocol: chat\r\n\r\n";
        decode_pkt_t p = tcp_seg(1, (const uint8_t *)chat1, strlen(chat1), TCP_ACK);

        assert_true(siptcp_segment(t, &p, false));
        p = tcp_seg(1 + (uint32_t)strlen(chat1), (const uint8_t *)chat2, strlen(chat2), TCP_ACK);
        assert_false(siptcp_segment(t, &p, false));
        p = tcp_seg(1 + (uint32_t)(strlen(chat1) + strlen(chat2)), (const uint8_t *)"\x81\x02hi", 4,
                    TCP_ACK);
        assert_false(siptcp_segment(t, &p, false));
        siptcp_get_stats(t, &st);
        assert_int_equal(st.ws_refused, 1);
        assert_int_equal(st.ws_flows, 0);
        siptcp_free(t);
    }
    {
        /* A hole that never fills: the segment after it starts inside a
         * frame and is lost; the next, which starts a message's frame,
         * finds the frames again. */
        struct tcp_got g = { 0 };
        siptcp_t *t = siptcp_new(0, tcp_keep, &g);
        uint8_t fr[256];
        size_t k = frame(fr, SIPWS_TEXT, true, K1, invite, strlen(invite));
        uint32_t seq = 1 + (uint32_t)strlen(get);
        decode_pkt_t p = tcp_seg(1, (const uint8_t *)get, strlen(get), TCP_ACK);

        assert_true(siptcp_segment(t, &p, false));
        p = tcp_seg(seq, fr, k, TCP_ACK);
        assert_true(siptcp_segment(t, &p, false));
        seq += (uint32_t)k + 1000; /* 1000 octets never seen */
        /* The end of a frame with SIP text in it, which must not be taken
         * for SIP over TCP, then frames of their own. */
        k = frame(fr, SIPWS_TEXT, true, NULL, invite, strlen(invite));
        p = tcp_seg(seq, fr + 2, k - 2, TCP_ACK);
        assert_true(siptcp_segment(t, &p, false));
        seq += (uint32_t)k - 2;
        for (int i = 0; i < 40; i++, seq += (uint32_t)k) {
            p = tcp_seg(seq, fr, k, TCP_ACK);
            assert_true(siptcp_segment(t, &p, false));
        }
        siptcp_get_stats(t, &st);
        assert_int_equal(g.n, 41);
        assert_int_equal(g.ws, 41);
        assert_true(st.gaps >= 1);
        siptcp_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_headers),    cmocka_unit_test(test_unmask),
        cmocka_unit_test(test_decoder),          cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_siptcp_websocket),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
