/* SNMP arithmetic: counter wraps, restarts and gaps, rates and utilisation,
 * every CPU preset from raw values, and the startup checks of targets. */
#include "autoconf.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"
#include "netmon/snmp.h"
#include "netmon/snmpconf.h"
#include "netmon/snmpcounter.h"

#define U32 4294967296ULL /* 2^32 */

static void assert_near(double got, double want, double tol, const char *what)
{
    if (isnan(want) ? !isnan(got) : !(fabs(got - want) <= tol)) {
        print_error("%s: got %.6f, want %.6f (+-%g)\n", what, got, want, tol);
        fail();
    }
}

/* ------------------------------------------------------------ counter wraps */

static void test_counter_delta(void **state)
{
    static const struct {
        const char *what;
        uint64_t prev, cur;
        unsigned bits;
        uint64_t max;
        enum snmpcounter_delta want;
        uint64_t delta;
    } cases[] = {
        { "32 forward", 1000, 5000, 32, 0, SNMPCOUNTER_DELTA_OK, 4000 },
        { "32 unchanged", 77, 77, 32, 0, SNMPCOUNTER_DELTA_OK, 0 },
        { "32 wrap near the top", U32 - 100, 50, 32, 0, SNMPCOUNTER_DELTA_WRAP, 150 },
        { "32 wrap from the maximum", U32 - 1, 0, 32, 0, SNMPCOUNTER_DELTA_WRAP, 1 },
        { "32 small step back is not a wrap", 5000, 4000, 32, 0, SNMPCOUNTER_DELTA_BACKWARDS, 0 },
        { "32 reset to zero from mid-range", 3000000000ULL, 10, 32, 0, SNMPCOUNTER_DELTA_WRAP,
          U32 - 3000000000ULL + 10 },
        { "32 reset from low is backwards", 1000000, 10, 32, 0, SNMPCOUNTER_DELTA_BACKWARDS, 0 },
        { "32 wrap beyond max_delta", U32 - 100, 50, 32, 100, SNMPCOUNTER_DELTA_BACKWARDS, 0 },
        { "32 wrap within max_delta", U32 - 100, 50, 32, 150, SNMPCOUNTER_DELTA_WRAP, 150 },
        { "32 value with high bits is masked", U32 + 10, 20, 32, 0, SNMPCOUNTER_DELTA_OK, 10 },
        { "64 forward", 1ULL << 40, (1ULL << 40) + 123456789, 64, 0, SNMPCOUNTER_DELTA_OK,
          123456789 },
        { "64 wrap near the top", UINT64_MAX - 9, 20, 64, 0, SNMPCOUNTER_DELTA_WRAP, 30 },
        { "64 step back is backwards", 1ULL << 40, (1ULL << 40) - 1, 64, 0,
          SNMPCOUNTER_DELTA_BACKWARDS, 0 },
        { "64 reset to zero is backwards", 123456789012ULL, 0, 64, 0, SNMPCOUNTER_DELTA_BACKWARDS,
          0 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t d = 0xdeadbeef;
        enum snmpcounter_delta r =
            snmpcounter_delta(cases[i].prev, cases[i].cur, cases[i].bits, cases[i].max, &d);

        if (r != cases[i].want || (r != SNMPCOUNTER_DELTA_BACKWARDS && d != cases[i].delta)) {
            print_error("%s: got %d/%llu, want %d/%llu\n", cases[i].what, r, (unsigned long long)d,
                        cases[i].want, (unsigned long long)cases[i].delta);
            fail();
        }
    }
}

/* ------------------------------------------------------------ time base and restarts */

static void test_elapsed(void **state)
{
    static const struct {
        const char *what;
        bool have;
        uint32_t prev, cur;
        double wall;
        enum snmpcounter_elapsed want;
        double dt;
    } cases[] = {
        { "uptime agrees", true, 100000, 101000, 10.05, SNMPCOUNTER_ELAPSED_UPTIME, 10.0 },
        { "uptime within 2 s", true, 100000, 101150, 10.0, SNMPCOUNTER_ELAPSED_UPTIME, 11.5 },
        { "no uptime", false, 0, 0, 9.7, SNMPCOUNTER_ELAPSED_WALL, 9.7 },
        { "uptime wraps after 497 days", true, 4294967000u, 704, 10.0, SNMPCOUNTER_ELAPSED_UPTIME,
          10.0 },
        { "uptime went back: restart", true, 5000000, 300, 10.0, SNMPCOUNTER_ELAPSED_RESTART, 0 },
        { "uptime advanced too little: restart", true, 500, 800, 10.0, SNMPCOUNTER_ELAPSED_RESTART,
          0 },
        { "restart just after a restart", true, 200, 700, 10.0, SNMPCOUNTER_ELAPSED_RESTART, 0 },
        { "uptime runs fast: use the wall clock", true, 1000, 5000, 10.0, SNMPCOUNTER_ELAPSED_WALL,
          10.0 },
        { "long interval, 25 % tolerance", true, 0, 33000, 300.0, SNMPCOUNTER_ELAPSED_UPTIME,
          330.0 },
        { "long interval, beyond tolerance", true, 0, 20000, 300.0, SNMPCOUNTER_ELAPSED_RESTART,
          0 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double dt = -1;
        enum snmpcounter_elapsed r =
            snmpcounter_elapsed(cases[i].have, cases[i].prev, cases[i].cur, cases[i].wall, &dt);

        if (r != cases[i].want) {
            print_error("%s: got verdict %d, want %d\n", cases[i].what, r, cases[i].want);
            fail();
        }
        assert_near(dt, cases[i].dt, 1e-9, cases[i].what);
    }
}

/* ------------------------------------------------------------ link rates */

#define S(sec) ((cw_ns_t)((sec)*1e9))

static snmpcounter_link_sample_t sample(double t_s, uint32_t ticks, unsigned bits, uint64_t in,
                                        uint64_t out, uint64_t speed)
{
    snmpcounter_link_sample_t s;

    memset(&s, 0, sizeof(s));
    s.valid = true;
    s.t_ns = S(t_s);
    s.have_uptime = ticks != 0;
    s.uptime_ticks = ticks;
    s.have_octets = true;
    s.octet_bits = bits;
    s.in_octets = in;
    s.out_octets = out;
    s.speed_bps = speed;
    return s;
}

static void test_link_rates(void **state)
{
    static const struct {
        const char *what;
        double t0;
        uint32_t up0;
        unsigned bits0;
        uint64_t in0, out0;
        double t1;
        uint32_t up1;
        unsigned bits1;
        uint64_t in1, out1, speed;
        enum snmpcounter_rate_verdict want;
        double in_bps, out_bps, util;
        bool clamped, wrapped;
    } cases[] = {
        /* 1.25 MB in 10 s = 1 Mbit/s in; 0.625 MB out = 0.5 Mbit/s; 10 Mbit/s link */
        { "steady", 0, 10000, 64, 1000000, 2000000, 10, 11000, 64, 2250000, 2625000, 10000000,
          SNMPCOUNTER_RATE_OK, 1e6, 5e5, 10.0, false, false },
        { "agent time base wins over poll jitter", 0, 10000, 64, 0, 0, 10.4, 11000, 64, 1250000, 0,
          0, SNMPCOUNTER_RATE_OK, 1e6, 0, NAN, false, false },
        { "no uptime: poll times", 0, 0, 32, 0, 0, 8, 0, 32, 1000000, 0, 100000000,
          SNMPCOUNTER_RATE_OK, 1e6, 0, 1.0, false, false },
        { "32-bit wrap", 0, 10000, 32, U32 - 250000, 100, 10, 11000, 32, 1000000, 200, 100000000,
          SNMPCOUNTER_RATE_OK, 1e6, 80, 1.0, false, true },
        { "64-bit wrap", 0, 10000, 64, UINT64_MAX - 1249999, 0, 10, 11000, 64, 0, 0, 0,
          SNMPCOUNTER_RATE_OK, 1e6, 0, NAN, false, true },
        { "over the speed: util clamped", 0, 10000, 64, 0, 0, 10, 11000, 64, 1500000, 0, 1000000,
          SNMPCOUNTER_RATE_OK, 1.2e6, 0, 100.0, true, false },
        { "exactly the speed", 0, 10000, 64, 0, 0, 10, 11000, 64, 1250000, 0, 1000000,
          SNMPCOUNTER_RATE_OK, 1e6, 0, 100.0, false, false },
        { "util is the max of in and out", 0, 10000, 64, 0, 0, 10, 11000, 64, 125000, 1000000,
          8000000, SNMPCOUNTER_RATE_OK, 1e5, 8e5, 10.0, false, false },
        { "restart: sysUpTime went back", 0, 500000, 64, 9000000, 9000000, 10, 300, 64, 100, 100, 0,
          SNMPCOUNTER_RATE_RESTART, NAN, NAN, NAN, false, false },
        { "restart with counters that did not reset", 0, 500000, 64, 9000000, 9000000, 10, 300, 64,
          9100000, 9100000, 0, SNMPCOUNTER_RATE_RESTART, NAN, NAN, NAN, false, false },
        { "counter back without restart", 0, 10000, 64, 9000000, 9000000, 10, 11000, 64, 100,
          9000100, 0, SNMPCOUNTER_RATE_BACKWARDS, NAN, NAN, NAN, false, false },
        { "gap of more than three intervals", 0, 10000, 64, 0, 0, 40, 14000, 64, 5000000, 0, 0,
          SNMPCOUNTER_RATE_GAP, NAN, NAN, NAN, false, false },
        { "one missed poll is averaged", 0, 10000, 64, 0, 0, 20, 12000, 64, 2500000, 0, 0,
          SNMPCOUNTER_RATE_OK, 1e6, 0, NAN, false, false },
        { "HC counters appeared", 0, 10000, 32, 0, 0, 10, 11000, 64, 1000, 0, 0,
          SNMPCOUNTER_RATE_CHANGED, NAN, NAN, NAN, false, false },
        { "no time passed", 5, 10000, 64, 0, 0, 5, 10000, 64, 1000, 0, 0, SNMPCOUNTER_RATE_NO_TIME,
          NAN, NAN, NAN, false, false },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snmpcounter_link_sample_t a = sample(cases[i].t0, cases[i].up0, cases[i].bits0,
                                             cases[i].in0, cases[i].out0, cases[i].speed);
        snmpcounter_link_sample_t b = sample(cases[i].t1, cases[i].up1, cases[i].bits1,
                                             cases[i].in1, cases[i].out1, cases[i].speed);
        snmpcounter_link_rates_t r;

        snmpcounter_link_rates(&a, &b, 10, &r);
        if (r.verdict != cases[i].want) {
            print_error("%s: got verdict %d, want %d\n", cases[i].what, r.verdict, cases[i].want);
            fail();
        }
        assert_near(r.in_bps, cases[i].in_bps, 1e-6, cases[i].what);
        assert_near(r.out_bps, cases[i].out_bps, 1e-6, cases[i].what);
        assert_near(r.util_pct, cases[i].util, 1e-9, cases[i].what);
        if (r.verdict == SNMPCOUNTER_RATE_OK) {
            assert_int_equal(r.util_clamped, cases[i].clamped);
            assert_int_equal(r.wrapped, cases[i].wrapped);
        }
    }
}

static void test_link_first_and_errors(void **state)
{
    snmpcounter_link_sample_t a = sample(0, 10000, 64, 0, 0, 0), b = sample(10, 11000, 64, 0, 0, 0);
    snmpcounter_link_rates_t r;

    (void)state;
    /* No previous sample: a baseline, never a zero. */
    snmpcounter_link_rates(NULL, &b, 10, &r);
    assert_int_equal(r.verdict, SNMPCOUNTER_RATE_FIRST);
    assert_true(isnan(r.in_bps) && isnan(r.util_pct) && isnan(r.errors_ps));

    /* Errors and discards: the four counters summed, per second; a
     * Counter32 wrap on one of them counts. */
    a.err_have = b.err_have = 0xf;
    a.err[0] = 10;
    b.err[0] = 30; /* +20 in errors */
    a.err[1] = (uint32_t)(U32 - 5);
    b.err[1] = 5; /* +10 out errors, wrapped */
    a.err[2] = b.err[2] = 7;
    a.err[3] = 0;
    b.err[3] = 20; /* +20 out discards */
    snmpcounter_link_rates(&a, &b, 10, &r);
    assert_int_equal(r.verdict, SNMPCOUNTER_RATE_OK);
    assert_near(r.errors_ps, 5.0, 1e-9, "errors per second");

    /* Only counters present in both polls count. */
    a.err_have = 0x1;
    snmpcounter_link_rates(&a, &b, 10, &r);
    assert_near(r.errors_ps, 2.0, 1e-9, "errors, one counter");

    /* None present: a gap. */
    a.err_have = 0;
    snmpcounter_link_rates(&a, &b, 10, &r);
    assert_true(isnan(r.errors_ps));

    /* An error counter going back discards the error rate, not the octets. */
    a.err_have = b.err_have = 0x1;
    a.err[0] = 5000;
    b.err[0] = 10;
    snmpcounter_link_rates(&a, &b, 10, &r);
    assert_int_equal(r.verdict, SNMPCOUNTER_RATE_OK);
    assert_true(isnan(r.errors_ps));
}

/* ------------------------------------------------------------ CPU presets */

static void test_ucd(void **state)
{
    enum {
        U = SNMPCOUNTER_UCD_USER,
        N = SNMPCOUNTER_UCD_NICE,
        SY = SNMPCOUNTER_UCD_SYSTEM,
        I = SNMPCOUNTER_UCD_IDLE,
        W = SNMPCOUNTER_UCD_WAIT,
        IR = SNMPCOUNTER_UCD_INTERRUPT,
        SI = SNMPCOUNTER_UCD_SOFTIRQ,
        ST = SNMPCOUNTER_UCD_STEAL
    };
    static const unsigned all = (1u << SNMPCOUNTER_UCD_NCOUNTERS) - 1;
    static const struct {
        const char *what;
        uint32_t prev[SNMPCOUNTER_UCD_NCOUNTERS], cur[SNMPCOUNTER_UCD_NCOUNTERS];
        unsigned have;
        int rc;
        double pct;
    } cases[] = {
        /* Deltas: user 30, nice 10, system 20, idle 100, wait 20, irq 5,
         * softirq 10, steal 5 -> busy 80 of 200. */
        { "all counters",
          { 1000, 100, 500, 9000, 50, 10, 20, 0 },
          { 1030, 110, 520, 9100, 70, 15, 30, 5 },
          all,
          0,
          40.0 },
        { "iowait counts as idle",
          { 0, 0, 0, 1, 0, 0, 0, 0 },
          { 0, 0, 0, 51, 50, 0, 0, 0 },
          all,
          0,
          0.0 },
        { "fully busy",
          { 5, 0, 5, 100, 0, 0, 0, 0 },
          { 105, 0, 105, 100, 0, 0, 0, 0 },
          all,
          0,
          100.0 },
        { "user counter wraps",
          { (uint32_t)(U32 - 50), 0, 0, 1000, 0, 0, 0, 0 },
          { 50, 0, 0, 1100, 0, 0, 0, 0 },
          all,
          0,
          50.0 },
        { "only user, system, idle present",
          { 10, 999, 10, 10, 999, 999, 999, 999 },
          { 40, 0, 40, 70, 0, 0, 0, 0 },
          (1u << U) | (1u << SY) | (1u << I),
          0,
          50.0 },
        { "no tick passed",
          { 1, 2, 3, 4, 5, 6, 7, 8 },
          { 1, 2, 3, 4, 5, 6, 7, 8 },
          all,
          -EAGAIN,
          NAN },
        { "idle went back",
          { 0, 0, 0, 100000, 0, 0, 0, 0 },
          { 10, 0, 0, 10, 0, 0, 0, 0 },
          all,
          -EINVAL,
          NAN },
        { "no idle counter", { 0 }, { 0 }, (1u << U), -EINVAL, NAN },
        { "agent had not read its counters yet",
          { 0, 0, 0, 0, 0, 0, 0, 0 },
          { 163959, 0, 101171, 327920, 885, 0, 967, 0 },
          all,
          -EAGAIN,
          NAN },
    };

    (void)state;
    (void)N;
    (void)W;
    (void)IR;
    (void)SI;
    (void)ST;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double pct = NAN;
        int rc = snmpcounter_ucd_cpu_pct(cases[i].prev, cases[i].cur, cases[i].have, &pct);

        if (rc != cases[i].rc) {
            print_error("%s: rc %d, want %d\n", cases[i].what, rc, cases[i].rc);
            fail();
        }
        if (rc == 0)
            assert_near(pct, cases[i].pct, 1e-9, cases[i].what);
    }
}

static void test_cpu_presets(void **state)
{
    static const struct {
        const char *what;
        enum snmpconf_preset preset;
        double v[4];
        size_t n;
        enum snmpcounter_pct want;
        double pct;
    } cases[] = {
        { "host-resources: mean of processors",
          SNMPCONF_CPU_HOSTRES,
          { 10, 20, 90, 40 },
          4,
          SNMPCOUNTER_PCT_OK,
          40.0 },
        { "host-resources: one processor",
          SNMPCONF_CPU_HOSTRES,
          { 97 },
          1,
          SNMPCOUNTER_PCT_OK,
          97.0 },
        { "host-resources: no rows",
          SNMPCONF_CPU_HOSTRES,
          { 0 },
          0,
          SNMPCOUNTER_PCT_REJECTED,
          NAN },
        { "cisco: busiest CPU", SNMPCONF_CPU_CISCO, { 12, 99, 3 }, 3, SNMPCOUNTER_PCT_OK, 99.0 },
        { "juniper: busiest routing engine",
          SNMPCONF_CPU_JUNIPER,
          { 4, 63 },
          2,
          SNMPCOUNTER_PCT_OK,
          63.0 },
        { "fortinet: the value", SNMPCONF_CPU_FORTINET, { 99 }, 1, SNMPCOUNTER_PCT_OK, 99.0 },
        { "oid: the value", SNMPCONF_CPU_OID, { 12.5 }, 1, SNMPCOUNTER_PCT_OK, 12.5 },
        { "oid: 104 is clamped", SNMPCONF_CPU_OID, { 104 }, 1, SNMPCOUNTER_PCT_CLAMPED, 100.0 },
        { "oid: 523 is not a percentage",
          SNMPCONF_CPU_OID,
          { 523 },
          1,
          SNMPCOUNTER_PCT_REJECTED,
          NAN },
        { "oid: negative is not a percentage",
          SNMPCONF_CPU_OID,
          { -1 },
          1,
          SNMPCOUNTER_PCT_REJECTED,
          NAN },
        { "ucd: already a percentage", SNMPCONF_CPU_UCD, { 40 }, 1, SNMPCOUNTER_PCT_OK, 40.0 },
        { "cisco: one CPU over 100",
          SNMPCONF_CPU_CISCO,
          { 50, 101 },
          2,
          SNMPCOUNTER_PCT_CLAMPED,
          100.0 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double pct = -7;
        enum snmpcounter_pct r =
            snmpconf_cpu_combine(cases[i].preset, cases[i].v, cases[i].n, &pct);

        if (r != cases[i].want) {
            print_error("%s: got %d, want %d\n", cases[i].what, r, cases[i].want);
            fail();
        }
        assert_near(pct, cases[i].pct, 1e-9, cases[i].what);
    }
    assert_true(isnan(snmpcounter_mean(NULL, 0)) && isnan(snmpcounter_max(NULL, 0)));
}

static void test_juniper_rows(void **state)
{
    /* jnxOperatingTable of an MX: chassis, PEMs, FPCs and two REs. */
    const char *descr[] = { "midplane",
                            "PEM 0",
                            "FPC: MPC7E 3D @ 0/*/*",
                            "Routing Engine 0",
                            "routing engine 1",
                            "FPC: MPC7E 3D @ 1/*/*" };
    const unsigned cont[] = { 1, 2, 7, 9, 9, 7 };
    /* An older box that names its RE rows otherwise. */
    const char *descr2[] = { "chassis", "RE-S-1800 0", "RE-S-1800 1", "fan" };
    const unsigned cont2[] = { 1, 9, 9, 4 };
    const char *descr3[] = { "chassis", "fan" };
    const unsigned cont3[] = { 1, 4 };
    size_t pick[8];

    (void)state;
    assert_int_equal(snmpconf_juniper_rows(descr, cont, 6, pick, 8), 2);
    assert_int_equal(pick[0], 3);
    assert_int_equal(pick[1], 4);
    assert_int_equal(snmpconf_juniper_rows(descr, cont, 6, pick, 1), 1);
    assert_int_equal(snmpconf_juniper_rows(descr2, cont2, 4, pick, 8), 2);
    assert_int_equal(pick[0], 1);
    assert_int_equal(pick[1], 2);
    assert_int_equal(snmpconf_juniper_rows(descr3, cont3, 2, pick, 8), 0);
}

/* ------------------------------------------------------------ startup checks */

static int check_text(const char *text, char *err, size_t errlen)
{
    char path[64];
    cw_config_t cfg;
    FILE *f;
    int rc;

    snprintf(path, sizeof(path), "/tmp/cw-test-snmp-%d.ini", (int)getpid());
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    config_init(&cfg);
    rc = config_load(&cfg, path, err, errlen);
    if (rc == 0)
        rc = snmpconf_check(&cfg, err, errlen);
    config_free(&cfg);
    unlink(path);
    return rc;
}

static void test_config_check(void **state)
{
    static const struct {
        const char *text;
        const char *want; /* substring of the error, or NULL for no error */
    } cases[] = {
        { "[link a]\nsnmp = 192.0.2.1\nifname = eth0\n", NULL },
        { "[link a]\nsnmp = 192.0.2.1:1161\nifname = eth0\n", NULL },
        { "[link a]\nsnmp = [2001:db8::1]:161\nifname = eth0\n", NULL },
        { "[link a]\nsnmp = 2001:db8::1\nifname = eth0\n", NULL },
        { "[link a]\nsnmp = fw1.example.net:161\nifname = eth0\n", NULL },
        { "[link a]\nsnmp = 192.0.2.1:99999\nifname = eth0\n",
          ":1: [link a]: snmp = \"192.0.2.1:99999\" is not an agent address" },
        { "[link a]\nsnmp = 192.0.2.1:\nifname = eth0\n", "[link a]: snmp = \"192.0.2.1:\"" },
        { "[link a]\nsnmp = bad host\nifname = eth0\n", "[link a]: snmp = \"bad host\"" },
        { "\n\n[cpu fw]\nsnmp = [192.0.2.1]:161\npreset = ucd\n",
          ":3: [cpu fw]: snmp = \"[192.0.2.1]:161\"" },
        { "[cpu fw]\nsnmp = 2001:db8::zz\npreset = ucd\n", "[cpu fw]: snmp = \"2001:db8::zz\"" },
        { "[cpu fw]\nsnmp = 192.0.2.1\nversion = 3\nuser = u\nauth = SHA-257\nauth_pass = "
          "12345678\npreset = ucd\n",
          "[cpu fw]: auth = \"SHA-257\" is not an SNMPv3 authentication protocol" },
        { "[cpu fw]\nsnmp = 192.0.2.1\nversion = 3\nuser = u\nauth = sha\nauth_pass = "
          "12345678\npriv = 3DES\npriv_pass = 12345678\npreset = ucd\n",
          "[cpu fw]: priv = \"3DES\" is not an SNMPv3 privacy protocol" },
        { "[cpu fw]\nsnmp = 192.0.2.1\nversion = 3\nuser = u\nauth = MD5\nauth_pass = "
          "12345678\npriv = DES\npriv_pass = 12345678\npreset = ucd\n",
          NULL },
        { "[cpu fw]\nsnmp = 192.0.2.1\nversion = 3\nuser = u\nauth = SHA-256\nauth_pass = "
          "short\npreset = ucd\n",
          "passwords must have at least 8 characters" },
        { "[cpu fw]\nsnmp = 192.0.2.1\noid = 1.3.6.x\n",
          "[cpu fw]: oid = \"1.3.6.x\" is not a numeric OID" },
        { "[cpu fw]\nsnmp = 192.0.2.1\noid = .1.3.6.1.4.1.2021.11.9.0\n", NULL },
        { "[cpu fw]\nsnmp = 192.0.2.1\nversion = 3\nuser = u\nauth = SHA\nauth_pass = "
          "aaaaaaaa\npreset = ucd\n"
          "[link w]\nsnmp = 192.0.2.1\nversion = 3\nuser = u\nauth = SHA\nauth_pass = "
          "bbbbbbbb\nifindex = 2\n",
          /* links are checked first, so the cpu section is the one named */
          "1: [cpu fw]: SNMPv3 user \"u\" on 192.0.2.1 has other credentials in [link w] (line "
          "8)" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[1024] = "";
        int rc = check_text(cases[i].text, err, sizeof(err));
        const char *want = cases[i].want;

        if ((want == NULL) != (rc == 0) || (want && !strstr(err, want))) {
            print_error("case %zu: rc %d, error \"%s\", want \"%s\"\n", i, rc, err,
                        want ? want : "(none)");
            fail();
        }
    }
}

static void test_poller_lifecycle(void **state)
{
    cw_config_t cfg;
    metrics_t *m = metrics_new();
    char err[256];
    snmp_poller_t *p;
    snmp_target_status_t st[2];

    (void)state;
    /* No targets: a poller with none, that starts and stops. */
    config_init(&cfg);
    p = snmp_poller_new(&cfg, m, err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(snmp_poller_count(p), 0);
    assert_int_equal(snmp_poller_start(p), 0);
    snmp_poller_stop(p);
    assert_int_equal(snmp_poller_status(p, st, 2), 0);
    snmp_poller_free(p);
    snmp_poller_free(NULL);
    config_free(&cfg);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_delta),
        cmocka_unit_test(test_elapsed),
        cmocka_unit_test(test_link_rates),
        cmocka_unit_test(test_link_first_and_errors),
        cmocka_unit_test(test_ucd),
        cmocka_unit_test(test_cpu_presets),
        cmocka_unit_test(test_juniper_rows),
        cmocka_unit_test(test_config_check),
        cmocka_unit_test(test_poller_lifecycle),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
