/* tunnel: the headers of the encapsulations mirrored or tunnelled traffic
 * comes in: MPLS label stacks, PPPoE sessions, GRE (with ERSPAN types I,
 * II and III), VXLAN, Geneve, GTP-U and TZSP.
 *
 * Each parser reads one encapsulation's header at buf (len bytes, cut when
 * the snap length cut the frame short) and says where the packet it
 * carries starts, how long it is and what it is; decode.c follows it there
 * (IP in IP has no header of its own: decode.c needs no parser for it).
 * Lengths are checked before every read and length fields are never
 * trusted past the bytes there are.  The parsers keep no state. */
#ifndef CW_TUNNEL_H
#define CW_TUNNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "decode/decode.h"

/* What follows an encapsulation's header. */
enum tunnel_next {
    TUNNEL_ETHERNET,  /* an Ethernet frame */
    TUNNEL_ETHERTYPE, /* what .ethertype names: IPv4, IPv6 or MPLS */
    TUNNEL_IP,        /* an IP packet, of the version its first nibble says */
    TUNNEL_NOT_IP,    /* a good header that carries no packet callwatch reads
                       * (signalling, keepalives, PPP of PPTP, ...) */
    TUNNEL_NOT_THIS,  /* not this protocol at all: another one shares the UDP port */
};

typedef struct tunnel_hdr {
    enum tunnel_next next;
    uint16_t ethertype;        /* with TUNNEL_ETHERTYPE */
    uint32_t off;              /* bytes of headers before the inner packet */
    uint32_t inner_len;        /* bytes of the inner packet at off (all within len) */
    bool erspan;               /* GRE: the inner frame came through an ERSPAN header */
    enum decode_reason reason; /* when the parser returns -EINVAL */
} tunnel_hdr_t;

/* Each returns 0 with *h filled, or -EINVAL with h->reason set. */

/* An MPLS label stack (after ethertype 0x8847 or 0x8848): IPv4 or IPv6
 * after the bottom label, or Ethernet behind a pseudowire control word
 * (first nibble 0). */
int tunnel_mpls(const uint8_t *buf, uint32_t len, tunnel_hdr_t *h);

/* A PPPoE session frame (ethertype 0x8864) and its PPP protocol field. */
int tunnel_pppoe(const uint8_t *buf, uint32_t len, bool cut, tunnel_hdr_t *h);

/* GRE, version 0 (RFC 2784 and 2890: checksum, key and sequence number
 * each present or not), with ERSPAN type I, II or III behind it.  Version 1
 * (PPTP) carries PPP: TUNNEL_NOT_IP. */
int tunnel_gre(const uint8_t *buf, uint32_t len, tunnel_hdr_t *h);

/* VXLAN (RFC 7348): 8 bytes, the I flag set, then Ethernet. */
int tunnel_vxlan(const uint8_t *buf, uint32_t len, tunnel_hdr_t *h);

/* Geneve (RFC 8926), version 0, with its options. */
int tunnel_geneve(const uint8_t *buf, uint32_t len, tunnel_hdr_t *h);

/* GTP-U version 1: the optional fields and the extension header chain; a
 * G-PDU (message type 255) carries an IP packet. */
int tunnel_gtpu(const uint8_t *buf, uint32_t len, bool cut, tunnel_hdr_t *h);

/* TZSP version 1, received or transmitted, encapsulating Ethernet; tagged
 * fields up to the end tag. */
int tunnel_tzsp(const uint8_t *buf, uint32_t len, bool cut, tunnel_hdr_t *h);

#endif
