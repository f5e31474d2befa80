/* Traffic accounting: HyperLogLog, space-saving top talkers, scans,
 * windows and the per-step split. */
#include "autoconf.h"

#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "traffic/traffic.h"

static void test_hll(void **state)
{
    static const unsigned sizes[] = { 1, 10, 100, 1000, 5000, 20000, 100000 };

    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        hll_t h;
        double est;

        memset(&h, 0, sizeof(h));
        for (unsigned k = 0; k < sizes[i]; k++) {
            uint32_t v = 0x0a000000u + k;

            hll_add(&h, traffic_hash64(&v, sizeof(v), 4));
            hll_add(&h, traffic_hash64(&v, sizeof(v), 4)); /* duplicates do not count */
        }
        est = hll_estimate(&h);
        /* 1.04/sqrt(256) is 6.5 %; allow three standard errors. */
        if (fabs(est - sizes[i]) > 0.20 * sizes[i] + 1)
            fail_msg("%u distinct: estimated %.1f", sizes[i], est);
    }
}

static decode_pkt_t pkt(const char *src, const char *dst, uint8_t proto, uint16_t sport,
                        uint16_t dport, uint8_t flags, uint32_t len, double t)
{
    decode_pkt_t p;

    memset(&p, 0, sizeof(p));
    cw_addr_parse(src, &p.src);
    cw_addr_parse(dst, &p.dst);
    p.proto = proto;
    p.sport = sport;
    p.dport = dport;
    p.tcp_flags = flags;
    p.wirelen = len;
    p.ts = (cw_ns_t)(t * 1e9);
    p.src_hash = cw_addr_hash(&p.src, 0); /* as decode sets them */
    p.dst_hash = cw_addr_hash(&p.dst, 0);
    return p;
}

/* One heavy talker among thousands of light ones is found, with exact
 * counts (space-saving never underestimates and its error is bounded). */
static void test_heavy_hitter(void **state)
{
    traffic_t *t = traffic_new(&(traffic_cfg_t){ .topk = 16 });
    traffic_talker_t top[4];
    char ip[32];

    (void)state;
    for (int i = 0; i < 20000; i++) {
        decode_pkt_t p;

        snprintf(ip, sizeof(ip), "10.1.%d.%d", (i / 250) % 250, i % 250);
        p = pkt(ip, "192.0.2.1", IPPROTO_UDP, 1000, (uint16_t)(2000 + i % 97), 0, 100, 1.0);
        traffic_packet(t, &p, TRAFFIC_OTHER);
        if (i % 4 == 0) {
            p = pkt("10.9.9.9", "192.0.2.2", IPPROTO_UDP, 5004, 5006, 0, 200, 1.0);
            traffic_packet(t, &p, TRAFFIC_RTP);
        }
    }
    assert_int_equal(traffic_top(t, 0, 0, top, 4), 4);
    cw_addr_str(&top[0].src, ip, sizeof(ip));
    assert_string_equal(ip, "10.9.9.9");
    assert_int_equal(top[0].dport, 5006);
    assert_true(top[0].bytes >= 5000 * 200);
    assert_true(top[0].bytes - top[0].error <= 5000 * 200);
    assert_int_equal(top[0].fanout, 1);
    assert_false(top[0].scanner);
    traffic_free(t);
}

static void test_scan(void **state)
{
    traffic_t *t = traffic_new(NULL);
    traffic_talker_t top[8];
    char ip[32], desc[128];
    json_t *j;

    (void)state;
    /* Normal web browsing from one host: few destinations. */
    for (int i = 0; i < 300; i++) {
        decode_pkt_t p = pkt("10.20.0.5", i % 2 ? "203.0.113.10" : "203.0.113.11", IPPROTO_TCP,
                             40000, 443, TCP_ACK, 1500, 100.0 + i * 0.1);

        traffic_packet(t, &p, TRAFFIC_OTHER);
    }
    /* A worm: SYNs to 4000 addresses on 445, a few answered. */
    for (int i = 0; i < 4000; i++) {
        decode_pkt_t p;

        snprintf(ip, sizeof(ip), "198.%d.%d.%d", 18 + i / 65536, (i / 256) % 256, i % 256);
        p = pkt("10.20.0.17", ip, IPPROTO_TCP, (uint16_t)(30000 + i % 1000), 445, TCP_SYN, 60,
                110.0 + i * 0.005);
        traffic_packet(t, &p, TRAFFIC_OTHER);
        if (i % 100 == 0) {
            p = pkt(ip, "10.20.0.17", IPPROTO_TCP, 445, (uint16_t)(30000 + i % 1000),
                    TCP_SYN | TCP_ACK, 60, 110.0 + i * 0.005);
            traffic_packet(t, &p, TRAFFIC_OTHER);
        }
    }
    traffic_tick(t, (cw_ns_t)(200 * 1e9));
    assert_true(traffic_top(t, 0, 0, top, 8) >= 2);
    for (int i = 0; i < 2; i++) {
        cw_addr_str(&top[i].src, ip, sizeof(ip));
        if (strcmp(ip, "10.20.0.17") == 0) {
            assert_int_equal(top[i].dport, 445);
            assert_true(top[i].scanner);
            assert_true(top[i].fanout > 3200 && top[i].fanout < 4800);
            assert_int_equal(top[i].syn, 4000);
            assert_int_equal(top[i].synack, 40);
            traffic_talker_str(&top[i], desc, sizeof(desc));
            assert_non_null(strstr(desc, "10.20.0.17 tcp/445 to "));
        } else {
            assert_string_equal(ip, "10.20.0.5");
            assert_false(top[i].scanner);
            assert_int_equal(top[i].fanout, 2);
        }
    }
    /* Windows: the scan ran in [60,120) and [120,180) in minutes of packet
     * time; a window before it has no scanner. */
    assert_int_equal(traffic_top(t, (cw_ns_t)(0), (cw_ns_t)(59e9), top, 8), 0);
    j = traffic_top_json(t, (cw_ns_t)(105e9), (cw_ns_t)(125e9), 3);
    {
        int worms = 0;

        for (size_t i = 0; i < json_array_size(j); i++) {
            json_t *k = json_array_get(j, i);
            bool worm = strcmp(json_string_value(json_object_get(k, "src")), "10.20.0.17") == 0;

            assert_int_equal(json_is_true(json_object_get(k, "scanner")), worm);
            if (worm) {
                assert_string_equal(json_string_value(json_object_get(k, "proto")), "tcp");
                assert_int_equal(json_integer_value(json_object_get(k, "dport")), 445);
                worms++;
            }
        }
        assert_int_equal(worms, 1);
    }
    json_decref(j);
    traffic_free(t);
}

static void test_step_split(void **state)
{
    traffic_t *t = traffic_new(NULL);
    traffic_step_t st;
    decode_pkt_t p = pkt("10.0.0.1", "10.0.0.2", IPPROTO_UDP, 5060, 5060, 0, 500, 1.0);

    (void)state;
    traffic_packet(t, &p, TRAFFIC_SIP);
    p.wirelen = 214;
    traffic_packet(t, &p, TRAFFIC_RTP);
    traffic_packet(t, &p, TRAFFIC_RTP);
    traffic_take_step(t, &st);
    assert_int_equal(st.bytes[TRAFFIC_SIP], 500);
    assert_int_equal(st.packets[TRAFFIC_RTP], 2);
    assert_int_equal(st.bytes[TRAFFIC_RTP], 428);
    assert_int_equal(st.bytes[TRAFFIC_OTHER], 0);
    traffic_take_step(t, &st);
    assert_int_equal(st.packets[TRAFFIC_RTP], 0);
    traffic_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hll),
        cmocka_unit_test(test_heavy_hitter),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_step_split),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
