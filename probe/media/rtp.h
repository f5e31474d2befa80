/* rtp: the RTP header (RFC 3550 section 5.1) and what its payload types
 * mean: the static table (RFC 3551) and the maps SDP gives.
 *
 * What every other part of media reads RTP through: the stream table and
 * the shape detector parse with rtp_parse(), the statistics ask the payload
 * type table for clocks on every packet (hence the inline lookups) and the
 * SDP maps when a stream meets a new payload type. */
#ifndef CW_RTP_H
#define CW_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "sip/sdp.h"

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
 * RTCP packet itself: rtcp_parse() does.  RTCP packet types 192-223 collide
 * only with RTP payload types 64-95 with the marker set, which RTP must not
 * use. */
static inline bool rtp_is_rtcp(const uint8_t *buf, size_t len)
{
    return buf && len >= 8 && (buf[0] >> 6) == 2 && buf[1] >= 192 && buf[1] <= 223;
}

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
 * 19), indexed by type; entries without a name are unassigned or dynamic.
 * Read it through rtp_pt_lookup(). */
extern const rtp_pt_info_t rtp_pt_table[128];

/* The static entry of a payload type; NULL for an unassigned or dynamic
 * type.  Inline: the statistics look up a clock for every packet. */
static inline const rtp_pt_info_t *rtp_pt_lookup(uint8_t pt)
{
    if (pt >= 128 || !rtp_pt_table[pt].name)
        return NULL;
    return &rtp_pt_table[pt];
}

/* Comfort noise (RFC 3389) by its static payload types, 13 and the
 * formerly assigned 19. */
static inline bool rtp_pt_is_cn(uint8_t pt)
{
    return pt == 13 || pt == 19;
}

/* Clock rate of a dynamic encoding by its name (case-insensitive), for an
 * rtpmap without a usable rate: "opus" 48000, "AMR-WB" 16000, ...;
 * 0 when unknown. */
uint32_t rtp_name_clock_rate(const char *name);

/* What a payload is, for keeping events and comfort noise out of the voice
 * statistics. */
enum rtp_payload_kind { RTP_KIND_VOICE = 0, RTP_KIND_EVENT, RTP_KIND_CN };

/* The kind of an encoding by its name (case-insensitive):
 * "telephone-event" (RFC 4733) is an event, "CN" (RFC 3389) comfort noise,
 * anything else voice. */
enum rtp_payload_kind rtp_name_kind(const char *name);

/* ---- payload types mapped by SDP */

#define RTP_CODEC_NAME_MAX 32

/* The payload types an SDP media line maps (a=rtpmap), at most 16, to be
 * shared by the streams of calls that announce the same codecs.  A name
 * is kept once for the whole process (at most 1,024 distinct ones, then
 * "other"). */
typedef struct rtp_codec_map rtp_codec_map_t;

rtp_codec_map_t *rtp_codec_map_new(void);
/* A copy of cm (an empty map for NULL). */
rtp_codec_map_t *rtp_codec_map_dup(const rtp_codec_map_t *cm);
void rtp_codec_map_free(rtp_codec_map_t *cm);

/* Maps pt to name at clock_rate (0: the name's usual rate, none for
 * telephone-event).  Returns 0, -EINVAL for a type above 127 or an empty
 * name, -ENOSPC when 16 types are already mapped. */
int rtp_codec_map_set(rtp_codec_map_t *cm, uint8_t pt, const char *name, uint32_t clock_rate);

/* What pt means under cm (NULL: no mapping), SDP first, then the static
 * table: its kind, its clock in Hz (0: unknown), its name ("" unknown). */
enum rtp_payload_kind rtp_codec_kind(const rtp_codec_map_t *cm, uint8_t pt);
uint32_t rtp_codec_clock(const rtp_codec_map_t *cm, uint8_t pt);
const char *rtp_codec_name(const rtp_codec_map_t *cm, uint8_t pt);

/* Wireshark's clock for pt: the static table below 96 whatever SDP says,
 * the SDP mapping from 96 on, none for telephone-event. */
uint32_t rtp_codec_ws_clock(const rtp_codec_map_t *cm, uint8_t pt);

/* The codec maps of the SDP media lines seen: one per distinct list of
 * named codecs, shared by every stream and expectation that announces it
 * (calls repeat a few lists endlessly) and freed with its last reference.
 * Every map got must be put before the table is freed. */
typedef struct rtp_codec_sets rtp_codec_sets_t;

rtp_codec_sets_t *rtp_codec_sets_new(void);
void rtp_codec_sets_free(rtp_codec_sets_t *sets);

/* The map of md's named codecs, with one more reference; NULL when it
 * names none. */
const rtp_codec_map_t *rtp_codec_sets_get(rtp_codec_sets_t *sets, const sdp_stream_t *md);

/* One more reference to a map from rtp_codec_sets_get(). */
void rtp_codec_sets_ref(const rtp_codec_map_t *cm);

/* Drops a reference to cm (NULL allowed), freeing it with the last. */
void rtp_codec_sets_put(rtp_codec_sets_t *sets, const rtp_codec_map_t *cm);

#endif
