/* siptcp: SIP over TCP, reassembled per direction and framed by
 * Content-Length, or over WebSocket (RFC 7118: a direction that starts
 * with the HTTP upgrade to the "sip" subprotocol, framed by sipws).
 * Handles messages split across segments, several messages in one
 * segment, retransmitted and out-of-order segments.  Memory is bounded: at
 * most max_flows flows of at most 64 KiB each. */
#ifndef CW_SIPTCP_H
#define CW_SIPTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"

typedef struct siptcp siptcp_t;

/* Called for each complete message; buf is valid during the call only.
 * pkt is the segment that completed it; ws says it came over WebSocket. */
typedef void (*siptcp_msg_fn)(void *ud, const decode_pkt_t *pkt, const uint8_t *buf, size_t len,
                              bool ws);

typedef struct siptcp_stats {
    uint64_t flows;       /* flows followed */
    uint64_t messages;    /* messages framed */
    uint64_t retransmits; /* segments that repeated data already seen */
    uint64_t gaps;        /* holes never filled: the flow resynchronised */
    uint64_t overflows;   /* a message longer than the flow buffer */
    uint64_t evicted;     /* flows dropped to stay within max_flows */
    /* SIP over WebSocket: directions upgraded, upgrades that turned out
     * not to be SIP's or too long to read, messages, frames that ended
     * the following of a direction, messages over 64 KiB left out. */
    uint64_t ws_flows, ws_refused, ws_messages, ws_malformed, ws_too_long;
} siptcp_stats_t;

siptcp_t *siptcp_new(size_t max_flows, siptcp_msg_fn fn, void *ud);
void siptcp_free(siptcp_t *t);

/* Offers a TCP segment.  A flow is followed once a segment starts with a
 * SIP message or an upgrade to SIP over WebSocket, or at once when
 * `sip_port` says the port is SIP.  Returns true when the segment belongs
 * to a followed flow. */
bool siptcp_segment(siptcp_t *t, const decode_pkt_t *pkt, bool sip_port);

/* Forgets flows idle for longer than idle_ns. */
void siptcp_expire(siptcp_t *t, int64_t now, int64_t idle_ns);

void siptcp_get_stats(const siptcp_t *t, siptcp_stats_t *out);

#endif
