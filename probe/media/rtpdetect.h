/* rtpdetect: RTP that no SDP announced, recognised by its shape.
 *
 * One rtpdetect_t per flow (one direction of a UDP 5-tuple) judges its
 * packets until it can say YES or NO.  The flow table (rtpdetect_flows_t)
 * keeps a detector and the first packets of every flow being judged, so
 * that the stream table can turn a YES into streams with no call that
 * count those packets too.  Not thread-safe: one owner per object. */
#ifndef CW_RTPDETECT_H
#define CW_RTPDETECT_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "decode/decode.h"
#include "media/rtp.h"

typedef struct rtpdetect rtpdetect_t;

enum rtpdetect_verdict {
    RTPDETECT_MAYBE = 0, /* not enough packets yet */
    RTPDETECT_YES = 1,   /* the flow carries RTP (sticky) */
    RTPDETECT_NO = -1,   /* it does not (sticky) */
};

/* How many consecutive RTP-shaped packets make a YES. */
#define RTPDETECT_PACKETS 5

rtpdetect_t *rtpdetect_new(void);
void rtpdetect_free(rtpdetect_t *d);

/* Feeds the UDP payload of one packet of a flow (one direction) and its
 * arrival time; returns an enum rtpdetect_verdict.  YES only after
 * RTPDETECT_PACKETS packets in a row with version 2, one SSRC, one payload
 * type (comfort noise aside), sequence numbers advancing by 1 to 10 and
 * timestamps advancing plausibly for the arrival times; packets that are
 * not RTP in between (ZRTP, STUN) and loss gaps do not break the run.
 * NO from the 8th packet on while packets that are not RTP, or RTP-like
 * ones that do not follow each other, outnumber twice those that do, or
 * after 50 packets without a YES: RTCP, STUN, SIP, DNS and random bytes
 * end in NO.
 * The verdict is sticky. */
int rtpdetect_feed(rtpdetect_t *d, cw_ns_t arrival, const uint8_t *buf, size_t len);

/* The SSRC and payload type that made the YES (valid after YES). */
uint32_t rtpdetect_ssrc(const rtpdetect_t *d);
uint8_t rtpdetect_pt(const rtpdetect_t *d);

/* ------------------------------------------------------------ flows */

/* The flows being judged.  Bounded: at most max_flows, the one judged
 * longest dropped first; a flow idle for a minute is forgotten. */
typedef struct rtpdetect_flows rtpdetect_flows_t;

/* A packet a flow held while its detector decided. */
typedef struct rtpdetect_held {
    cw_ns_t arrival;
    rtp_hdr_t h; /* payload NULL: the packet is gone */
} rtpdetect_held_t;

/* max_flows 0: 65536. */
rtpdetect_flows_t *rtpdetect_flows_new(size_t max_flows);
void rtpdetect_flows_free(rtpdetect_flows_t *fl);

/* Judges packet p, parsed as h, with the packets of its flow before it,
 * holding the first few while the verdict is MAYBE.  On YES, hands the held
 * packets to replay, oldest first, and forgets the flow, whose packets
 * find their streams from then on; p itself is left to the caller.
 * Returns an enum rtpdetect_verdict: NO for every later packet of a flow
 * judged NO. */
int rtpdetect_flows_feed(rtpdetect_flows_t *fl, const decode_pkt_t *p, const rtp_hdr_t *h,
                         void (*replay)(void *ud, const rtpdetect_held_t *held), void *ud);

/* Forgets the flows with no packet for a minute before now. */
void rtpdetect_flows_expire(rtpdetect_flows_t *fl, cw_ns_t now);

/* Flows dropped so far to make room for newer ones. */
uint64_t rtpdetect_flows_evicted(const rtpdetect_flows_t *fl);

#endif
