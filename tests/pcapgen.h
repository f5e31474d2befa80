/* pcapgen: builds frames and writes pcap/pcapng files for tests, so that
 * the expected results of a capture are known exactly. */
#ifndef CW_PCAPGEN_H
#define CW_PCAPGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/* LINKTYPE_ values as written in files. */
#define PG_LINK_NULL     0
#define PG_LINK_ETHERNET 1
#define PG_LINK_RAW      101
#define PG_LINK_LOOP     108
#define PG_LINK_SLL      113
#define PG_LINK_SLL2     276

enum pg_format { PG_PCAP_US, PG_PCAP_NS, PG_PCAPNG };

typedef struct pcapgen pcapgen_t;

/* Creates path; snaplen 0 means 262144.  NULL on error (errno set). */
pcapgen_t *pcapgen_open(const char *path, enum pg_format fmt, int linktype, uint32_t snaplen);

/* Writes one record.  caplen <= wirelen; only caplen bytes are stored. */
int pcapgen_write(pcapgen_t *g, cw_ns_t ts, const uint8_t *frame, uint32_t caplen,
                  uint32_t wirelen);
int pcapgen_close(pcapgen_t *g);

/* Frame building.  Each function appends to a buffer and returns the new
 * length, or 0 if it would not fit. */
typedef struct pg_buf {
    uint8_t data[70000];
    size_t len;
} pg_buf_t;

/* Parses a textual address (aborts on a bad one: test input is fixed). */
cw_addr_t pg_addr(const char *s);

/* Transport segments, checksums left zero. */
void pg_udp(pg_buf_t *out, uint16_t sport, uint16_t dport, const void *payload, size_t len);
void pg_tcp(pg_buf_t *out, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
            uint8_t flags, const void *payload, size_t len);

/* IPv4 header in front of l4 (with `optlen` bytes of NOP options, a
 * multiple of 4), fragment fields given raw: frag = MF flag | offset/8. */
void pg_ipv4(pg_buf_t *out, const cw_addr_t *src, const cw_addr_t *dst, uint8_t proto, uint16_t id,
             uint16_t frag, unsigned optlen, const void *l4, size_t l4len);

/* IPv6 header; `ext` is a raw extension-header chain whose first header
 * type is first_nh (or ext NULL and first_nh the transport protocol). */
void pg_ipv6(pg_buf_t *out, const cw_addr_t *src, const cw_addr_t *dst, uint8_t first_nh,
             const void *ext, size_t extlen, const void *l4, size_t l4len);

/* Link header in front of an IP datagram (ethertype chosen from the IP
 * version).  vlans: 0, 1 or 2 tags (802.1Q, or QinQ 802.1ad outer). */
void pg_link(pg_buf_t *out, int linktype, unsigned nvlan, const uint16_t *vlans, const void *ip,
             size_t iplen);

/* Convenience: Ethernet + IPv4/IPv6 (by address family) + UDP. */
void pg_eth_udp(pg_buf_t *out, const char *src, uint16_t sport, const char *dst, uint16_t dport,
                const void *payload, size_t len);

/* Splits an IPv4 datagram's payload (l4) into fragments of at most `mtu`
 * payload bytes (a multiple of 8), each a full Ethernet frame in frames[].
 * Returns the number of fragments. */
size_t pg_ipv4_fragments(pg_buf_t *frames, size_t maxframes, const cw_addr_t *src,
                         const cw_addr_t *dst, uint8_t proto, uint16_t id, const void *l4,
                         size_t l4len, size_t mtu);

/* The same for IPv6 with fragment headers. */
size_t pg_ipv6_fragments(pg_buf_t *frames, size_t maxframes, const cw_addr_t *src,
                         const cw_addr_t *dst, uint8_t proto, uint32_t id, const void *l4,
                         size_t l4len, size_t mtu);

/* Encapsulation headers, each appended to out in front of what it carries
 * (checksums computed where the protocol has one). */

/* An MPLS label stack of nlabels (1 to 8) entries, the last with the
 * bottom-of-stack bit; then, with control_word, a pseudowire control word;
 * then payload (an IP packet, or with control_word an Ethernet frame). */
void pg_mpls(pg_buf_t *out, unsigned nlabels, bool control_word, const void *payload, size_t len);

/* A PPPoE session header and the PPP protocol of ip's version. */
void pg_pppoe(pg_buf_t *out, uint16_t session, const void *ip, size_t len);

#define PG_GRE_CSUM 0x8000
#define PG_GRE_KEY  0x2000
#define PG_GRE_SEQ  0x1000

/* A GRE header (version 0) with the optional fields flags asks for, of
 * protocol type proto (0x0800, 0x86dd, 0x6558, 0x8847, ...). */
void pg_gre(pg_buf_t *out, unsigned flags, uint16_t proto, const void *payload, size_t len);

/* GRE and ERSPAN type 1, 2 or 3 (3 with the platform subheader when sub)
 * in front of an Ethernet frame. */
void pg_erspan(pg_buf_t *out, int type, bool sub, const void *frame, size_t len);

/* VXLAN (VNI vni) in front of an Ethernet frame. */
void pg_vxlan(pg_buf_t *out, uint32_t vni, const void *frame, size_t len);

/* Geneve with nopts options of growing lengths (4, 8, 12, ... bytes), of
 * protocol type proto (0x6558 for Ethernet, or an ethertype). */
void pg_geneve(pg_buf_t *out, uint32_t vni, uint16_t proto, unsigned nopts, const void *payload,
               size_t len);

/* A GTP-U G-PDU: with opt, the sequence number fields; with ext, also a
 * PDU session container extension header (which implies opt). */
void pg_gtpu(pg_buf_t *out, uint32_t teid, bool opt, bool ext, const void *ip, size_t len);

/* TZSP (received, Ethernet), with or without tagged fields before the
 * end tag. */
void pg_tzsp(pg_buf_t *out, bool tags, const void *frame, size_t len);

/* Wraps one frame in the encapsulations named by kinds, innermost first,
 * separated by commas (as `wrapcap` takes them; pg_wrap_kinds() lists
 * them), the result an Ethernet frame carrying each in turn in an outer
 * IPv4 packet (UDP for the UDP-borne ones) or straight in Ethernet (MPLS,
 * PPPoE).  linktype is the frame's own; those that carry IP take the
 * frame's IP packet.  Returns 0, -ENOENT for a frame that holds no IP where
 * IP is needed (out untouched), or -EINVAL for an unknown kind. */
int pg_wrap(pg_buf_t *out, const char *kinds, int linktype, const uint8_t *frame, size_t len);

/* The kinds pg_wrap() knows, NULL-terminated. */
const char *const *pg_wrap_kinds(void);

#endif
