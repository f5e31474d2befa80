/* libFuzzer target: the decode path from any link type, with fragment
 * state carried across inputs as on a real capture. */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>

#include <pcap/dlt.h>

#include "decode/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int dlts[] = { DLT_EN10MB,     DLT_LINUX_SLL,  276 /* SLL2 */, DLT_RAW,
                            228 /* IPv4 */, 229 /* IPv6 */, DLT_NULL,       DLT_LOOP };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static decoder_t *d;
    static cw_ns_t t;
    decode_pkt_t p;
    uint32_t wirelen;

    if (!d)
        d = decoder_new(256 * 1024, CW_SEC(30));
    if (size < 2)
        return 0;
    /* Byte 0 picks the link type, byte 1 whether the snap length cut it. */
    wirelen = (uint32_t)(size - 2) + ((data[1] & 1) ? data[1] : 0);
    t += CW_NS_PER_SEC / 10;
    if (decode_frame(d, dlts[data[0] % (sizeof(dlts) / sizeof(dlts[0]))], t, data + 2,
                     (uint32_t)(size - 2), wirelen, &p) == DECODE_OK) {
        /* Touch the whole payload so ASan checks its bounds. */
        volatile uint8_t sink = 0;

        for (uint32_t i = 0; i < p.payload_len; i++)
            sink ^= p.payload[i];
        (void)sink;
    }
    decoder_expire(d, t);
    return 0;
}
