/* Fragment reassembly: order, overlap, duplicates, timeouts, memory bound. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "decode/ipfrag.h"
#include "pcapgen.h"

static uint8_t data[4000];

static ipfrag_key_t key(uint32_t id)
{
    ipfrag_key_t k;

    memset(&k, 0, sizeof(k));
    k.src = pg_addr("10.0.0.1");
    k.dst = pg_addr("10.0.0.2");
    k.id = id;
    k.proto = 17;
    return k;
}

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + 3);
    return 0;
}

struct piece {
    uint32_t off, len;
    bool more;
    int expect;
};

struct order_case {
    const char *name;
    struct piece pieces[6];
    size_t n;
    uint32_t total;
};

// clang-format off
static const struct order_case orders[] = {
    { "in order", { { 0, 1000, true, IPFRAG_HELD }, { 1000, 1000, true, IPFRAG_HELD },
                    { 2000, 500, false, IPFRAG_DONE } }, 3, 2500 },
    { "reversed", { { 2000, 500, false, IPFRAG_HELD }, { 1000, 1000, true, IPFRAG_HELD },
                    { 0, 1000, true, IPFRAG_DONE } }, 3, 2500 },
    { "middle last", { { 0, 1000, true, IPFRAG_HELD }, { 2000, 500, false, IPFRAG_HELD },
                       { 1000, 1000, true, IPFRAG_DONE } }, 3, 2500 },
    { "duplicate then rest", { { 0, 1000, true, IPFRAG_HELD }, { 0, 1000, true, IPFRAG_DUP },
                               { 1000, 8, false, IPFRAG_DONE } }, 3, 1008 },
    { "consistent overlap", { { 0, 1000, true, IPFRAG_HELD }, { 496, 1000, true, IPFRAG_HELD },
                              { 1496, 4, false, IPFRAG_DONE } }, 3, 1500 },
    { "single last fragment at 0", { { 0, 30, false, IPFRAG_DONE } }, 1, 30 },
};
// clang-format on

static void test_orders(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
        const struct order_case *c = &orders[i];
        ipfrag_t *f = ipfrag_new(0, 0);
        ipfrag_key_t k = key(1);
        const uint8_t *out = NULL;
        uint32_t outlen = 0;
        ipfrag_stats_t st;

        for (size_t j = 0; j < c->n; j++) {
            const struct piece *p = &c->pieces[j];
            int rc = ipfrag_add(f, 1, &k, p->off, data + p->off, p->len, p->more, &out, &outlen);

            if (rc != p->expect)
                fail_msg("%s: piece %zu gave %d, expected %d", c->name, j, rc, p->expect);
        }
        assert_int_equal(outlen, c->total);
        assert_memory_equal(out, data, c->total);
        ipfrag_get_stats(f, &st);
        assert_int_equal(st.held, 0);
        assert_int_equal(st.bytes_held, 0);
        assert_int_equal(st.reassembled, 1);
        ipfrag_free(f);
    }
}

static void test_conflicting_overlap(void **state)
{
    ipfrag_t *f = ipfrag_new(0, 0);
    ipfrag_key_t k = key(2);
    uint8_t other[1000];
    const uint8_t *out;
    uint32_t outlen;
    ipfrag_stats_t st;

    (void)state;
    memset(other, 0xee, sizeof(other));
    assert_int_equal(ipfrag_add(f, 1, &k, 0, data, 1000, true, &out, &outlen), IPFRAG_HELD);
    assert_int_equal(ipfrag_add(f, 1, &k, 504, other, 1000, true, &out, &outlen), IPFRAG_OVERLAP);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.overlaps, 1);
    assert_int_equal(st.held, 0);
    /* A last fragment that moves the end of a known datagram conflicts too. */
    assert_int_equal(ipfrag_add(f, 1, &k, 1000, data + 1000, 8, false, &out, &outlen), IPFRAG_HELD);
    assert_int_equal(ipfrag_add(f, 1, &k, 1000, data + 1000, 16, false, &out, &outlen),
                     IPFRAG_OVERLAP);
    ipfrag_free(f);
}

static void test_bad_and_too_big(void **state)
{
    ipfrag_t *f = ipfrag_new(0, 0);
    ipfrag_key_t k = key(3);
    const uint8_t *out;
    uint32_t outlen;

    (void)state;
    /* Non-final fragment not a multiple of 8. */
    assert_int_equal(ipfrag_add(f, 1, &k, 0, data, 1001, true, &out, &outlen), IPFRAG_BAD);
    /* Reaching past 65535. */
    assert_int_equal(ipfrag_add(f, 1, &k, 65528, data, 16, false, &out, &outlen), IPFRAG_TOO_BIG);
    ipfrag_free(f);
}

static void test_timeout(void **state)
{
    ipfrag_t *f = ipfrag_new(0, CW_SEC(30));
    ipfrag_key_t k1 = key(10), k2 = key(11);
    const uint8_t *out;
    uint32_t outlen;
    ipfrag_stats_t st;

    (void)state;
    assert_int_equal(ipfrag_add(f, CW_SEC(0), &k1, 0, data, 8, true, &out, &outlen), IPFRAG_HELD);
    assert_int_equal(ipfrag_add(f, CW_SEC(20), &k2, 0, data, 8, true, &out, &outlen), IPFRAG_HELD);
    assert_int_equal(ipfrag_expire(f, CW_SEC(30)), 0);
    assert_int_equal(ipfrag_expire(f, CW_SEC(31)), 1);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.held, 1);
    /* A late fragment of an expired datagram starts afresh and cannot
     * complete with the lost first part. */
    assert_int_equal(ipfrag_add(f, CW_SEC(32), &k1, 8, data + 8, 8, false, &out, &outlen),
                     IPFRAG_HELD);
    /* Timeout noticed on arrival too, without ipfrag_expire(). */
    assert_int_equal(ipfrag_add(f, CW_SEC(51), &k2, 8, data + 8, 8, false, &out, &outlen),
                     IPFRAG_HELD);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.timeouts, 2);
    assert_int_equal(st.reassembled, 0);
    ipfrag_free(f);
}

static void test_memory_bound(void **state)
{
    /* 64 KiB: room for a few datagrams of 8 KiB buffers, not 1000. */
    ipfrag_t *f = ipfrag_new(64 * 1024, 0);
    const uint8_t *out;
    uint32_t outlen;
    ipfrag_stats_t st;

    (void)state;
    for (uint32_t id = 0; id < 1000; id++) {
        ipfrag_key_t k = key(id);

        ipfrag_add(f, id, &k, 0, data, 4000, true, &out, &outlen);
        ipfrag_get_stats(f, &st);
        assert_true(st.bytes_held <= 64 * 1024);
    }
    ipfrag_get_stats(f, &st);
    assert_true(st.evicted > 900);
    assert_true(st.held > 0 && st.held < 20);
    /* The newest datagram survived eviction and can still complete. */
    {
        ipfrag_key_t k = key(999);

        assert_int_equal(ipfrag_add(f, 1000, &k, 4000, data, 8, false, &out, &outlen), IPFRAG_DONE);
        assert_int_equal(outlen, 4008);
    }
    ipfrag_free(f);
}

static void test_datagram_over_limit(void **state)
{
    ipfrag_t *f = ipfrag_new(1024, 0);
    ipfrag_key_t k = key(1);
    const uint8_t *out;
    uint32_t outlen;

    (void)state;
    assert_int_equal(ipfrag_add(f, 1, &k, 0, data, 4000, true, &out, &outlen), IPFRAG_LIMIT);
    ipfrag_free(f);
}

static void test_keys_separate(void **state)
{
    ipfrag_t *f = ipfrag_new(0, 0);
    ipfrag_key_t a = key(5), b = key(5);
    const uint8_t *out;
    uint32_t outlen;

    (void)state;
    b.proto = 6;
    assert_int_equal(ipfrag_add(f, 1, &a, 0, data, 16, true, &out, &outlen), IPFRAG_HELD);
    assert_int_equal(ipfrag_add(f, 1, &b, 16, data + 16, 8, false, &out, &outlen), IPFRAG_HELD);
    assert_int_equal(ipfrag_add(f, 1, &a, 16, data + 16, 8, false, &out, &outlen), IPFRAG_DONE);
    assert_int_equal(outlen, 24);
    ipfrag_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orders),          cmocka_unit_test(test_conflicting_overlap),
        cmocka_unit_test(test_bad_and_too_big), cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_memory_bound),    cmocka_unit_test(test_datagram_over_limit),
        cmocka_unit_test(test_keys_separate),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
