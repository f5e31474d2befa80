/* rtcp: compound RTCP (RFC 3550 section 6) and the RTCP XR VoIP metrics
 * report block (RFC 3611 section 4.7), plus round-trip time from LSR/DLSR,
 * and the far end's view of a stream gathered from them.
 *
 * rtcp_parse() checks every length against the buffer and never trusts a
 * length field: a compound whose packet lengths do not add up to the
 * datagram exactly is rejected.  Results are copied into fixed arrays of
 * rtcp_info_t; nothing is allocated and nothing points into the buffer. */
#ifndef CW_RTCP_H
#define CW_RTCP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

enum rtcp_type {
    RTCP_SR = 200,
    RTCP_RR = 201,
    RTCP_SDES = 202,
    RTCP_BYE = 203,
    RTCP_APP = 204,
    RTCP_XR = 207,
};

/* Kept per compound; further entries are counted in *_dropped. */
#define RTCP_MAX_BLOCKS 32
#define RTCP_MAX_BYE    32
#define RTCP_MAX_VOIP   8
#define RTCP_CNAME_MAX  256 /* an SDES item is at most 255 octets */

typedef struct rtcp_sr {
    uint32_t ssrc;
    uint32_t ntp_sec, ntp_frac; /* NTP timestamp of the report */
    uint32_t rtp_ts;
    uint32_t packet_count, octet_count;
} rtcp_sr_t;

typedef struct rtcp_block {
    uint32_t reporter_ssrc;   /* the SR/RR sender */
    uint32_t ssrc;            /* the source reported on */
    uint8_t fraction_lost;    /* since the last report, in 1/256 */
    int32_t cumulative_lost;  /* signed 24-bit: duplicates can make it negative */
    uint32_t ext_highest_seq; /* cycles << 16 | highest sequence number */
    uint32_t jitter;          /* interarrival jitter, timestamp units */
    uint32_t lsr;             /* middle 32 bits of the last SR's NTP time, 0 = none */
    uint32_t dlsr;            /* delay since that SR, 1/65536 s */
} rtcp_block_t;

/* RFC 3611 4.7 VoIP Metrics Report Block (block type 7), as sent. */
typedef struct rtcp_xr_voip {
    uint32_t reporter_ssrc;             /* the XR sender */
    uint32_t ssrc;                      /* the source reported on */
    uint8_t loss_rate;                  /* fraction lost, 1/256 */
    uint8_t discard_rate;               /* fraction discarded by the jitter buffer, 1/256 */
    uint8_t burst_density, gap_density; /* 1/256 */
    uint16_t burst_duration_ms, gap_duration_ms;
    uint16_t round_trip_ms;                 /* 0 = unavailable */
    uint16_t end_system_ms;                 /* 0 = unavailable */
    int8_t signal_level_db, noise_level_db; /* 127 = unavailable */
    uint8_t rerl_db, gmin;
    uint8_t r_factor, ext_r_factor; /* 127 = unavailable */
    uint8_t mos_lq, mos_cq;         /* MOS x 10; 127 = unavailable */
    uint8_t rx_config;
    uint16_t jb_nominal_ms, jb_max_ms, jb_abs_max_ms;
} rtcp_xr_voip_t;

typedef struct rtcp_info {
    unsigned packets; /* RTCP packets in the compound */
    unsigned unknown; /* of which types skipped (APP, feedback, ...) */
    bool has_sr;
    rtcp_sr_t sr; /* the first SR */
    bool has_rr;
    uint32_t rr_ssrc; /* the first RR's sender */
    size_t nblocks, blocks_dropped;
    rtcp_block_t blocks[RTCP_MAX_BLOCKS];
    bool has_cname;
    uint32_t cname_ssrc;
    char cname[RTCP_CNAME_MAX]; /* NUL-terminated; NULs inside are cut */
    bool has_bye;
    size_t nbye, bye_dropped;
    uint32_t bye_ssrc[RTCP_MAX_BYE];
    bool has_xr;
    uint32_t xr_ssrc;
    size_t nvoip, voip_dropped;
    rtcp_xr_voip_t voip[RTCP_MAX_VOIP];
} rtcp_info_t;

/* Parses one compound RTCP datagram.  Returns 0, or -EINVAL when it is not
 * valid RTCP: a packet shorter than its header, version other than 2, a
 * length past the datagram, leftover bytes, padding anywhere but the last
 * packet or longer than it, report counts or SDES/BYE/XR contents that do
 * not fit their packet, or a first packet that is not SR, RR, SDES, BYE,
 * APP or XR. */
int rtcp_parse(const uint8_t *buf, size_t len, rtcp_info_t *out);

/* The middle 32 bits of the NTP time of t (16.16 fixed point seconds), as
 * LSR and the round-trip computation use. */
uint32_t rtcp_ntp_mid(cw_ns_t t);

/* The same for an SR's NTP timestamp: what a receiver echoes as LSR. */
uint32_t rtcp_sr_mid(const rtcp_sr_t *sr);

/* Round-trip time (RFC 3550 6.4.1): arrival - LSR - DLSR, where arrival is
 * the report's arrival as rtcp_ntp_mid().  Returns 0 with *rtt_ms set,
 * -ENODATA when lsr is 0 (no SR received yet), -ERANGE when the result is
 * negative (clocks or reports inconsistent). */
int rtcp_rtt_ms(uint32_t arrival_mid, uint32_t lsr, uint32_t dlsr, double *rtt_ms);

/* ------------------------------------------------------------ far end */

/* What RTCP says about one RTP stream: the report blocks its receiver
 * sends about it, and its sender's own SR and XR VoIP metrics, beside
 * our own measurement of the stream. */
typedef struct rtcp_far rtcp_far_t;

rtcp_far_t *rtcp_far_new(void);
void rtcp_far_free(rtcp_far_t *far);

/* A report block about the stream, arrived at now.  clock_rate is the
 * stream's RTP clock (0 unknown), for the jitter in ms.  Returns true with
 * *rtt_ms when the block echoes an SR and gives a round trip below 10 s. */
bool rtcp_far_block(rtcp_far_t *far, const rtcp_block_t *b, uint32_t clock_rate, cw_ns_t now,
                    double *rtt_ms);

/* A sender report from the stream's own source. */
void rtcp_far_sr(rtcp_far_t *far, const rtcp_sr_t *sr);

/* An XR VoIP metrics block about the stream. */
void rtcp_far_xr(rtcp_far_t *far, const rtcp_xr_voip_t *xr);

/* The STREAM object's "rtcp" member (docs/report.md); NULL when nothing
 * was reported. */
json_t *rtcp_far_json(const rtcp_far_t *far);

#endif
