/* rtp: RTP header parsing, payload types, a shape detector for RTP that no
 * SDP announced, and the per-stream measurements (RFC 3550 A.1 and A.8).
 *
 * One rtp_stats_t per stream, i.e. per (source, destination, SSRC): the
 * stream table (media) owns it and feeds it every RTP packet of the stream
 * in capture order.  Its size is fixed (a few hundred bytes, however long
 * the stream): nothing here allocates on the packet path.  Not
 * thread-safe: one owner per object.
 *
 * Definitions (the numbers users compare with Wireshark; see the README, "RTP statistics and MOS"):
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
#ifndef CW_RTP_H
#define CW_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/* ------------------------------------------------------------ header */

#define RTP_HDR_LEN  12
#define RTP_MAX_CSRC 15

typedef struct rtp_hdr {
    uint8_t version; /* always 2 after a successful parse */
    bool padding, extension, marker;
    uint8_t cc; /* CSRC count */
    uint8_t pt; /* payload type, 0-127 */
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint32_t csrc[RTP_MAX_CSRC]; /* the first cc */
    uint16_t ext_profile;        /* with extension: the "defined by profile" word */
    const uint8_t *ext_data;     /* with extension: its data, ext_len bytes */
    size_t ext_len;
    uint8_t pad_len;        /* with padding: bytes of padding, count included */
    const uint8_t *payload; /* points into buf */
    size_t payload_len;     /* without padding */
} rtp_hdr_t;

/* Parses an RTP version 2 header with its CSRC list, header extension and
 * padding.  Every length is checked against len.  Returns 0, or -EINVAL for
 * anything malformed (short, version other than 2, CSRCs or extension past
 * the end, a padding count of 0 or past the payload).  out->payload points
 * into buf; csrc[] holds cc entries, those after are left as they were. */
int rtp_parse(const uint8_t *buf, size_t len, rtp_hdr_t *out);

/* True when the packet is RTCP multiplexed on an RTP port (RFC 5761 section
 * 4): version 2 and the second octet in 192..223.  Does not validate the
 * RTCP packet itself: rtcp_parse() does. */
bool rtp_is_rtcp(const uint8_t *buf, size_t len);

/* ------------------------------------------------------------ payload types */

enum rtp_media { RTP_MEDIA_AUDIO, RTP_MEDIA_VIDEO, RTP_MEDIA_BOTH };

typedef struct rtp_pt_info {
    const char *name;    /* IANA encoding name: "PCMU", "G722", ... */
    uint32_t clock_rate; /* RTP clock in Hz (8000 for G722, RFC 3551 4.5.2) */
    uint8_t channels;
    enum rtp_media media;
} rtp_pt_info_t;

/* The static payload type table (RFC 3551 table 4 and 5, with the types
 * IANA has since marked reserved but older equipment still sends: 1, 2 and
 * 19).  Returns NULL for an unassigned or dynamic type. */
const rtp_pt_info_t *rtp_pt_lookup(uint8_t pt);

/* Clock rate of a dynamic encoding by its name (case-insensitive), for an
 * rtpmap without a usable rate: "opus" 48000, "AMR-WB" 16000, ...;
 * 0 when unknown. */
uint32_t rtp_name_clock_rate(const char *name);

/* What a payload is, for keeping events and comfort noise out of the voice
 * statistics. */
enum rtp_payload_kind { RTP_KIND_VOICE = 0, RTP_KIND_EVENT, RTP_KIND_CN };

/* ------------------------------------------------------------ detector */

typedef struct rtp_detector rtp_detector_t;

enum rtp_detect {
    RTP_DETECT_MAYBE = 0, /* not enough packets yet */
    RTP_DETECT_YES = 1,   /* the flow carries RTP (sticky) */
    RTP_DETECT_NO = -1,   /* it does not (sticky) */
};

/* How many consecutive RTP-shaped packets make a YES. */
#define RTP_DETECT_PACKETS 5

rtp_detector_t *rtp_detector_new(void);
void rtp_detector_free(rtp_detector_t *d);

/* Feeds the UDP payload of one packet of a flow (one direction) and its
 * arrival time; returns an enum rtp_detect.  YES only after
 * RTP_DETECT_PACKETS packets in a row with version 2, one SSRC, one payload
 * type (comfort noise aside), sequence numbers advancing by 1 to 10 and
 * timestamps advancing plausibly for the arrival times; packets that are
 * not RTP in between (ZRTP, STUN) and loss gaps do not break the run.
 * NO from the 8th packet on while packets that are not RTP, or RTP-like
 * ones that do not follow each other, outnumber twice those that do, or
 * after 50 packets without a YES: RTCP, STUN, SIP, DNS and random bytes
 * end in NO.
 * The verdict is sticky. */
int rtp_detector_feed(rtp_detector_t *d, cw_ns_t arrival, const uint8_t *buf, size_t len);

/* The SSRC and payload type that made the YES (valid after YES). */
uint32_t rtp_detector_ssrc(const rtp_detector_t *d);
uint8_t rtp_detector_pt(const rtp_detector_t *d);

/* ------------------------------------------------------------ statistics */

typedef struct rtp_stats rtp_stats_t;

#define RTP_CODEC_NAME_MAX   32
#define RTP_WINDOW_NS        CW_SEC(10) /* the MOS window */
#define RTP_JITTER_BUFFER_MS 60.0       /* the modelled jitter buffer */

typedef struct rtp_summary {
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
} rtp_summary_t;

rtp_stats_t *rtp_stats_new(void);
void rtp_stats_free(rtp_stats_t *st);

/* For a caller that keeps the statistics inside its own allocation:
 * rtp_stats_size() bytes aligned to RTP_STATS_ALIGN; init() makes them
 * what rtp_stats_new() returns, fini() frees what they hold (not them). */
#define RTP_STATS_ALIGN 8
size_t rtp_stats_size(void);
void rtp_stats_init(rtp_stats_t *st);
void rtp_stats_fini(rtp_stats_t *st);

/* Maps a payload type to an encoding (from SDP: a=rtpmap:PT NAME/RATE);
 * copies name.  clock_rate 0 takes the rate known for the name, if any.
 * "telephone-event" (RFC 4733) and "CN" (RFC 3389) are recognised by name.
 * Overrides the static table for that type, except in the Wireshark-
 * compatible jitter, which like Wireshark keeps the static clock below 96
 * and takes no clock for telephone-event.  Returns 0, -EINVAL for a type
 * above 127 or an empty name, -ENOSPC when 16 types are already mapped. */
int rtp_stats_set_codec(rtp_stats_t *st, uint8_t pt, const char *name, uint32_t clock_rate);

/* A set of payload type mappings, to be shared by the streams of calls
 * that announce the same codecs.  Same rules as rtp_stats_set_codec(). */
typedef struct rtp_codec_map rtp_codec_map_t;

rtp_codec_map_t *rtp_codec_map_new(void);
void rtp_codec_map_free(rtp_codec_map_t *cm);
int rtp_codec_map_set(rtp_codec_map_t *cm, uint8_t pt, const char *name, uint32_t clock_rate);

/* Makes st read its mappings from cm, which is not copied: cm must outlive
 * st and stay unchanged.  A later rtp_stats_set_codec() copies it first. */
void rtp_stats_use_codecs(rtp_stats_t *st, const rtp_codec_map_t *cm);

/* The one-way delay for the E-model, e.g. half an RTCP round trip plus the
 * jitter buffer; negative restores the default (MOS_DEFAULT_DELAY_MS). */
void rtp_stats_set_delay_ms(rtp_stats_t *st, double one_way_ms);

/* Accounts one RTP packet of the stream that arrived at `arrival`.  The
 * header (from rtp_parse) is read, not kept.  Returns 0 or -EINVAL for a
 * NULL argument. */
int rtp_stats_packet(rtp_stats_t *st, cw_ns_t arrival, const rtp_hdr_t *h);

/* The latest arrival fed (0 before the first packet). */
cw_ns_t rtp_stats_last_arrival(const rtp_stats_t *st);

/* Fills out with the figures so far (including the E-model MOS); the stream
 * may go on afterwards.  Cost grows with the windows of the stream. */
void rtp_stats_get(const rtp_stats_t *st, rtp_summary_t *out);

#endif
