#include "autoconf.h"

#include "decode/decode.h"

#include <errno.h>
#include <netinet/in.h>
#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "decode/ipfrag.h"
#include "decode/tunnel.h"

#define ETHERTYPE_IPV4          0x0800
#define ETHERTYPE_IPV6          0x86dd
#define ETHERTYPE_VLAN          0x8100
#define ETHERTYPE_QINQ          0x88a8
#define ETHERTYPE_QINQ2         0x9100
#define ETHERTYPE_MPLS          0x8847
#define ETHERTYPE_MPLS_MC       0x8848
#define ETHERTYPE_PPPOE_SESSION 0x8864

#define ETHERNET_HEADER_LEN 14

#ifndef IPPROTO_GRE
#define IPPROTO_GRE 47
#endif

/* Raw IP link types as libpcap may report them. */
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

#define PORT_BIT(map, port) ((map)[(port) >> 3] & (1u << ((port)&7)))

/* The encapsulations read on UDP ports, in the order a port is looked up. */
static const enum decode_encap udp_encaps[] = { DE_VXLAN, DE_GENEVE, DE_GTPU, DE_TZSP };
#define UDP_ENCAPS (sizeof(udp_encaps) / sizeof(udp_encaps[0]))

/* The way into an encapsulation: out of line, so that the functions of
 * plain packets stay as small as they were (not "cold": a mirror's every
 * packet takes it). */
#define CW_OUT_OF_LINE __attribute__((noinline))

struct decoder {
    ipfrag_t *frag;
    decode_stats_t st;
    ipfrag_stats_t last_frag; /* to turn ipfrag's totals into per-reason counts */

    uint32_t missing; /* the frame being decoded: bytes the snap length cut off it */

    /* UDP encapsulations: any port at all (the cheap test on every UDP
     * packet), then which one. */
    uint8_t udp_any[65536 / 8];
    uint8_t udp_ports[UDP_ENCAPS][65536 / 8];
};

static const char *const reason_names[DR_COUNT] = {
    [DR_ETH_TRUNCATED] = "ethernet_truncated",
    [DR_VLAN_TRUNCATED] = "vlan_truncated",
    [DR_SLL_TRUNCATED] = "sll_truncated",
    [DR_NULL_TRUNCATED] = "null_truncated",
    [DR_IP_BAD_VERSION] = "ip_bad_version",
    [DR_IPV4_TRUNCATED] = "ipv4_truncated",
    [DR_IPV4_BAD_HEADER_LENGTH] = "ipv4_bad_header_length",
    [DR_IPV4_BAD_TOTAL_LENGTH] = "ipv4_bad_total_length",
    [DR_IPV6_TRUNCATED] = "ipv6_truncated",
    [DR_IPV6_BAD_PAYLOAD_LENGTH] = "ipv6_bad_payload_length",
    [DR_IPV6_EXT_TRUNCATED] = "ipv6_ext_truncated",
    [DR_UDP_TRUNCATED] = "udp_truncated",
    [DR_UDP_BAD_LENGTH] = "udp_bad_length",
    [DR_TCP_TRUNCATED] = "tcp_truncated",
    [DR_TCP_BAD_OFFSET] = "tcp_bad_offset",
    [DR_FRAG_OVERLAP] = "fragment_overlap",
    [DR_FRAG_TOO_BIG] = "fragment_too_big",
    [DR_FRAG_BAD_LENGTH] = "fragment_bad_length",
    [DR_FRAG_TIMEOUT] = "fragment_timeout",
    [DR_FRAG_EVICTED] = "fragment_evicted",
    [DR_MPLS_TRUNCATED] = "mpls_truncated",
    [DR_PPPOE_TRUNCATED] = "pppoe_truncated",
    [DR_PPPOE_BAD_HEADER] = "pppoe_bad_header",
    [DR_PPPOE_BAD_LENGTH] = "pppoe_bad_length",
    [DR_GRE_TRUNCATED] = "gre_truncated",
    [DR_GRE_BAD_VERSION] = "gre_bad_version",
    [DR_ERSPAN_TRUNCATED] = "erspan_truncated",
    [DR_ERSPAN_BAD_VERSION] = "erspan_bad_version",
    [DR_VXLAN_TRUNCATED] = "vxlan_truncated",
    [DR_GENEVE_TRUNCATED] = "geneve_truncated",
    [DR_GENEVE_BAD_OPTIONS] = "geneve_bad_options",
    [DR_GTPU_TRUNCATED] = "gtpu_truncated",
    [DR_GTPU_BAD_LENGTH] = "gtpu_bad_length",
    [DR_TZSP_TRUNCATED] = "tzsp_truncated",
    [DR_TZSP_BAD_TAGS] = "tzsp_bad_tags",
    [DR_ENCAP_TOO_DEEP] = "encap_too_deep",
};

static const char *const encap_names[DE_COUNT] = {
    [DE_MPLS] = "mpls",     [DE_PPPOE] = "pppoe", [DE_GRE] = "gre",
    [DE_ERSPAN] = "erspan", [DE_VXLAN] = "vxlan", [DE_GENEVE] = "geneve",
    [DE_IPIP] = "ipip",     [DE_GTPU] = "gtpu",   [DE_TZSP] = "tzsp",
};

const char *decode_reason_name(enum decode_reason r)
{
    return (unsigned)r < DR_COUNT ? reason_names[r] : "unknown";
}

const char *decode_encap_name(enum decode_encap e)
{
    return (unsigned)e < DE_COUNT ? encap_names[e] : "unknown";
}

int decoder_set_udp_ports(decoder_t *d, enum decode_encap e, const uint8_t *ports)
{
    size_t k;

    for (k = 0; k < UDP_ENCAPS && udp_encaps[k] != e; k++)
        ;
    if (k == UDP_ENCAPS)
        return -EINVAL;
    if (ports)
        memcpy(d->udp_ports[k], ports, sizeof(d->udp_ports[k]));
    else
        memset(d->udp_ports[k], 0, sizeof(d->udp_ports[k]));
    /* Taken from the others; then the union, for the test on every
     * packet.  Eight bytes at a time: the bitmaps are 8 KiB each. */
    for (size_t i = 0; i < sizeof(d->udp_any); i += sizeof(uint64_t)) {
        uint64_t mine, other, any = 0;

        memcpy(&mine, d->udp_ports[k] + i, sizeof(mine));
        for (size_t o = 0; o < UDP_ENCAPS; o++) {
            memcpy(&other, d->udp_ports[o] + i, sizeof(other));
            if (o != k)
                other &= ~mine;
            memcpy(d->udp_ports[o] + i, &other, sizeof(other));
            any |= other;
        }
        memcpy(d->udp_any + i, &any, sizeof(any));
    }
    return 0;
}

static void default_port(decoder_t *d, size_t k, uint16_t port)
{
    d->udp_ports[k][port >> 3] |= (uint8_t)(1u << (port & 7));
    d->udp_any[port >> 3] |= (uint8_t)(1u << (port & 7));
}

decoder_t *decoder_new(size_t frag_mem, cw_ns_t frag_timeout)
{
    decoder_t *d = cw_calloc(1, sizeof(*d));

    d->frag = ipfrag_new(frag_mem, frag_timeout);
    default_port(d, 0, CW_DEF_VXLAN_PORT);
    default_port(d, 1, CW_DEF_GENEVE_PORT);
    default_port(d, 2, CW_DEF_GTPU_PORT);
    default_port(d, 3, CW_DEF_TZSP_PORT);
    return d;
}

void decoder_free(decoder_t *d)
{
    if (!d)
        return;
    ipfrag_free(d->frag);
    free(d);
}

static int malformed(decoder_t *d, decode_pkt_t *out, enum decode_reason r)
{
    d->st.malformed[r]++;
    d->st.malformed_total++;
    out->reason = r;
    return DECODE_MALFORMED;
}

/* Folds new ipfrag totals into the per-reason malformed counters. */
static void sync_frag_stats(decoder_t *d)
{
    ipfrag_stats_t s;
    struct {
        uint64_t now, *last;
        enum decode_reason r;
    } map[] = {
        { 0, &d->last_frag.timeouts, DR_FRAG_TIMEOUT },
        { 0, &d->last_frag.evicted, DR_FRAG_EVICTED },
    };

    ipfrag_get_stats(d->frag, &s);
    map[0].now = s.timeouts;
    map[1].now = s.evicted;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        uint64_t delta = map[i].now - *map[i].last;

        d->st.malformed[map[i].r] += delta;
        d->st.malformed_total += delta;
        *map[i].last = map[i].now;
    }
}

static int not_ip(decoder_t *d)
{
    d->st.not_ip++;
    return DECODE_NOT_IP;
}

static CW_OUT_OF_LINE int decap_udp(decoder_t *d, cw_ns_t ts, decode_pkt_t *out);
static CW_OUT_OF_LINE int decap_ip(decoder_t *d, cw_ns_t ts, const uint8_t *p, uint32_t len,
                                   bool cut, decode_pkt_t *out);

static int decode_l4(decoder_t *d, cw_ns_t ts, const uint8_t *p, uint32_t len, bool cut,
                     decode_pkt_t *out)
{
    switch (out->proto) {
    case IPPROTO_UDP: {
        uint16_t ulen;

        if (len < 8)
            return malformed(d, out, DR_UDP_TRUNCATED);
        ulen = cw_rd16(p + 4);
        out->sport = cw_rd16(p);
        out->dport = cw_rd16(p + 2);
        if (ulen < 8)
            return malformed(d, out, DR_UDP_BAD_LENGTH);
        if (ulen > len) {
            if (!cut)
                return malformed(d, out, DR_UDP_BAD_LENGTH);
            out->truncated = true;
            ulen = (uint16_t)len;
        }
        out->payload = p + 8;
        out->payload_len = ulen - 8u;
        d->st.udp++;
        /* One bit of a table that stays in the cache: what every UDP
         * packet costs when no tunnel uses its port. */
        if (__builtin_expect(PORT_BIT(d->udp_any, out->dport) != 0, 0))
            return decap_udp(d, ts, out);
        return DECODE_OK;
    }
    case IPPROTO_TCP: {
        uint32_t off;

        if (len < 20)
            return malformed(d, out, DR_TCP_TRUNCATED);
        off = (uint32_t)(p[12] >> 4) * 4u;
        if (off < 20)
            return malformed(d, out, DR_TCP_BAD_OFFSET);
        if (off > len)
            return malformed(d, out, cut ? DR_TCP_TRUNCATED : DR_TCP_BAD_OFFSET);
        out->sport = cw_rd16(p);
        out->dport = cw_rd16(p + 2);
        out->tcp_seq = cw_rd32(p + 4);
        out->tcp_ack = cw_rd32(p + 8);
        out->tcp_flags = p[13];
        out->payload = p + off;
        out->payload_len = len - off;
        if (cut)
            out->truncated = true;
        d->st.tcp++;
        return DECODE_OK;
    }
    case IPPROTO_GRE:
    case IPPROTO_IPIP:
    case IPPROTO_IPV6:
        out->payload = p;
        out->payload_len = len;
        d->st.other_ip++;
        return decap_ip(d, ts, p, len, cut, out);
    default:
        out->payload = p;
        out->payload_len = len;
        d->st.other_ip++;
        return DECODE_OK;
    }
}

static int frag_result(decoder_t *d, decode_pkt_t *out, int rc)
{
    switch (rc) {
    case IPFRAG_OVERLAP:
        return malformed(d, out, DR_FRAG_OVERLAP);
    case IPFRAG_TOO_BIG:
        return malformed(d, out, DR_FRAG_TOO_BIG);
    case IPFRAG_BAD:
        return malformed(d, out, DR_FRAG_BAD_LENGTH);
    case IPFRAG_LIMIT:
        sync_frag_stats(d);
        return DECODE_HELD;
    default:
        sync_frag_stats(d);
        return DECODE_HELD;
    }
}

static int decode_ipv4(decoder_t *d, cw_ns_t ts, const uint8_t *p, uint32_t len, bool cut,
                       decode_pkt_t *out)
{
    uint32_t hlen, tlen;
    uint16_t fl;

    if (len < 20)
        return malformed(d, out, DR_IPV4_TRUNCATED);
    if ((p[0] >> 4) != 4)
        return malformed(d, out, DR_IP_BAD_VERSION);
    hlen = (uint32_t)(p[0] & 0x0f) * 4u;
    if (hlen < 20)
        return malformed(d, out, DR_IPV4_BAD_HEADER_LENGTH);
    if (hlen > len)
        return malformed(d, out, DR_IPV4_TRUNCATED);
    tlen = cw_rd16(p + 2);
    if (tlen == 0) {
        /* Captured on the sender with segmentation offload: the length is
         * filled in later by the NIC, so take what was captured. */
        tlen = len;
    }
    if (tlen < hlen)
        return malformed(d, out, DR_IPV4_BAD_TOTAL_LENGTH);
    if (tlen > len) {
        if (!cut)
            return malformed(d, out, DR_IPV4_BAD_TOTAL_LENGTH);
        out->truncated = true;
        out->ip_len = tlen;
        tlen = len;
    } else {
        out->ip_len = tlen;
    }
    d->st.ipv4++;
    out->ip_version = 4;
    out->src.family = out->dst.family = 4;
    memcpy(out->src.bytes, p + 12, 4);
    memcpy(out->dst.bytes, p + 16, 4);
    out->proto = p[9];

    fl = cw_rd16(p + 6);
    if ((fl & 0x2000) || (fl & 0x1fff)) {
        ipfrag_key_t key;
        const uint8_t *whole;
        uint32_t wlen;
        int rc;

        d->st.fragments++;
        if (out->truncated)
            return malformed(d, out, DR_IPV4_TRUNCATED);
        memset(&key, 0, sizeof(key));
        key.src = out->src;
        key.dst = out->dst;
        key.id = cw_rd16(p + 4);
        key.proto = out->proto;
        rc = ipfrag_add(d->frag, ts, &key, (uint32_t)(fl & 0x1fff) * 8u, p + hlen, tlen - hlen,
                        (fl & 0x2000) != 0, &whole, &wlen);
        if (rc != IPFRAG_DONE)
            return frag_result(d, out, rc);
        d->st.reassembled++;
        out->reassembled = true;
        out->ip_len = hlen + wlen;
        return decode_l4(d, ts, whole, wlen, false, out);
    }
    return decode_l4(d, ts, p + hlen, tlen - hlen, out->truncated, out);
}

static bool ipv6_ext_header(uint8_t nh)
{
    return nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 135 || nh == 139 || nh == 140;
}

/* Walks extension headers from *nh at p; on return p/len point at the next
 * header of type *nh (or at the fragment header when *nh is 44). */
static int ipv6_skip_ext(decoder_t *d, uint8_t *nh, const uint8_t **p, uint32_t *len,
                         decode_pkt_t *out)
{
    while (ipv6_ext_header(*nh)) {
        uint32_t hl;

        if (*len < 8)
            return malformed(d, out, DR_IPV6_EXT_TRUNCATED);
        if (*nh == 51)
            hl = ((uint32_t)(*p)[1] + 2u) * 4u; /* AH counts 4-byte words */
        else
            hl = ((uint32_t)(*p)[1] + 1u) * 8u;
        if (hl > *len)
            return malformed(d, out, DR_IPV6_EXT_TRUNCATED);
        *nh = (*p)[0];
        *p += hl;
        *len -= hl;
    }
    return DECODE_OK;
}

static int decode_ipv6(decoder_t *d, cw_ns_t ts, const uint8_t *p, uint32_t len, bool cut,
                       decode_pkt_t *out)
{
    uint32_t plen;
    uint8_t nh;
    const uint8_t *q;
    uint32_t qlen;
    int rc;

    if (len < 40)
        return malformed(d, out, DR_IPV6_TRUNCATED);
    if ((p[0] >> 4) != 6)
        return malformed(d, out, DR_IP_BAD_VERSION);
    plen = cw_rd16(p + 4);
    if (plen == 0)
        plen = len - 40; /* jumbogram or offload: take what was captured */
    if (plen > len - 40) {
        if (!cut)
            return malformed(d, out, DR_IPV6_BAD_PAYLOAD_LENGTH);
        out->truncated = true;
        out->ip_len = 40 + plen;
        plen = len - 40;
    } else {
        out->ip_len = 40 + plen;
    }
    d->st.ipv6++;
    out->ip_version = 6;
    out->src.family = out->dst.family = 6;
    memcpy(out->src.bytes, p + 8, 16);
    memcpy(out->dst.bytes, p + 24, 16);
    nh = p[6];
    q = p + 40;
    qlen = plen;
    rc = ipv6_skip_ext(d, &nh, &q, &qlen, out);
    if (rc != DECODE_OK)
        return rc;
    if (nh == 44) {
        ipfrag_key_t key;
        const uint8_t *whole;
        uint32_t wlen;
        uint16_t off;

        d->st.fragments++;
        if (qlen < 8)
            return malformed(d, out, DR_IPV6_EXT_TRUNCATED);
        if (out->truncated)
            return malformed(d, out, DR_IPV6_TRUNCATED);
        off = cw_rd16(q + 2);
        memset(&key, 0, sizeof(key));
        key.src = out->src;
        key.dst = out->dst;
        key.id = cw_rd32(q + 4);
        key.proto = q[0];
        out->proto = q[0];
        if ((off & 0xfff8) == 0 && !(off & 1)) {
            /* An atomic fragment (RFC 6946): not really fragmented. */
            nh = q[0];
            q += 8;
            qlen -= 8;
        } else {
            rc = ipfrag_add(d->frag, ts, &key, off & 0xfff8u, q + 8, qlen - 8, (off & 1) != 0,
                            &whole, &wlen);
            if (rc != IPFRAG_DONE)
                return frag_result(d, out, rc);
            d->st.reassembled++;
            out->reassembled = true;
            nh = key.proto;
            q = whole;
            qlen = wlen;
            out->ip_len = 40 + 8 + wlen;
        }
        rc = ipv6_skip_ext(d, &nh, &q, &qlen, out);
        if (rc != DECODE_OK)
            return rc;
    }
    out->proto = nh;
    return decode_l4(d, ts, q, qlen, out->truncated, out);
}

/* From the IP header on, the version taken from the first nibble. */
static int decode_ip(decoder_t *d, cw_ns_t ts, const uint8_t *buf, uint32_t len, bool cut,
                     decode_pkt_t *out)
{
    if (len < 1)
        return malformed(d, out, DR_IPV4_TRUNCATED);
    switch (buf[0] >> 4) {
    case 4:
        return decode_ipv4(d, ts, buf, len, cut, out);
    case 6:
        return decode_ipv6(d, ts, buf, len, cut, out);
    default:
        return malformed(d, out, DR_IP_BAD_VERSION);
    }
}

static CW_OUT_OF_LINE int decap_link(decoder_t *d, cw_ns_t ts, uint16_t type, const uint8_t *p,
                                     uint32_t len, bool cut, decode_pkt_t *out);

/* Follows an ethertype, through any VLAN tags, to the IP header. */
static int decode_ethertype(decoder_t *d, cw_ns_t ts, uint16_t type, const uint8_t *p, uint32_t len,
                            bool cut, decode_pkt_t *out)
{
    while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ2) {
        if (len < 4)
            return malformed(d, out, DR_VLAN_TRUNCATED);
        if (out->vlan_count < DECODE_MAX_VLAN)
            out->vlan[out->vlan_count++] = cw_rd16(p) & 0x0fff;
        type = cw_rd16(p + 2);
        p += 4;
        len -= 4;
    }
    switch (type) {
    case ETHERTYPE_IPV4:
        if (len >= 1 && (p[0] >> 4) != 4)
            return malformed(d, out, DR_IP_BAD_VERSION);
        return decode_ipv4(d, ts, p, len, cut, out);
    case ETHERTYPE_IPV6:
        if (len >= 1 && (p[0] >> 4) != 6)
            return malformed(d, out, DR_IP_BAD_VERSION);
        return decode_ipv6(d, ts, p, len, cut, out);
    case ETHERTYPE_MPLS:
    case ETHERTYPE_MPLS_MC:
    case ETHERTYPE_PPPOE_SESSION:
        return decap_link(d, ts, type, p, len, cut, out);
    default:
        return not_ip(d);
    }
}

/* An Ethernet frame, as an encapsulation carries it. */
static int decode_ethernet(decoder_t *d, cw_ns_t ts, const uint8_t *p, uint32_t len, bool cut,
                           decode_pkt_t *out)
{
    if (len < ETHERNET_HEADER_LEN)
        return malformed(d, out, DR_ETH_TRUNCATED);
    out->vlan_count = 0; /* the tags of the innermost frame */
    return decode_ethertype(d, ts, cw_rd16(p + 12), p + ETHERNET_HEADER_LEN,
                            len - ETHERNET_HEADER_LEN, cut, out);
}

/* A frame is counted by its innermost packet: the outer layers it was
 * counted as before they turned out to be an encapsulation's (its IP
 * header, and UDP or GRE's "other") are taken back. */
static void uncount_outer(decoder_t *d, const decode_pkt_t *out, uint64_t *outer_l4)
{
    if (out->ip_version == 4)
        d->st.ipv4--;
    else if (out->ip_version == 6)
        d->st.ipv6--;
    if (outer_l4)
        (*outer_l4)--;
}

/* What an encapsulation's parser said (rc, h) about the header at p:
 * counts it as kind `e` and decodes the packet it carries.  A header that
 * carries none leaves the packet as it is, `none`.  outer_l4 is the
 * transport counter the outer packet went into, or NULL. */
static int decap(decoder_t *d, cw_ns_t ts, enum decode_encap e, int rc, const tunnel_hdr_t *h,
                 const uint8_t *p, bool cut, int none, uint64_t *outer_l4, decode_pkt_t *out)
{
    const uint8_t *q = p + h->off;

    if (rc != 0)
        return malformed(d, out, h->reason);
    if (h->next == TUNNEL_NOT_IP || h->next == TUNNEL_NOT_THIS)
        return none == DECODE_NOT_IP ? not_ip(d) : none;
    if (out->encaps == DECODE_MAX_ENCAP)
        return malformed(d, out, DR_ENCAP_TOO_DEEP);
    out->encaps++;
    d->st.encap[e]++;
    if (h->erspan)
        d->st.encap[DE_ERSPAN]++;
    uncount_outer(d, out, outer_l4);
    /* The packet is now the one inside: its length, its layers (an IPv4
     * address fills 4 of the 16 bytes an outer IPv6 one filled). */
    out->wirelen = h->inner_len + (cut ? d->missing : 0);
    if (out->ip_version == 6) {
        memset(&out->src, 0, sizeof(out->src));
        memset(&out->dst, 0, sizeof(out->dst));
    }
    out->ip_version = 0;
    switch (h->next) {
    case TUNNEL_ETHERNET:
        return decode_ethernet(d, ts, q, h->inner_len, cut, out);
    case TUNNEL_ETHERTYPE:
        return decode_ethertype(d, ts, h->ethertype, q, h->inner_len, cut, out);
    default:
        if (h->inner_len >= 1 && (q[0] >> 4) != 4 && (q[0] >> 4) != 6)
            return not_ip(d);
        return decode_ip(d, ts, q, h->inner_len, cut, out);
    }
}

/* MPLS and PPPoE, found by their ethertype. */
static int decap_link(decoder_t *d, cw_ns_t ts, uint16_t type, const uint8_t *p, uint32_t len,
                      bool cut, decode_pkt_t *out)
{
    tunnel_hdr_t h;

    if (type == ETHERTYPE_PPPOE_SESSION)
        return decap(d, ts, DE_PPPOE, tunnel_pppoe(p, len, cut, &h), &h, p, cut, DECODE_NOT_IP,
                     NULL, out);
    return decap(d, ts, DE_MPLS, tunnel_mpls(p, len, &h), &h, p, cut, DECODE_NOT_IP, NULL, out);
}

/* GRE and IP in IP, found by their IP protocol; out is their IP packet. */
static int decap_ip(decoder_t *d, cw_ns_t ts, const uint8_t *p, uint32_t len, bool cut,
                    decode_pkt_t *out)
{
    tunnel_hdr_t h;

    if (out->proto == IPPROTO_GRE)
        return decap(d, ts, DE_GRE, tunnel_gre(p, len, &h), &h, p, cut, DECODE_OK, &d->st.other_ip,
                     out);
    memset(&h, 0, sizeof(h));
    h.next = TUNNEL_ETHERTYPE;
    h.ethertype = out->proto == IPPROTO_IPIP ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
    h.inner_len = len;
    return decap(d, ts, DE_IPIP, 0, &h, p, cut, DECODE_OK, &d->st.other_ip, out);
}

/* A UDP encapsulation on its port; out is the UDP packet. */
static int decap_udp(decoder_t *d, cw_ns_t ts, decode_pkt_t *out)
{
    const uint8_t *p = out->payload;
    uint32_t len = out->payload_len;
    bool cut = out->truncated;
    uint64_t *udp = &d->st.udp;
    enum decode_encap e = DE_COUNT;
    tunnel_hdr_t h;
    int rc;

    for (size_t k = 0; k < UDP_ENCAPS && e == DE_COUNT; k++)
        if (PORT_BIT(d->udp_ports[k], out->dport))
            e = udp_encaps[k];
    switch (e) {
    case DE_VXLAN:
        rc = tunnel_vxlan(p, len, &h);
        return decap(d, ts, DE_VXLAN, rc, &h, p, cut, DECODE_OK, udp, out);
    case DE_GENEVE:
        rc = tunnel_geneve(p, len, &h);
        return decap(d, ts, DE_GENEVE, rc, &h, p, cut, DECODE_OK, udp, out);
    case DE_GTPU:
        rc = tunnel_gtpu(p, len, cut, &h);
        return decap(d, ts, DE_GTPU, rc, &h, p, cut, DECODE_OK, udp, out);
    case DE_TZSP:
        rc = tunnel_tzsp(p, len, cut, &h);
        return decap(d, ts, DE_TZSP, rc, &h, p, cut, DECODE_OK, udp, out);
    default:
        return DECODE_OK;
    }
}

/* A mirror socket's datagram: a TZSP or VXLAN payload. */
static CW_OUT_OF_LINE int decode_mirror(decoder_t *d, int link, cw_ns_t ts, const uint8_t *buf,
                                        uint32_t len, bool cut, decode_pkt_t *out)
{
    tunnel_hdr_t h;

    if (link == DECODE_LINK_TZSP)
        return decap(d, ts, DE_TZSP, tunnel_tzsp(buf, len, cut, &h), &h, buf, cut, DECODE_NOT_IP,
                     NULL, out);
    return decap(d, ts, DE_VXLAN, tunnel_vxlan(buf, len, &h), &h, buf, cut, DECODE_NOT_IP, NULL,
                 out);
}

static int decode_null(decoder_t *d, cw_ns_t ts, const uint8_t *p, uint32_t len, bool cut,
                       bool network_order, decode_pkt_t *out)
{
    uint32_t fam;

    if (len < 4)
        return malformed(d, out, DR_NULL_TRUNCATED);
    /* DLT_NULL stores the family in the capturing host's byte order. */
    if (network_order)
        fam = cw_rd32(p);
    else
        fam = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    if (fam > 0xffff)
        fam = __builtin_bswap32(fam);
    switch (fam) {
    case 2: /* AF_INET everywhere */
        return decode_ipv4(d, ts, p + 4, len - 4, cut, out);
    case 10: /* Linux */
    case 24: /* NetBSD, OpenBSD */
    case 28: /* FreeBSD */
    case 30: /* Darwin */
        return decode_ipv6(d, ts, p + 4, len - 4, cut, out);
    default:
        return not_ip(d);
    }
}

int decode_frame(decoder_t *d, int dlt, cw_ns_t ts, const uint8_t *buf, uint32_t caplen,
                 uint32_t wirelen, decode_pkt_t *out)
{
    bool cut = caplen < wirelen;
    int rc;

    memset(out, 0, sizeof(*out));
    out->ts = ts;
    out->wirelen = wirelen;
    d->st.frames++;
    d->missing = wirelen - caplen; /* read only when the frame was cut */

    switch (dlt) {
    case DLT_EN10MB:
        if (caplen < 14)
            rc = malformed(d, out, DR_ETH_TRUNCATED);
        else
            rc = decode_ethertype(d, ts, cw_rd16(buf + 12), buf + 14, caplen - 14, cut, out);
        break;
    case DLT_LINUX_SLL:
        if (caplen < 16)
            rc = malformed(d, out, DR_SLL_TRUNCATED);
        else
            rc = decode_ethertype(d, ts, cw_rd16(buf + 14), buf + 16, caplen - 16, cut, out);
        break;
    case DLT_LINUX_SLL2:
        if (caplen < 20)
            rc = malformed(d, out, DR_SLL_TRUNCATED);
        else
            rc = decode_ethertype(d, ts, cw_rd16(buf), buf + 20, caplen - 20, cut, out);
        break;
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        rc = decode_ip(d, ts, buf, caplen, cut, out);
        break;
    case DLT_NULL:
        rc = decode_null(d, ts, buf, caplen, cut, false, out);
        break;
    case DLT_LOOP:
        rc = decode_null(d, ts, buf, caplen, cut, true, out);
        break;
    case DECODE_LINK_TZSP:
    case DECODE_LINK_VXLAN:
        rc = decode_mirror(d, dlt, ts, buf, caplen, cut, out);
        break;
    default:
        rc = not_ip(d);
        break;
    }
    if (out->truncated)
        d->st.snaplen_cut++;
    if (rc == DECODE_OK) {
        /* Every later stage keys on the addresses: hash them once. */
        out->src_hash = cw_addr_hash(&out->src, 0);
        out->dst_hash = cw_addr_hash(&out->dst, 0);
    }
    return rc;
}

void decoder_expire(decoder_t *d, cw_ns_t now)
{
    if (ipfrag_expire(d->frag, now))
        sync_frag_stats(d);
}

void decoder_get_stats(const decoder_t *d, decode_stats_t *out)
{
    *out = d->st;
}
