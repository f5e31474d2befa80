#include "autoconf.h"

#include "pcapgen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pcapgen {
    FILE *f;
    enum pg_format fmt;
    uint32_t snaplen;
};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int wr(pcapgen_t *g, const void *p, size_t n)
{
    return fwrite(p, 1, n, g->f) == n ? 0 : -EIO;
}

/* Files are written in the host's byte order, as libpcap does. */
static int wr32(pcapgen_t *g, uint32_t v)
{
    return wr(g, &v, 4);
}

static int wr16(pcapgen_t *g, uint16_t v)
{
    return wr(g, &v, 2);
}

pcapgen_t *pcapgen_open(const char *path, enum pg_format fmt, int linktype, uint32_t snaplen)
{
    pcapgen_t *g = calloc(1, sizeof(*g));

    if (!g)
        return NULL;
    g->f = fopen(path, "wb");
    if (!g->f) {
        free(g);
        return NULL;
    }
    g->fmt = fmt;
    g->snaplen = snaplen ? snaplen : 262144;
    if (fmt == PG_PCAPNG) {
        /* Section header block, then one interface description block. */
        wr32(g, 0x0A0D0D0A);
        wr32(g, 28);
        wr32(g, 0x1A2B3C4D);
        wr16(g, 1);
        wr16(g, 0);
        wr32(g, 0xffffffff);
        wr32(g, 0xffffffff);
        wr32(g, 28);
        /* IDB with if_tsresol = 9 (nanoseconds). */
        wr32(g, 1);
        wr32(g, 32);
        wr16(g, (uint16_t)linktype);
        wr16(g, 0);
        wr32(g, g->snaplen);
        wr16(g, 9); /* if_tsresol */
        wr16(g, 1);
        {
            uint8_t opt[4] = { 9, 0, 0, 0 };

            wr(g, opt, 4);
        }
        wr32(g, 0); /* opt_endofopt */
        wr32(g, 32);
    } else {
        wr32(g, fmt == PG_PCAP_NS ? 0xa1b23c4d : 0xa1b2c3d4);
        wr16(g, 2);
        wr16(g, 4);
        wr32(g, 0);
        wr32(g, 0);
        wr32(g, g->snaplen);
        wr32(g, (uint32_t)linktype);
    }
    return g;
}

int pcapgen_write(pcapgen_t *g, cw_ns_t ts, const uint8_t *frame, uint32_t caplen, uint32_t wirelen)
{
    static const uint8_t pad[4];
    int rc = 0;

    if (caplen > wirelen)
        return -EINVAL;
    if (g->fmt == PG_PCAPNG) {
        uint32_t padded = (caplen + 3u) & ~3u;
        uint32_t blen = 32 + padded;
        uint64_t t = (uint64_t)ts;

        rc |= wr32(g, 6);
        rc |= wr32(g, blen);
        rc |= wr32(g, 0);
        rc |= wr32(g, (uint32_t)(t >> 32));
        rc |= wr32(g, (uint32_t)t);
        rc |= wr32(g, caplen);
        rc |= wr32(g, wirelen);
        rc |= wr(g, frame, caplen);
        rc |= wr(g, pad, padded - caplen);
        rc |= wr32(g, blen);
    } else {
        uint32_t sec = (uint32_t)(ts / CW_NS_PER_SEC);
        uint32_t frac = (uint32_t)(ts % CW_NS_PER_SEC);

        if (g->fmt == PG_PCAP_US)
            frac /= 1000;
        rc |= wr32(g, sec);
        rc |= wr32(g, frac);
        rc |= wr32(g, caplen);
        rc |= wr32(g, wirelen);
        rc |= wr(g, frame, caplen);
    }
    return rc ? -EIO : 0;
}

int pcapgen_close(pcapgen_t *g)
{
    int rc;

    if (!g)
        return 0;
    rc = fclose(g->f) == 0 ? 0 : -EIO;
    free(g);
    return rc;
}

cw_addr_t pg_addr(const char *s)
{
    cw_addr_t a;

    if (cw_addr_parse(s, &a) != 0) {
        fprintf(stderr, "pcapgen: bad address %s\n", s);
        abort();
    }
    return a;
}

static void append(pg_buf_t *out, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (out->len + n > sizeof(out->data)) {
        fprintf(stderr, "pcapgen: frame too large\n");
        abort();
    }
    memcpy(out->data + out->len, p, n);
    out->len += n;
}

void pg_udp(pg_buf_t *out, uint16_t sport, uint16_t dport, const void *payload, size_t len)
{
    uint8_t h[8];

    put16(h, sport);
    put16(h + 2, dport);
    put16(h + 4, (uint16_t)(8 + len));
    put16(h + 6, 0);
    append(out, h, 8);
    append(out, payload, len);
}

void pg_tcp(pg_buf_t *out, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
            uint8_t flags, const void *payload, size_t len)
{
    uint8_t h[20] = { 0 };

    put16(h, sport);
    put16(h + 2, dport);
    put32(h + 4, seq);
    put32(h + 8, ack);
    h[12] = 5 << 4;
    h[13] = flags;
    put16(h + 14, 65535);
    append(out, h, 20);
    append(out, payload, len);
}

void pg_ipv4(pg_buf_t *out, const cw_addr_t *src, const cw_addr_t *dst, uint8_t proto, uint16_t id,
             uint16_t frag, unsigned optlen, const void *l4, size_t l4len)
{
    uint8_t h[60] = { 0 };
    unsigned hlen = 20 + optlen;
    uint32_t sum = 0;

    h[0] = (uint8_t)(0x40 | (hlen / 4));
    put16(h + 2, (uint16_t)(hlen + l4len));
    put16(h + 4, id);
    put16(h + 6, frag);
    h[8] = 64;
    h[9] = proto;
    memcpy(h + 12, src->bytes, 4);
    memcpy(h + 16, dst->bytes, 4);
    for (unsigned i = 20; i < hlen; i++)
        h[i] = 1; /* NOP options */
    for (unsigned i = 0; i < hlen; i += 2)
        sum += (uint32_t)(h[i] << 8 | h[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    put16(h + 10, (uint16_t)~sum);
    append(out, h, hlen);
    append(out, l4, l4len);
}

void pg_ipv6(pg_buf_t *out, const cw_addr_t *src, const cw_addr_t *dst, uint8_t first_nh,
             const void *ext, size_t extlen, const void *l4, size_t l4len)
{
    uint8_t h[40] = { 0 };

    h[0] = 0x60;
    put16(h + 4, (uint16_t)(extlen + l4len));
    h[6] = first_nh;
    h[7] = 64;
    memcpy(h + 8, src->bytes, 16);
    memcpy(h + 24, dst->bytes, 16);
    append(out, h, 40);
    if (extlen)
        append(out, ext, extlen);
    append(out, l4, l4len);
}

void pg_link(pg_buf_t *out, int linktype, unsigned nvlan, const uint16_t *vlans, const void *ip,
             size_t iplen)
{
    const uint8_t *p = ip;
    uint16_t etype = (iplen && (p[0] >> 4) == 6) ? 0x86dd : 0x0800;
    uint8_t h[64] = { 0 };
    size_t n = 0;

    switch (linktype) {
    case PG_LINK_ETHERNET:
        memcpy(h, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
        n = 12;
        for (unsigned i = 0; i < nvlan; i++) {
            put16(h + n, (nvlan == 2 && i == 0) ? 0x88a8 : 0x8100);
            put16(h + n + 2, vlans[i]);
            n += 4;
        }
        put16(h + n, etype);
        n += 2;
        break;
    case PG_LINK_SLL:
        put16(h, 0);     /* to us */
        put16(h + 2, 1); /* ARPHRD_ETHER */
        put16(h + 4, 6);
        memcpy(h + 6, "\x02\x00\x00\x00\x00\x01", 6);
        put16(h + 14, etype);
        n = 16;
        break;
    case PG_LINK_SLL2:
        put16(h, etype);
        put32(h + 4, 2); /* ifindex */
        put16(h + 8, 1); /* ARPHRD_ETHER */
        h[10] = 0;
        h[11] = 6;
        memcpy(h + 12, "\x02\x00\x00\x00\x00\x01", 6);
        n = 20;
        break;
    case PG_LINK_NULL: {
        uint32_t fam = etype == 0x86dd ? 30 : 2;

        memcpy(h, &fam, 4); /* host byte order */
        n = 4;
        break;
    }
    case PG_LINK_LOOP:
        put32(h, etype == 0x86dd ? 24 : 2);
        n = 4;
        break;
    case PG_LINK_RAW:
    default:
        n = 0;
        break;
    }
    append(out, h, n);
    append(out, ip, iplen);
}

void pg_eth_udp(pg_buf_t *out, const char *src, uint16_t sport, const char *dst, uint16_t dport,
                const void *payload, size_t len)
{
    cw_addr_t s = pg_addr(src), d = pg_addr(dst);
    static pg_buf_t l4, ip;

    l4.len = ip.len = 0;
    pg_udp(&l4, sport, dport, payload, len);
    if (s.family == 6)
        pg_ipv6(&ip, &s, &d, 17, NULL, 0, l4.data, l4.len);
    else
        pg_ipv4(&ip, &s, &d, 17, 1, 0, 0, l4.data, l4.len);
    out->len = 0;
    pg_link(out, PG_LINK_ETHERNET, 0, NULL, ip.data, ip.len);
}

size_t pg_ipv4_fragments(pg_buf_t *frames, size_t maxframes, const cw_addr_t *src,
                         const cw_addr_t *dst, uint8_t proto, uint16_t id, const void *l4,
                         size_t l4len, size_t mtu)
{
    static pg_buf_t ip;
    const uint8_t *p = l4;
    size_t n = 0;

    mtu &= ~(size_t)7;
    for (size_t off = 0; off < l4len && n < maxframes; off += mtu, n++) {
        size_t len = l4len - off < mtu ? l4len - off : mtu;
        bool more = off + len < l4len;

        ip.len = 0;
        pg_ipv4(&ip, src, dst, proto, id, (uint16_t)((more ? 0x2000 : 0) | (off / 8)), 0, p + off,
                len);
        frames[n].len = 0;
        pg_link(&frames[n], PG_LINK_ETHERNET, 0, NULL, ip.data, ip.len);
    }
    return n;
}

size_t pg_ipv6_fragments(pg_buf_t *frames, size_t maxframes, const cw_addr_t *src,
                         const cw_addr_t *dst, uint8_t proto, uint32_t id, const void *l4,
                         size_t l4len, size_t mtu)
{
    static pg_buf_t ip;
    const uint8_t *p = l4;
    size_t n = 0;

    mtu &= ~(size_t)7;
    for (size_t off = 0; off < l4len && n < maxframes; off += mtu, n++) {
        size_t len = l4len - off < mtu ? l4len - off : mtu;
        bool more = off + len < l4len;
        uint8_t fh[8];

        fh[0] = proto;
        fh[1] = 0;
        put16(fh + 2, (uint16_t)(off | (more ? 1 : 0)));
        put32(fh + 4, id);
        ip.len = 0;
        pg_ipv6(&ip, src, dst, 44, fh, 8, p + off, len);
        frames[n].len = 0;
        pg_link(&frames[n], PG_LINK_ETHERNET, 0, NULL, ip.data, ip.len);
    }
    return n;
}

/* ---- encapsulations */

/* The Internet checksum of n bytes. */
static uint16_t inet_sum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;

    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

void pg_mpls(pg_buf_t *out, unsigned nlabels, bool control_word, const void *payload, size_t len)
{
    for (unsigned i = 0; i < nlabels; i++) {
        uint8_t e[4];
        uint32_t label = 16 + 1000 * i;

        put32(e, label << 12 | (i + 1 == nlabels ? 1u << 8 : 0) | 64);
        append(out, e, 4);
    }
    if (control_word)
        append(out, "\0\0\0\0", 4);
    append(out, payload, len);
}

void pg_pppoe(pg_buf_t *out, uint16_t session, const void *ip, size_t len)
{
    const uint8_t *p = ip;
    uint8_t h[8] = { 0x11, 0x00 };

    put16(h + 2, session);
    put16(h + 4, (uint16_t)(len + 2));
    put16(h + 6, len && (p[0] >> 4) == 6 ? 0x0057 : 0x0021);
    append(out, h, 8);
    append(out, ip, len);
}

void pg_gre(pg_buf_t *out, unsigned flags, uint16_t proto, const void *payload, size_t len)
{
    static uint32_t seq;
    size_t start = out->len, n = 4;
    uint8_t h[16] = { 0 };

    put16(h, (uint16_t)(flags & (PG_GRE_CSUM | PG_GRE_KEY | PG_GRE_SEQ)));
    put16(h + 2, proto);
    if (flags & PG_GRE_CSUM)
        n += 4; /* checksum and reserved1, filled below */
    if (flags & PG_GRE_KEY) {
        put32(h + n, 0x0a0b0c0d);
        n += 4;
    }
    if (flags & PG_GRE_SEQ) {
        put32(h + n, ++seq);
        n += 4;
    }
    append(out, h, n);
    append(out, payload, len);
    if (flags & PG_GRE_CSUM)
        put16(out->data + start + 4, inet_sum(out->data + start, out->len - start));
}

void pg_erspan(pg_buf_t *out, int type, bool sub, const void *frame, size_t len)
{
    static pg_buf_t in;
    static uint32_t ts;
    uint8_t h[20] = { 0 };

    in.len = 0;
    if (type == 1) {
        pg_gre(out, 0, 0x88be, frame, len);
        return;
    }
    if (type == 2) {
        put16(h, 1u << 12 | 42);  /* version 1, VLAN 42 */
        put16(h + 2, 0x0400 | 7); /* session 7 */
        put32(h + 4, 99);         /* index */
        append(&in, h, 8);
        append(&in, frame, len);
        pg_gre(out, PG_GRE_SEQ, 0x88be, in.data, in.len);
        return;
    }
    put16(h, 2u << 12 | 42); /* version 2, VLAN 42 */
    put16(h + 2, 7);         /* session 7 */
    put32(h + 4, ++ts);      /* timestamp */
    put16(h + 8, 0);         /* security group tag */
    h[10] = 0x00;
    h[11] = sub ? 0x01 : 0x00; /* the O bit */
    append(&in, h, 12);
    if (sub) {
        uint8_t s[8] = { 0x08, 0, 0, 1, 0, 0, 0, 2 }; /* platform 1 */

        append(&in, s, 8);
    }
    append(&in, frame, len);
    pg_gre(out, PG_GRE_SEQ, 0x22eb, in.data, in.len);
}

void pg_vxlan(pg_buf_t *out, uint32_t vni, const void *frame, size_t len)
{
    uint8_t h[8] = { 0x08 };

    put32(h + 4, vni << 8);
    append(out, h, 8);
    append(out, frame, len);
}

void pg_geneve(pg_buf_t *out, uint32_t vni, uint16_t proto, unsigned nopts, const void *payload,
               size_t len)
{
    uint8_t h[8] = { 0 }, opt[4 + 4 * 31];
    size_t optlen = 0;

    for (unsigned i = 0; i < nopts; i++)
        optlen += 4 + 4 * (i + 1);
    h[0] = (uint8_t)(optlen / 4);
    put16(h + 2, proto);
    put32(h + 4, vni << 8);
    append(out, h, 8);
    for (unsigned i = 0; i < nopts; i++) {
        memset(opt, 0xa5, sizeof(opt));
        put16(opt, 0x0102);        /* option class */
        opt[2] = (uint8_t)i;       /* type */
        opt[3] = (uint8_t)(i + 1); /* length in 4-byte words after the option header */
        append(out, opt, 4 + 4 * (i + 1));
    }
    append(out, payload, len);
}

void pg_gtpu(pg_buf_t *out, uint32_t teid, bool opt, bool ext, const void *ip, size_t len)
{
    static uint16_t seq;
    uint8_t h[16] = { 0 };
    size_t n = 8;

    opt = opt || ext;
    h[0] = (uint8_t)(0x30 | (ext ? 0x04 : 0) | (opt ? 0x02 : 0));
    h[1] = 0xff; /* G-PDU */
    put32(h + 4, teid);
    if (opt) {
        put16(h + 8, ++seq);
        h[10] = 0;                 /* N-PDU number */
        h[11] = ext ? 0x85 : 0x00; /* next: PDU session container */
        n += 4;
    }
    if (ext) {
        h[12] = 1;    /* 4 bytes */
        h[13] = 0x10; /* uplink */
        h[14] = 9;    /* QFI */
        h[15] = 0;    /* no further extension */
        n += 4;
    }
    put16(h + 2, (uint16_t)(n - 8 + len));
    append(out, h, n);
    append(out, ip, len);
}

void pg_tzsp(pg_buf_t *out, bool tags, const void *frame, size_t len)
{
    uint8_t h[4] = { 1, 0, 0, 1 }; /* version 1, received, Ethernet */

    append(out, h, 4);
    if (tags) {
        uint8_t t[] = { 0x0a, 1, 0xc8, 0x00, 0x0d, 4, 0, 0, 0x30, 0x39 }; /* RSSI, pad, time */

        append(out, t, sizeof(t));
    }
    append(out, "\x01", 1); /* end */
    append(out, frame, len);
}

/* What each kind carries (an Ethernet frame or an IP packet) and how. */
enum carrier { C_LINK, C_IP, C_UDP };

static const struct wrap_kind {
    const char *name;
    bool ethernet;          /* carries the whole frame, else its IP packet */
    enum carrier carrier;   /* MPLS and PPPoE ride in Ethernet; others in IP, some on UDP */
    uint16_t port_or_proto; /* UDP destination port, or the outer IP protocol (0: by version) */
} wrap_kinds[] = {
    { "mpls", false, C_LINK, 1 },        { "mpls2", false, C_LINK, 2 },
    { "mpls3", false, C_LINK, 3 },       { "mpls-pw", true, C_LINK, 1 },
    { "pppoe", false, C_LINK, 0 },       { "gre", false, C_IP, 47 },
    { "gre-csum", false, C_IP, 47 },     { "gre-key", false, C_IP, 47 },
    { "gre-seq", false, C_IP, 47 },      { "gre-all", false, C_IP, 47 },
    { "gre-eth", true, C_IP, 47 },       { "erspan1", true, C_IP, 47 },
    { "erspan2", true, C_IP, 47 },       { "erspan3", true, C_IP, 47 },
    { "erspan3-sub", true, C_IP, 47 },   { "vxlan", true, C_UDP, 4789 },
    { "geneve", true, C_UDP, 6081 },     { "geneve-opts", true, C_UDP, 6081 },
    { "geneve-ip", false, C_UDP, 6081 }, { "ipip", false, C_IP, 0 },
    { "ip6ip", false, C_IP, 0 },         { "gtpu", false, C_UDP, 2152 },
    { "gtpu-opt", false, C_UDP, 2152 },  { "gtpu-ext", false, C_UDP, 2152 },
    { "tzsp", true, C_UDP, 37008 },      { "tzsp-tags", true, C_UDP, 37008 },
};

const char *const *pg_wrap_kinds(void)
{
    static const char *names[sizeof(wrap_kinds) / sizeof(wrap_kinds[0]) + 1];

    for (size_t i = 0; i < sizeof(wrap_kinds) / sizeof(wrap_kinds[0]); i++)
        names[i] = wrap_kinds[i].name;
    return names;
}

/* The IP packet inside an Ethernet frame (through VLAN tags), trimmed to
 * its own length; false when it holds none. */
static bool eth_ip(const uint8_t *f, size_t len, const uint8_t **ip, size_t *iplen)
{
    size_t off = 12, n, tot;
    uint16_t type;

    for (;;) {
        if (len < off + 2)
            return false;
        type = (uint16_t)(f[off] << 8 | f[off + 1]);
        if (type != 0x8100 && type != 0x88a8 && type != 0x9100)
            break;
        off += 4;
    }
    off += 2;
    if ((type != 0x0800 && type != 0x86dd) || len <= off)
        return false;
    n = len - off;
    tot = type == 0x0800 ? (n >= 4 ? (size_t)(f[off + 2] << 8 | f[off + 3]) : 0)
                         : (n >= 6 ? 40 + (size_t)(f[off + 4] << 8 | f[off + 5]) : 0);
    *ip = f + off;
    *iplen = tot && tot < n ? tot : n;
    return true;
}

/* A frame of any link type pcapgen writes, as an Ethernet frame. */
static int to_ethernet(pg_buf_t *out, int linktype, const uint8_t *f, size_t len)
{
    size_t skip;
    uint16_t type = 0;

    out->len = 0;
    switch (linktype) {
    case PG_LINK_ETHERNET:
        append(out, f, len);
        return 0;
    case PG_LINK_SLL:
        skip = 16;
        if (len >= 16)
            type = (uint16_t)(f[14] << 8 | f[15]);
        break;
    case PG_LINK_SLL2:
        skip = 20;
        if (len >= 20)
            type = (uint16_t)(f[0] << 8 | f[1]);
        break;
    case PG_LINK_RAW:
        skip = 0;
        break;
    case PG_LINK_NULL:
    case PG_LINK_LOOP:
        skip = 4;
        break;
    default:
        return -EINVAL;
    }
    if (len < skip)
        return -ENOENT;
    if (type == 0 && len > skip)
        type = (f[skip] >> 4) == 6 ? 0x86dd : 0x0800;
    {
        uint8_t h[14] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };

        put16(h + 12, type);
        append(out, h, 14);
        append(out, f + skip, len - skip);
    }
    return 0;
}

/* payload in an outer IPv4 (IPv6 when v6) packet of protocol proto, in an
 * Ethernet frame. */
static void outer_ip(pg_buf_t *out, bool v6, uint8_t proto, const void *payload, size_t len)
{
    static uint16_t id;
    static pg_buf_t ip;
    cw_addr_t s = pg_addr(v6 ? "2001:db8:ffff::1" : "10.255.0.1");
    cw_addr_t d = pg_addr(v6 ? "2001:db8:ffff::2" : "10.255.0.2");

    ip.len = 0;
    if (v6)
        pg_ipv6(&ip, &s, &d, proto, NULL, 0, payload, len);
    else
        pg_ipv4(&ip, &s, &d, proto, ++id, 0, 0, payload, len);
    out->len = 0;
    pg_link(out, PG_LINK_ETHERNET, 0, NULL, ip.data, ip.len);
}

/* One encapsulation around the Ethernet frame in cur; the result in cur. */
static int wrap_one(pg_buf_t *cur, const struct wrap_kind *k)
{
    static pg_buf_t hdr, udp, inner;
    const uint8_t *ip;
    size_t iplen;
    const char *n = k->name;

    hdr.len = udp.len = 0;
    if (!k->ethernet && !eth_ip(cur->data, cur->len, &ip, &iplen))
        return -ENOENT;
    inner.len = 0;
    if (k->ethernet)
        append(&inner, cur->data, cur->len);
    else
        append(&inner, ip, iplen);
    if (!strncmp(n, "mpls", 4))
        pg_mpls(&hdr, k->port_or_proto, k->ethernet, inner.data, inner.len);
    else if (!strcmp(n, "pppoe"))
        pg_pppoe(&hdr, 0x1234, inner.data, inner.len);
    else if (!strncmp(n, "gre", 3) && !k->ethernet)
        pg_gre(&hdr,
               !strcmp(n, "gre-csum")  ? PG_GRE_CSUM
               : !strcmp(n, "gre-key") ? PG_GRE_KEY
               : !strcmp(n, "gre-seq") ? PG_GRE_SEQ
               : !strcmp(n, "gre-all") ? PG_GRE_CSUM | PG_GRE_KEY | PG_GRE_SEQ
                                       : 0,
               (inner.data[0] >> 4) == 6 ? 0x86dd : 0x0800, inner.data, inner.len);
    else if (!strcmp(n, "gre-eth"))
        pg_gre(&hdr, PG_GRE_KEY, 0x6558, inner.data, inner.len);
    else if (!strncmp(n, "erspan", 6))
        pg_erspan(&hdr, n[6] - '0', !strcmp(n, "erspan3-sub"), inner.data, inner.len);
    else if (!strcmp(n, "vxlan"))
        pg_vxlan(&hdr, 5001, inner.data, inner.len);
    else if (!strncmp(n, "geneve", 6))
        pg_geneve(&hdr, 5002, k->ethernet ? 0x6558 : ((inner.data[0] >> 4) == 6 ? 0x86dd : 0x0800),
                  !strcmp(n, "geneve-opts") ? 3 : 0, inner.data, inner.len);
    else if (!strncmp(n, "gtpu", 4))
        pg_gtpu(&hdr, 0x1000 + 7, !strcmp(n, "gtpu-opt"), !strcmp(n, "gtpu-ext"), inner.data,
                inner.len);
    else if (!strncmp(n, "tzsp", 4))
        pg_tzsp(&hdr, !strcmp(n, "tzsp-tags"), inner.data, inner.len);
    else
        append(&hdr, inner.data, inner.len); /* IP in IP: no header */
    if (k->carrier == C_LINK) {
        uint8_t h[14] = { 2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 0, 0x0a };

        put16(h + 12, !strcmp(n, "pppoe") ? 0x8864 : 0x8847);
        cur->len = 0;
        append(cur, h, 14);
        append(cur, hdr.data, hdr.len);
    } else if (k->carrier == C_UDP) {
        if (hdr.len + 8 > 65535 - 20)
            return -EMSGSIZE;
        pg_udp(&udp, k->port_or_proto == 2152 ? 2152 : 49152, k->port_or_proto, hdr.data, hdr.len);
        outer_ip(cur, false, 17, udp.data, udp.len);
    } else {
        bool v6 = !strcmp(n, "ip6ip");
        uint8_t proto =
            k->port_or_proto ? (uint8_t)k->port_or_proto : ((inner.data[0] >> 4) == 6 ? 41 : 4);

        if (hdr.len > 65535 - 20)
            return -EMSGSIZE;
        outer_ip(cur, v6, proto, hdr.data, hdr.len);
    }
    return 0;
}

int pg_wrap(pg_buf_t *out, const char *kinds, int linktype, const uint8_t *frame, size_t len)
{
    static pg_buf_t cur;
    char list[256], *save = NULL;
    int rc;

    if (strlen(kinds) >= sizeof(list))
        return -EINVAL;
    if ((rc = to_ethernet(&cur, linktype, frame, len)) != 0)
        return rc;
    snprintf(list, sizeof(list), "%s", kinds);
    for (char *k = strtok_r(list, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        size_t i;

        for (i = 0; i < sizeof(wrap_kinds) / sizeof(wrap_kinds[0]); i++)
            if (!strcmp(k, wrap_kinds[i].name))
                break;
        if (i == sizeof(wrap_kinds) / sizeof(wrap_kinds[0]))
            return -EINVAL;
        if ((rc = wrap_one(&cur, &wrap_kinds[i])) != 0)
            return rc;
    }
    out->len = 0;
    append(out, cur.data, cur.len);
    return 0;
}
