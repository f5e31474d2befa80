/* The adapters that answer the web server from the probe's parts: series
 * and graphs from the RRD store, targets from the collectors. */
#include "autoconf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/fs.h"
#include "common/metrics.h"
#include "daemon/collectors.h"
#include "daemon/websources.h"
#include "rrd/rrdstore.h"

#define T0 1700000000L /* a multiple of the step */

/* Without a store there is no series or graph callback (the server then
 * serves /api/series from memory and refuses graphs); without collectors
 * the targets are an empty list. */
static void test_without_store(void **state)
{
    metrics_t *m = metrics_new();
    websources_t ws = { .metrics = m };
    web_sources_t src;
    json_t *t;

    (void)state;
    websources_fill(&ws, &src);
    assert_ptr_equal(src.metrics, m);
    assert_null(src.series);
    assert_null(src.graph);
    assert_non_null(src.targets);
    t = src.targets(src.ud);
    assert_true(json_is_array(t));
    assert_int_equal(json_array_size(t), 0);
    json_decref(t);
    metrics_free(m);
}

static void test_store_series_and_graph(void **state)
{
    char *dir = cw_mkdtemp("cw-websources");
    char err[512];
    metrics_t *m = metrics_new();
    rrdstore_t *s;
    websources_t ws;
    web_sources_t src;
    json_t *out = NULL;
    unsigned char *png = NULL;
    size_t len = 0;
    web_window_t shade = { T0 + 100, T0 + 200 };

    (void)state;
    assert_non_null(dir);
    unsetenv("RRDCACHED_ADDRESS");
    s = rrdstore_open(dir, 10, NULL, err, sizeof(err));
    assert_non_null(s);
    rrdstore_attach(s, m);
    for (long t = T0 + 10; t <= T0 + 600; t += 10)
        assert_int_equal(metrics_put(m, "traffic.bps", CW_SEC(t), 1000.0 + (double)t - T0), 0);
    assert_int_equal(rrdstore_flush(s), 0);

    ws = (websources_t){ .metrics = m, .store = s };
    websources_fill(&ws, &src);
    assert_non_null(src.series);
    assert_non_null(src.graph);

    assert_int_equal(src.series(src.ud, "traffic.bps", T0, T0 + 600, &out, err, sizeof(err)), 0);
    assert_string_equal(json_string_value(json_object_get(out, "metric")), "traffic.bps");
    assert_true(json_array_size(json_object_get(out, "points")) > 0);
    json_decref(out);
    out = NULL;
    assert_int_equal(src.series(src.ud, "no.such", T0, T0 + 600, &out, err, sizeof(err)), -ENOENT);
    assert_null(out);
    assert_int_equal(src.series(src.ud, "traffic.bps", T0 + 600, T0, &out, err, sizeof(err)),
                     -EINVAL);

    assert_int_equal(src.graph(src.ud, "traffic.bps", T0, T0 + 600, 400, 150, &shade, 1, &png, &len,
                               err, sizeof(err)),
                     0);
    assert_true(len > 8);
    assert_memory_equal(png, "\x89PNG", 4);
    free(png);

    rrdstore_close(s);
    metrics_free(m);
    cw_rmtree(dir);
    free(dir);
}

/* Offline collectors of a configuration with no targets list none. */
static void test_collectors_targets(void **state)
{
    cw_config_t cfg;
    metrics_t *m = metrics_new();
    char err[256];
    collectors_t *col;
    websources_t ws;
    web_sources_t src;
    json_t *t;

    (void)state;
    config_init(&cfg);
    col = collectors_new(&cfg, m, false, err, sizeof(err));
    assert_non_null(col);
    ws = (websources_t){ .metrics = m, .col = col };
    websources_fill(&ws, &src);
    t = src.targets(src.ud);
    assert_int_equal(json_array_size(t), 0);
    json_decref(t);
    collectors_free(col);
    metrics_free(m);
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_without_store),
        cmocka_unit_test(test_store_series_and_graph),
        cmocka_unit_test(test_collectors_targets),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
