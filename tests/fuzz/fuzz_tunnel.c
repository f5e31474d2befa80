/* libFuzzer target: the encapsulation headers (MPLS, PPPoE, GRE and
 * ERSPAN, VXLAN, Geneve, GTP-U, TZSP), each parser on its own and the
 * whole decode path through them, nested, with fragment state carried
 * across inputs as on a real capture.  Seeds: `wrapcap seeds DIR`. */
#include "autoconf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <pcap/dlt.h>

#include "decode/decode.h"
#include "decode/tunnel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int links[] = { DLT_EN10MB, DECODE_LINK_TZSP, DECODE_LINK_VXLAN, DLT_RAW };

/* Each parser alone: what it says is inside lies within the bytes. */
static void parsers(const uint8_t *buf, uint32_t len, bool cut)
{
    tunnel_hdr_t h;
    int rc[7];

    rc[0] = tunnel_mpls(buf, len, &h);
    if (rc[0] == 0 && h.next <= TUNNEL_IP && (h.off > len || h.inner_len > len - h.off))
        abort();
    rc[1] = tunnel_pppoe(buf, len, cut, &h);
    if (rc[1] == 0 && h.next <= TUNNEL_IP && (h.off > len || h.inner_len > len - h.off))
        abort();
    rc[2] = tunnel_gre(buf, len, &h);
    if (rc[2] == 0 && h.next <= TUNNEL_IP && (h.off > len || h.inner_len > len - h.off))
        abort();
    rc[3] = tunnel_vxlan(buf, len, &h);
    if (rc[3] == 0 && h.next <= TUNNEL_IP && (h.off > len || h.inner_len > len - h.off))
        abort();
    rc[4] = tunnel_geneve(buf, len, &h);
    if (rc[4] == 0 && h.next <= TUNNEL_IP && (h.off > len || h.inner_len > len - h.off))
        abort();
    rc[5] = tunnel_gtpu(buf, len, cut, &h);
    if (rc[5] == 0 && h.next <= TUNNEL_IP && (h.off > len || h.inner_len > len - h.off))
        abort();
    rc[6] = tunnel_tzsp(buf, len, cut, &h);
    if (rc[6] == 0 && h.next <= TUNNEL_IP && (h.off > len || h.inner_len > len - h.off))
        abort();
    for (int i = 0; i < 7; i++)
        if (rc[i] != 0 && (unsigned)h.reason >= DR_COUNT)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static decoder_t *d;
    static cw_ns_t t;
    decode_pkt_t p;
    uint32_t len, wirelen;
    bool cut;

    if (!d)
        d = decoder_new(256 * 1024, CW_SEC(30));
    if (size < 2)
        return 0;
    /* Byte 0 picks the link type, byte 1 whether the snap length cut it. */
    len = (uint32_t)(size - 2);
    cut = (data[1] & 1) != 0;
    wirelen = len + (cut ? data[1] : 0);
    parsers(data + 2, len, cut);
    t += CW_NS_PER_SEC / 10;
    if (decode_frame(d, links[data[0] % (sizeof(links) / sizeof(links[0]))], t, data + 2, len,
                     wirelen, &p) == DECODE_OK) {
        /* Touch the whole payload so ASan checks its bounds. */
        volatile uint8_t sink = 0;

        if (p.encaps > DECODE_MAX_ENCAP || p.wirelen > wirelen)
            abort();
        for (uint32_t i = 0; i < p.payload_len; i++)
            sink ^= p.payload[i];
        (void)sink;
    }
    decoder_expire(d, t);
    return 0;
}
