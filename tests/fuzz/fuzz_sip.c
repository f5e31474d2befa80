/* libFuzzer target: the SIP path — recognition, libosip2 parsing, SDP,
 * TCP framing and the call state machine — on arbitrary bytes. */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/calls.h"
#include "sip/sdp.h"
#include "sip/sip.h"
#include "sip/siptcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static calls_t *calls;
static sip_msg_t msg;
static cw_ns_t now;

static void on_msg(void *ud, const decode_pkt_t *p, const uint8_t *buf, size_t len, bool ws)
{
    (void)ud;
    if (sip_parse(buf, len, &msg) == 0) {
        msg.over_ws = ws;
        calls_sip(calls, &msg, p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static siptcp_t *tcp;
    decode_pkt_t p;
    sdp_info_t sdp;

    if (!calls) {
        sip_init();
        calls = calls_new(&(calls_cfg_t){ .max_calls = 1000, .keep_ended = false }, NULL);
        tcp = siptcp_new(64, on_msg, NULL);
    }
    now += CW_NS_PER_SEC;
    memset(&p, 0, sizeof(p));
    cw_addr_parse("10.0.0.1", &p.src);
    cw_addr_parse("10.0.0.2", &p.dst);
    p.sport = 5060;
    p.dport = 5060;
    p.ts = now;
    p.proto = 17;
    /* As a datagram. */
    if (sip_looks_like(data, size) && sip_parse(data, size, &msg) == 0)
        calls_sip(calls, &msg, &p);
    /* As SDP. */
    sdp_parse((const char *)data, size, &sdp);
    /* As a TCP stream cut into two segments. */
    if (size > 1) {
        size_t half = data[0] % size;

        p.proto = 6;
        p.tcp_seq = (uint32_t)(now / CW_NS_PER_SEC) * 100000u;
        p.payload = data;
        p.payload_len = (uint32_t)half;
        siptcp_segment(tcp, &p, true);
        p.tcp_seq += (uint32_t)half;
        p.payload = data + half;
        p.payload_len = (uint32_t)(size - half);
        siptcp_segment(tcp, &p, true);
    }
    calls_tick(calls, now);
    return 0;
}
