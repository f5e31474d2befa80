/* The correlator, table-driven over synthetic timelines: drops, traffic,
 * link and CPU samples in, incidents out. */
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

#include "incident/correlate.h"

#define STEP 10

struct timeline {
    const char *name;
    double base_bps;          /* traffic outside the spike */
    double spike_bps;         /* traffic during [spike_from, spike_to) */
    int spike_from, spike_to; /* seconds */
    double link_pct_spike;    /* link utilisation during the spike (0: no link) */
    double cpu_pct_spike;     /* CPU during the spike (0: no CPU series) */
    int drops[16];            /* drop times in seconds, 0-terminated */
    int end;                  /* last step */
    const char *kinds;        /* expected incident kinds, space separated */
};

// clang-format off
static const struct timeline cases[] = {
    { "drops during a traffic spike", 300e3, 3e6, 600, 720, 0, 0,
      { 630, 640, 650, 660 }, 1200, "drops_with_congestion" },
    { "drops during link and CPU saturation, no traffic spike seen", 300e3, 300e3, 600, 720, 97,
      99, { 630, 640, 650 }, 1200, "drops_with_congestion" },
    { "drops alone", 300e3, 300e3, 0, 0, 0, 0, { 630, 640, 650, 660 }, 1200,
      "call_degradation" },
    { "two drops are not a burst", 300e3, 3e6, 600, 720, 0, 0, { 630, 690 }, 1200, "" },
    { "a short spike alone", 300e3, 3e6, 600, 700, 0, 0, { 0 }, 1200, "" },
    { "a long spike alone", 300e3, 3e6, 600, 900, 0, 0, { 0 }, 1200, "congestion" },
    { "link at 70 % is not a spike", 300e3, 300e3, 600, 720, 70, 0, { 630, 640, 650 }, 1200,
      "call_degradation" },
    { "drops a window after the spike ended", 300e3, 3e6, 600, 660, 0, 0, { 790, 800, 810 },
      1200, "call_degradation" },
    { "spike first, drops 2 minutes in", 300e3, 3e6, 600, 900, 0, 0, { 720, 730, 740 }, 1400,
      "drops_with_congestion" },
    { "tiny traffic tripling is no spike", 10e3, 40e3, 600, 900, 0, 0, { 630, 640, 650 }, 1200,
      "call_degradation" },
};
// clang-format on

struct seen {
    char kinds[256];
    int opens, resolves;
};

static void notify(void *ud, const json_t *inc, bool resolved)
{
    struct seen *s = ud;

    if (resolved) {
        s->resolves++;
        return;
    }
    s->opens++;
    if (s->kinds[0])
        strcat(s->kinds, " ");
    strcat(s->kinds, json_string_value(json_object_get(inc, "kind")));
}

/* A configuration watching the link wan0 and the firewall CPU fw1, each
 * if asked. */
static void watched(cw_config_t *conf, bool link, bool cpu)
{
    config_init(conf);
    if (link) {
        conf->links = cw_calloc(1, sizeof(*conf->links));
        conf->links[0].name = cw_strdup("wan0");
        conf->nlinks = 1;
    }
    if (cpu) {
        conf->cpus = cw_calloc(1, sizeof(*conf->cpus));
        conf->cpus[0].name = cw_strdup("fw1");
        conf->ncpus = 1;
    }
}

static void test_timelines(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct timeline *tl = &cases[i];
        cw_config_t conf;
        metrics_t *m = metrics_new();
        traffic_t *tr = traffic_new(NULL);
        struct seen s = { "", 0, 0 };
        correlate_t *c;
        size_t d = 0;

        watched(&conf, tl->link_pct_spike > 0, tl->cpu_pct_spike > 0);
        c = correlate_new(NULL, &conf, m, tr, notify, &s);
        for (int t = STEP; t <= tl->end; t += STEP) {
            bool in = t > tl->spike_from && t <= tl->spike_to;

            while (tl->drops[d] && tl->drops[d] <= t) {
                correlate_call_dropped(c, CW_SEC(tl->drops[d]), "call", 3.0, 5.0);
                d++;
            }
            if (tl->link_pct_spike > 0)
                metrics_put(m, "link.wan0.util_pct", CW_SEC(t), in ? tl->link_pct_spike : 20);
            if (tl->cpu_pct_spike > 0)
                metrics_put(m, "cpu.fw1.pct", CW_SEC(t), in ? tl->cpu_pct_spike : 15);
            correlate_step(c, CW_SEC(t), in ? tl->spike_bps : tl->base_bps, 100);
        }
        correlate_finish(c, CW_SEC(tl->end));
        if (strcmp(s.kinds, tl->kinds) != 0)
            fail_msg("%s: incidents \"%s\", expected \"%s\"", tl->name, s.kinds, tl->kinds);
        /* Everything opened was resolved by the end (a quiet tail). */
        assert_int_equal(s.opens, s.resolves);
        correlate_free(c);
        traffic_free(tr);
        metrics_free(m);
        config_free(&conf);
    }
}

/* An NMS series with 5-minute rows (Cacti's default): a row at T covers
 * (T - 300, T], so drops at 630-660 s meet the saturation in the row at
 * 900 s. */
static void test_coarse_nms_series(void **state)
{
    cw_config_t conf;
    metrics_t *m = metrics_new();
    traffic_t *tr = traffic_new(NULL);
    struct seen s = { "", 0, 0 };
    correlate_t *c;
    json_t *all;

    (void)state;
    watched(&conf, true, true);
    /* Loaded in advance, as for an analysed capture. */
    for (int t = 0; t <= 1800; t += 300) {
        metrics_put(m, "link.wan0.util_pct", CW_SEC(t), t == 900 ? 96 : 30);
        metrics_put(m, "cpu.fw1.pct", CW_SEC(t), t == 900 ? 93 : 20);
    }
    c = correlate_new(NULL, &conf, m, tr, notify, &s);
    for (int t = 10; t <= 1500; t += 10) {
        if (t == 630 || t == 640 || t == 650 || t == 660)
            correlate_call_dropped(c, CW_SEC(t), "call", 3.0, 5.0);
        correlate_step(c, CW_SEC(t), 300e3, 100);
    }
    assert_string_equal(s.kinds, "drops_with_congestion");
    all = correlate_incidents_json(c);
    assert_true(json_real_value(json_object_get(
                    json_object_get(json_object_get(json_array_get(all, 0), "evidence"), "link"),
                    "util_max_pct")) == 96.0);
    assert_true(json_real_value(json_object_get(
                    json_object_get(json_object_get(json_array_get(all, 0), "evidence"), "cpu"),
                    "max_pct")) == 93.0);
    json_decref(all);
    correlate_free(c);
    traffic_free(tr);
    metrics_free(m);
    config_free(&conf);
}

/* A reload at 300 s: new thresholds and watched links apply from there,
 * the drops seen before are kept. */
// clang-format off
static const struct {
    const char *name;
    bool link;          /* wan0 watched after the reload */
    double link_pct;    /* link_threshold after it (0: default) */
    long min_drops;     /* min_drops after it (0: default) */
    const char *kinds;
} reconf_cases[] = {
    { "nothing changes", false, 0, 0, "call_degradation" },
    { "the saturated link added", true, 0, 0, "drops_with_congestion" },
    { "the link added, its threshold raised past it", true, 99, 0, "call_degradation" },
    { "a burst needs more drops", true, 0, 5, "" },
};
// clang-format on

static void test_reconfigure(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(reconf_cases) / sizeof(reconf_cases[0]); i++) {
        cw_config_t before, after;
        metrics_t *m = metrics_new();
        traffic_t *tr = traffic_new(NULL);
        struct seen s = { "", 0, 0 };
        correlate_cfg_t cc = { .link_pct = reconf_cases[i].link_pct,
                               .min_drops = reconf_cases[i].min_drops };
        correlate_t *c;

        watched(&before, false, false);
        watched(&after, reconf_cases[i].link, false);
        c = correlate_new(NULL, &before, m, tr, notify, &s);
        for (int t = STEP; t <= 1200; t += STEP) {
            bool in = t > 600 && t <= 720;

            if (t == 300)
                correlate_reconfigure(c, &cc, &after);
            if (t == 640 || t == 650 || t == 660 || t == 670)
                correlate_call_dropped(c, CW_SEC(t - 5), "call", 3.0, 5.0);
            metrics_put(m, "link.wan0.util_pct", CW_SEC(t), in ? 97 : 20);
            correlate_step(c, CW_SEC(t), 300e3, 100);
        }
        correlate_finish(c, CW_SEC(1200));
        if (strcmp(s.kinds, reconf_cases[i].kinds) != 0)
            fail_msg("%s: incidents \"%s\", expected \"%s\"", reconf_cases[i].name, s.kinds,
                     reconf_cases[i].kinds);
        correlate_free(c);
        traffic_free(tr);
        metrics_free(m);
        config_free(&before);
        config_free(&after);
    }
}

static void test_evidence(void **state)
{
    cw_config_t conf;
    metrics_t *m = metrics_new();
    traffic_t *tr = traffic_new(NULL);
    correlate_t *c;
    json_t *all, *inc, *ev;

    (void)state;
    watched(&conf, true, true);
    c = correlate_new(NULL, &conf, m, tr, NULL, NULL);
    correlate_set_next_id(c, 41);
    for (int t = 10; t <= 1200; t += 10) {
        bool in = t > 600 && t <= 720;

        metrics_put(m, "link.wan0.util_pct", CW_SEC(t) - CW_SEC(3), in ? 96.5 + (t % 20) / 10 : 30);
        metrics_put(m, "cpu.fw1.pct", CW_SEC(t) - CW_SEC(3), in ? 99 : 20);
        if (t >= 640 && t <= 680)
            correlate_call_dropped(c, CW_SEC(t), t == 640 ? "a" : "b", 2.0, 12.0);
        correlate_step(c, CW_SEC(t), in ? 2e6 : 2e5, 100);
    }
    all = correlate_incidents_json(c);
    assert_int_equal(json_array_size(all), 1);
    inc = json_array_get(all, 0);
    assert_int_equal(json_integer_value(json_object_get(inc, "id")), 41);
    assert_string_equal(json_string_value(json_object_get(inc, "kind")), "drops_with_congestion");
    assert_string_equal(json_string_value(json_object_get(inc, "state")), "resolved");
    assert_int_equal(json_integer_value(json_object_get(inc, "dropped_calls")), 5);
    assert_int_equal(json_integer_value(json_object_get(inc, "calls_affected")), 2);
    /* The spike began with the step ending at 610. */
    assert_true(json_real_value(json_object_get(inc, "start")) == 600.0);
    ev = json_object_get(inc, "evidence");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "link"), "name")),
                        "wan0");
    assert_true(json_real_value(json_object_get(json_object_get(ev, "link"), "util_max_pct")) ==
                97.5);
    assert_true(json_real_value(json_object_get(json_object_get(ev, "cpu"), "max_pct")) == 99.0);
    assert_int_equal(json_integer_value(json_object_get(ev, "traffic_peak_bps")), 2000000);
    assert_true(json_real_value(json_object_get(ev, "mos_mean")) == 2.0);
    assert_non_null(strstr(json_string_value(json_object_get(inc, "summary")),
                           "5 calls dropped; link wan0 at 98 % and fw1's CPU at 99 %"));
    json_decref(all);
    assert_int_equal(correlate_open_count(c), 0);
    correlate_free(c);
    traffic_free(tr);
    metrics_free(m);
    config_free(&conf);
}

static decode_pkt_t pkt(const char *src, const char *dst, uint8_t proto, uint16_t dport,
                        uint8_t flags, uint32_t len, cw_ns_t t)
{
    decode_pkt_t p;

    memset(&p, 0, sizeof(p));
    cw_addr_parse(src, &p.src);
    cw_addr_parse(dst, &p.dst);
    p.proto = proto;
    p.sport = 40000;
    p.dport = dport;
    p.tcp_flags = flags;
    p.wirelen = len;
    p.ts = t;
    p.src_hash = cw_addr_hash(&p.src, 0); /* as decode sets them */
    p.dst_hash = cw_addr_hash(&p.dst, 0);
    return p;
}

/* The incident names the scanner as its top talker even when a bigger
 * talker moved more bytes; the talkers themselves are listed biggest
 * first. */
static void test_culprit(void **state)
{
    cw_config_t conf;
    metrics_t *m = metrics_new();
    traffic_t *tr = traffic_new(NULL);
    correlate_t *c;
    json_t *all, *inc, *top;
    char dst[32];

    (void)state;
    watched(&conf, true, false);
    c = correlate_new(NULL, &conf, m, tr, NULL, NULL);
    for (int t = 10; t <= 1200; t += 10) {
        bool in = t > 600 && t <= 720;

        if (in) {
            for (int i = 0; i < 50; i++) {
                decode_pkt_t big = pkt("10.1.0.9", "203.0.113.5", IPPROTO_UDP, 9000, 0, 1400,
                                       CW_SEC(t) - CW_SEC(5));

                traffic_packet(tr, &big, TRAFFIC_OTHER);
                snprintf(dst, sizeof(dst), "198.51.%d.%d", t / 10 % 256, i);
                decode_pkt_t syn =
                    pkt("10.20.0.17", dst, IPPROTO_TCP, 445, 0x02, 60, CW_SEC(t) - CW_SEC(5));
                traffic_packet(tr, &syn, TRAFFIC_OTHER);
            }
            traffic_tick(tr, CW_SEC(t));
        }
        metrics_put(m, "link.wan0.util_pct", CW_SEC(t) - CW_SEC(3), in ? 97 : 30);
        if (t >= 640 && t <= 680)
            correlate_call_dropped(c, CW_SEC(t), "a", 2.0, 12.0);
        correlate_step(c, CW_SEC(t), in ? 2e6 : 2e5, 100);
    }
    all = correlate_incidents_json(c);
    assert_int_equal(json_array_size(all), 1);
    inc = json_array_get(all, 0);
    top = json_object_get(inc, "top_talkers");
    assert_true(json_array_size(top) >= 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(top, 0), "src")),
                        "10.1.0.9");
    assert_false(json_is_true(json_object_get(json_array_get(top, 0), "scanner")));
    assert_true(json_is_true(json_object_get(json_array_get(top, 1), "scanner")));
    assert_non_null(strstr(json_string_value(json_object_get(inc, "summary")),
                           "; top talker 10.20.0.17 tcp/445 to "));
    json_decref(all);
    correlate_free(c);
    traffic_free(tr);
    metrics_free(m);
    config_free(&conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timelines),         cmocka_unit_test(test_evidence),
        cmocka_unit_test(test_coarse_nms_series), cmocka_unit_test(test_culprit),
        cmocka_unit_test(test_reconfigure),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
