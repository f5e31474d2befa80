#include "autoconf.h"

#include "sipgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gpkt {
    cw_ns_t t;
    size_t seqno; /* keeps equal times in insertion order */
    uint8_t *frame;
    size_t len;
};

struct sipgen {
    struct gpkt *pkts;
    size_t n, cap;
    cw_ns_t base;
    uint16_t ipid;
};

sipgen_t *sipgen_new(void)
{
    sipgen_t *g = calloc(1, sizeof(*g));

    g->base = CW_SEC(1700000000);
    return g;
}

void sipgen_free(sipgen_t *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        free(g->pkts[i].frame);
    free(g->pkts);
    free(g);
}

void sipgen_set_base(sipgen_t *g, double base)
{
    g->base = (cw_ns_t)(base * 1e9);
}

size_t sipgen_packets(const sipgen_t *g)
{
    return g->n;
}

static void add_frame(sipgen_t *g, double t, const pg_buf_t *f)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 256;
        g->pkts = realloc(g->pkts, g->cap * sizeof(*g->pkts));
    }
    g->pkts[g->n].t = g->base + (cw_ns_t)(t * 1e9 + 0.5);
    g->pkts[g->n].seqno = g->n;
    g->pkts[g->n].frame = malloc(f->len);
    memcpy(g->pkts[g->n].frame, f->data, f->len);
    g->pkts[g->n].len = f->len;
    g->n++;
}

void sg_frame(sipgen_t *g, double t, const pg_buf_t *frame)
{
    add_frame(g, t, frame);
}

/* An IP datagram around l4, fragmented when it exceeds mtu. */
static void add_ip(sipgen_t *g, double t, const char *src, const char *dst, uint8_t proto,
                   const pg_buf_t *l4, int mtu)
{
    static pg_buf_t ip, frame, frags[64];
    cw_addr_t s = pg_addr(src), d = pg_addr(dst);

    g->ipid++;
    if (mtu > 0 && l4->len > (size_t)mtu) {
        size_t n = s.family == 6 ? pg_ipv6_fragments(frags, 64, &s, &d, proto, g->ipid, l4->data,
                                                     l4->len, (size_t)mtu)
                                 : pg_ipv4_fragments(frags, 64, &s, &d, proto, g->ipid, l4->data,
                                                     l4->len, (size_t)mtu);

        for (size_t i = 0; i < n; i++)
            add_frame(g, t + (double)i * 1e-5, &frags[i]);
        return;
    }
    ip.len = 0;
    if (s.family == 6)
        pg_ipv6(&ip, &s, &d, proto, NULL, 0, l4->data, l4->len);
    else
        pg_ipv4(&ip, &s, &d, proto, g->ipid, 0, 0, l4->data, l4->len);
    frame.len = 0;
    pg_link(&frame, PG_LINK_ETHERNET, 0, NULL, ip.data, ip.len);
    add_frame(g, t, &frame);
}

void sg_udp(sipgen_t *g, double t, const char *src, uint16_t sport, const char *dst, uint16_t dport,
            const void *payload, size_t len)
{
    static pg_buf_t l4;

    l4.len = 0;
    pg_udp(&l4, sport, dport, payload, len);
    add_ip(g, t, src, dst, 17, &l4, 0);
}

static void tcp_seg(sipgen_t *g, sg_call_t *c, double t, bool from_caller, uint8_t flags,
                    const void *data, size_t len)
{
    static pg_buf_t l4;
    int d = from_caller ? 0 : 1;

    l4.len = 0;
    pg_tcp(&l4, from_caller ? c->caller_port : c->callee_port,
           from_caller ? c->callee_port : c->caller_port, c->seq[d], c->seq[1 - d], flags, data,
           len);
    add_ip(g, t, from_caller ? c->caller_ip : c->callee_ip,
           from_caller ? c->callee_ip : c->caller_ip, 6, &l4, 0);
    c->seq[d] += (uint32_t)len + ((flags & 0x03) ? 1u : 0u);
}

/* Appends a WebSocket frame to out (RFC 6455 section 5.2): masked with
 * the call's next key when the caller sends it. */
static size_t ws_frame(uint8_t *out, sg_call_t *c, bool from_caller, uint8_t opcode, bool fin,
                       const void *data, size_t len)
{
    size_t h = 0;
    uint8_t mask[4];

    out[h++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        out[h++] = (uint8_t)((from_caller ? 0x80 : 0) | len);
    } else {
        out[h++] = (uint8_t)((from_caller ? 0x80 : 0) | 126);
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    }
    memcpy(out + h, data, len);
    if (from_caller) {
        c->ws_mask = c->ws_mask * 1103515245u + 12345u;
        for (int i = 0; i < 4; i++)
            mask[i] = (uint8_t)(c->ws_mask >> (8 * i));
        memmove(out + h + 4, out + h, len);
        memcpy(out + h, mask, 4);
        h += 4;
        for (size_t i = 0; i < len; i++)
            out[h + i] ^= mask[i & 3];
    }
    return h + len;
}

/* The bytes of a message over WebSocket: its frames (a ping between
 * fragments), after the upgrade on the first message. */
static size_t ws_bytes(sipgen_t *g, sg_call_t *c, double t, bool from_caller, const char *msg,
                       size_t len, uint8_t *out)
{
    static const char get[] = "GET /sip HTTP/1.1\r\nHost: pbx.example.com\r\n"
                              "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Origin: http://www.example.com\r\n"
                              "Sec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n";
    static const char ok[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                             "Sec-WebSocket-Protocol: sip\r\n\r\n";
    unsigned nf = c->ws_fragments > 1 ? c->ws_fragments : 1;
    size_t n = 0, off = 0;

    if (!c->ws_open) {
        tcp_seg(g, c, t - 0.0008, true, 0x18, get, strlen(get));
        tcp_seg(g, c, t - 0.0006, false, 0x18, ok, strlen(ok));
        c->ws_open = true;
    }
    for (unsigned i = 0; i < nf; i++) {
        size_t k = i + 1 == nf ? len - off : len / nf;

        if (i > 0)
            n += ws_frame(out + n, c, from_caller, 0x9, true, "keep", 4);
        n += ws_frame(out + n, c, from_caller, i == 0 ? 0x1 : 0x0, i + 1 == nf, msg + off, k);
        off += k;
    }
    return n;
}

static void send_msg(sipgen_t *g, sg_call_t *c, double t, bool from_caller, const char *msg)
{
    static uint8_t wsbuf[16384];
    size_t len = strlen(msg);

    if (c->transport == SG_UDP) {
        static pg_buf_t l4;

        l4.len = 0;
        pg_udp(&l4, from_caller ? c->caller_port : c->callee_port,
               from_caller ? c->callee_port : c->caller_port, msg, len);
        add_ip(g, t, from_caller ? c->caller_ip : c->callee_ip,
               from_caller ? c->callee_ip : c->caller_ip, 17, &l4, c->fragment_mtu);
        return;
    }
    if (!c->tcp_open) {
        /* Three-way handshake first. */
        tcp_seg(g, c, t - 0.002, true, 0x02, NULL, 0);
        tcp_seg(g, c, t - 0.0015, false, 0x12, NULL, 0);
        tcp_seg(g, c, t - 0.001, true, 0x10, NULL, 0);
        c->tcp_open = true;
    }
    if (c->transport == SG_WS) {
        len = ws_bytes(g, c, t, from_caller, msg, len, wsbuf);
        msg = (const char *)wsbuf;
    }
    if (!c->tcp_chunk || len <= c->tcp_chunk) {
        tcp_seg(g, c, t, from_caller, 0x18, msg, len);
        return;
    }
    for (size_t off = 0, i = 0; off < len; off += c->tcp_chunk, i++) {
        size_t n = len - off < c->tcp_chunk ? len - off : c->tcp_chunk;

        tcp_seg(g, c, t + (double)i * 1e-4, from_caller, 0x18, msg + off, n);
    }
}

void sg_tcp_raw(sipgen_t *g, sg_call_t *c, double t, bool from_caller, const void *data, size_t len)
{
    tcp_seg(g, c, t, from_caller, 0x18, data, len);
}

void sg_call_init(sg_call_t *c, const char *call_id, const char *caller_ip, const char *callee_ip,
                  enum sg_transport tr)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->call_id, sizeof(c->call_id), "%s", call_id);
    snprintf(c->from_tag, sizeof(c->from_tag), "ft-%s", call_id);
    snprintf(c->to_tag, sizeof(c->to_tag), "tt-%s", call_id);
    snprintf(c->caller_ip, sizeof(c->caller_ip), "%s", caller_ip);
    snprintf(c->callee_ip, sizeof(c->callee_ip), "%s", callee_ip);
    c->caller_port = 5060;
    c->callee_port = 5060;
    c->caller_rtp = 20000;
    c->callee_rtp = 30000;
    c->transport = tr;
    c->seq[0] = 1000;
    c->seq[1] = 5000;
}

static const char *host(const char *ip, char *buf, size_t len)
{
    if (strchr(ip, ':'))
        snprintf(buf, len, "[%s]", ip);
    else
        snprintf(buf, len, "%s", ip);
    return buf;
}

static int sdp_body(char *buf, size_t len, const char *ip, uint16_t port)
{
    const char *fam = strchr(ip, ':') ? "IP6" : "IP4";

    return snprintf(buf, len,
                    "v=0\r\no=- 1 1 IN %s %s\r\ns=-\r\nc=IN %s %s\r\nt=0 0\r\n"
                    "m=audio %u RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\n"
                    "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
                    "a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n",
                    fam, ip, fam, ip, port);
}

static void message(sipgen_t *g, sg_call_t *c, double t, const char *first_line, unsigned cseq,
                    const char *method, bool from_caller_side, bool with_tag, bool sdp,
                    const char *extra, bool sent_by_caller)
{
    static char msg[8192];
    char body[1024] = "", h1[64], h2[64];
    const char *tr = c->transport == SG_TCP ? "TCP" : c->transport == SG_WS ? "WS" : "UDP";
    int blen = 0;

    (void)from_caller_side;
    if (sdp)
        blen = sdp_body(body, sizeof(body), sent_by_caller ? c->caller_ip : c->callee_ip,
                        sent_by_caller ? c->caller_rtp : c->callee_rtp);
    snprintf(msg, sizeof(msg),
             "%s\r\n"
             "Via: SIP/2.0/%s %s:%u;branch=z9hG4bK-%s-%u-%s\r\n"
             "Max-Forwards: 70\r\n"
             "From: \"Alice\" <sip:alice@example.com>;tag=%s\r\n"
             "To: \"Bob\" <sip:bob@example.com>%s%s\r\n"
             "Call-ID: %s\r\n"
             "CSeq: %u %s\r\n"
             "Contact: <sip:%s@%s:%u;transport=%s>\r\n"
             "User-Agent: callwatch-gencap\r\n"
             "%s"
             "%s"
             "Content-Length: %d\r\n\r\n%s",
             first_line, tr, host(c->caller_ip, h1, sizeof(h1)), c->caller_port, c->call_id, cseq,
             method, c->from_tag, with_tag ? ";tag=" : "", with_tag ? c->to_tag : "", c->call_id,
             cseq, method, sent_by_caller ? "alice" : "bob",
             host(sent_by_caller ? c->caller_ip : c->callee_ip, h2, sizeof(h2)),
             sent_by_caller ? c->caller_port : c->callee_port, tr, extra ? extra : "",
             sdp ? "Content-Type: application/sdp\r\n" : "", blen, body);
    send_msg(g, c, t, sent_by_caller, msg);
}

void sg_request(sipgen_t *g, sg_call_t *c, double t, const char *method, unsigned cseq,
                bool from_caller, bool in_dialog, bool sdp, const char *extra)
{
    char line[256];

    snprintf(line, sizeof(line), "%s sip:%s@%s SIP/2.0", method, from_caller ? "bob" : "alice",
             "example.com");
    /* Requests from the callee carry the dialog's tags reversed; for the
     * tests only who sends matters, so From/To stay the caller's view. */
    message(g, c, t, line, cseq, method, from_caller, in_dialog, sdp, extra, from_caller);
}

void sg_response(sipgen_t *g, sg_call_t *c, double t, int code, const char *reason, unsigned cseq,
                 const char *method, bool to_caller, bool with_tag, bool sdp, const char *extra)
{
    char line[128];

    snprintf(line, sizeof(line), "SIP/2.0 %d %s", code, reason);
    message(g, c, t, line, cseq, method, !to_caller, with_tag, sdp, extra, !to_caller);
}

static int cmp_pkt(const void *a, const void *b)
{
    const struct gpkt *x = a, *y = b;

    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->seqno < y->seqno ? -1 : x->seqno > y->seqno;
}

int sipgen_write(sipgen_t *g, const char *path, bool pcapng)
{
    pcapgen_t *w = pcapgen_open(path, pcapng ? PG_PCAPNG : PG_PCAP_US, PG_LINK_ETHERNET, 0);
    int rc = 0;

    if (!w)
        return -1;
    qsort(g->pkts, g->n, sizeof(*g->pkts), cmp_pkt);
    for (size_t i = 0; i < g->n; i++)
        rc |= pcapgen_write(w, g->pkts[i].t, g->pkts[i].frame, (uint32_t)g->pkts[i].len,
                            (uint32_t)g->pkts[i].len);
    rc |= pcapgen_close(w);
    return rc ? -1 : 0;
}
