/* Alert delivery: the exec channel, the rate limit, the Alertmanager body. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "incident/alert.h"

static char out[64], prog[64];

static json_t *incident(int id)
{
    return json_pack("{s:i, s:s, s:f, s:f, s:s, s:{s:{s:s, s:f}, s:n}, s:[]}", "id", id, "kind",
                     "drops_with_congestion", "start", 1700000000.5, "end", 1700000060.0, "summary",
                     "3 calls dropped", "evidence", "link", "name", "wan0", "util_max_pct", 97.0,
                     "cpu", "top_talkers");
}

static int setup(void **state)
{
    FILE *f;

    (void)state;
    snprintf(out, sizeof(out), "/tmp/cw-test-alert-%d.out", (int)getpid());
    snprintf(prog, sizeof(prog), "/tmp/cw-test-alert-%d.sh", (int)getpid());
    f = fopen(prog, "w");
    fprintf(f, "#!/bin/sh\n{ cat; echo \" $CALLWATCH_EVENT $CALLWATCH_INCIDENT\"; } >>%s\n", out);
    fclose(f);
    chmod(prog, 0755);
    unlink(out);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(out);
    unlink(prog);
    return 0;
}

static int lines(void)
{
    FILE *f = fopen(out, "r");
    int n = 0, c;

    if (!f)
        return 0;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static void test_exec_and_rate_limit(void **state)
{
    char err[256];
    cw_config_t cfg;
    alert_t *a;
    alert_stats_t st;

    (void)state;
    config_init(&cfg);
    cfg.alert_exec = prog;
    cfg.alert_rate_limit = 2; /* two a minute */
    assert_int_equal(alert_new(&cfg, &a, err, sizeof(err)), 0);
    assert_non_null(a);
    for (int i = 1; i <= 5; i++) {
        json_t *inc = incident(i);

        alert_incident(a, inc, i % 2 == 0);
        json_decref(inc);
    }
    assert_true(alert_flush(a, 20000));
    alert_get_stats(a, &st);
    assert_int_equal(st.queued, 5);
    assert_int_equal(st.delivered, 2);
    assert_int_equal(st.rate_limited, 3);
    assert_int_equal(st.failed, 0);
    /* The first two ran, each with its JSON and environment. */
    assert_int_equal(lines(), 2);
    alert_free(a);
    cfg.alert_exec = NULL;
    config_free(&cfg);
}

/* Delivers inc (consumed) once through program; its statistics. */
static alert_stats_t exec_once(const char *program, json_t *inc)
{
    char err[256];
    cw_config_t cfg;
    alert_t *a;
    alert_stats_t st;

    config_init(&cfg);
    cfg.alert_exec = (char *)program;
    assert_int_equal(alert_new(&cfg, &a, err, sizeof(err)), 0);
    alert_incident(a, inc, false);
    assert_true(alert_flush(a, 20000));
    alert_get_stats(a, &st);
    alert_free(a);
    json_decref(inc);
    cfg.alert_exec = NULL;
    config_free(&cfg);
    return st;
}

static void test_exec_failure_counted(void **state)
{
    alert_stats_t st;

    (void)state;
    st = exec_once("/nonexistent/page-oncall", incident(7));
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.delivered, 0);
}

/* A program that exits without reading an incident bigger than a pipe
 * holds: the write fails (EPIPE), the process lives on, and the program's
 * exit status decides. */
static void test_exec_not_reading(void **state)
{
    static char big[256 * 1024];
    json_t *inc = incident(8);
    alert_stats_t st;

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    json_object_set_new(inc, "summary", json_string(big));
    st = exec_once("/bin/true", inc);
    assert_int_equal(st.delivered, 1);
    assert_int_equal(st.failed, 0);
}

static void test_no_channel(void **state)
{
    char err[256];
    cw_config_t cfg;
    alert_t *a = (alert_t *)&cfg; /* must be set to NULL */

    (void)state;
    config_init(&cfg);
    assert_int_equal(alert_new(&cfg, &a, err, sizeof(err)), 0);
    assert_null(a);
    alert_incident(NULL, NULL, false); /* accepted, does nothing */
    assert_true(alert_flush(NULL, 0));
    alert_free(NULL);
    config_free(&cfg);
}

static void test_webhook_body(void **state)
{
    json_t *inc = incident(12), *open, *res;

    (void)state;
    json_object_set_new(inc, "site", json_string("branch-a"));
    open = alert_webhook_body(inc, false, "https://cw.example.net/");
    res = alert_webhook_body(inc, true, "https://cw.example.net/");
    assert_int_equal(json_array_size(open), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(open, 0), "labels"), "alertname")),
                        "CallsDroppedWithCongestion");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(open, 0), "labels"), "link")),
                        "wan0");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(open, 0), "labels"), "site")),
                        "branch-a");
    assert_string_equal(json_string_value(json_object_get(json_array_get(open, 0), "generatorURL")),
                        "https://cw.example.net/#/incident/12");
    assert_string_equal(json_string_value(json_object_get(json_array_get(open, 0), "startsAt")),
                        "2023-11-14T22:13:20.500Z");
    assert_null(json_object_get(json_array_get(open, 0), "endsAt"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "endsAt")),
                        "2023-11-14T22:14:20.000Z");
    json_decref(open);
    json_decref(res);
    json_decref(inc);
}

static void test_generator_base(void **state)
{
    static const struct {
        const char *listen, *external, *tls, *want;
    } cases[] = {
        { NULL, NULL, NULL, "http://127.0.0.1:8080/" },
        { "192.0.2.7:9000", NULL, NULL, "http://192.0.2.7:9000/" },
        { "[2001:db8::1]:443", NULL, "c.pem", "https://[2001:db8::1]:443/" },
        { "127.0.0.1:8080", "https://cw.example.net/probe", NULL, "https://cw.example.net/probe/" },
        { "127.0.0.1:8080", "https://cw.example.net/", NULL, "https://cw.example.net/" },
    };
    char base[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cw_config_t cfg;

        config_init(&cfg);
        cfg.web_listen = cases[i].listen ? cw_strdup(cases[i].listen) : NULL;
        cfg.web_external_url = cases[i].external ? cw_strdup(cases[i].external) : NULL;
        cfg.web_tls_cert = cases[i].tls ? cw_strdup(cases[i].tls) : NULL;
        alert_generator_base(&cfg, base, sizeof(base));
        assert_string_equal(base, cases[i].want);
        config_free(&cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exec_and_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_failure_counted, setup, teardown),
        cmocka_unit_test(test_exec_not_reading),
        cmocka_unit_test(test_no_channel),
        cmocka_unit_test(test_webhook_body),
        cmocka_unit_test(test_generator_base),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
