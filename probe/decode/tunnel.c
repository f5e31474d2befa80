#include "autoconf.h"

#include "decode/tunnel.h"

#include <errno.h>
#include <string.h>

#define ETHERTYPE_IPV4    0x0800
#define ETHERTYPE_IPV6    0x86dd
#define ETHERTYPE_MPLS    0x8847
#define ETHERTYPE_MPLS_MC 0x8848
#define ETHERTYPE_TEB     0x6558 /* transparent Ethernet bridging */
#define ETHERTYPE_ERSPAN  0x88be /* types I and II */
#define ETHERTYPE_ERSPAN3 0x22eb

#define MPLS_ENTRY_LEN 4
#define MPLS_BOTTOM    0x01 /* the S bit, in the third byte of an entry */
#define PW_CONTROL_LEN 4

#define PPPOE_HEADER_LEN 6
#define PPPOE_VER_TYPE   0x11
#define PPPOE_CODE_DATA  0x00
#define PPP_IPV4         0x0021
#define PPP_IPV6         0x0057

#define GRE_HEADER_LEN  4
#define GRE_C           0x8000 /* checksum and reserved1 present */
#define GRE_R           0x4000 /* RFC 1701 routing present */
#define GRE_K           0x2000 /* key present */
#define GRE_S           0x1000 /* sequence number present */
#define GRE_A           0x0080 /* version 1: acknowledgement number present */
#define GRE_VERSION     0x0007
#define ERSPAN2_LEN     8
#define ERSPAN3_LEN     12
#define ERSPAN3_SUB_LEN 8    /* the platform-specific subheader */
#define ERSPAN3_O       0x01 /* in the header's last byte: the subheader follows */

#define VXLAN_LEN 8
#define VXLAN_I   0x08

#define GENEVE_LEN     8
#define GENEVE_OPT_LEN 4 /* an option's own header */
#define GENEVE_O       0x80

#define GTPU_LEN     8
#define GTPU_OPT_LEN 4    /* sequence number, N-PDU number, next extension type */
#define GTPU_E       0x04 /* extension header present */
#define GTPU_S       0x02
#define GTPU_PN      0x01
#define GTPU_GPDU    255

#define TZSP_LEN      4
#define TZSP_RECEIVED 0
#define TZSP_TRANSMIT 1
#define TZSP_ETHERNET 1
#define TZSP_TAG_PAD  0
#define TZSP_TAG_END  1

static int bad(tunnel_hdr_t *h, enum decode_reason r)
{
    h->reason = r;
    return -EINVAL;
}

/* The inner packet starts at off and runs to the end of the buffer. */
static int inner(tunnel_hdr_t *h, enum tunnel_next next, uint32_t off, uint32_t len)
{
    h->next = next;
    h->off = off;
    h->inner_len = len - off;
    return 0;
}

static int carries_nothing(tunnel_hdr_t *h, enum tunnel_next why)
{
    h->next = why;
    h->off = h->inner_len = 0;
    return 0;
}

int tunnel_mpls(const uint8_t *buf, uint32_t len, tunnel_hdr_t *h)
{
    uint32_t off = 0;

    memset(h, 0, sizeof(*h));
    for (;;) {
        if (len - off < MPLS_ENTRY_LEN)
            return bad(h, DR_MPLS_TRUNCATED);
        off += MPLS_ENTRY_LEN;
        if (buf[off - 2] & MPLS_BOTTOM)
            break;
    }
    if (off == len)
        return bad(h, DR_MPLS_TRUNCATED);
    switch (buf[off] >> 4) {
    case 4:
    case 6:
        return inner(h, TUNNEL_IP, off, len);
    case 0:
        /* A pseudowire's control word (RFC 4385): an Ethernet frame after
         * it.  Without a control word a frame cannot be told from IP. */
        if (len - off < PW_CONTROL_LEN)
            return bad(h, DR_MPLS_TRUNCATED);
        return inner(h, TUNNEL_ETHERNET, off + PW_CONTROL_LEN, len);
    default:
        return carries_nothing(h, TUNNEL_NOT_IP);
    }
}

int tunnel_pppoe(const uint8_t *buf, uint32_t len, bool cut, tunnel_hdr_t *h)
{
    uint32_t plen, proto_len;
    uint16_t proto;

    memset(h, 0, sizeof(*h));
    if (len < PPPOE_HEADER_LEN + 1)
        return bad(h, DR_PPPOE_TRUNCATED);
    if (buf[0] != PPPOE_VER_TYPE || buf[1] != PPPOE_CODE_DATA)
        return bad(h, DR_PPPOE_BAD_HEADER);
    /* The protocol field is one byte when compressed (an odd first byte). */
    proto_len = (buf[PPPOE_HEADER_LEN] & 1) ? 1 : 2;
    if (len < PPPOE_HEADER_LEN + proto_len)
        return bad(h, DR_PPPOE_TRUNCATED);
    proto = proto_len == 1 ? buf[PPPOE_HEADER_LEN] : cw_rd16(buf + PPPOE_HEADER_LEN);
    plen = cw_rd16(buf + 4);
    if (plen < proto_len)
        return bad(h, DR_PPPOE_BAD_LENGTH);
    if (plen > len - PPPOE_HEADER_LEN && !cut)
        return bad(h, DR_PPPOE_BAD_LENGTH);
    if (proto != PPP_IPV4 && proto != PPP_IPV6)
        return carries_nothing(h, TUNNEL_NOT_IP); /* LCP, IPCP, ... */
    h->next = TUNNEL_ETHERTYPE;
    h->ethertype = proto == PPP_IPV4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
    h->off = PPPOE_HEADER_LEN + proto_len;
    /* Short frames are padded: the PPPoE length says where IP ends. */
    h->inner_len = plen - proto_len;
    if (h->inner_len > len - h->off)
        h->inner_len = len - h->off;
    return 0;
}

/* ERSPAN after a GRE header of glen bytes, of GRE protocol type proto. */
static int erspan(const uint8_t *buf, uint32_t len, uint32_t glen, uint16_t proto, bool seq,
                  tunnel_hdr_t *h)
{
    const uint8_t *e = buf + glen;
    uint32_t elen;

    h->erspan = true;
    if (proto == ETHERTYPE_ERSPAN && !seq)
        return inner(h, TUNNEL_ETHERNET, glen, len); /* type I: no header */
    elen = proto == ETHERTYPE_ERSPAN ? ERSPAN2_LEN : ERSPAN3_LEN;
    if (len - glen < elen)
        return bad(h, DR_ERSPAN_TRUNCATED);
    if ((e[0] >> 4) != (proto == ETHERTYPE_ERSPAN ? 1 : 2))
        return bad(h, DR_ERSPAN_BAD_VERSION);
    if (proto == ETHERTYPE_ERSPAN3 && (e[ERSPAN3_LEN - 1] & ERSPAN3_O)) {
        if (len - glen - elen < ERSPAN3_SUB_LEN)
            return bad(h, DR_ERSPAN_TRUNCATED);
        elen += ERSPAN3_SUB_LEN;
    }
    return inner(h, TUNNEL_ETHERNET, glen + elen, len);
}

int tunnel_gre(const uint8_t *buf, uint32_t len, tunnel_hdr_t *h)
{
    uint16_t flags, proto;
    uint32_t glen = GRE_HEADER_LEN;

    memset(h, 0, sizeof(*h));
    if (len < GRE_HEADER_LEN)
        return bad(h, DR_GRE_TRUNCATED);
    flags = cw_rd16(buf);
    proto = cw_rd16(buf + 2);
    if ((flags & GRE_VERSION) > 1 || (flags & GRE_R))
        return bad(h, DR_GRE_BAD_VERSION);
    if (flags & GRE_C)
        glen += 4;
    if (flags & GRE_K)
        glen += 4;
    if (flags & GRE_S)
        glen += 4;
    if ((flags & GRE_VERSION) == 1 && (flags & GRE_A))
        glen += 4;
    if (len < glen)
        return bad(h, DR_GRE_TRUNCATED);
    if ((flags & GRE_VERSION) == 1)
        return carries_nothing(h, TUNNEL_NOT_IP); /* PPTP: PPP */
    switch (proto) {
    case ETHERTYPE_IPV4:
    case ETHERTYPE_IPV6:
    case ETHERTYPE_MPLS:
    case ETHERTYPE_MPLS_MC:
        h->ethertype = proto;
        return inner(h, TUNNEL_ETHERTYPE, glen, len);
    case ETHERTYPE_TEB:
        return inner(h, TUNNEL_ETHERNET, glen, len);
    case ETHERTYPE_ERSPAN:
    case ETHERTYPE_ERSPAN3:
        return erspan(buf, len, glen, proto, (flags & GRE_S) != 0, h);
    default:
        return carries_nothing(h, TUNNEL_NOT_IP); /* keepalives, WCCP, ... */
    }
}

int tunnel_vxlan(const uint8_t *buf, uint32_t len, tunnel_hdr_t *h)
{
    memset(h, 0, sizeof(*h));
    if (len < VXLAN_LEN)
        return bad(h, DR_VXLAN_TRUNCATED);
    if (!(buf[0] & VXLAN_I))
        return carries_nothing(h, TUNNEL_NOT_THIS);
    return inner(h, TUNNEL_ETHERNET, VXLAN_LEN, len);
}

int tunnel_geneve(const uint8_t *buf, uint32_t len, tunnel_hdr_t *h)
{
    uint32_t opt_len, off;
    uint16_t proto;

    memset(h, 0, sizeof(*h));
    if (len < GENEVE_LEN)
        return bad(h, DR_GENEVE_TRUNCATED);
    if ((buf[0] >> 6) != 0)
        return carries_nothing(h, TUNNEL_NOT_THIS);
    opt_len = (uint32_t)(buf[0] & 0x3f) * 4u;
    if (len - GENEVE_LEN < opt_len)
        return bad(h, DR_GENEVE_TRUNCATED);
    /* The options, each with its own length, fill opt_len exactly. */
    for (off = GENEVE_LEN; off < GENEVE_LEN + opt_len;) {
        uint32_t olen;

        if (GENEVE_LEN + opt_len - off < GENEVE_OPT_LEN)
            return bad(h, DR_GENEVE_BAD_OPTIONS);
        olen = GENEVE_OPT_LEN + (uint32_t)(buf[off + 3] & 0x1f) * 4u;
        if (olen > GENEVE_LEN + opt_len - off)
            return bad(h, DR_GENEVE_BAD_OPTIONS);
        off += olen;
    }
    if (buf[1] & GENEVE_O)
        return carries_nothing(h, TUNNEL_NOT_IP); /* a control message */
    proto = cw_rd16(buf + 2);
    switch (proto) {
    case ETHERTYPE_TEB:
        return inner(h, TUNNEL_ETHERNET, off, len);
    case ETHERTYPE_IPV4:
    case ETHERTYPE_IPV6:
    case ETHERTYPE_MPLS:
    case ETHERTYPE_MPLS_MC:
        h->ethertype = proto;
        return inner(h, TUNNEL_ETHERTYPE, off, len);
    default:
        return carries_nothing(h, TUNNEL_NOT_IP);
    }
}

/* The extension headers from *off on, the first of type `next`; each gives
 * its length in 4-byte units and ends with the next one's type. */
static int gtpu_extensions(const uint8_t *buf, uint32_t end, uint32_t *off, uint8_t next,
                           tunnel_hdr_t *h, enum decode_reason past_end)
{
    while (next != 0) {
        uint32_t elen;

        if (end - *off < 1)
            return bad(h, past_end);
        elen = (uint32_t)buf[*off] * 4u;
        if (elen == 0)
            return bad(h, DR_GTPU_BAD_LENGTH);
        if (end - *off < elen)
            return bad(h, past_end);
        next = buf[*off + elen - 1];
        *off += elen;
    }
    return 0;
}

int tunnel_gtpu(const uint8_t *buf, uint32_t len, bool cut, tunnel_hdr_t *h)
{
    uint32_t glen, end, off = GTPU_LEN;
    uint8_t flags;

    memset(h, 0, sizeof(*h));
    if (len < GTPU_LEN)
        return bad(h, DR_GTPU_TRUNCATED);
    flags = buf[0];
    if ((flags >> 5) != 1 || !(flags & 0x10))
        return carries_nothing(h, TUNNEL_NOT_THIS); /* GTP' or another protocol */
    /* The length counts every byte after the first 8. */
    glen = cw_rd16(buf + 2);
    if (glen > len - GTPU_LEN && !cut)
        return bad(h, DR_GTPU_BAD_LENGTH);
    end = glen < len - GTPU_LEN ? GTPU_LEN + glen : len;
    if (flags & (GTPU_E | GTPU_S | GTPU_PN)) {
        /* Fields past the length are a lie, past the capture a cut. */
        enum decode_reason past = end < len || !cut ? DR_GTPU_BAD_LENGTH : DR_GTPU_TRUNCATED;
        int rc;

        if (end - off < GTPU_OPT_LEN)
            return bad(h, past);
        off += GTPU_OPT_LEN;
        if ((flags & GTPU_E) && (rc = gtpu_extensions(buf, end, &off, buf[off - 1], h, past)) != 0)
            return rc;
    }
    if (buf[1] != GTPU_GPDU)
        return carries_nothing(h, TUNNEL_NOT_IP); /* echo, error indication, ... */
    if (off == end) {
        if (cut && end == len)
            return bad(h, DR_GTPU_TRUNCATED);
        return carries_nothing(h, TUNNEL_NOT_IP);
    }
    h->next = TUNNEL_IP;
    h->off = off;
    h->inner_len = end - off;
    return 0;
}

int tunnel_tzsp(const uint8_t *buf, uint32_t len, bool cut, tunnel_hdr_t *h)
{
    uint32_t off = TZSP_LEN;

    memset(h, 0, sizeof(*h));
    if (len < TZSP_LEN)
        return bad(h, DR_TZSP_TRUNCATED);
    if (buf[0] != 1)
        return carries_nothing(h, TUNNEL_NOT_THIS);
    if ((buf[1] != TZSP_RECEIVED && buf[1] != TZSP_TRANSMIT) || cw_rd16(buf + 2) != TZSP_ETHERNET)
        return carries_nothing(h, TUNNEL_NOT_IP); /* keepalives, 802.11, ... */
    for (;;) {
        if (off == len)
            return bad(h, cut ? DR_TZSP_TRUNCATED : DR_TZSP_BAD_TAGS);
        if (buf[off] == TZSP_TAG_END)
            return inner(h, TUNNEL_ETHERNET, off + 1, len);
        if (buf[off] == TZSP_TAG_PAD) {
            off++;
            continue;
        }
        /* Type, length, value. */
        if (len - off < 2 || len - off - 2 < buf[off + 1])
            return bad(h, cut ? DR_TZSP_TRUNCATED : DR_TZSP_BAD_TAGS);
        off += 2u + buf[off + 1];
    }
}
