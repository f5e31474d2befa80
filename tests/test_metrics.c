/* The metrics registry: names, latest values, ranges, listeners, threads. */
#include "autoconf.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/metrics.h"

static void test_names(void **state)
{
    metrics_t *m = metrics_new();
    char longname[200];

    (void)state;
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(metrics_put(m, "link.wan0.util_pct", 1, 5.0), 0);
    assert_int_equal(metrics_put(m, "", 1, 5.0), -EINVAL);
    assert_int_equal(metrics_put(m, "bad name", 1, 5.0), -EINVAL);
    assert_int_equal(metrics_put(m, "../etc", 1, 5.0), -EINVAL);
    assert_int_equal(metrics_put(m, longname, 1, 5.0), -EINVAL);
    metrics_free(m);
}

static void test_latest_and_range(void **state)
{
    metrics_t *m = metrics_new();
    cw_ns_t ts[2000];
    double vs[2000];
    cw_ns_t t;
    double v;

    (void)state;
    assert_false(metrics_latest(m, "cpu.fw1.pct", &t, &v));
    for (int i = 0; i < 1500; i++)
        metrics_put(m, "cpu.fw1.pct", CW_SEC(i), i);
    metrics_put(m, "calls.active", CW_SEC(7), NAN);
    assert_true(metrics_latest(m, "cpu.fw1.pct", &t, &v));
    assert_int_equal(t, CW_SEC(1499));
    assert_true(v == 1499.0);
    assert_true(metrics_latest(m, "calls.active", &t, &v));
    assert_true(isnan(v));
    /* Only the newest METRICS_HISTORY samples are kept. */
    assert_int_equal(metrics_range(m, "cpu.fw1.pct", 0, CW_SEC(5000), ts, vs, 2000),
                     METRICS_HISTORY);
    assert_int_equal(ts[0], CW_SEC(1500 - METRICS_HISTORY));
    assert_int_equal(metrics_range(m, "cpu.fw1.pct", CW_SEC(1000), CW_SEC(1009), ts, vs, 2000), 10);
    assert_true(vs[0] == 1000.0);
    assert_int_equal(metrics_range(m, "cpu.fw1.pct", CW_SEC(1000), CW_SEC(1009), ts, vs, 3), 3);
    assert_int_equal(metrics_range(m, "nope", 0, CW_SEC(9), ts, vs, 10), 0);
    metrics_free(m);
}

struct seen {
    int calls;
    char last[METRICS_NAME_MAX];
    double sum;
};

static void listener(void *ud, const char *name, cw_ns_t t, double value)
{
    struct seen *s = ud;

    (void)t;
    s->calls++;
    cw_strlcpy(s->last, name, sizeof(s->last));
    s->sum += value;
}

static void test_listeners_and_foreach(void **state)
{
    metrics_t *m = metrics_new();
    struct seen s = { 0 }, all = { 0 };

    (void)state;
    metrics_listen(m, listener, &s);
    metrics_put(m, "b.x", 1, 2.0);
    metrics_put(m, "a.x", 1, 3.0);
    metrics_put(m, "b.x", 2, 4.0);
    assert_int_equal(s.calls, 3);
    assert_string_equal(s.last, "b.x");
    metrics_foreach_latest(m, listener, &all);
    assert_int_equal(all.calls, 2);
    assert_string_equal(all.last, "b.x"); /* name order: a.x then b.x */
    assert_true(all.sum == 7.0);
    metrics_free(m);
}

static void *writer(void *arg)
{
    metrics_t *m = arg;
    char name[32];

    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof(name), "s.%d", i % 50);
        metrics_put(m, name, i, i);
    }
    return NULL;
}

static void test_threads(void **state)
{
    metrics_t *m = metrics_new();
    pthread_t th[4];

    (void)state;
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, writer, m);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    {
        struct seen all = { 0 };

        metrics_foreach_latest(m, listener, &all);
        assert_int_equal(all.calls, 50);
    }
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_latest_and_range),
        cmocka_unit_test(test_listeners_and_foreach),
        cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
