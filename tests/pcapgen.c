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
