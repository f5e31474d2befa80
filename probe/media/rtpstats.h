/* rtpstats: the per-stream measurements (RFC 3550 A.1 and A.8).
 *
 * One rtpstats_t per stream, i.e. per (source, destination, SSRC): the
 * stream table (media) owns it and feeds it every RTP packet of the stream
 * in capture order.  Its size is fixed (a few hundred bytes, however long
 * the stream): nothing here allocates on the packet path.  Not
 * thread-safe: one owner per object.
 *
 * Definitions (the numbers users compare with Wireshark; see docs/rtp.md):
 *   packets      every RTP packet fed, voice, RFC 4733 events and comfort
 *                noise alike: tshark's "Pkts".
 *   expected     per epoch, highest - lowest extended sequence number + 1,
 *                summed over epochs.
 *   lost         sequence numbers never received, summed over epochs.
 *                Duplicates never lower it, reordering is never loss; with
 *                no duplicates nor resets it equals tshark's "Lost".
 *   jitter_*     Wireshark 4.0's RTP stream analysis, packet by packet:
 *                the RFC 3550 A.8 estimator J += (|D| - J)/16 in ms, its
 *                maximum and Wireshark's running mean over the "regular"
 *                packets (not the first, no marker, not CN or the packet after
 *                CN, timestamp not before the stream's first).
 *   max_delta_ms the largest arrival gap before a regular packet (tshark's
 *                "Max Delta"). */
#ifndef CW_RTPSTATS_H
#define CW_RTPSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "media/rtp.h"

typedef struct rtpstats rtpstats_t;

#define RTP_CODEC_NAME_MAX        32
#define RTPSTATS_WINDOW_NS        CW_SEC(10) /* the MOS window */
#define RTPSTATS_JITTER_BUFFER_MS 60.0       /* the modelled jitter buffer */

typedef struct rtpstats_summary {
    char codec[RTP_CODEC_NAME_MAX]; /* the voice payload with the most packets;
                                       "" if none */
    uint8_t pt;                     /* its payload type */
    uint32_t clock_rate;            /* its clock rate, 0 if unknown */
    uint32_t ssrc;                  /* of the latest packet */

    uint64_t packets; /* every packet fed: tshark's Pkts */
    uint64_t voice_packets, event_packets, cn_packets;
    uint64_t expected;     /* from the extended sequence numbers, per epoch */
    uint64_t lost;         /* sequence numbers never received */
    double loss_pct;       /* 100 * lost / expected */
    uint64_t duplicates;   /* a sequence number received again */
    uint64_t out_of_order; /* received after a higher sequence number */
    uint64_t seq_resets;   /* restarts (RFC 3550 A.1: a jump then two in a row) */
    uint64_t ssrc_changes; /* a new SSRC fed to the same object: a new epoch too */
    uint64_t stray;        /* lone packets far outside the sequence (a jump that
                              did not continue); in packets, not in expected */

    /* Wireshark-compatible figures (see the top of this file). */
    double jitter_ms; /* the estimator's last value */
    double jitter_mean_ms;
    double jitter_max_ms;
    double max_delta_ms;
    int64_t ws_expected; /* what tshark 4.0 prints as expected and Lost, */
    int64_t ws_lost;     /* for comparison: Lost < 0 with duplicates/resets */

    cw_ns_t first_arrival, last_arrival;
    uint64_t jb_discarded; /* voice packets a 60 ms jitter buffer would discard */

    double delay_ms;  /* the one-way delay the E-model used */
    double burst_r;   /* G.107 BurstR of the whole stream */
    double r_factor;  /* of the whole stream */
    double mos;       /* G.107 E-model listening MOS of the whole stream */
    double mos_min;   /* the lowest over 10 s windows */
    uint32_t windows; /* 10 s windows the stream spans */
} rtpstats_summary_t;

rtpstats_t *rtpstats_new(void);
void rtpstats_free(rtpstats_t *st);

/* For a caller that keeps the statistics inside its own allocation:
 * rtpstats_size() bytes aligned to RTPSTATS_ALIGN; init() makes them
 * what rtpstats_new() returns, fini() frees what they hold (not them). */
#define RTPSTATS_ALIGN 8
size_t rtpstats_size(void);
void rtpstats_init(rtpstats_t *st);
void rtpstats_fini(rtpstats_t *st);

/* Maps a payload type to an encoding (from SDP: a=rtpmap:PT NAME/RATE);
 * copies name.  clock_rate 0 takes the rate known for the name, if any.
 * "telephone-event" (RFC 4733) and "CN" (RFC 3389) are recognised by name.
 * Overrides the static table for that type, except in the Wireshark-
 * compatible jitter, which like Wireshark keeps the static clock below 96
 * and takes no clock for telephone-event.  Returns 0, -EINVAL for a type
 * above 127 or an empty name, -ENOSPC when 16 types are already mapped. */
int rtpstats_set_codec(rtpstats_t *st, uint8_t pt, const char *name, uint32_t clock_rate);

/* Makes st read its mappings from cm, which is not copied: cm must outlive
 * st and stay unchanged.  A later rtpstats_set_codec() copies it first. */
void rtpstats_use_codecs(rtpstats_t *st, const rtp_codec_map_t *cm);

/* The one-way delay for the E-model, e.g. half an RTCP round trip plus the
 * jitter buffer; negative restores the default (MOS_DEFAULT_DELAY_MS). */
void rtpstats_set_delay_ms(rtpstats_t *st, double one_way_ms);

/* Accounts one RTP packet of the stream that arrived at `arrival`.  The
 * header (from rtp_parse) is read, not kept.  Returns 0 or -EINVAL for a
 * NULL argument. */
int rtpstats_packet(rtpstats_t *st, cw_ns_t arrival, const rtp_hdr_t *h);

/* The latest and the first arrival fed (0 before the first packet). */
cw_ns_t rtpstats_last_arrival(const rtpstats_t *st);
cw_ns_t rtpstats_first_arrival(const rtpstats_t *st);

/* Fills out with the figures so far (including the E-model MOS); the stream
 * may go on afterwards.  Cost grows with the windows of the stream. */
void rtpstats_get(const rtpstats_t *st, rtpstats_summary_t *out);

#endif
