/* rtpdetect: RTP that no SDP announced, recognised by its shape.
 *
 * One rtpdetect_t per flow (one direction of a UDP 5-tuple) judges its
 * packets until it can say YES or NO; the stream table keeps the flow's
 * first packets meanwhile and turns a YES into streams with no call.  The
 * detector only reads its packets; not thread-safe: one owner per object. */
#ifndef CW_RTPDETECT_H
#define CW_RTPDETECT_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

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

#endif
