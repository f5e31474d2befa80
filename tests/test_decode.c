/* Table-driven tests of the link, network and transport decoders. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
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
        cmocka_unit_test(test_reason_names_unique),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
