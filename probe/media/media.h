/* media: the stream table.  Every RTP stream, keyed by source, destination
 * and SSRC, measured with rtpstats and linked to its call through the
 * endpoints that call's SDP announced (both directions, re-INVITEs, and
 * symmetric RTP behind NAT where only one end matches the SDP).  RTP no SDP
 * announced is found by its shape (rtpdetect) and kept with no call, until
 * an SDP announces it while it flows.  A later call that uses the
 * addresses and SSRC of an ended (or long silent) call's stream again gets
 * a stream of its own.
 * RTCP reports are attached to the streams they describe, as the far end's
 * view beside our own measurement.  Memory is bounded: at most max_streams
 * streams and max_flows undecided flows, the idle ones evicted first.  Not
 * thread-safe: the packet thread owns it. */
#ifndef CW_MEDIA_H
#define CW_MEDIA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"
#include "sip/sdp.h"
#include "common/util.h"

typedef struct media media_t;

typedef struct media_hooks {
    /* Media of a call was last seen at `last`, sent from the caller's side
     * or not (called from media_tick() for streams that moved). */
    void (*on_activity)(void *ud, const char *call_id, bool from_caller, cw_ns_t last);
    /* A stream's quality over the step just ended (from media_step()),
     * with its two ends. */
    void (*on_quality)(void *ud, const char *call_id, const cw_addr_t *src, const cw_addr_t *dst,
                       cw_ns_t t, double mos, double loss_pct, double jitter_ms);
    void *ud;
} media_hooks_t;

typedef struct media_stats {
    uint64_t rtp_packets, rtcp_packets;
    uint64_t streams, streams_unannounced; /* created so far */
    uint64_t streams_short;                /* of those, found at the end of their flow */
    uint64_t streams_evicted, flows_evicted;
    uint64_t rtcp_unparseable;
} media_stats_t;

/* max_streams 0: 100000; max_flows 0: 65536; keep: keep ended streams for
 * the report (offline) instead of forgetting them when idle. */
media_t *media_new(size_t max_streams, size_t max_flows, bool keep, const media_hooks_t *hooks);
void media_free(media_t *m);

/* An SDP offer or answer of call_id: media for that side will be received
 * at the announced address and port. */
void media_expect(media_t *m, const char *call_id, const sdp_info_t *sdp, bool from_caller,
                  cw_ns_t now);

/* call_id ended: a later call's SDP that announces one of its streams'
 * endpoints takes that stream's next packets into a stream of its own,
 * even with no pause between the two calls. */
void media_call_ended(media_t *m, const char *call_id);

/* Offers a UDP packet that is not SIP; returns true when it was RTP or
 * RTCP (of a known stream, an announced endpoint, or a flow whose shape
 * says RTP). */
bool media_packet(media_t *m, const decode_pkt_t *p);

/* Once a second of packet time: activity to the calls, expiry. */
void media_tick(media_t *m, cw_ns_t now);

/* The end of the input: flows still being judged end, and their short
 * sources become streams (rtpdetect_flows_finish()). */
void media_finish(media_t *m);

/* The streams active in a step, summarised for the rtp.* metrics. */
typedef struct media_step_summary {
    unsigned streams; /* streams with packets in the step */
    unsigned rated;   /* of which voice streams with a MOS */
    double loss_pct;  /* mean over the rated streams */
    double jitter_ms; /* mean interarrival jitter (the estimator's value) */
    double mos_avg, mos_min;
} media_step_summary_t;

/* At the end of each step (step_ns long): the quality of every stream
 * active in it, to the on_quality hook and summarised into out. */
void media_step(media_t *m, cw_ns_t t, cw_ns_t step_ns, media_step_summary_t *out);

/* STREAM objects (docs/report.md): of one call, or of every stream when
 * call_id is NULL. */
json_t *media_streams_json(media_t *m, const char *call_id);

/* Every stream's STREAM object, one at a time, in the order
 * media_streams_json(m, NULL) lists them: fn takes ownership of each.
 * Stops at the first nonzero return of fn and returns it; 0 when all were
 * given. */
int media_streams_foreach(media_t *m, int (*fn)(void *ud, json_t *stream), void *ud);

/* The MOS of every voice stream of the run, for a histogram: offline every
 * stream; live the streams already forgotten (so that counts only grow).
 * counts has nbounds + 1 entries: counts[i] holds the streams with a MOS
 * in (bounds[i-1], bounds[i]], the last those above every bound. */
void media_mos_histogram(media_t *m, const double *bounds, size_t nbounds, uint64_t *counts,
                         double *sum, uint64_t *count);

void media_get_stats(const media_t *m, media_stats_t *out);

#endif
