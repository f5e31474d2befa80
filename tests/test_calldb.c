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

#include <sqlite3.h>

#include "calldb/calldb.h"
#include "calldb/calldb_pg.h"
#include "calldb/calldb_spool.h"
#include "calldb/calldb_sql.h"

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

/* A file made before sites (user_version 0) gains the site column; its
 * rows count as the probe's own. */
static void test_migrate_sites(void **state)
{
    sqlite3 *old = NULL;
    calldb_options_t o = { .path = path, .site = "branch-a" };
    calldb_filter_t f = { .site = "branch-a" };
    char err[256];
    calldb_t *db;
    json_t *r;

    (void)state;
    assert_int_equal(sqlite3_open(path, &old), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(
            old,
            "CREATE TABLE calls (id INTEGER PRIMARY KEY, call_id TEXT NOT NULL, start REAL "
            "NOT NULL, answered REAL, end REAL, outcome TEXT NOT NULL, sip_code INTEGER, "
            "end_reason TEXT, setup_ms INTEGER, from_uri TEXT, to_uri TEXT, from_display "
            "TEXT, to_display TEXT, caller TEXT, callee TEXT, codec TEXT, mos REAL, "
            "mos_min REAL, loss_pct REAL, jitter_ms REAL, record TEXT NOT NULL);"
            "CREATE UNIQUE INDEX calls_id_start ON calls(call_id, start);"
            "INSERT INTO calls (call_id, start, outcome, record) VALUES ('old', 1, "
            "'answered', '{\"call_id\":\"old\",\"start\":1}');",
            NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(old);
    db = calldb_open_options(&o, err, sizeof(err));
    if (!db)
        fail_msg("%s", err);
    calldb_put(db, json_pack("{s:s, s:f, s:s, s:s}", "call_id", "new", "start", 2.0, "outcome",
                             "failed", "site", "branch-a"));
    calldb_put(db, json_pack("{s:s, s:f, s:s, s:s}", "call_id", "other", "start", 3.0, "outcome",
                             "failed", "site", "branch-b"));
    assert_int_equal(calldb_flush(db), 0);
    r = calldb_query(db, &f, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 2);
    json_decref(r);
    assert_non_null((r = calldb_get_site(db, "old", "branch-a")));
    json_decref(r);
    assert_null(calldb_get_site(db, "other", "branch-a"));
    r = calldb_state_json(db);
    assert_string_equal(json_string_value(json_object_get(r, "backend")), "sqlite");
    assert_int_equal(json_integer_value(json_object_get(r, "written")), 2);
    json_decref(r);
    calldb_close(db);
    assert_int_equal(sqlite3_open(path, &old), SQLITE_OK);
    {
        sqlite3_stmt *st;

        assert_int_equal(sqlite3_prepare_v2(old, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(st, 0), 1);
        sqlite3_finalize(st);
    }
    sqlite3_close(old);
}

static calldb_item_t *items(int n, int first)
{
    calldb_item_t *head = NULL, **tail = &head;

    for (int i = 0; i < n; i++) {
        calldb_item_t *q = calloc(1, sizeof(*q));

        q->rec = json_pack("{s:i, s:s}", "id", first + i, "pad", "0123456789012345678901234567");
        q->incident = i % 2;
        *tail = q;
        tail = &q->next;
    }
    return head;
}

/* The spool keeps records in order across a reopen, hands them out in
 * batches, empties itself when all are sent, and drops what passes its
 * bound. */
static void test_spool(void **state)
{
    char sp[100], err[256];
    calldb_spool_t *s;
    calldb_item_t *in, *out, *q;
    size_t n;
    int want = 0;
    FILE *f;

    (void)state;
    snprintf(sp, sizeof(sp), "%s.spool", path);
    unlink(sp);
    assert_non_null((s = calldb_spool_open(sp, 1000, err, sizeof(err))));
    in = items(5, 0);
    assert_int_equal(calldb_spool_append(s, in), 0);
    calldb_spool_items_free(in);
    calldb_spool_close(s);
    /* A crash in the middle of a line: the partial line goes. */
    assert_non_null((f = fopen(sp, "a")));
    fputs("C {\"id\": 9", f);
    fclose(f);
    assert_non_null((s = calldb_spool_open(sp, 1000, err, sizeof(err))));
    assert_int_equal(calldb_spool_count(s), 5);
    assert_int_equal(calldb_spool_read(s, 3, &out, &n), 0);
    assert_int_equal(n, 3);
    for (q = out; q; q = q->next, want++) {
        assert_int_equal(json_integer_value(json_object_get(q->rec, "id")), want);
        assert_int_equal(q->incident, want % 2);
    }
    calldb_spool_items_free(out);
    calldb_spool_sent(s);
    assert_int_equal(calldb_spool_count(s), 2);
    /* Not marked sent: read again from the same place. */
    assert_int_equal(calldb_spool_read(s, 10, &out, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(json_integer_value(json_object_get(out->rec, "id")), 3);
    calldb_spool_items_free(out);
    assert_int_equal(calldb_spool_read(s, 10, &out, &n), 0);
    calldb_spool_items_free(out);
    calldb_spool_sent(s);
    assert_int_equal(calldb_spool_count(s), 0);
    assert_int_equal(calldb_spool_bytes(s), 0);
    /* Each line is 50 bytes: 1000 bytes hold 20 of 30. */
    in = items(30, 100);
    assert_int_equal(calldb_spool_append(s, in), 10);
    calldb_spool_items_free(in);
    assert_int_equal(calldb_spool_count(s), 20);
    assert_int_equal(calldb_spool_dropped(s), 10);
    calldb_spool_close(s);
    unlink(sp);
}

/* WHERE and ORDER BY for both backends. */
static void test_sql_query(void **state)
{
    static const struct {
        calldb_filter_t f;
        enum calldb_sql_style style;
        const char *where, *order;
        int nparams;
    } cases[] = {
        { { .sort = NULL }, CALLDB_SQL_SQLITE, "1=1", "\"start\" ASC, id", 0 },
        { { .from = 5, .site = "a", .descending = true },
          CALLDB_SQL_SQLITE,
          "1=1 AND start >= ?1 AND (site IS NULL OR site = ?2)",
          "\"start\" DESC, id",
          2 },
        { { .site = "a", .outcome = "failed", .sort = "outcome" },
          CALLDB_SQL_PG,
          "1=1 AND site = $1 AND outcome = $2",
          "\"outcome\" COLLATE \"C\" ASC NULLS FIRST, id",
          2 },
        { { .addr = "10.0", .state = "ended", .sort = "mos", .descending = true },
          CALLDB_SQL_PG,
          "1=1 AND outcome <> 'active' AND (strpos(caller, $1) > 0 OR strpos(callee, $1) > 0)",
          "\"mos\" DESC NULLS LAST, id",
          1 },
        { { .party = "bob", .sort = "bogus" },
          CALLDB_SQL_SQLITE,
          "1=1 AND (instr(from_uri, ?1) > 0 OR instr(to_uri, ?1) > 0 OR instr(from_display, ?1) > "
          "0 OR instr(to_display, ?1) > 0)",
          "\"start\" ASC, id",
          1 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        calldb_sql_query_t q;

        calldb_sql_query(&cases[i].f, cases[i].style, &q);
        if (strcmp(q.where, cases[i].where) || strcmp(q.order, cases[i].order) ||
            q.nparams != cases[i].nparams)
            fail_msg("case %zu: \"%s\" \"%s\" %d", i, q.where, q.order, q.nparams);
    }
}

static void test_redact(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "postgresql://cw@db:5432/calls", "postgresql://cw@db:5432/calls" },
        { "postgresql://cw:s3cret@db:5432/calls", "postgresql://cw:***@db:5432/calls" },
        { "postgres://db/calls?user=x", "postgres://db/calls?user=x" },
    };
    char out[128];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        calldb_pg_redact(cases[i].in, out, sizeof(out));
        assert_string_equal(out, cases[i].out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incidents, setup, teardown),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test_setup_teardown(test_migrate_sites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool, setup, teardown),
        cmocka_unit_test(test_sql_query),
        cmocka_unit_test(test_redact),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
