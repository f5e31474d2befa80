/* Helpers: number parsing, addresses, endpoints. */
#include "autoconf.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/dl.h"
#include "common/util.h"

struct long_case {
    const char *s;
    long min, max;
    int rc;
    long v;
};

static const struct long_case long_cases[] = {
    { "10", 1, 100, 0, 10 },
    { "-5", -10, 10, 0, -5 },
    { "", 0, 10, -EINVAL, 0 },
    { "10x", 0, 100, -EINVAL, 0 },
    { " 10", 0, 100, 0, 10 },
    { "101", 0, 100, -ERANGE, 0 },
    { "99999999999999999999", 0, 100, -ERANGE, 0 },
    { "0", 1, 10, -ERANGE, 0 },
};

static void test_parse_long(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(long_cases) / sizeof(long_cases[0]); i++) {
        long v = 0;
        int rc = cw_parse_long(long_cases[i].s, long_cases[i].min, long_cases[i].max, &v);

        if (rc != long_cases[i].rc)
            fail_msg("\"%s\": rc %d", long_cases[i].s, rc);
        if (rc == 0)
            assert_int_equal(v, long_cases[i].v);
    }
}

struct rate_case {
    const char *s;
    int rc;
    uint64_t bps;
};

static const struct rate_case rate_cases[] = {
    { "100M", 0, 100000000ULL },  { "1G", 0, 1000000000ULL }, { "512k", 0, 512000ULL },
    { "2000000", 0, 2000000ULL }, { "1.5M", 0, 1500000ULL },  { "10Mbps", 0, 10000000ULL },
    { "fast", -EINVAL, 0 },       { "-1M", -EINVAL, 0 },      { "5X", -EINVAL, 0 },
    { "", -EINVAL, 0 },
};

static void test_parse_bitrate(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rate_cases) / sizeof(rate_cases[0]); i++) {
        uint64_t v = 0;
        int rc = cw_parse_bitrate(rate_cases[i].s, &v);

        if (rc != rate_cases[i].rc)
            fail_msg("\"%s\": rc %d", rate_cases[i].s, rc);
        if (rc == 0)
            assert_int_equal(v, rate_cases[i].bps);
    }
}

static void test_endpoints(void **state)
{
    cw_addr_t a, b;
    char buf[CW_ENDPOINT_STRLEN];

    (void)state;
    assert_int_equal(cw_addr_parse("192.0.2.7", &a), 0);
    assert_string_equal(cw_endpoint_str(&a, 5060, buf, sizeof(buf)), "192.0.2.7:5060");
    assert_int_equal(cw_addr_parse("2001:db8::1", &b), 0);
    assert_string_equal(cw_endpoint_str(&b, 8000, buf, sizeof(buf)), "[2001:db8::1]:8000");
    assert_false(cw_addr_equal(&a, &b));
    assert_int_equal(cw_addr_parse("not-an-ip", &a), -EINVAL);
    assert_int_equal(cw_addr_parse("10.0.0.1", &a), 0);
    assert_int_equal(cw_addr_parse("10.0.0.1", &b), 0);
    assert_true(cw_addr_equal(&a, &b));
    assert_int_equal(cw_addr_hash(&a, 1), cw_addr_hash(&b, 1));
}

static void test_time(void **state)
{
    (void)state;
    assert_true(cw_ns_to_sec(CW_SEC(1700000000) + 123456789) - 1700000000.123456789 < 1e-6);
    assert_int_equal(CW_SEC(2), 2000000000LL);
}

static void test_strlcpy(void **state)
{
    char buf[4];

    (void)state;
    cw_strlcpy(buf, "abcdef", sizeof(buf));
    assert_string_equal(buf, "abc");
    cw_strlcpy(buf, "", sizeof(buf));
    assert_string_equal(buf, "");
}

static void test_pool(void **state)
{
    cw_pool_t p;
    unsigned char *o[100];

    (void)state;
    cw_pool_init(&p, 20, 7);
    assert_int_equal(p.size, 24);
    for (int i = 0; i < 100; i++) {
        o[i] = cw_pool_alloc(&p);
        for (int j = 0; j < 24; j++)
            assert_int_equal(o[i][j], 0);
        assert_int_equal((uintptr_t)o[i] % 8, 0);
        memset(o[i], i + 1, 24);
    }
    /* No two overlap: each still holds its own bytes. */
    for (int i = 0; i < 100; i++)
        for (int j = 0; j < 24; j++)
            assert_int_equal(o[i][j], i + 1);
    /* A freed one comes back zeroed, the others untouched. */
    cw_pool_free(&p, o[50]);
    cw_pool_free(&p, o[3]);
    o[3] = cw_pool_alloc(&p);
    o[50] = cw_pool_alloc(&p);
    for (int j = 0; j < 24; j++) {
        assert_int_equal(o[3][j], 0);
        assert_int_equal(o[50][j], 0);
        assert_int_equal(o[4][j], 5);
    }
    for (int i = 0; i < 100; i++)
        if (i % 2)
            cw_pool_free(&p, o[i]);
    cw_pool_free(&p, NULL);
    for (int i = 0; i < 100; i++)
        if (!(i % 2))
            cw_pool_free(&p, o[i]);
    cw_pool_destroy(&p);
    assert_null(p.slabs);
}

/* Libraries loaded when first needed: the table is filled, or the message
 * names what is missing. */
#define M_FUNCS(X) X(cos) X(sqrt)
static struct m_fns {
    M_FUNCS(CW_DL_FIELD)
} m_table;

static void test_dl_load(void **state)
{
#define M_SYM(f) CW_DL_SYM(struct m_fns, f)
    static const cw_dlsym_t syms[] = { M_FUNCS(M_SYM) };
#undef M_SYM
    static const cw_dlsym_t bad_syms[] = {
        { "cw_no_such_function", offsetof(struct m_fns, cos) },
    };
    cw_dllib_t libm = CW_DLLIB("libm.so.6", "libc6", m_table, syms);
    cw_dllib_t missing = CW_DLLIB("libcw-missing.so.1", "cw-missing1", m_table, syms);
    cw_dllib_t old = CW_DLLIB("libm.so.6", "libc6", m_table, bad_syms);
    char err[256];

    (void)state;
    assert_true(cw_dl_load(&libm, err, sizeof(err)));
    assert_true(m_table.cos(0.0) == 1.0);
    assert_true(m_table.sqrt(16.0) == 4.0);
    assert_true(cw_dl_load(&libm, err, sizeof(err))); /* once */
    assert_false(cw_dl_load(&missing, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot load libcw-missing.so.1 (Debian package cw-missing1)"));
    assert_false(cw_dl_load(&old, err, sizeof(err)));
    assert_non_null(strstr(err, "no symbol cw_no_such_function"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_long), cmocka_unit_test(test_parse_bitrate),
        cmocka_unit_test(test_endpoints),  cmocka_unit_test(test_time),
        cmocka_unit_test(test_strlcpy),    cmocka_unit_test(test_pool),
        cmocka_unit_test(test_dl_load),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
