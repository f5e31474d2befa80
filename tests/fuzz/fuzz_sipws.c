/* libFuzzer target: SIP over WebSocket on arbitrary bytes.
 *
 * The whole input is read as an upgrade handshake and as a frame header.
 * After its first octet (which picks the piece size and the buffer's
 * size), it is fed to a frame decoder in pieces, as siptcp feeds it, and
 * the decoder's promises are checked: the buffer never overflows and always
 * has room for more.  It is also sent, cut in two, after a valid upgrade on
 * a TCP connection that siptcp follows. */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sip/siptcp.h"
#include "sip/sipws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void on_ws(void *ud, const uint8_t *msg, size_t len)
{
    (void)ud;
    for (size_t i = 0; i < len; i++)
        sink ^= msg[i];
}

static void on_tcp(void *ud, const decode_pkt_t *p, const uint8_t *buf, size_t len, bool ws)
{
    (void)ud, (void)p, (void)ws;
    for (size_t i = 0; i < len; i++)
        sink ^= buf[i];
}

static const char upgrade[] = "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n"
                              "Sec-WebSocket-Protocol: sip\r\n\r\n";

static void decode_in_pieces(const uint8_t *data, size_t size)
{
    static uint8_t buf[4096];
    size_t piece = (size_t)(data[0] & 63) + 1, off = 1;
    uint32_t cap = (uint32_t)(32 + 1000 * (data[0] >> 6)), len = 0;
    sipws_dec_t d = { 0 };
    sipws_stats_t st = { 0 };

    while (off < size) {
        size_t k = size - off < piece ? size - off : piece;

        if (k > cap - len)
            k = cap - len;
        if (k == 0)
            __builtin_trap(); /* the decoder left no room */
        memcpy(buf + len, data + off, k);
        len += (uint32_t)k;
        off += k;
        if (sipws_decode(&d, buf, &len, cap, on_ws, NULL, &st) < 0)
            break;
        if (len > cap || d.msg > len)
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static siptcp_t *tcp;
    static uint16_t port;
    sipws_frame_t f;
    decode_pkt_t p;
    size_t half;

    (void)sipws_handshake(data, size);
    (void)sipws_frame_parse(data, size, &f);
    if (size == 0)
        return 0;
    decode_in_pieces(data, size);

    if (!tcp)
        tcp = siptcp_new(16, on_tcp, NULL);
    memset(&p, 0, sizeof(p));
    cw_addr_parse("10.0.0.1", &p.src);
    cw_addr_parse("10.0.0.2", &p.dst);
    p.sport = (uint16_t)(40000 + port++ % 1000);
    p.dport = 80;
    p.proto = 6;
    p.tcp_flags = TCP_ACK;
    p.tcp_seq = 1;
    p.payload = (const uint8_t *)upgrade;
    p.payload_len = sizeof(upgrade) - 1;
    siptcp_segment(tcp, &p, false);
    half = data[0] % size;
    p.tcp_seq += p.payload_len;
    p.payload = data;
    p.payload_len = (uint32_t)half;
    siptcp_segment(tcp, &p, false);
    p.tcp_seq += (uint32_t)half;
    p.payload = data + half;
    p.payload_len = (uint32_t)(size - half);
    siptcp_segment(tcp, &p, false);
    return 0;
}
