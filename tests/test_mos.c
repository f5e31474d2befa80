/* The G.107 E-model: reference values, loss and burst points, monotonicity,
 * and the two-state Markov BurstR estimate. */
#include "autoconf.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "media/mos.h"

static void assert_near(double got, double want, double tol, const char *what)
{
    if (fabs(got - want) > tol)
        fail_msg("%s: got %.4f, want %.4f +- %.4f", what, got, want, tol);
}

/* With every G.107 default (no loss, no delay, Ie 0) the standard gives
 * R = 93.2 (Ro 94.77 less Is 1.41 and Id 0.15) and Annex B maps it to a
 * MOS of 4.41. */
static void test_reference(void **state)
{
    mos_params_t p = { .ie = 0, .bpl = 25.1, .ppl_pct = 0, .burst_r = 1, .delay_ms = 0 };
    mos_detail_t d;
    double r = mos_r_factor(&p, &d);

    (void)state;
    assert_near(r, 93.2, 0.05, "R");
    assert_near(d.ro, 94.77, 0.02, "Ro");
    assert_near(d.is, 1.41, 0.02, "Is");
    assert_near(d.id, 0.15, 0.02, "Id");
    assert_near(d.ie_eff, 0, 1e-9, "Ie,eff");
    assert_near(mos_from_r(r), 4.41, 0.005, "MOS");
}

struct loss_case {
    const char *codec;
    double ppl, burst_r;
    double ie_eff; /* hand-computed: Ie + (95 - Ie) Ppl / (Ppl / BurstR + Bpl) */
};

static const struct loss_case loss_cases[] = {
    { "PCMU", 1, 1, 95.0 * 1 / (1 + 25.1) },   /* 3.64 */
    { "PCMA", 2, 1, 95.0 * 2 / (2 + 25.1) },   /* 7.01 */
    { "PCMU", 5, 1, 95.0 * 5 / (5 + 25.1) },   /* 15.78 */
    { "PCMU", 5, 2, 95.0 * 5 / (2.5 + 25.1) }, /* 17.21: bursts hurt more */
    { "G729", 0, 1, 11 },
    { "G729", 3, 1, 11 + 84.0 * 3 / (3 + 19.0) }, /* 22.45 */
    { "G729", 3, 3, 11 + 84.0 * 3 / (1 + 19.0) }, /* 23.6 */
    { "G711-NOPLC", 1, 1, 95.0 * 1 / (1 + 4.3) }, /* 17.92 */
    { "G722", 1, 1, 95.0 * 1 / (1 + 25.1) },
    { "opus", 0, 1, 0 },
};

static void test_loss_points(void **state)
{
    mos_params_t p0 = { .ie = 0, .bpl = 25.1, .burst_r = 1 };
    double r0 = mos_r_factor(&p0, NULL);

    (void)state;
    for (size_t i = 0; i < sizeof(loss_cases) / sizeof(loss_cases[0]); i++) {
        const struct loss_case *c = &loss_cases[i];
        const mos_codec_t *codec = mos_codec_find(c->codec);
        mos_params_t p = { .ie = codec->ie,
                           .bpl = codec->bpl,
                           .ppl_pct = c->ppl,
                           .burst_r = c->burst_r,
                           .delay_ms = 0 };
        mos_detail_t d;
        double r = mos_r_factor(&p, &d);

        assert_near(d.ie_eff, c->ie_eff, 1e-9, c->codec);
        assert_near(r, r0 - c->ie_eff, 1e-9, c->codec);
    }
    /* Reference points: G.711 with 1 % random loss scores R 89.6, MOS 4.33;
     * G.729A without loss R 82.2, MOS 4.10. */
    {
        mos_params_t p = { .ie = 0, .bpl = 25.1, .ppl_pct = 1, .burst_r = 1 };

        assert_near(mos_r_factor(&p, NULL), 89.56, 0.05, "G.711 1 %");
        assert_near(mos_from_r(mos_r_factor(&p, NULL)), 4.33, 0.01, "G.711 1 % MOS");
        p.ie = 11;
        p.bpl = 19;
        p.ppl_pct = 0;
        assert_near(mos_r_factor(&p, NULL), 82.2, 0.05, "G.729A");
        assert_near(mos_from_r(mos_r_factor(&p, NULL)), 4.10, 0.01, "G.729A MOS");
    }
}

static void test_monotone_loss(void **state)
{
    const char *names[] = { "PCMU", "G729", "G723", "opus" };

    (void)state;
    for (size_t n = 0; n < 4; n++) {
        const mos_codec_t *c = mos_codec_find(names[n]);
        double prev = 5.0;

        for (double ppl = 0; ppl <= 30.0; ppl += 0.25) {
            mos_params_t p = { .ie = c->ie, .bpl = c->bpl, .ppl_pct = ppl, .burst_r = 1 };
            double mos = mos_from_r(mos_r_factor(&p, NULL));
            mos_params_t b = p;

            if (!(mos < prev || (mos == 1.0 && prev == 1.0)))
                fail_msg("%s: MOS %.4f at %.2f %% not below %.4f", names[n], mos, ppl, prev);
            prev = mos;
            /* Bursty loss is never better than random loss. */
            b.burst_r = 2.5;
            if (ppl > 0 && mos_r_factor(&b, NULL) >= mos_r_factor(&p, NULL))
                fail_msg("%s: bursty loss not worse at %.2f %%", names[n], ppl);
        }
    }
}

static void test_delay(void **state)
{
    static const double delays[] = { 0, 50, 100, 150, 200, 300, 400, 600 };
    double prev = 100;
    mos_detail_t d;

    (void)state;
    for (size_t i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
        mos_params_t p = { .ie = 0, .bpl = 25.1, .burst_r = 1, .delay_ms = delays[i] };
        double r = mos_r_factor(&p, &d);

        if (r >= prev)
            fail_msg("R %.3f at %.0f ms not below %.3f", r, delays[i], prev);
        prev = r;
        if (delays[i] <= 100)
            assert_near(d.idd, 0, 1e-12, "Idd below mT");
    }
    /* Idd at Ta = 300 ms: X = log2(3), 25 ((1 + X^6)^(1/6) - 3 (1 + (X/3)^6)^(1/6) + 2). */
    {
        mos_params_t p = { .ie = 0, .bpl = 25.1, .burst_r = 1, .delay_ms = 300 };
        double x = log2(3.0);
        double want = 25 * (pow(1 + pow(x, 6), 1.0 / 6) - 3 * pow(1 + pow(x / 3, 6), 1.0 / 6) + 2);

        mos_r_factor(&p, &d);
        assert_near(d.idd, want, 1e-9, "Idd 300 ms");
        assert_near(d.idd, 14.77, 0.02, "Idd 300 ms value");
    }
}

struct r_case {
    double r, mos;
};

static const struct r_case r_cases[] = {
    { -10, 1.0 },  { 0, 1.0 },      { 3, 1.0 },   { 50, 2.575 }, { 60, 3.1 },
    { 80, 4.024 }, { 93.2, 4.409 }, { 100, 4.5 }, { 130, 4.5 },
};

static void test_r_to_mos(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(r_cases) / sizeof(r_cases[0]); i++)
        assert_near(mos_from_r(r_cases[i].r), r_cases[i].mos, 0.001, "MOS(R)");
}

/* Loss patterns in sequence order: '.' received, 'x' lost. */
struct burst_case {
    const char *pattern;
    unsigned repeat;
    double burst_r;
};

static const struct burst_case burst_cases[] = {
    { "..........", 10, 1.0 },            /* nothing lost */
    { ".........x", 20, 0.9 },            /* periodic: P 0.1 / p (1/9) */
    { "..........xxxxxxxxxx", 10, 5.0 },  /* runs of 10: 0.5 / 0.1 */
    { "...x...x.xx.....xx..", 25, 1.05 }, /* 0.3 / p, p = 4/14 */
};

static void test_burst_r(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(burst_cases) / sizeof(burst_cases[0]); i++) {
        mos_loss_t l = MOS_LOSS_INIT;
        const char *pat = burst_cases[i].pattern;

        for (unsigned r = 0; r < burst_cases[i].repeat; r++)
            for (const char *c = pat; *c; c++)
                mos_loss_add(&l, *c == 'x');
        assert_near(mos_burst_r(&l), burst_cases[i].burst_r, 0.02, pat);
    }
    /* Everything lost, or loss only at the start: BurstR stays defined. */
    {
        mos_loss_t l = MOS_LOSS_INIT;

        for (int i = 0; i < 10; i++)
            mos_loss_add(&l, true);
        assert_near(mos_burst_r(&l), 1.0, 1e-12, "all lost");
        for (int i = 0; i < 10; i++)
            mos_loss_add(&l, false);
        /* 10 lost then 10 received: q = 1/10, BurstR = 0.5 / 0.1 = 5. */
        assert_near(mos_burst_r(&l), 5.0, 1e-9, "loss at the start");
        assert_near(mos_loss_ppl(&l), 50.0, 1e-9, "ppl");
    }
}

static void test_codecs(void **state)
{
    (void)state;
    assert_int_equal(mos_codec_find("pcmu")->ie, 0);
    assert_true(mos_codec_find("G729")->ie == 11.0 && mos_codec_find("G729")->bpl == 19.0);
    assert_false(mos_codec_find("PCMA")->approximate);
    assert_true(mos_codec_find("OPUS")->approximate);
    assert_true(mos_codec_find("no-such-codec")->approximate);
    assert_true(mos_codec_find(NULL) != NULL);
}

static void test_estimate(void **state)
{
    mos_loss_t l = MOS_LOSS_INIT;
    double r;

    (void)state;
    for (int i = 0; i < 1000; i++)
        mos_loss_add(&l, i % 100 == 50);
    /* 1 % periodic loss: BurstR 0.99, a little better than random. */
    assert_near(mos_estimate(mos_codec_find("PCMU"), &l, 0, &r), 4.33, 0.01, "estimate");
    assert_true(r > 89.5 && r < 89.7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference),     cmocka_unit_test(test_loss_points),
        cmocka_unit_test(test_monotone_loss), cmocka_unit_test(test_delay),
        cmocka_unit_test(test_r_to_mos),      cmocka_unit_test(test_burst_r),
        cmocka_unit_test(test_codecs),        cmocka_unit_test(test_estimate),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
