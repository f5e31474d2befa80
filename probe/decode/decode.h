/* decode: link, network and transport layers of one captured frame, and
 * the encapsulations around them (tunnel.h): MPLS, PPPoE, GRE and ERSPAN,
 * VXLAN, Geneve, IP in IP, GTP-U and TZSP, up to DECODE_MAX_ENCAP deep.
 * What comes out describes the innermost packet.
 *
 * Every decoder checks the length before each read and never trusts a
 * length field from the wire.  A frame that cannot be decoded is counted
 * under one reason and the caller moves on. */
#ifndef CW_DECODE_H
#define CW_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"

typedef struct decoder decoder_t;

/* Malformed reasons, each counted separately. */
enum decode_reason {
    DR_ETH_TRUNCATED = 0,
    DR_VLAN_TRUNCATED,
    DR_SLL_TRUNCATED,
    DR_NULL_TRUNCATED,
    DR_IP_BAD_VERSION,
    DR_IPV4_TRUNCATED,
    DR_IPV4_BAD_HEADER_LENGTH,
    DR_IPV4_BAD_TOTAL_LENGTH,
    DR_IPV6_TRUNCATED,
    DR_IPV6_BAD_PAYLOAD_LENGTH,
    DR_IPV6_EXT_TRUNCATED,
    DR_UDP_TRUNCATED,
    DR_UDP_BAD_LENGTH,
    DR_TCP_TRUNCATED,
    DR_TCP_BAD_OFFSET,
    DR_FRAG_OVERLAP,
    DR_FRAG_TOO_BIG,
    DR_FRAG_BAD_LENGTH,
    DR_FRAG_TIMEOUT,
    DR_FRAG_EVICTED,
    DR_MPLS_TRUNCATED,
    DR_PPPOE_TRUNCATED,
    DR_PPPOE_BAD_HEADER,
    DR_PPPOE_BAD_LENGTH,
    DR_GRE_TRUNCATED,
    DR_GRE_BAD_VERSION,
    DR_ERSPAN_TRUNCATED,
    DR_ERSPAN_BAD_VERSION,
    DR_VXLAN_TRUNCATED,
    DR_GENEVE_TRUNCATED,
    DR_GENEVE_BAD_OPTIONS,
    DR_GTPU_TRUNCATED,
    DR_GTPU_BAD_LENGTH,
    DR_TZSP_TRUNCATED,
    DR_TZSP_BAD_TAGS,
    DR_ENCAP_TOO_DEEP,
    DR_COUNT
};

/* Stable snake_case name of a reason, as used in the report. */
const char *decode_reason_name(enum decode_reason r);

/* Encapsulations, each counted per packet taken out of one. */
enum decode_encap {
    DE_MPLS = 0,
    DE_PPPOE,
    DE_GRE,
    DE_ERSPAN, /* counted with gre: ERSPAN rides in GRE */
    DE_VXLAN,
    DE_GENEVE,
    DE_IPIP, /* IPv4 or IPv6 in IPv4 or IPv6 */
    DE_GTPU,
    DE_TZSP,
    DE_COUNT
};

/* Stable name of an encapsulation, as used in the report. */
const char *decode_encap_name(enum decode_encap e);

/* Encapsulations taken off one frame at most; one more is encap_too_deep. */
#define DECODE_MAX_ENCAP 4

/* Link types of callwatch's own, past libpcap's DLT_ values: the payload of
 * a UDP datagram received by a mirror source (-i udp:ADDR:PORT). */
#define DECODE_LINK_TZSP  0x10001
#define DECODE_LINK_VXLAN 0x10002

enum decode_result {
    DECODE_OK = 0,        /* an IP packet: addresses, protocol and payload set */
    DECODE_NOT_IP = 1,    /* ARP, LLDP and the like: not counted as malformed */
    DECODE_HELD = 2,      /* a fragment stored until its datagram completes */
    DECODE_MALFORMED = 3, /* counted under decode reason `reason` */
};

#define DECODE_MAX_VLAN 2

typedef struct decode_pkt {
    cw_ns_t ts;
    uint32_t wirelen;   /* the frame's; after encapsulations, that of what the
                         * innermost one carried (its Ethernet frame or IP packet) */
    uint8_t ip_version; /* 4 or 6 */
    cw_addr_t src, dst;
    uint32_t src_hash, dst_hash; /* cw_addr_hash(.., 0) of each, computed once */
    uint8_t proto;               /* IPPROTO_UDP, IPPROTO_TCP, ... */
    uint16_t sport, dport;
    uint8_t tcp_flags;
    uint32_t tcp_seq, tcp_ack;
    uint32_t ip_len;        /* bytes of the IP datagram */
    const uint8_t *payload; /* transport payload; for other protocols, after the IP header */
    uint32_t payload_len;
    uint16_t vlan[DECODE_MAX_VLAN]; /* outer first, of the innermost frame */
    uint8_t vlan_count;
    uint8_t encaps;            /* encapsulations taken off to reach this packet */
    bool reassembled;          /* payload comes from fragment reassembly */
    bool truncated;            /* cut by the snap length: payload_len is what was captured */
    enum decode_reason reason; /* with DECODE_MALFORMED */
} decode_pkt_t;

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

typedef struct decode_stats {
    uint64_t frames;
    /* Frames by their innermost packet's network and transport layers. */
    uint64_t ipv4, ipv6, not_ip;
    uint64_t udp, tcp, other_ip;
    uint64_t fragments, reassembled;
    uint64_t snaplen_cut;
    uint64_t malformed_total;
    uint64_t malformed[DR_COUNT];
    uint64_t encap[DE_COUNT]; /* packets taken out of each encapsulation */
} decode_stats_t;

/* frag_mem 0: 4 MiB; frag_timeout 0: 30 s.  The UDP encapsulations are
 * read on their default ports (CW_DEF_VXLAN_PORT and the like). */
decoder_t *decoder_new(size_t frag_mem, cw_ns_t frag_timeout);
void decoder_free(decoder_t *d);

/* The UDP destination ports on which `e` (DE_VXLAN, DE_GENEVE, DE_GTPU or
 * DE_TZSP) is read, as a bitmap of 65536 bits (copied; NULL: none).  A
 * port also given to another encapsulation is taken from it.  Returns 0,
 * or -EINVAL for another encapsulation. */
int decoder_set_udp_ports(decoder_t *d, enum decode_encap e, const uint8_t *ports);

/* Decodes one frame of link type dlt (a libpcap DLT_ value, or one of the
 * DECODE_LINK_ values).  The payload pointers in out point into buf, or
 * into a reassembly buffer owned by the decoder and valid until the next
 * call. */
int decode_frame(decoder_t *d, int dlt, cw_ns_t ts, const uint8_t *buf, uint32_t caplen,
                 uint32_t wirelen, decode_pkt_t *out);

/* Runs fragment timeouts on the packet clock. */
void decoder_expire(decoder_t *d, cw_ns_t now);

void decoder_get_stats(const decoder_t *d, decode_stats_t *out);

#endif
