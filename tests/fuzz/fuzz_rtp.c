/* libFuzzer target: RTP and RTCP.
 *
 * The whole input is parsed as one RTP packet and as one compound RTCP
 * packet.  It is also read as a sequence of packets of one stream, each
 * framed as  LEN (1 octet)  DT (1 octet, signed, arrival step in ms)
 * BYTES (LEN octets), fed to the detector and, when it parses as RTP, to a
 * stream's statistics, whose summary is taken at the end, and to a flow
 * table (two flows, by the low bit of DT) that is ended at the end of the
 * input, so that short sources are handed on too.  A first octet
 * with the top bit set maps payload type 96 + (octet & 15) to a codec
 * first, so dynamic types, events and comfort noise are reached too. */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>

#include "media/rtcp.h"
#include "media/rtp.h"
#include "media/rtpdetect.h"
#include "media/rtpstats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = { "opus", "telephone-event", "CN", "PCMU", "G729", "L16" };

static void on_found(void *ud, const rtpdetect_found_t *f)
{
    volatile uint32_t *sink = ud;

    for (size_t i = 0; i < f->nheld; i++)
        *sink ^= f->held[i].h.ssrc ^ (uint32_t)f->held[i].arrival;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const cw_ns_t t0 = CW_SEC(1700000000);
    volatile uint8_t sink = 0;
    rtp_hdr_t h;
    rtcp_info_t info;
    rtpstats_summary_t m;
    rtpdetect_t *d;
    static rtpdetect_flows_t *fl; /* emptied at the end of every input */
    static volatile uint32_t found;
    decode_pkt_t p = { .proto = 17, .sport = 4000, .dport = 5000 };
    rtpstats_t *st;
    cw_ns_t t = t0;
    size_t off = 0;

    if (rtp_parse(data, size, &h) == 0) {
        /* Touch the payload and extension so ASan checks their bounds. */
        for (size_t i = 0; i < h.payload_len; i++)
            sink ^= h.payload[i];
        for (size_t i = 0; i < h.ext_len; i++)
            sink ^= h.ext_data[i];
    }
    (void)rtp_is_rtcp(data, size);
    if (rtcp_parse(data, size, &info) == 0) {
        for (size_t i = 0; i < info.nblocks; i++) {
            double rtt;

            (void)rtcp_rtt_ms(rtcp_ntp_mid(t0), info.blocks[i].lsr, info.blocks[i].dlsr, &rtt);
        }
        for (size_t i = 0; info.has_cname && info.cname[i]; i++)
            sink ^= (uint8_t)info.cname[i];
    }

    d = rtpdetect_new();
    if (!fl)
        fl = rtpdetect_flows_new(0, on_found, (void *)&found);
    st = rtpstats_new();
    if (size > 1 && (data[0] & 0x80)) {
        rtpstats_set_codec(st, (uint8_t)(96 + (data[0] & 15)),
                           names[data[1] % (sizeof(names) / sizeof(names[0]))],
                           (data[0] & 0x40) ? 0 : 16000);
        off = 2;
    }
    while (size - off >= 2) {
        size_t len = data[off];
        int8_t dt = (int8_t)data[off + 1];

        off += 2;
        if (len > size - off)
            len = size - off;
        t += (cw_ns_t)dt * CW_NS_PER_MS;
        (void)rtpdetect_feed(d, t, data + off, len);
        if (rtp_parse(data + off, len, &h) == 0 && !rtp_is_rtcp(data + off, len)) {
            rtpstats_packet(st, t, &h);
            p.ts = t;
            p.sport = (uint16_t)(4000 + (dt & 1));
            p.payload = data + off;
            p.payload_len = (uint32_t)len;
            (void)rtpdetect_flows_feed(fl, &p, &h);
        }
        off += len;
    }
    rtpstats_get(st, &m);
    sink ^= (uint8_t)m.packets;
    rtpstats_free(st);
    rtpdetect_flows_finish(fl);
    rtpdetect_free(d);
    (void)sink;
    return 0;
}
