/* sdp: the parts of an SDP body that tell where a call's media will flow. */
#ifndef CW_SDP_H
#define CW_SDP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"

#define SDP_MAX_MEDIA 4
#define SDP_MAX_PT    16

enum sdp_dir { SDP_SENDRECV = 0, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE };

typedef struct sdp_codec {
    uint8_t pt;
    char name[24];     /* from rtpmap, or the static name; "" if unknown */
    uint32_t clock_hz; /* from rtpmap, or the static rate; 0 if unknown */
} sdp_codec_t;

typedef struct sdp_stream {
    char type[12];  /* audio, video, image, ... */
    char proto[24]; /* RTP/AVP, RTP/SAVP, udptl, ... */
    uint16_t port;  /* 0: stream disabled */
    cw_addr_t addr; /* media-level c= or else the session's */
    bool has_addr;
    enum sdp_dir dir;
    sdp_codec_t pts[SDP_MAX_PT];
    unsigned npts;
} sdp_stream_t;

typedef struct sdp_info {
    sdp_stream_t media[SDP_MAX_MEDIA];
    unsigned nmedia;
} sdp_info_t;

/* Parses an SDP body (need not be NUL-terminated) with libosip2's parser.
 * Returns 0, or -EINVAL if it is not SDP libosip2 accepts. */
int sdp_parse(const char *body, size_t len, sdp_info_t *out);

/* Name and clock rate of a static RTP payload type (RFC 3551); returns
 * false for dynamic or unassigned types. */
bool sdp_static_pt(uint8_t pt, const char **name, uint32_t *clock_hz);

const char *sdp_dir_name(enum sdp_dir d);

#endif
