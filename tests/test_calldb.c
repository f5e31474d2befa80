/* Call records in SQLite: writes off the caller's thread, upserts,
 * filters, retention. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "calldb/calldb.h"

static char path[80];

static json_t *rec(const char *id, double start, const char *outcome, const char *from,
                   const char *caller, double mos)
{
    json_t *o = json_pack("{s:s, s:f, s:s, s:s, s:s, s:s, s:s, s:i, s:[{s:f, s:f, s:f, s:f}], "
                          "s:[{s:s}]}",
                          "call_id", id, "start", start, "outcome", outcome, "from", from, "to",
                          "sip:bob@example.com", "caller", caller, "callee", "10.9.9.9:5060",
                          "sip_code", 200, "streams", "mos", mos, "mos_min", mos - 0.5, "loss_pct",
                          1.0, "jitter_mean_ms", 2.0, "messages", "label", "INVITE");

    assert_non_null(o);
    return o;
}

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof(path), "/tmp/cw-test-calldb-%d.sqlite", (int)getpid());
    unlink(path);
    return 0;
}

static int teardown(void **state)
{
    char p[100];

    (void)state;
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
    return 0;
}

static void test_write_query(void **state)
{
    char err[256];
    calldb_t *db = calldb_open(path, 0, err, sizeof(err));
    calldb_filter_t f;
    json_t *r, *one;

    (void)state;
    assert_non_null(db);
    for (int i = 0; i < 1200; i++) {
        char id[32], from[64];

        snprintf(id, sizeof(id), "call-%04d", i);
        snprintf(from, sizeof(from), "sip:user%d@example.com", i % 10);
        calldb_put(db, rec(id, 1000.0 + i, i % 3 == 0 ? "dropped" : "answered", from,
                           i % 2 ? "10.0.0.1:5060" : "[2001:db8::1]:5060", 4.0 + (i % 4) * 0.1));
    }
    assert_int_equal(calldb_flush(db), 0);
    assert_int_equal(calldb_count(db), 1200);

    memset(&f, 0, sizeof(f));
    f.outcome = "dropped";
    f.from = 1000;
    f.to = 1099;
    r = calldb_query(db, &f, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 34);
    assert_int_equal(json_array_size(json_object_get(r, "calls")), 34);
    /* Summaries leave the SIP messages out. */
    assert_null(json_object_get(json_array_get(json_object_get(r, "calls"), 0), "messages"));
    json_decref(r);

    memset(&f, 0, sizeof(f));
    f.party = "user7@";
    f.addr = "2001:db8";
    f.limit = 5;
    f.sort = "start";
    f.descending = true;
    r = calldb_query(db, &f, err, sizeof(err));
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 0);
    json_decref(r);
    f.addr = "10.0.0.1";
    r = calldb_query(db, &f, err, sizeof(err));
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 120);
    assert_int_equal(json_array_size(json_object_get(r, "calls")), 5);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r, "calls"), 0), "call_id")),
                        "call-1197");
    json_decref(r);

    /* A record written again (the call changed) replaces the first. */
    calldb_put(db, rec("call-0001", 1001.0, "dropped", "sip:x@y", "10.0.0.1:5060", 2.0));
    calldb_flush(db);
    assert_int_equal(calldb_count(db), 1200);
    one = calldb_get(db, "call-0001");
    assert_non_null(one);
    assert_string_equal(json_string_value(json_object_get(one, "outcome")), "dropped");
    assert_int_equal(json_array_size(json_object_get(one, "messages")), 1);
    json_decref(one);
    assert_null(calldb_get(db, "no-such-call"));
    calldb_close(db);

    /* Reopening keeps everything. */
    db = calldb_open(path, 0, err, sizeof(err));
    assert_int_equal(calldb_count(db), 1200);
    calldb_close(db);
}

static void test_retention(void **state)
{
    char err[256];
    calldb_t *db = calldb_open(path, 2, err, sizeof(err));

    (void)state;
    assert_non_null(db);
    calldb_put(db, rec("old", 1000000.0, "answered", "a", "b", 4));
    calldb_put(db, rec("recent", 1000000.0 + 86400, "answered", "a", "b", 4));
    calldb_flush(db);
    assert_int_equal(calldb_count(db), 2);
    /* A call three days newer than the first pushes it out. */
    calldb_put(db, rec("newest", 1000000.0 + 3 * 86400, "answered", "a", "b", 4));
    calldb_flush(db);
    assert_int_equal(calldb_count(db), 2);
    assert_null(calldb_get(db, "old"));
    calldb_close(db);
}

static void test_incidents(void **state)
{
    char err[256];
    calldb_t *db = calldb_open(path, 0, err, sizeof(err));
    json_t *arr;

    (void)state;
    assert_int_equal(calldb_max_incident_id(db), 0);
    calldb_put_incident(db, json_pack("{s:i, s:s, s:f, s:n}", "id", 1, "kind",
                                      "drops_with_congestion", "start", 1000.0, "end"));
    calldb_put_incident(db, json_pack("{s:i, s:s, s:f, s:f}", "id", 2, "kind", "congestion",
                                      "start", 5000.0, "end", 5060.0));
    /* Incident 1 resolves: the same id, now with an end. */
    calldb_put_incident(db, json_pack("{s:i, s:s, s:f, s:f}", "id", 1, "kind",
                                      "drops_with_congestion", "start", 1000.0, "end", 1300.0));
    calldb_flush(db);
    assert_int_equal(calldb_max_incident_id(db), 2);
    arr = calldb_incidents(db, 0, 0, err, sizeof(err));
    assert_int_equal(json_array_size(arr), 2);
    assert_true(json_real_value(json_object_get(json_array_get(arr, 0), "end")) == 1300.0);
    json_decref(arr);
    arr = calldb_incidents(db, 1200, 1250, err, sizeof(err));
    assert_int_equal(json_array_size(arr), 1);
    json_decref(arr);
    arr = calldb_incidents(db, 1400, 4000, err, sizeof(err));
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    calldb_close(db);
}

static void test_open_errors(void **state)
{
    char err[256];

    (void)state;
    assert_null(calldb_open("/nonexistent-dir/calls.sqlite", 0, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent-dir/calls.sqlite"));
    calldb_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incidents, setup, teardown),
        cmocka_unit_test(test_open_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
