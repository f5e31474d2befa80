/* Table-driven tests of the link, network and transport decoders. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pcap/dlt.h>

#include "decode/decode.h"
#include "pcapgen.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

static const char payload[] = "INVITE sip:bob@example.com SIP/2.0\r\n";

/* Builds an IP datagram carrying UDP 5060 -> 5060 with `payload`. */
static void udp_datagram(pg_buf_t *ip, const char *src, const char *dst, unsigned optlen)
{
    cw_addr_t s = pg_addr(src), d = pg_addr(dst);
    pg_buf_t l4 = { .len = 0 };

    pg_udp(&l4, 5060, 5060, payload, sizeof(payload) - 1);
    ip->len = 0;
    if (s.family == 6)
        pg_ipv6(ip, &s, &d, 17, NULL, 0, l4.data, l4.len);
    else
        pg_ipv4(ip, &s, &d, 17, 7, 0, optlen, l4.data, l4.len);
}

struct link_case {
    const char *name;
    int linktype; /* for pcapgen */
    int dlt;      /* what libpcap reports */
    unsigned nvlan;
    const char *src, *dst;
    unsigned optlen;
};

static const struct link_case link_cases[] = {
    { "ethernet ipv4", PG_LINK_ETHERNET, DLT_EN10MB, 0, "10.0.0.1", "10.0.0.2", 0 },
    { "ethernet ipv4 options", PG_LINK_ETHERNET, DLT_EN10MB, 0, "10.0.0.1", "10.0.0.2", 12 },
    { "802.1q ipv4", PG_LINK_ETHERNET, DLT_EN10MB, 1, "10.0.0.1", "10.0.0.2", 0 },
    { "qinq ipv6", PG_LINK_ETHERNET, DLT_EN10MB, 2, "2001:db8::1", "2001:db8::2", 0 },
    { "ethernet ipv6", PG_LINK_ETHERNET, DLT_EN10MB, 0, "2001:db8::1", "2001:db8::2", 0 },
    { "sll ipv4", PG_LINK_SLL, DLT_LINUX_SLL, 0, "192.0.2.1", "192.0.2.2", 0 },
    { "sll2 ipv6", PG_LINK_SLL2, DLT_LINUX_SLL2, 0, "2001:db8::1", "2001:db8::2", 0 },
    { "raw ipv4", PG_LINK_RAW, DLT_RAW, 0, "192.0.2.1", "192.0.2.2", 0 },
    { "null ipv6", PG_LINK_NULL, DLT_NULL, 0, "2001:db8::1", "2001:db8::2", 0 },
    { "loop ipv4", PG_LINK_LOOP, DLT_LOOP, 0, "192.0.2.1", "192.0.2.2", 0 },
};

static void test_link_layers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(link_cases) / sizeof(link_cases[0]); i++) {
        const struct link_case *c = &link_cases[i];
        uint16_t vlans[2] = { 100, 200 };
        pg_buf_t ip, frame = { .len = 0 };
        decoder_t *d = decoder_new(0, 0);
        decode_pkt_t p;
        cw_addr_t src = pg_addr(c->src);
        int rc;

        udp_datagram(&ip, c->src, c->dst, c->optlen);
        pg_link(&frame, c->linktype, c->nvlan, vlans, ip.data, ip.len);
        rc = decode_frame(d, c->dlt, 5, frame.data, (uint32_t)frame.len, (uint32_t)frame.len, &p);
        if (rc != DECODE_OK)
            fail_msg("%s: result %d", c->name, rc);
        assert_int_equal(p.proto, 17);
        assert_int_equal(p.sport, 5060);
        assert_int_equal(p.dport, 5060);
        assert_int_equal(p.payload_len, sizeof(payload) - 1);
        assert_memory_equal(p.payload, payload, sizeof(payload) - 1);
        assert_true(cw_addr_equal(&p.src, &src));
        assert_int_equal(p.vlan_count, c->nvlan);
        if (c->nvlan) {
            assert_int_equal(p.vlan[0], 100);
        }
        assert_int_equal(p.ip_len, ip.len);
        assert_false(p.truncated);
        decoder_free(d);
    }
}

/* Every truncation of every good frame: never a crash, never a payload
 * outside the buffer, and an honest result. */
static void test_every_truncation(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(link_cases) / sizeof(link_cases[0]); i++) {
        const struct link_case *c = &link_cases[i];
        uint16_t vlans[2] = { 100, 200 };
        pg_buf_t ip, frame = { .len = 0 };

        udp_datagram(&ip, c->src, c->dst, c->optlen);
        pg_link(&frame, c->linktype, c->nvlan, vlans, ip.data, ip.len);
        for (size_t cut = 0; cut < frame.len; cut++) {
            for (int snap = 0; snap < 2; snap++) {
                decoder_t *d = decoder_new(0, 0);
                decode_pkt_t p;
                /* A heap copy of exactly `cut` bytes so ASan sees overreads. */
                uint8_t *buf = malloc(cut ? cut : 1);
                decode_stats_t st;
                int rc;

                memcpy(buf, frame.data, cut);
                rc = decode_frame(d, c->dlt, 1, buf, (uint32_t)cut,
                                  snap ? (uint32_t)frame.len : (uint32_t)cut, &p);
                decoder_get_stats(d, &st);
                if (rc == DECODE_OK) {
                    /* Only a snaplen cut inside the payload may still decode. */
                    assert_true(snap);
                    assert_true(p.truncated);
                    assert_true(p.payload >= buf && p.payload + p.payload_len <= buf + cut);
                } else {
                    assert_int_equal(rc, DECODE_MALFORMED);
                    assert_int_equal(st.malformed_total, 1);
                }
                free(buf);
                decoder_free(d);
            }
        }
    }
}

struct lie_case {
    const char *name;
    size_t offset; /* byte within the IP header to overwrite */
    uint8_t value;
    enum decode_reason reason;
};

/* Length fields that lie, in an Ethernet/IPv4/UDP frame. */
static const struct lie_case v4_lies[] = {
    { "ihl below 5", 0, 0x44, DR_IPV4_BAD_HEADER_LENGTH },
    { "ihl swallowing the udp header", 0, 0x4f, DR_UDP_TRUNCATED },
    { "version 5", 0, 0x55, DR_IP_BAD_VERSION },
    { "total length too big", 2, 0x40, DR_IPV4_BAD_TOTAL_LENGTH },
    { "total length below header", 3, 0x10, DR_IPV4_BAD_TOTAL_LENGTH },
    { "udp length too big", 20 + 4, 0x7f, DR_UDP_BAD_LENGTH },
    { "udp length below 8", 20 + 5, 0x04, DR_UDP_BAD_LENGTH },
};

static void test_lying_lengths_v4(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(v4_lies) / sizeof(v4_lies[0]); i++) {
        const struct lie_case *c = &v4_lies[i];
        pg_buf_t ip, frame = { .len = 0 };
        decoder_t *d = decoder_new(0, 0);
        decode_pkt_t p;
        int rc;

        udp_datagram(&ip, "10.0.0.1", "10.0.0.2", 0);
        if (c->offset == 3)
            ip.data[2] = 0;
        if (c->offset == 25)
            ip.data[24] = 0;
        ip.data[c->offset] = c->value;
        pg_link(&frame, PG_LINK_ETHERNET, 0, NULL, ip.data, ip.len);
        rc = decode_frame(d, DLT_EN10MB, 1, frame.data, (uint32_t)frame.len, (uint32_t)frame.len,
                          &p);
        if (rc != DECODE_MALFORMED || p.reason != c->reason)
            fail_msg("%s: result %d reason %s", c->name, rc, decode_reason_name(p.reason));
        decoder_free(d);
    }
}

static void test_lying_lengths_v6(void **state)
{
    pg_buf_t ip, frame = { .len = 0 };
    decoder_t *d = decoder_new(0, 0);
    decode_pkt_t p;
    cw_addr_t s = pg_addr("2001:db8::1"), t = pg_addr("2001:db8::2");
    uint8_t ext[8] = { 17, 200, 0 }; /* destination options claiming 1608 bytes */
    pg_buf_t l4 = { .len = 0 };

    (void)state;
    /* Payload length past the end. */
    udp_datagram(&ip, "2001:db8::1", "2001:db8::2", 0);
    ip.data[4] = 0x7f;
    pg_link(&frame, PG_LINK_ETHERNET, 0, NULL, ip.data, ip.len);
    assert_int_equal(
        decode_frame(d, DLT_EN10MB, 1, frame.data, (uint32_t)frame.len, (uint32_t)frame.len, &p),
        DECODE_MALFORMED);
    assert_int_equal(p.reason, DR_IPV6_BAD_PAYLOAD_LENGTH);

    /* An extension header longer than the packet. */
    pg_udp(&l4, 1, 2, "x", 1);
    ip.len = 0;
    pg_ipv6(&ip, &s, &t, 60, ext, sizeof(ext), l4.data, l4.len);
    frame.len = 0;
    pg_link(&frame, PG_LINK_ETHERNET, 0, NULL, ip.data, ip.len);
    assert_int_equal(
        decode_frame(d, DLT_EN10MB, 1, frame.data, (uint32_t)frame.len, (uint32_t)frame.len, &p),
        DECODE_MALFORMED);
    assert_int_equal(p.reason, DR_IPV6_EXT_TRUNCATED);
    decoder_free(d);
}

static void test_ipv6_extension_chain(void **state)
{
    /* hop-by-hop -> routing -> destination options -> UDP */
    uint8_t ext[24] = { 0 };
    cw_addr_t s = pg_addr("2001:db8::1"), t = pg_addr("2001:db8::2");
    pg_buf_t l4 = { .len = 0 }, ip = { .len = 0 }, frame = { .len = 0 };
    decoder_t *d = decoder_new(0, 0);
    decode_pkt_t p;

    (void)state;
    ext[0] = 43;  /* next: routing */
    ext[8] = 60;  /* next: destination options */
    ext[16] = 17; /* next: UDP */
    pg_udp(&l4, 5060, 5062, payload, sizeof(payload) - 1);
    pg_ipv6(&ip, &s, &t, 0, ext, sizeof(ext), l4.data, l4.len);
    pg_link(&frame, PG_LINK_ETHERNET, 0, NULL, ip.data, ip.len);
    assert_int_equal(
        decode_frame(d, DLT_EN10MB, 1, frame.data, (uint32_t)frame.len, (uint32_t)frame.len, &p),
        DECODE_OK);
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.dport, 5062);
    assert_int_equal(p.payload_len, sizeof(payload) - 1);
    decoder_free(d);
}

static void test_tcp(void **state)
{
    cw_addr_t s = pg_addr("10.1.1.1"), t = pg_addr("10.1.1.2");
    pg_buf_t l4 = { .len = 0 }, ip = { .len = 0 }, frame = { .len = 0 };
    decoder_t *d = decoder_new(0, 0);
    decode_pkt_t p;

    (void)state;
    pg_tcp(&l4, 40000, 5060, 1000, 2000, TCP_ACK | TCP_PSH, payload, sizeof(payload) - 1);
    pg_ipv4(&ip, &s, &t, 6, 1, 0, 0, l4.data, l4.len);
    pg_link(&frame, PG_LINK_ETHERNET, 0, NULL, ip.data, ip.len);
    assert_int_equal(
        decode_frame(d, DLT_EN10MB, 1, frame.data, (uint32_t)frame.len, (uint32_t)frame.len, &p),
        DECODE_OK);
    assert_int_equal(p.proto, 6);
    assert_int_equal(p.tcp_seq, 1000);
    assert_int_equal(p.tcp_ack, 2000);
    assert_int_equal(p.tcp_flags, TCP_ACK | TCP_PSH);
    assert_int_equal(p.payload_len, sizeof(payload) - 1);

    /* Data offset below 5 and past the end. */
    frame.data[14 + 20 + 12] = 0x40;
    assert_int_equal(
        decode_frame(d, DLT_EN10MB, 1, frame.data, (uint32_t)frame.len, (uint32_t)frame.len, &p),
        DECODE_MALFORMED);
    assert_int_equal(p.reason, DR_TCP_BAD_OFFSET);
    frame.data[14 + 20 + 12] = 0xf0;
    assert_int_equal(
        decode_frame(d, DLT_EN10MB, 1, frame.data, (uint32_t)frame.len, (uint32_t)frame.len, &p),
        DECODE_MALFORMED);
    assert_int_equal(p.reason, DR_TCP_BAD_OFFSET);
    decoder_free(d);
}

static void test_not_ip(void **state)
{
    uint8_t arp[42] = { 0 };
    decoder_t *d = decoder_new(0, 0);
    decode_pkt_t p;
    decode_stats_t st;

    (void)state;
    arp[12] = 0x08;
    arp[13] = 0x06;
    assert_int_equal(decode_frame(d, DLT_EN10MB, 1, arp, sizeof(arp), sizeof(arp), &p),
                     DECODE_NOT_IP);
    decoder_get_stats(d, &st);
    assert_int_equal(st.not_ip, 1);
    assert_int_equal(st.malformed_total, 0);
    decoder_free(d);
}

static void test_fragments_through_decoder(void **state)
{
    static pg_buf_t frames[16];
    static uint8_t big[3000];
    static pg_buf_t l4;
    cw_addr_t s4 = pg_addr("10.0.0.1"), t4 = pg_addr("10.0.0.2");
    cw_addr_t s6 = pg_addr("2001:db8::1"), t6 = pg_addr("2001:db8::2");
    decoder_t *d = decoder_new(0, 0);
    decode_pkt_t p;
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)i;
    l4.len = 0;
    pg_udp(&l4, 5060, 5060, big, sizeof(big));

    n = pg_ipv4_fragments(frames, 16, &s4, &t4, 17, 99, l4.data, l4.len, 1480);
    assert_int_equal(n, 3);
    /* Out of order: last, first, middle. */
    assert_int_equal(decode_frame(d, DLT_EN10MB, 1, frames[2].data, (uint32_t)frames[2].len,
                                  (uint32_t)frames[2].len, &p),
                     DECODE_HELD);
    assert_int_equal(decode_frame(d, DLT_EN10MB, 2, frames[0].data, (uint32_t)frames[0].len,
                                  (uint32_t)frames[0].len, &p),
                     DECODE_HELD);
    assert_int_equal(decode_frame(d, DLT_EN10MB, 3, frames[1].data, (uint32_t)frames[1].len,
                                  (uint32_t)frames[1].len, &p),
                     DECODE_OK);
    assert_true(p.reassembled);
    assert_int_equal(p.payload_len, sizeof(big));
    assert_memory_equal(p.payload, big, sizeof(big));

    n = pg_ipv6_fragments(frames, 16, &s6, &t6, 17, 0x12345678, l4.data, l4.len, 1232);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        int rc = decode_frame(d, DLT_EN10MB, 4, frames[i].data, (uint32_t)frames[i].len,
                              (uint32_t)frames[i].len, &p);

        assert_int_equal(rc, i + 1 < n ? DECODE_HELD : DECODE_OK);
    }
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.payload_len, sizeof(big));
    assert_memory_equal(p.payload, big, sizeof(big));
    decoder_free(d);
}

static void test_fragment_timeout_counted(void **state)
{
    static pg_buf_t frames[4];
    static pg_buf_t l4;
    uint8_t data[2000] = { 0 };
    cw_addr_t s = pg_addr("10.0.0.1"), t = pg_addr("10.0.0.2");
    decoder_t *d = decoder_new(0, CW_SEC(30));
    decode_pkt_t p;
    decode_stats_t st;

    (void)state;
    l4.len = 0;
    pg_udp(&l4, 1, 2, data, sizeof(data));
    pg_ipv4_fragments(frames, 4, &s, &t, 17, 5, l4.data, l4.len, 1480);
    assert_int_equal(decode_frame(d, DLT_EN10MB, CW_SEC(100), frames[0].data,
                                  (uint32_t)frames[0].len, (uint32_t)frames[0].len, &p),
                     DECODE_HELD);
    decoder_expire(d, CW_SEC(120));
    decoder_get_stats(d, &st);
    assert_int_equal(st.malformed[DR_FRAG_TIMEOUT], 0);
    decoder_expire(d, CW_SEC(131));
    decoder_get_stats(d, &st);
    assert_int_equal(st.malformed[DR_FRAG_TIMEOUT], 1);
    /* The second fragment alone now starts a new datagram. */
    assert_int_equal(decode_frame(d, DLT_EN10MB, CW_SEC(131), frames[1].data,
                                  (uint32_t)frames[1].len, (uint32_t)frames[1].len, &p),
                     DECODE_HELD);
    decoder_free(d);
}

/* ---- encapsulations */

/* The frame every encapsulation test wraps: Ethernet, IPv4, UDP 5060. */
static void base_frame(pg_buf_t *frame)
{
    pg_buf_t ip;

    udp_datagram(&ip, "192.0.2.10", "192.0.2.20", 0);
    frame->len = 0;
    pg_link(frame, PG_LINK_ETHERNET, 0, NULL, ip.data, ip.len);
}

/* The inner frame's layers (Ethernet, IPv4, UDP): where a cut in them
 * lands when the encapsulation carries the whole frame or its IP packet. */
#define INNER_ETH                                                                                  \
    { 14, DR_ETH_TRUNCATED }, { 20, DR_IPV4_TRUNCATED },                                           \
    {                                                                                              \
        8, DR_UDP_TRUNCATED                                                                        \
    }
#define INNER_IP                                                                                   \
    { 20, DR_IPV4_TRUNCATED },                                                                     \
    {                                                                                              \
        8, DR_UDP_TRUNCATED                                                                        \
    }
#define INNER_IP_1                                                                                 \
    { 19, DR_IPV4_TRUNCATED },                                                                     \
    {                                                                                              \
        8, DR_UDP_TRUNCATED                                                                        \
    } /* one byte read already */
#define OUTER_IP                                                                                   \
    { 14, DR_ETH_TRUNCATED },                                                                      \
    {                                                                                              \
        20, DR_IPV4_TRUNCATED                                                                      \
    }
#define OUTER_UDP                                                                                  \
    OUTER_IP,                                                                                      \
    {                                                                                              \
        8, DR_UDP_TRUNCATED                                                                        \
    }

struct layer {
    unsigned len;
    enum decode_reason reason; /* of a frame the snap length cut inside it */
};

struct encap_case {
    const char *kinds;      /* as pg_wrap() takes them */
    unsigned encaps;        /* how many */
    enum decode_encap e[2]; /* counted (DE_COUNT: none) */
    bool ethernet;          /* the innermost carries the whole frame */
    struct layer layers[12];
};

static const struct encap_case encap_cases[] = {
    { "mpls",
      1,
      { DE_MPLS, DE_COUNT },
      false,
      { { 14, DR_ETH_TRUNCATED }, { 5, DR_MPLS_TRUNCATED }, INNER_IP_1 } },
    { "mpls3",
      1,
      { DE_MPLS, DE_COUNT },
      false,
      { { 14, DR_ETH_TRUNCATED }, { 13, DR_MPLS_TRUNCATED }, INNER_IP_1 } },
    { "mpls-pw",
      1,
      { DE_MPLS, DE_COUNT },
      true,
      { { 14, DR_ETH_TRUNCATED }, { 8, DR_MPLS_TRUNCATED }, INNER_ETH } },
    { "pppoe",
      1,
      { DE_PPPOE, DE_COUNT },
      false,
      { { 14, DR_ETH_TRUNCATED }, { 8, DR_PPPOE_TRUNCATED }, INNER_IP } },
    { "gre", 1, { DE_GRE, DE_COUNT }, false, { OUTER_IP, { 4, DR_GRE_TRUNCATED }, INNER_IP } },
    { "gre-csum", 1, { DE_GRE, DE_COUNT }, false, { OUTER_IP, { 8, DR_GRE_TRUNCATED }, INNER_IP } },
    { "gre-key", 1, { DE_GRE, DE_COUNT }, false, { OUTER_IP, { 8, DR_GRE_TRUNCATED }, INNER_IP } },
    { "gre-seq", 1, { DE_GRE, DE_COUNT }, false, { OUTER_IP, { 8, DR_GRE_TRUNCATED }, INNER_IP } },
    { "gre-all", 1, { DE_GRE, DE_COUNT }, false, { OUTER_IP, { 16, DR_GRE_TRUNCATED }, INNER_IP } },
    { "gre-eth", 1, { DE_GRE, DE_COUNT }, true, { OUTER_IP, { 8, DR_GRE_TRUNCATED }, INNER_ETH } },
    { "erspan1", 1, { DE_GRE, DE_ERSPAN }, true, { OUTER_IP, { 4, DR_GRE_TRUNCATED }, INNER_ETH } },
    { "erspan2",
      1,
      { DE_GRE, DE_ERSPAN },
      true,
      { OUTER_IP, { 8, DR_GRE_TRUNCATED }, { 8, DR_ERSPAN_TRUNCATED }, INNER_ETH } },
    { "erspan3",
      1,
      { DE_GRE, DE_ERSPAN },
      true,
      { OUTER_IP, { 8, DR_GRE_TRUNCATED }, { 12, DR_ERSPAN_TRUNCATED }, INNER_ETH } },
    { "erspan3-sub",
      1,
      { DE_GRE, DE_ERSPAN },
      true,
      { OUTER_IP, { 8, DR_GRE_TRUNCATED }, { 20, DR_ERSPAN_TRUNCATED }, INNER_ETH } },
    { "vxlan",
      1,
      { DE_VXLAN, DE_COUNT },
      true,
      { OUTER_UDP, { 8, DR_VXLAN_TRUNCATED }, INNER_ETH } },
    { "geneve",
      1,
      { DE_GENEVE, DE_COUNT },
      true,
      { OUTER_UDP, { 8, DR_GENEVE_TRUNCATED }, INNER_ETH } },
    { "geneve-opts",
      1,
      { DE_GENEVE, DE_COUNT },
      true,
      { OUTER_UDP, { 8 + 8 + 12 + 16, DR_GENEVE_TRUNCATED }, INNER_ETH } },
    { "geneve-ip",
      1,
      { DE_GENEVE, DE_COUNT },
      false,
      { OUTER_UDP, { 8, DR_GENEVE_TRUNCATED }, INNER_IP } },
    { "ipip", 1, { DE_IPIP, DE_COUNT }, false, { OUTER_IP, INNER_IP } },
    { "ip6ip",
      1,
      { DE_IPIP, DE_COUNT },
      false,
      { { 14, DR_ETH_TRUNCATED }, { 40, DR_IPV6_TRUNCATED }, INNER_IP } },
    { "gtpu",
      1,
      { DE_GTPU, DE_COUNT },
      false,
      { OUTER_UDP, { 9, DR_GTPU_TRUNCATED }, INNER_IP_1 } },
    { "gtpu-opt",
      1,
      { DE_GTPU, DE_COUNT },
      false,
      { OUTER_UDP, { 13, DR_GTPU_TRUNCATED }, INNER_IP_1 } },
    { "gtpu-ext",
      1,
      { DE_GTPU, DE_COUNT },
      false,
      { OUTER_UDP, { 17, DR_GTPU_TRUNCATED }, INNER_IP_1 } },
    { "tzsp", 1, { DE_TZSP, DE_COUNT }, true, { OUTER_UDP, { 5, DR_TZSP_TRUNCATED }, INNER_ETH } },
    { "tzsp-tags",
      1,
      { DE_TZSP, DE_COUNT },
      true,
      { OUTER_UDP, { 15, DR_TZSP_TRUNCATED }, INNER_ETH } },
    { "vxlan,gre,mpls",
      3,
      { DE_VXLAN, DE_GRE },
      true,
      { { 14, DR_ETH_TRUNCATED },
        { 5, DR_MPLS_TRUNCATED },
        { 19, DR_IPV4_TRUNCATED },
        { 4, DR_GRE_TRUNCATED },
        { 20, DR_IPV4_TRUNCATED },
        { 8, DR_UDP_TRUNCATED },
        { 8, DR_VXLAN_TRUNCATED },
        INNER_ETH } },
};

/* The frame of a case, checked against the sum of its layers. */
static size_t encap_frame(const struct encap_case *c, pg_buf_t *frame, size_t *headers)
{
    static pg_buf_t base;
    size_t sum = 0;

    base_frame(&base);
    assert_int_equal(pg_wrap(frame, c->kinds, PG_LINK_ETHERNET, base.data, base.len), 0);
    for (size_t i = 0; i < sizeof(c->layers) / sizeof(c->layers[0]) && c->layers[i].len; i++)
        sum += c->layers[i].len;
    if (sum + sizeof(payload) - 1 != frame->len)
        fail_msg("%s: layers make %zu bytes, the frame has %zu", c->kinds,
                 sum + sizeof(payload) - 1, frame->len);
    *headers = sum;
    return frame->len;
}

static void test_encapsulations(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(encap_cases) / sizeof(encap_cases[0]); i++) {
        const struct encap_case *c = &encap_cases[i];
        static pg_buf_t frame;
        decoder_t *d = decoder_new(0, 0);
        cw_addr_t src = pg_addr("192.0.2.10"), dst = pg_addr("192.0.2.20");
        decode_stats_t st;
        decode_pkt_t p;
        size_t headers;
        int rc;

        encap_frame(c, &frame, &headers);
        rc = decode_frame(d, DLT_EN10MB, 1, frame.data, (uint32_t)frame.len, (uint32_t)frame.len,
                          &p);
        if (rc != DECODE_OK)
            fail_msg("%s: result %d (%s)", c->kinds, rc, decode_reason_name(p.reason));
        assert_true(cw_addr_equal(&p.src, &src));
        assert_true(cw_addr_equal(&p.dst, &dst));
        assert_int_equal(p.sport, 5060);
        assert_int_equal(p.dport, 5060);
        assert_int_equal(p.payload_len, sizeof(payload) - 1);
        assert_memory_equal(p.payload, payload, sizeof(payload) - 1);
        assert_int_equal(p.encaps, c->encaps);
        /* What the innermost encapsulation carried: the frame, or its IP. */
        assert_int_equal(p.wirelen, c->ethernet ? 14 + 20 + 8 + sizeof(payload) - 1
                                                : 20 + 8 + sizeof(payload) - 1);
        assert_false(p.truncated);
        decoder_get_stats(d, &st);
        for (int k = 0; k < 2; k++)
            if (c->e[k] != DE_COUNT)
                assert_int_equal(st.encap[c->e[k]], 1);
        /* Counted once, by the innermost packet. */
        assert_int_equal(st.ipv4 + st.ipv6, 1);
        assert_int_equal(st.udp, 1);
        assert_int_equal(st.malformed_total, 0);
        decoder_free(d);
    }
}

/* A frame the snap length cut inside any layer is counted under that
 * layer's reason, and inside the payload decodes as truncated; a frame
 * that is simply short is malformed once.  Never a read past the bytes. */
static void test_encapsulation_every_truncation(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(encap_cases) / sizeof(encap_cases[0]); i++) {
        const struct encap_case *c = &encap_cases[i];
        static pg_buf_t frame;
        size_t headers, len = 0;

        encap_frame(c, &frame, &headers);
        for (size_t cut = 0; cut < frame.len; cut++) {
            enum decode_reason want = DR_COUNT;
            size_t at = 0;

            for (size_t l = 0; l < sizeof(c->layers) / sizeof(c->layers[0]) && c->layers[l].len;
                 l++) {
                if (cut < at + c->layers[l].len) {
                    want = c->layers[l].reason;
                    break;
                }
                at += c->layers[l].len;
            }
            for (int snap = 0; snap < 2; snap++) {
                decoder_t *d = decoder_new(0, 0);
                uint8_t *buf = malloc(cut ? cut : 1);
                decode_stats_t st;
                decode_pkt_t p;
                int rc;

                memcpy(buf, frame.data, cut);
                rc = decode_frame(d, DLT_EN10MB, 1, buf, (uint32_t)cut,
                                  snap ? (uint32_t)frame.len : (uint32_t)cut, &p);
                decoder_get_stats(d, &st);
                if (snap && want == DR_COUNT) {
                    if (rc != DECODE_OK || !p.truncated)
                        fail_msg("%s cut at %zu: result %d (%s)", c->kinds, cut, rc,
                                 decode_reason_name(p.reason));
                    assert_true(p.payload >= buf && p.payload + p.payload_len <= buf + cut);
                    /* The bytes the cut took are the inner packet's. */
                    assert_int_equal(p.wirelen, c->ethernet ? 14 + 20 + 8 + sizeof(payload) - 1
                                                            : 20 + 8 + sizeof(payload) - 1);
                } else if (snap) {
                    if (rc != DECODE_MALFORMED || p.reason != want)
                        fail_msg("%s cut at %zu: result %d (%s), want %s", c->kinds, cut, rc,
                                 decode_reason_name(p.reason), decode_reason_name(want));
                } else {
                    assert_int_equal(rc, DECODE_MALFORMED);
                }
                if (rc == DECODE_MALFORMED)
                    assert_int_equal(st.malformed_total, 1);
                len++;
                free(buf);
                decoder_free(d);
            }
        }
        assert_true(len > 0);
    }
}

struct encap_lie {
    const char *name, *kinds;
    size_t offset[2]; /* bytes of the frame to overwrite (0: none) */
    uint8_t value[2];
    enum decode_reason reason;
};

/* Header fields that lie, in frames whose outer lengths are all right. */
static const struct encap_lie encap_lies[] = {
    { "pppoe length past the frame", "pppoe", { 18, 0 }, { 0x7f }, DR_PPPOE_BAD_LENGTH },
    { "pppoe length below the protocol", "pppoe", { 18, 19 }, { 0, 1 }, DR_PPPOE_BAD_LENGTH },
    { "pppoe version 2", "pppoe", { 14, 0 }, { 0x21 }, DR_PPPOE_BAD_HEADER },
    { "pppoe discovery code in a session frame",
      "pppoe",
      { 15, 0 },
      { 0x09 },
      DR_PPPOE_BAD_HEADER },
    { "gre version 2", "gre", { 35, 0 }, { 0x02 }, DR_GRE_BAD_VERSION },
    { "gre routing present", "gre", { 34, 0 }, { 0x40 }, DR_GRE_BAD_VERSION },
    { "erspan ii says version 2", "erspan2", { 42, 0 }, { 0x20 }, DR_ERSPAN_BAD_VERSION },
    { "erspan iii says version 1", "erspan3", { 42, 0 }, { 0x10 }, DR_ERSPAN_BAD_VERSION },
    { "geneve options past the datagram", "geneve", { 42, 0 }, { 0x3f }, DR_GENEVE_TRUNCATED },
    { "geneve option longer than the options",
      "geneve-opts",
      { 53, 0 },
      { 0x1f },
      DR_GENEVE_BAD_OPTIONS },
    { "geneve options length splitting an option",
      "geneve-opts",
      { 42, 0 },
      { 0x03 },
      DR_GENEVE_BAD_OPTIONS },
    { "gtp-u length past the datagram", "gtpu", { 44, 0 }, { 0x7f }, DR_GTPU_BAD_LENGTH },
    { "gtp-u length short of its fields", "gtpu-ext", { 44, 45 }, { 0, 2 }, DR_GTPU_BAD_LENGTH },
    { "gtp-u extension of length 0", "gtpu-ext", { 54, 0 }, { 0 }, DR_GTPU_BAD_LENGTH },
    { "gtp-u extension past the datagram", "gtpu-ext", { 54, 0 }, { 0xff }, DR_GTPU_BAD_LENGTH },
    { "tzsp tag past the datagram", "tzsp-tags", { 47, 0 }, { 0xff }, DR_TZSP_BAD_TAGS },
    { "ip in ip, the inner version lying", "ipip", { 34, 0 }, { 0x65 }, DR_IP_BAD_VERSION },
    { "mpls, neither IPv4 nor IPv6", "mpls", { 18, 0 }, { 0x55 }, DR_COUNT /* not IP */ },
    { "five deep", "vxlan,vxlan,vxlan,vxlan,vxlan", { 0, 0 }, { 0 }, DR_ENCAP_TOO_DEEP },
};

static void test_encapsulation_lies(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(encap_lies) / sizeof(encap_lies[0]); i++) {
        const struct encap_lie *c = &encap_lies[i];
        static pg_buf_t base, frame;
        decoder_t *d = decoder_new(0, 0);
        decode_stats_t st;
        decode_pkt_t p;
        int rc;

        base_frame(&base);
        assert_int_equal(pg_wrap(&frame, c->kinds, PG_LINK_ETHERNET, base.data, base.len), 0);
        for (int k = 0; k < 2; k++)
            if (c->offset[k])
                frame.data[c->offset[k]] = c->value[k];
        rc = decode_frame(d, DLT_EN10MB, 1, frame.data, (uint32_t)frame.len, (uint32_t)frame.len,
                          &p);
        decoder_get_stats(d, &st);
        if (c->reason == DR_COUNT) {
            assert_int_equal(rc, DECODE_NOT_IP);
            assert_int_equal(st.not_ip, 1);
        } else if (rc != DECODE_MALFORMED || p.reason != c->reason) {
            fail_msg("%s: result %d (%s), want %s", c->name, rc, decode_reason_name(p.reason),
                     decode_reason_name(c->reason));
        }
        assert_int_equal(st.malformed_total, c->reason == DR_COUNT ? 0 : 1);
        decoder_free(d);
    }
}

/* A UDP packet on an encapsulation's port that is not that protocol, or
 * a header that carries no packet, is the packet it is: plain UDP or GRE,
 * counted as nothing else. */
static void test_encapsulation_not_this(void **state)
{
    static const struct {
        const char *name, *kinds;
        size_t offset;
        uint8_t value;
        uint16_t dport; /* 0: GRE */
    } cases[] = {
        { "vxlan without the I flag", "vxlan", 42, 0x00, 4789 },
        { "geneve version 1", "geneve", 42, 0x40, 6081 },
        { "geneve oam", "geneve", 43, 0x80, 6081 },
        { "gtp' (protocol type 0)", "gtpu", 42, 0x20, 2152 },
        { "gtp-u echo request", "gtpu", 43, 1, 2152 },
        { "tzsp version 2", "tzsp", 42, 2, 37008 },
        { "tzsp keepalive", "tzsp", 43, 4, 37008 },
        { "tzsp 802.11", "tzsp", 45, 18, 37008 },
        { "gre keepalive", "gre", 36, 0x00, 0 },
        { "pptp's gre version 1", "gre", 35, 0x01, 0 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static pg_buf_t base, frame;
        decoder_t *d = decoder_new(0, 0);
        cw_addr_t outer = pg_addr("10.255.0.2");
        decode_stats_t st;
        decode_pkt_t p;
        int rc;

        base_frame(&base);
        assert_int_equal(pg_wrap(&frame, cases[i].kinds, PG_LINK_ETHERNET, base.data, base.len), 0);
        frame.data[cases[i].offset] = cases[i].value;
        if (cases[i].dport == 0)
            frame.data[37] = 0x00; /* (gre keepalive: protocol 0x0000) */
        if (!strcmp(cases[i].name, "pptp's gre version 1"))
            frame.data[36] = 0x88, frame.data[37] = 0x0b, frame.data[34] = 0x20; /* PPP, key */
        rc = decode_frame(d, DLT_EN10MB, 1, frame.data, (uint32_t)frame.len, (uint32_t)frame.len,
                          &p);
        decoder_get_stats(d, &st);
        if (rc != DECODE_OK)
            fail_msg("%s: result %d (%s)", cases[i].name, rc, decode_reason_name(p.reason));
        assert_true(cw_addr_equal(&p.dst, &outer));
        assert_int_equal(p.encaps, 0);
        assert_int_equal(p.proto, cases[i].dport ? 17 : 47);
        if (cases[i].dport)
            assert_int_equal(p.dport, cases[i].dport);
        assert_int_equal(p.wirelen, frame.len);
        for (int k = 0; k < DE_COUNT; k++)
            assert_int_equal(st.encap[k], 0);
        decoder_free(d);
    }
}

/* Which UDP ports are read as what is the caller's to say. */
static void test_encapsulation_ports(void **state)
{
    static pg_buf_t base, frame;
    static uint8_t ports[65536 / 8];
    decoder_t *d = decoder_new(0, 0);
    decode_pkt_t p;

    (void)state;
    base_frame(&base);
    assert_int_equal(pg_wrap(&frame, "vxlan", PG_LINK_ETHERNET, base.data, base.len), 0);
    assert_int_equal(
        decode_frame(d, DLT_EN10MB, 1, frame.data, (uint32_t)frame.len, (uint32_t)frame.len, &p),
        DECODE_OK);
    assert_int_equal(p.encaps, 1);
    /* Off: the outer UDP packet. */
    assert_int_equal(decoder_set_udp_ports(d, DE_VXLAN, NULL), 0);
    assert_int_equal(
        decode_frame(d, DLT_EN10MB, 1, frame.data, (uint32_t)frame.len, (uint32_t)frame.len, &p),
        DECODE_OK);
    assert_int_equal(p.encaps, 0);
    assert_int_equal(p.dport, 4789);
    /* On another port, and 4789 given to Geneve: read as Geneve, whose
     * version bits VXLAN's flags leave 0 and whose options length 2 words
     * runs into the VNI: not a good Geneve header. */
    memset(ports, 0, sizeof(ports));
    ports[4790 / 8] |= 1u << (4790 % 8);
    assert_int_equal(decoder_set_udp_ports(d, DE_VXLAN, ports), 0);
    memset(ports, 0, sizeof(ports));
    ports[4789 / 8] |= 1u << (4789 % 8);
    assert_int_equal(decoder_set_udp_ports(d, DE_GENEVE, ports), 0);
    assert_int_equal(
        decode_frame(d, DLT_EN10MB, 1, frame.data, (uint32_t)frame.len, (uint32_t)frame.len, &p),
        DECODE_MALFORMED);
    assert_int_equal(p.reason, DR_GENEVE_BAD_OPTIONS);
    frame.data[14 + 20 + 3] = 4790 & 0xff; /* the destination port, 4789 -> 4790 */
    assert_int_equal(
        decode_frame(d, DLT_EN10MB, 1, frame.data, (uint32_t)frame.len, (uint32_t)frame.len, &p),
        DECODE_OK);
    assert_int_equal(p.encaps, 1);
    assert_int_equal(p.dport, 5060);
    /* Only the UDP encapsulations have ports. */
    assert_int_equal(decoder_set_udp_ports(d, DE_GRE, ports), -EINVAL);
    decoder_free(d);
}

/* A mirror socket's datagrams: TZSP or VXLAN payloads with no outer
 * headers at all. */
static void test_mirror_link_types(void **state)
{
    static pg_buf_t base, pay;
    decoder_t *d = decoder_new(0, 0);
    decode_stats_t st;
    decode_pkt_t p;

    (void)state;
    base_frame(&base);
    pay.len = 0;
    pg_tzsp(&pay, true, base.data, base.len);
    assert_int_equal(
        decode_frame(d, DECODE_LINK_TZSP, 1, pay.data, (uint32_t)pay.len, (uint32_t)pay.len, &p),
        DECODE_OK);
    assert_int_equal(p.dport, 5060);
    assert_int_equal(p.wirelen, base.len);
    pay.data[1] = 4; /* a keepalive */
    assert_int_equal(
        decode_frame(d, DECODE_LINK_TZSP, 2, pay.data, (uint32_t)pay.len, (uint32_t)pay.len, &p),
        DECODE_NOT_IP);
    pay.len = 0;
    pg_vxlan(&pay, 7, base.data, base.len);
    /* Cut by the snap length inside the inner payload. */
    assert_int_equal(decode_frame(d, DECODE_LINK_VXLAN, 3, pay.data, (uint32_t)pay.len - 4,
                                  (uint32_t)pay.len, &p),
                     DECODE_OK);
    assert_true(p.truncated);
    assert_int_equal(p.wirelen, base.len);
    assert_int_equal(decode_frame(d, DECODE_LINK_VXLAN, 4, pay.data, 7, 7, &p), DECODE_MALFORMED);
    assert_int_equal(p.reason, DR_VXLAN_TRUNCATED);
    decoder_get_stats(d, &st);
    assert_int_equal(st.encap[DE_TZSP], 1);
    assert_int_equal(st.encap[DE_VXLAN], 1);
    assert_int_equal(st.not_ip, 1);
    decoder_free(d);
}

/* GRE sent in IPv4 fragments: reassembled, then taken apart. */
static void test_fragmented_tunnel(void **state)
{
    static pg_buf_t gre, frames[8];
    static uint8_t big[2000];
    cw_addr_t s = pg_addr("10.255.0.1"), t = pg_addr("10.255.0.2");
    cw_addr_t in_s = pg_addr("192.0.2.1"), in_t = pg_addr("192.0.2.2");
    pg_buf_t l4 = { .len = 0 }, ip = { .len = 0 };
    decoder_t *d = decoder_new(0, 0);
    decode_pkt_t p;
    size_t n;

    (void)state;
    memset(big, 'r', sizeof(big));
    pg_udp(&l4, 40000, 40002, big, sizeof(big));
    pg_ipv4(&ip, &in_s, &in_t, 17, 1, 0, 0, l4.data, l4.len);
    gre.len = 0;
    pg_gre(&gre, PG_GRE_KEY | PG_GRE_SEQ, 0x0800, ip.data, ip.len);
    n = pg_ipv4_fragments(frames, 8, &s, &t, 47, 4242, gre.data, gre.len, 800);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        int rc = decode_frame(d, DLT_EN10MB, 1, frames[i].data, (uint32_t)frames[i].len,
                              (uint32_t)frames[i].len, &p);

        assert_int_equal(rc, i + 1 < n ? DECODE_HELD : DECODE_OK);
    }
    assert_true(cw_addr_equal(&p.src, &in_s));
    assert_int_equal(p.dport, 40002);
    assert_int_equal(p.payload_len, sizeof(big));
    assert_memory_equal(p.payload, big, sizeof(big));
    assert_int_equal(p.wirelen, ip.len);
    decoder_free(d);
}

static void test_encap_names_unique(void **state)
{
    (void)state;
    for (int i = 0; i < DE_COUNT; i++) {
        assert_non_null(decode_encap_name(i));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(decode_encap_name(i), decode_encap_name(j));
    }
    assert_string_equal(decode_encap_name(DE_COUNT), "unknown");
}

static void test_reason_names_unique(void **state)
{
    (void)state;
    for (int i = 0; i < DR_COUNT; i++) {
        assert_non_null(decode_reason_name(i));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(decode_reason_name(i), decode_reason_name(j));
    }
    assert_string_equal(decode_reason_name(DR_COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_layers),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_lying_lengths_v4),
        cmocka_unit_test(test_lying_lengths_v6),
        cmocka_unit_test(test_ipv6_extension_chain),
        cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_not_ip),
        cmocka_unit_test(test_fragments_through_decoder),
        cmocka_unit_test(test_fragment_timeout_counted),
        cmocka_unit_test(test_encapsulations),
        cmocka_unit_test(test_encapsulation_every_truncation),
        cmocka_unit_test(test_encapsulation_lies),
        cmocka_unit_test(test_encapsulation_not_this),
        cmocka_unit_test(test_encapsulation_ports),
        cmocka_unit_test(test_mirror_link_types),
        cmocka_unit_test(test_fragmented_tunnel),
        cmocka_unit_test(test_encap_names_unique),
        cmocka_unit_test(test_reason_names_unique),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
