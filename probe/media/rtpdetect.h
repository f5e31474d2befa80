/* rtpdetect: RTP that no SDP announced, recognised by its shape.
 *
 * One rtpdetect_t per flow (one direction of a UDP 5-tuple) judges its
 * packets until it can say YES or NO, following each source (SSRC) of the
 * flow apart, up to four at once.  The flow table (rtpdetect_flows_t)
 * keeps a detector and the first packets of every flow being judged, so
 * that the stream table can turn each source found into a stream with no
 * call that counts those packets too; a source too short for a YES whose
 * every packet fitted is handed on when its flow ends.  Not thread-safe:
 * one owner per object. */
#ifndef CW_RTPDETECT_H
#define CW_RTPDETECT_H

#include <stdbool.h>
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

/* How many consecutive RTP-shaped packets of one source make a YES. */
#define RTPDETECT_PACKETS 5
/* The fewest packets of a short source (rtpdetect_short()). */
#define RTPDETECT_SHORT 3

rtpdetect_t *rtpdetect_new(void);
void rtpdetect_free(rtpdetect_t *d);

/* Feeds the UDP payload of one packet of a flow (one direction) and its
 * arrival time; returns an enum rtpdetect_verdict.  YES only after
 * RTPDETECT_PACKETS packets in a row of one source: version 2, one SSRC,
 * one payload type (comfort noise aside), sequence numbers advancing by 1
 * to 10 and timestamps advancing plausibly for the arrival times, at a
 * clock rate of 1 to 200 kHz (or, for RFC 4733 events, 4-octet payloads of
 * a dynamic type, not advancing at all); packets that are not RTP in
 * between (ZRTP, STUN), packets of other sources (each with its own run)
 * and loss gaps do not break a run.  NO from the 8th packet on while
 * packets that are not RTP, RTP-like ones that do not follow each other and
 * new sources beside the first outnumber twice those that follow, or after
 * 50 packets without a YES: RTCP, STUN, SIP, DNS and random bytes end in
 * NO.  The verdict is sticky (but see rtpdetect_take()). */
int rtpdetect_feed(rtpdetect_t *d, cw_ns_t arrival, const uint8_t *buf, size_t len);

/* The SSRC and payload type that made the YES (valid after YES). */
uint32_t rtpdetect_ssrc(const rtpdetect_t *d);
uint8_t rtpdetect_pt(const rtpdetect_t *d);

/* After a YES: forgets the source that made it and goes back to MAYBE,
 * judging the flow's other sources afresh. */
void rtpdetect_take(rtpdetect_t *d);

/* Is a run of ssrc being judged? */
bool rtpdetect_judging(const rtpdetect_t *d, uint32_t ssrc);

/* A source too short for a YES, for when its flow ends: its packet count
 * when every packet of ssrc so far continued its run with no gap, at least
 * RTPDETECT_SHORT of them, at a plausible clock rate, in a flow not judged
 * NO; 0 otherwise. */
unsigned rtpdetect_short(const rtpdetect_t *d, uint32_t ssrc);

/* ------------------------------------------------------------ flows */

/* The flows being judged.  Bounded: at most max_flows, the one judged
 * longest dropped first; a flow idle for a minute is forgotten. */
typedef struct rtpdetect_flows rtpdetect_flows_t;

/* A packet a flow held while its detector decided. */
typedef struct rtpdetect_held {
    cw_ns_t arrival;
    rtp_hdr_t h; /* payload and ext_data NULL: the packet is gone */
} rtpdetect_held_t;

/* A source of a flow found to be RTP, with the packets held for it. */
typedef struct rtpdetect_found {
    const cw_addr_t *src, *dst;
    uint16_t sport, dport;
    uint32_t ssrc;
    const rtpdetect_held_t *held; /* oldest first; valid during the call */
    size_t nheld;
    bool short_stream; /* found at the end of its flow: every packet is in held */
} rtpdetect_found_t;

typedef void (*rtpdetect_found_fn)(void *ud, const rtpdetect_found_t *found);

/* max_flows 0: 65536.  found is told of every source found (NULL: none). */
rtpdetect_flows_t *rtpdetect_flows_new(size_t max_flows, rtpdetect_found_fn found, void *ud);
void rtpdetect_flows_free(rtpdetect_flows_t *fl);

/* Judges packet p, parsed as h, with the packets of its flow before it,
 * holding the first few (16 a flow) while the verdict is MAYBE.  On YES,
 * hands p's source to found with its held packets, oldest first (p itself
 * is left to the caller: its source's packets find their stream from then
 * on), and goes on judging the flow's other sources.  Returns an enum
 * rtpdetect_verdict: NO for every later packet of a flow judged NO. */
int rtpdetect_flows_feed(rtpdetect_flows_t *fl, const decode_pkt_t *p, const rtp_hdr_t *h);

/* Ends the flows with no packet for a minute before now, handing their
 * short sources to found (rtpdetect_short(): every packet held and fit). */
void rtpdetect_flows_expire(rtpdetect_flows_t *fl, cw_ns_t now);

/* Ends every flow likewise: the end of the input. */
void rtpdetect_flows_finish(rtpdetect_flows_t *fl);

/* Flows dropped so far to make room for newer ones. */
uint64_t rtpdetect_flows_evicted(const rtpdetect_flows_t *fl);

#endif
