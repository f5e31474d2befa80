/* The web module: parameter parsing, the API over real HTTP (libcurl
 * against a server on an ephemeral loopback port), sources that are
 * missing, merging of the snapshot's live data, /metrics, basic
 * authentication and the path rules. */
#include "autoconf.h"

#include <crypt.h>
#include <errno.h>
#include <math.h>
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
#include <curl/curl.h>

#include "calldb/calldb.h"
#include "common/config.h"
#include "common/fs.h"
#include "common/metrics.h"
#include "common/status.h"
#include "web/web.h"
#include "web/webutil.h"

/* ---------------------------------------------------------------- helpers */

static char *tmpdir;

static int setup_dir(void **state)
{
    (void)state;
    assert_non_null(tmpdir = cw_mkdtemp("cw-test-web"));
    return 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    cw_rmtree(tmpdir);
    free(tmpdir);
    tmpdir = NULL;
    return 0;
}

struct resp {
    long status;
    web_buf_t body;
    web_buf_t headers;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    web_buf_add(ud, p, size * n);
    return size * n;
}

/* GET (or method) url path on the server; fills r. */
static void fetch(const web_t *w, const char *method, const char *path, const char *userpwd,
                  struct resp *r)
{
    CURL *c = curl_easy_init();
    char url[1024];

    memset(r, 0, sizeof(*r));
    web_buf_puts(&r->body, "");
    web_buf_puts(&r->headers, "");
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", web_port(w), path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (method && strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (method)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (userpwd) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
    }
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
}

static void resp_free(struct resp *r)
{
    free(r->body.p);
    free(r->headers.p);
}

static json_t *fetch_json(const web_t *w, const char *path, long want_status)
{
    struct resp r;
    json_error_t e;
    json_t *j;

    fetch(w, NULL, path, NULL, &r);
    if (r.status != want_status)
        fail_msg("%s: status %ld, want %ld: %s", path, r.status, want_status, r.body.p);
    assert_non_null(strstr(r.headers.p, "Content-Type: application/json"));
    j = json_loads(r.body.p, 0, &e);
    if (!j)
        fail_msg("%s: not JSON (%s): %s", path, e.text, r.body.p);
    resp_free(&r);
    return j;
}

/* The status code only. */
static long status_of(const web_t *w, const char *path)
{
    struct resp r;
    long s;

    fetch(w, NULL, path, NULL, &r);
    s = r.status;
    resp_free(&r);
    return s;
}

static web_t *start(const web_sources_t *src, const char *users)
{
    web_options_t o = { .listen = "127.0.0.1:0", .users_file = users };
    web_t *w = NULL;
    char err[512];

    if (web_start(&o, src, &w, err, sizeof(err)) != 0)
        fail_msg("web_start: %s", err);
    assert_true(web_port(w) > 0);
    return w;
}

/* ---------------------------------------------------------------- parsing */

static void test_parse_time(void **state)
{
    static const struct {
        const char *in;
        double want; /* NAN: refused */
    } cases[] = {
        { "1700000000", 1700000000.0 },
        { "1700000000.25", 1700000000.25 },
        { "0", 0.0 },
        { "2026-11-26T14:00:00Z", 1795701600.0 },
        { "2026-11-26t14:00:00z", 1795701600.0 },
        { "2026-11-26 14:00:00Z", 1795701600.0 },
        { "2026-11-26T14:00Z", 1795701600.0 },
        { "2026-11-26T14:00", 1795701600.0 },
        { "2026-11-26T15:00:00+01:00", 1795701600.0 },
        { "2026-11-26T15:00:00 01:00", 1795701600.0 }, /* + became a space */
        { "2026-11-26T09:00:00-0500", 1795701600.0 },
        { "2026-11-26T15:30:00+0130", 1795701600.0 },
        { "2026-11-26T14:00:00.5Z", 1795701600.5 },
        { "2026-11-26", 1795651200.0 },
        { "2024-02-29T00:00:00Z", 1709164800.0 },
        { "1970-01-01T00:00:00Z", 0.0 },
        { "", NAN },
        { "-5", NAN },
        { "1e9", NAN },
        { "yesterday", NAN },
        { "2026-13-01", NAN },
        { "2026-02-30", NAN },
        { "2023-02-29", NAN },
        { "2026-11-26T24:00", NAN },
        { "2026-11-26T14:60", NAN },
        { "2026-11-26T14:00:00+25:00", NAN },
        { "2026-11-26T14:00:00Zjunk", NAN },
        { "2026-11-26T14", NAN },
        { "1700000000.", NAN },
        { "99999999999999999999999", NAN },
        { "1969-12-31T23:59:59Z", NAN },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double got = -1;
        int rc = web_parse_time(cases[i].in, &got);

        if (isnan(cases[i].want)) {
            if (rc != -EINVAL)
                fail_msg("\"%s\" accepted as %f", cases[i].in, got);
        } else if (rc != 0 || fabs(got - cases[i].want) > 1e-6) {
            fail_msg("\"%s\": rc %d, got %f, want %f", cases[i].in, rc, got, cases[i].want);
        }
    }
}

static void test_pct_decode(void **state)
{
    static const struct {
        const char *in;
        bool plus;
        const char *want; /* NULL: refused */
    } cases[] = {
        { "abc", false, "abc" },   { "a%20b", false, "a b" },
        { "a+b", true, "a b" },    { "a+b", false, "a+b" },
        { "%2e%2E", false, ".." }, { "%252e", false, "%2e" }, /* decoded once only */
        { "%2f", false, "/" },     { "%00", false, NULL },
        { "%", false, NULL },      { "%4", false, NULL },
        { "%zz", false, NULL },    { "%4g", false, NULL },
        { "", false, "" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = NULL;
        int rc = web_pct_decode(cases[i].in, strlen(cases[i].in), cases[i].plus, &out);

        if (!cases[i].want) {
            if (rc != -EINVAL)
                fail_msg("\"%s\" accepted as \"%s\"", cases[i].in, out);
        } else {
            if (rc != 0)
                fail_msg("\"%s\" refused", cases[i].in);
            assert_string_equal(out, cases[i].want);
        }
        free(out);
    }
}

static void test_query(void **state)
{
    static const char *const allowed[] = { "from", "to", NULL };
    web_query_t q;
    char err[256];

    (void)state;
    assert_int_equal(
        web_query_parse("from=1&to=2026-11-26T15%3A00%3A00%2B01%3A00&x", &q, err, sizeof(err)), 0);
    assert_int_equal(q.n, 3);
    assert_string_equal(web_query_get(&q, "from"), "1");
    assert_string_equal(web_query_get(&q, "to"), "2026-11-26T15:00:00+01:00");
    assert_string_equal(web_query_get(&q, "x"), "");
    assert_null(web_query_get(&q, "y"));
    assert_int_equal(web_query_allowed(&q, allowed, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "x: unknown parameter"));
    web_query_free(&q);

    assert_int_equal(web_query_parse("a=1&&b=2&", &q, err, sizeof(err)), 0);
    assert_int_equal(q.n, 2);
    web_query_free(&q);
    assert_int_equal(web_query_parse("", &q, err, sizeof(err)), 0);
    assert_int_equal(q.n, 0);
    assert_int_equal(web_query_parse(NULL, &q, err, sizeof(err)), 0);

    assert_int_equal(web_query_parse("from=1&from=2", &q, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "from: given more than once"));
    assert_int_equal(web_query_parse("party=a%00b", &q, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "party"));
    assert_int_equal(web_query_parse("party=%zz", &q, err, sizeof(err)), -EINVAL);
    {
        web_buf_t b = { 0 };

        for (int i = 0; i < WEB_QUERY_MAX + 1; i++)
            web_buf_printf(&b, "k%d=1&", i);
        assert_int_equal(web_query_parse(b.p, &q, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "too many"));
        free(b.p);
    }
}

static void test_base64_and_compare(void **state)
{
    unsigned char out[64];
    size_t n;

    (void)state;
    assert_int_equal(web_base64_decode("YWxpY2U6c2VjcmV0", out, sizeof(out), &n), 0);
    assert_int_equal(n, 12);
    assert_memory_equal(out, "alice:secret", 12);
    assert_int_equal(web_base64_decode("YQ==", out, sizeof(out), &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(web_base64_decode("YWI=", out, sizeof(out), &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(web_base64_decode("YQ=", out, sizeof(out), &n), -EINVAL);
    assert_int_equal(web_base64_decode("Y=Q=", out, sizeof(out), &n), -EINVAL);
    assert_int_equal(web_base64_decode("YW!j", out, sizeof(out), &n), -EINVAL);
    assert_int_equal(web_base64_decode("YWxpY2U6c2VjcmV0", out, 4, &n), -EINVAL);

    {
        /* The reference vector of the SipHash paper (appendix A). */
        uint8_t key[16], msg[15];

        for (int i = 0; i < 16; i++)
            key[i] = (uint8_t)i;
        for (int i = 0; i < 15; i++)
            msg[i] = (uint8_t)i;
        assert_true(web_siphash(key, msg, 15) == 0xa129ca6149be45e5ULL);
        assert_true(web_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
    }
    assert_true(web_secure_equal("abc", "abc"));
    assert_false(web_secure_equal("abc", "abd"));
    assert_false(web_secure_equal("abc", "ab"));
    assert_false(web_secure_equal("ab", "abc"));
    assert_true(web_secure_equal("", ""));
}

static void test_prom_format(void **state)
{
    web_buf_t b = { 0 };

    (void)state;
    web_buf_prom_label(&b, "a\"b\\c\nd");
    assert_string_equal(b.p, "a\\\"b\\\\c\\nd");
    b.len = 0;
    web_buf_prom_value(&b, 3);
    web_buf_puts(&b, " ");
    web_buf_prom_value(&b, 0.97);
    web_buf_puts(&b, " ");
    web_buf_prom_value(&b, NAN);
    web_buf_puts(&b, " ");
    web_buf_prom_value(&b, INFINITY);
    assert_string_equal(b.p, "3 0.96999999999999997 NaN +Inf");
    free(b.p);
}

static void test_config_web(void **state)
{
    static const struct {
        const char *text, *err; /* err NULL: accepted */
    } cases[] = {
        { "[web]\nlisten = 127.0.0.1:9000\nusers = /etc/cw-users\n", NULL },
        { "[web]\nlisten = [::1]:0\n", NULL },
        { "[web]\nlisten = off\n", NULL },
        { "[web]\ntls_cert = a.pem\ntls_key = k.pem\n", NULL },
        { "[web]\n\nlisten = 8080\n", ":3: listen: \"8080\" is not ADDR:PORT" },
        { "[web]\nlisten = ::1:8080\n", ":2: listen" },
        { "[web]\nlisten = [::1]8080\n", ":2: listen" },
        { "[web]\nlisten = host:70000\n", ":2: listen" },
        { "[web]\ntls_cert = a.pem\n", "tls_cert and tls_key go together" },
        { "[web]\nusers =\n", ":2: users: empty value" },
        { "[web]\nthreads = 4\n", ":2: unknown key \"threads\"" },
    };
    char path[128], err[512];

    (void)state;
    snprintf(path, sizeof(path), "%s/web.ini", tmpdir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *f = fopen(path, "w");
        cw_config_t cfg;
        int rc;

        assert_non_null(f);
        fputs(cases[i].text, f);
        fclose(f);
        config_init(&cfg);
        rc = config_load(&cfg, path, err, sizeof(err));
        if (!cases[i].err && rc != 0)
            fail_msg("case %zu refused: %s", i, err);
        if (cases[i].err && (rc == 0 || !strstr(err, cases[i].err)))
            fail_msg("case %zu: rc %d, err \"%s\", want \"%s\"", i, rc, rc ? err : "",
                     cases[i].err);
        config_free(&cfg);
    }
    assert_true(config_listen_valid("0.0.0.0:8080"));
    assert_true(config_listen_valid("localhost:0"));
    assert_false(config_listen_valid(":8080"));
    assert_false(config_listen_valid("[]:8080"));
}

/* ---------------------------------------------------------------- server */

static void test_missing_sources(void **state)
{
    web_sources_t src = { 0 };
    web_t *w;
    struct resp r;

    (void)state;
    w = start(&src, NULL);
    {
        static const char *const paths[] = {
            "/api/calls", "/api/calls/x",           "/api/incidents",         "/api/status",
            "/metrics",   "/api/series?metric=a.b", "/graph/calls.active.png"
        };

        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
            json_t *j = fetch_json(w, paths[i], 503);

            assert_true(strlen(json_string_value(json_object_get(j, "error"))) > 10);
            json_decref(j);
        }
    }
    /* Parameters are checked before the source: a 400 names the parameter. */
    {
        json_t *j = fetch_json(w, "/api/calls?from=soon", 400);

        assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "from"));
        json_decref(j);
    }
    fetch(w, NULL, "/", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers.p, "Content-Type: text/html"));
    assert_non_null(strstr(r.headers.p, "Content-Security-Policy: default-src 'self'"));
    assert_non_null(strstr(r.headers.p, "frame-ancestors 'none'"));
    assert_non_null(strstr(r.headers.p, "X-Content-Type-Options: nosniff"));
    assert_non_null(strstr(r.body.p, "<script src=\"static/app.js\""));
    resp_free(&r);
    web_stop(w);
}

static void test_static_and_paths(void **state)
{
    web_sources_t src = { 0 };
    web_t *w;
    struct resp r;
    char etag[64] = "", path[128];
    const char *p;

    (void)state;
    w = start(&src, NULL);
    fetch(w, NULL, "/static/app.js", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers.p, "Content-Type: text/javascript"));
    assert_non_null(strstr(r.body.p, "textContent"));
    assert_null(strstr(r.body.p, "innerHTML ="));
    p = strstr(r.headers.p, "ETag: ");
    assert_non_null(p);
    sscanf(p + 6, "%63s", etag);
    resp_free(&r);
    fetch(w, NULL, "/static/app.css", NULL, &r);
    assert_non_null(strstr(r.headers.p, "Content-Type: text/css"));
    resp_free(&r);
    fetch(w, NULL, "/static/favicon.svg", NULL, &r);
    assert_non_null(strstr(r.headers.p, "Content-Type: image/svg+xml"));
    resp_free(&r);

    /* A matching If-None-Match gives 304. */
    {
        CURL *c = curl_easy_init();
        struct curl_slist *h = NULL;
        char url[128], hdr[128];
        long code = 0;
        web_buf_t body = { 0 };

        snprintf(url, sizeof(url), "http://127.0.0.1:%u/static/app.js", web_port(w));
        snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag);
        h = curl_slist_append(h, hdr);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
        assert_int_equal(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        assert_int_equal(code, 304);
        assert_true(body.len == 0);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
    }

    /* Nothing outside the embedded files, however the path is spelt. */
    {
        static const char *const bad[] = {
            "/static/../web.h",
            "/static/..%2f..%2fserver.c",
            "/static/%2e%2e/%2e%2e/etc/passwd",
            "/static/%252e%252e/x",
            "/static/..\\..\\web.h",
            "/static/app.js%00.png",
            "/static//app.js",
            "/static/",
            "/../../etc/passwd",
            "/%2e%2e/%2e%2e/etc/passwd",
            "/etc/passwd",
            "/static/app.js/",
            "/STATIC/app.js",
            "/index.html/..",
            "/api/calls/%zz",
            "/graph/..%2f..%2fx.png",
            "/graph/.png",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            long s;

            fetch(w, NULL, bad[i], NULL, &r);
            s = r.status;
            if (s != 404 && s != 400 && s != 503)
                fail_msg("%s: status %ld", bad[i], s);
            if (strstr(r.body.p, "#include") || strstr(r.body.p, "root:"))
                fail_msg("%s: served a file", bad[i]);
            assert_non_null(strstr(r.headers.p, "application/json"));
            resp_free(&r);
        }
    }
    /* Only GET and HEAD; 405 says which. */
    fetch(w, "DELETE", "/api/calls", NULL, &r);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.headers.p, "Allow: GET, HEAD"));
    resp_free(&r);
    fetch(w, "HEAD", "/", NULL, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    snprintf(path, sizeof(path), "/no/such/thing");
    assert_int_equal(status_of(w, path), 404);
    web_stop(w);
}

static json_t *call(const char *id, double start, const char *outcome, const char *caller,
                    double mos)
{
    json_t *streams = json_array();

    if (mos > 0)
        json_array_append_new(streams, json_pack("{s:f, s:f}", "mos", mos, "mos_min", mos));
    return json_pack("{s:s, s:f, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:[{s:s, s:s, s:s, s:f}]}",
                     "call_id", id, "start", start, "outcome", outcome, "from",
                     "sip:alice@example.com", "to", "sip:bob@example.com", "from_display", "Alice",
                     "caller", caller, "callee", "10.9.9.9:5060", "streams", streams, "messages",
                     "src", caller, "dst", "10.9.9.9:5060", "label", "INVITE", "t", start);
}

/* What the merged listing must give: every call sorted by start (asc). */
static void check_page(const web_t *w, const char *q, const char *const *want, size_t nwant,
                       long total)
{
    char path[256];
    json_t *j, *calls;

    snprintf(path, sizeof(path), "/api/calls?%s", q);
    j = fetch_json(w, path, 200);
    calls = json_object_get(j, "calls");
    if (json_array_size(calls) != nwant)
        fail_msg("%s: %zu calls, want %zu", q, json_array_size(calls), nwant);
    for (size_t i = 0; i < nwant; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(calls, i), "call_id")),
                            want[i]);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), total);
    json_decref(j);
}

static void test_calls_and_live_merge(void **state)
{
    char path[128], err[256];
    calldb_t *db;
    status_t *st = status_new();
    web_sources_t src = { 0 };
    web_t *w;
    json_t *j;

    (void)state;
    snprintf(path, sizeof(path), "%s/calls.sqlite", tmpdir);
    db = calldb_open(path, 0, err, sizeof(err));
    assert_non_null(db);
    /* Ended calls in the database at 100, 200, ... 500 ... */
    calldb_put(db, call("e1", 100, "answered", "10.0.0.1:5060", 4.2));
    calldb_put(db, call("e2", 200, "failed", "10.0.0.2:5060", 0));
    calldb_put(db, call("e3", 300, "dropped", "10.0.0.3:5060", 2.5));
    calldb_put(db, call("e4", 400, "answered", "10.0.0.4:5060", 3.9));
    calldb_put(db, call("e5", 500, "cancelled", "10.0.0.5:5060", 0));
    assert_int_equal(calldb_flush(db), 0);
    /* ... and live ones only the snapshot knows, at 150, 350, 600. */
    {
        json_t *snap = json_pack("{s:f, s:i, s:{s:s, s:b}, s:[o, o, o]}", "now", 700.0, "step", 10,
                                 "capture", "mode", "live", "finished", 0, "active_calls",
                                 call("a1", 150, "active", "10.0.1.1:5060", 4.4),
                                 call("a2", 350, "active", "10.0.1.2:5060", 1.5),
                                 call("a3", 600, "active", "10.0.1.3:5060", 0));

        status_publish(st, snap);
    }
    src.status = st;
    src.db = db;
    w = start(&src, NULL);
    {
        static const char *const all[] = { "e1", "a1", "e2", "e3", "a2", "e4", "e5", "a3" };

        check_page(w, "limit=100", all, 8, 8);
        for (long off = 0; off < 9; off++) {
            for (long lim = 1; lim <= 3; lim++) {
                char q[64];
                size_t n = off >= 8 ? 0 : (size_t)(8 - off < lim ? 8 - off : lim);

                snprintf(q, sizeof(q), "limit=%ld&offset=%ld", lim, off);
                check_page(w, q, all + (off < 8 ? off : 0), n, 8);
            }
        }
    }
    {
        static const char *const desc[] = { "a3", "e5", "e4", "a2", "e3", "e2", "a1", "e1" };

        check_page(w, "order=desc&limit=3&offset=2", desc + 2, 3, 8);
        check_page(w, "sort=start&order=desc", desc, 8, 8);
    }
    {
        /* By MOS: NULL first (e2, e5, a3), then ascending. */
        static const char *const bymos[] = { "e2", "e5", "a3", "a2", "e3", "e4", "e1", "a1" };

        check_page(w, "sort=mos", bymos, 8, 8);
        check_page(w, "sort=mos&limit=2&offset=3", bymos + 3, 2, 8);
    }
    {
        static const char *const active[] = { "a1", "a2", "a3" };
        static const char *const ended[] = { "e1", "e2", "e3", "e4", "e5" };
        static const char *const range[] = { "a1", "e2", "e3", "a2" };
        static const char *const addr[] = { "a2" };

        check_page(w, "state=active", active, 3, 3);
        check_page(w, "state=ended", ended, 5, 5);
        check_page(w, "from=150&to=350", range, 4, 4);
        check_page(w, "from=1970-01-01T00:02:30Z&to=1970-01-01T00:05:50%2B00:00", range, 4, 4);
        check_page(w, "addr=10.0.1.2", addr, 1, 1);
        check_page(w, "outcome=dropped", (const char *const[]){ "e3" }, 1, 1);
    }
    /* Bad parameters name themselves. */
    {
        static const char *const bad[][2] = {
            { "/api/calls?limit=0", "limit" },
            { "/api/calls?limit=100001", "limit" },
            { "/api/calls?offset=-1", "offset" },
            { "/api/calls?sort=color", "sort" },
            { "/api/calls?order=up", "order" },
            { "/api/calls?state=gone", "state" },
            { "/api/calls?from=300&to=200", "from" },
            { "/api/calls?to=2026-99-01", "to" },
            { "/api/calls?limit=1&limit=2", "limit" },
            { "/api/calls?party=%00", "party" },
            { "/api/incidents?from=x", "from" },
            { "/api/series?metric=a%20b", "metric" },
            { "/api/series?metric=calls.active&start=5&end=4", "start" },
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            const char *e;

            j = fetch_json(w, bad[i][0], 400);
            e = json_string_value(json_object_get(j, "error"));
            if (!e || strncmp(e, bad[i][1], strlen(bad[i][1])) != 0)
                fail_msg("%s: error \"%s\" does not start with %s", bad[i][0], e, bad[i][1]);
            json_decref(j);
        }
    }
    /* One call: the live one from the snapshot, ended ones with messages. */
    j = fetch_json(w, "/api/calls/a2", 200);
    assert_string_equal(json_string_value(json_object_get(j, "outcome")), "active");
    assert_true(json_is_array(json_object_get(j, "streams")));
    json_decref(j);
    j = fetch_json(w, "/api/calls/e3", 200);
    assert_int_equal(json_array_size(json_object_get(j, "messages")), 1);
    json_decref(j);
    j = fetch_json(w, "/api/calls/nope", 404);
    json_decref(j);

    /* At the end of an offline run the database has everything. */
    status_publish(st, json_pack("{s:f, s:{s:s, s:b}, s:[o]}", "now", 700.0, "capture", "mode",
                                 "offline", "finished", 1, "active_calls",
                                 call("a1", 150, "active", "10.0.1.1:5060", 4.4)));
    check_page(w, "", (const char *const[]){ "e1", "e2", "e3", "e4", "e5" }, 5, 5);
    web_stop(w);
    calldb_close(db);
    status_free(st);
}

/* A fake RRD store: counts calls, returns what the test asks. */
struct fake {
    int series_rc, graph_rc;
    size_t last_nshade;
    int calls;
};

static int fake_series(void *ud, const char *metric, time_t start, time_t end, json_t **out,
                       char *err, size_t errlen)
{
    struct fake *f = ud;

    f->calls++;
    if (f->series_rc) {
        snprintf(err, errlen, "fake says %d", f->series_rc);
        return f->series_rc;
    }
    *out = json_pack("{s:s, s:i, s:[[I, f], [I, n]]}", "metric", metric, "step", 60, "points",
                     (json_int_t)start, 1.5, (json_int_t)end);
    return 0;
}

static int fake_graph(void *ud, const char *name, time_t start, time_t end, int width, int height,
                      const web_window_t *shade, size_t nshade, unsigned char **png, size_t *len,
                      char *err, size_t errlen)
{
    struct fake *f = ud;

    (void)name;
    (void)start;
    (void)end;
    (void)shade;
    f->calls++;
    f->last_nshade = nshade;
    if (f->graph_rc) {
        snprintf(err, errlen, "no graph");
        return f->graph_rc;
    }
    *png = malloc(16);
    memcpy(*png, "\x89PNG\r\n\x1a\n", 8);
    memset(*png + 8, 0, 8);
    (*png)[8] = (unsigned char)(width / 100);
    (*png)[9] = (unsigned char)(height / 10);
    *len = 16;
    return 0;
}

static json_t *fake_targets(void *ud)
{
    (void)ud;
    return json_pack("[{s:s, s:s, s:s}]", "name", "wan0", "kind", "link", "state", "ok");
}

static void test_providers_incidents_metrics(void **state)
{
    char path[128], err[256];
    calldb_t *db;
    status_t *st = status_new();
    metrics_t *m = metrics_new();
    struct fake fk = { 0 };
    web_sources_t src = { 0 };
    web_t *w;
    json_t *j;
    struct resp r;

    (void)state;
    snprintf(path, sizeof(path), "%s/inc.sqlite", tmpdir);
    db = calldb_open(path, 0, err, sizeof(err));
    assert_non_null(db);
    calldb_put_incident(db, json_pack("{s:i, s:s, s:f, s:f, s:i}", "id", 1, "kind",
                                      "drops_with_congestion", "start", 1000.0, "end", 1100.0,
                                      "dropped_calls", 12));
    calldb_put_incident(db, json_pack("{s:i, s:s, s:f, s:f}", "id", 2, "kind", "congestion",
                                      "start", 5000.0, "end", 5100.0));
    calldb_put_incident(db, json_pack("{s:i, s:s, s:f, s:n}", "id", 3, "kind", "congestion",
                                      "start", 6000.0, "end"));
    assert_int_equal(calldb_flush(db), 0);
    status_publish(st,
                   json_pack("{s:f, s:i, s:{s:s, s:I, s:I, s:{s:i}, s:{s:i, s:i}}, "
                             "s:{s:i, s:i, s:i, s:i, "
                             "s:i, s:i, s:i, s:i, s:i}, s:[{s:i, s:s, s:f, s:n, s:i}], "
                             "s:{s:[f, f, f], s:[i, i, i, i], s:f, s:i}}",
                             "now", 7000.0, "step", 10, "capture", "mode", "live", "kernel_dropped",
                             (json_int_t)7, "kernel_ifdropped", (json_int_t)2, "malformed",
                             "udp_bad_length", 3, "encapsulation", "vxlan", 11, "gre", 4, "calls",
                             "active", 2, "in_progress", 3, "attempts", 20, "answered", 15,
                             "failed", 4, "cancelled", 1, "unanswered", 0, "dropped", 5, "partial",
                             2, "open_incidents", "id", 3, "kind", "drops_with_congestion", "start",
                             6000.0, "end", "dropped_calls", 4, "mos_histogram", "bounds", 2.0, 3.5,
                             4.0, "counts", 1, 2, 3, 4, "sum", 35.5, "count", 10));
    metrics_put(m, "link.wan0.util_pct", CW_SEC(6990), 97.0);
    metrics_put(m, "link.lan-1.util_pct", CW_SEC(6990), 12.5);
    metrics_put(m, "cpu.fw1.pct", CW_SEC(6990), 99.0);
    metrics_put(m, "calls.active", CW_SEC(6990), 2);
    src.status = st;
    src.db = db;
    src.metrics = m;
    src.series = fake_series;
    src.graph = fake_graph;
    src.targets = fake_targets;
    src.ud = &fk;
    w = start(&src, NULL);

    /* Incidents: the database's, with the open one from the snapshot. */
    j = fetch_json(w, "/api/incidents", 200);
    assert_int_equal(json_array_size(json_object_get(j, "incidents")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "open")), 1);
    {
        json_t *third = json_array_get(json_object_get(j, "incidents"), 2);

        assert_int_equal(json_integer_value(json_object_get(third, "id")), 3);
        assert_string_equal(json_string_value(json_object_get(third, "kind")),
                            "drops_with_congestion");
        assert_true(json_is_true(json_object_get(third, "open")));
        assert_true(json_is_false(
            json_object_get(json_array_get(json_object_get(j, "incidents"), 0), "open")));
    }
    json_decref(j);
    j = fetch_json(w, "/api/incidents?from=900&to=1050", 200);
    assert_int_equal(json_array_size(json_object_get(j, "incidents")), 1);
    json_decref(j);
    j = fetch_json(w, "/api/incidents?from=5500", 200);
    assert_int_equal(json_array_size(json_object_get(j, "incidents")), 1); /* the open one */
    json_decref(j);

    /* Series through the provider, its errors mapped to statuses. */
    j = fetch_json(w, "/api/series?metric=calls.active&start=100&end=200", 200);
    assert_int_equal(json_integer_value(json_object_get(j, "step")), 60);
    assert_true(json_is_null(json_array_get(json_array_get(json_object_get(j, "points"), 1), 1)));
    json_decref(j);
    /* Default range: the hour before the probe's clock. */
    j = fetch_json(w, "/api/series?metric=calls.active", 200);
    assert_int_equal(
        json_integer_value(json_array_get(json_array_get(json_object_get(j, "points"), 0), 0)),
        7000 - 3600);
    json_decref(j);
    fk.series_rc = -ENOENT;
    json_decref(fetch_json(w, "/api/series?metric=x.y", 404));
    fk.series_rc = -EINVAL;
    json_decref(fetch_json(w, "/api/series?metric=x.y", 400));
    fk.series_rc = -EIO;
    json_decref(fetch_json(w, "/api/series?metric=x.y", 500));

    /* Graphs: PNG, sizes passed on, incidents in the window shaded. */
    fetch(w, NULL, "/graph/link.wan0.util_pct.png?start=900&end=1200&width=300&height=90", NULL,
          &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers.p, "Content-Type: image/png"));
    assert_int_equal(r.body.len, 16);
    assert_int_equal((unsigned char)r.body.p[8], 3);
    assert_int_equal((unsigned char)r.body.p[9], 9);
    assert_int_equal(fk.last_nshade, 1);
    resp_free(&r);
    assert_int_equal(status_of(w, "/graph/link.wan0.util_pct.png?width=99"), 400);
    assert_int_equal(status_of(w, "/graph/link.wan0.util_pct.png?start=6500&end=6600"), 200);
    assert_int_equal(fk.last_nshade, 1); /* the open incident reaches the end */
    fk.graph_rc = -ENOENT;
    assert_int_equal(status_of(w, "/graph/nothing.png"), 404);

    /* Status: counters, latest values, targets; no call list. */
    j = fetch_json(w, "/api/status", 200);
    assert_null(json_object_get(j, "active_calls"));
    assert_int_equal(json_array_size(json_object_get(j, "targets")), 1);
    assert_true(json_is_array(json_object_get(json_object_get(j, "latest"), "cpu.fw1.pct")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "calls"), "attempts")),
                     20);
    json_decref(j);

    /* /metrics */
    fetch(w, NULL, "/metrics", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers.p, "Content-Type: text/plain; version=0.0.4"));
    {
        static const char *const want[] = {
            "# TYPE callwatch_calls_active gauge\ncallwatch_calls_active 2\n",
            "callwatch_calls_total{outcome=\"answered\"} 8\n",
            "callwatch_calls_total{outcome=\"dropped\"} 5\n",
            "callwatch_calls_total{outcome=\"failed\"} 4\n",
            "# TYPE callwatch_calls_partial_total counter\ncallwatch_calls_partial_total 2\n",
            "# TYPE callwatch_rtp_mos histogram\n",
            "callwatch_rtp_mos_bucket{le=\"2\"} 1\n",
            "callwatch_rtp_mos_bucket{le=\"3.5\"} 3\n",
            "callwatch_rtp_mos_bucket{le=\"4\"} 6\n",
            "callwatch_rtp_mos_bucket{le=\"+Inf\"} 10\n",
            "callwatch_rtp_mos_sum 35.5\n",
            "callwatch_rtp_mos_count 10\n",
            "callwatch_link_util_ratio{link=\"wan0\"} 0.96999999999999997\n",
            "callwatch_link_util_ratio{link=\"lan-1\"} 0.125\n",
            "callwatch_cpu_ratio{device=\"fw1\"} 0.98999999999999999\n",
            "callwatch_capture_drops_total 9\n",
            "callwatch_capture_malformed_total{reason=\"udp_bad_length\"} 3\n",
            "# TYPE callwatch_capture_encapsulated_packets_total counter\n"
            "callwatch_capture_encapsulated_packets_total{encap=\"vxlan\"} 11\n"
            "callwatch_capture_encapsulated_packets_total{encap=\"gre\"} 4\n",
            "# TYPE callwatch_incidents_open gauge\ncallwatch_incidents_open 1\n",
        };

        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
            if (!strstr(r.body.p, want[i]))
                fail_msg("/metrics lacks \"%s\":\n%s", want[i], r.body.p);
    }
    resp_free(&r);
    /* A histogram that does not add up is left out, not made up. */
    status_publish(st, json_pack("{s:{s:[f, f], s:[i], s:f}}", "mos_histogram", "bounds", 2.0, 3.0,
                                 "counts", 1, "sum", 1.0));
    fetch(w, NULL, "/metrics", NULL, &r);
    assert_non_null(strstr(r.body.p, "# TYPE callwatch_rtp_mos histogram\n"));
    assert_null(strstr(r.body.p, "callwatch_rtp_mos_bucket"));
    resp_free(&r);
    web_stop(w);
    calldb_close(db);
    metrics_free(m);
    status_free(st);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_basic_auth(void **state)
{
    char users[128], text[512], err[512];
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    const char *hash = crypt_r("s3cret pass", "$6$cwtestsalt$", cd);
    web_sources_t src = { 0 };
    web_options_t o = { .listen = "127.0.0.1:0" };
    web_t *w = NULL;
    struct resp r;

    (void)state;
    assert_non_null(hash);
    snprintf(users, sizeof(users), "%s/users", tmpdir);
    snprintf(text, sizeof(text), "# analysts\n\nalice:%s\nbob:%s\n", hash, hash);
    write_file(users, text);
    w = start(&src, users);
    fetch(w, NULL, "/api/status", NULL, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.headers.p, "WWW-Authenticate: Basic realm=\"callwatch\""));
    resp_free(&r);
    assert_int_equal(status_of(w, "/"), 401);
    assert_int_equal(status_of(w, "/static/app.js"), 401);
    fetch(w, NULL, "/api/status", "alice:wrong", &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    fetch(w, NULL, "/api/status", "mallory:s3cret pass", &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    fetch(w, NULL, "/", "alice:s3cret pass", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    fetch(w, NULL, "/api/status", "bob:s3cret pass", &r);
    assert_int_equal(r.status, 503); /* through the door; no status source */
    resp_free(&r);
    /* Remembered good credentials do not open the door to others. */
    fetch(w, NULL, "/", "alice:s3cret pass", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    fetch(w, NULL, "/", "alice:s3cret pasS", &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    fetch(w, NULL, "/", "alice:s3cret pass ", &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    web_stop(w);

    /* Bad users files are refused, naming file:line. */
    {
        static const char *const bad[][2] = {
            { "alice\n", ":1: expected name:hash" },
            { "# x\nalice:plain\n", ":2: user \"alice\": not a crypt(3) hash" },
            { "alice:$6$x$y\nalice:$6$x$y\n", "" },
            { "\n# nobody\n", "no users" },
            { "ali ce:$6$x$y\n", ":1: user name" },
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            write_file(users, bad[i][0]);
            o.users_file = users;
            if (web_start(&o, &src, &w, err, sizeof(err)) != -EINVAL || !strstr(err, bad[i][1]))
                fail_msg("users case %zu: \"%s\"", i, err);
        }
        snprintf(text, sizeof(text), "alice:%s\nalice:%s\n", hash, hash);
        write_file(users, text);
        assert_int_equal(web_start(&o, &src, &w, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, ":2: user \"alice\" appears twice"));
        o.users_file = "/nonexistent/users";
        assert_int_equal(web_start(&o, &src, &w, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "/nonexistent/users"));
    }
    /* Options that cannot work are refused up front. */
    o.users_file = NULL;
    o.tls_cert = "/nonexistent/cert.pem";
    assert_int_equal(web_start(&o, &src, &w, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "tls_cert and tls_key go together"));
    o.tls_key = "/nonexistent/key.pem";
    assert_int_equal(web_start(&o, &src, &w, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "/nonexistent/cert.pem"));
    o.tls_cert = o.tls_key = NULL;
    o.listen = "127.0.0.1:http-alt-nope";
    assert_int_equal(web_start(&o, &src, &w, err, sizeof(err)), -EINVAL);
    free(cd);
}

static void test_listen(void **state)
{
    web_sources_t src = { 0 };
    web_options_t o = { .listen = "[::1]:0" };
    web_t *w = NULL, *w2 = NULL;
    char err[512], listen_on[64];

    (void)state;
    /* IPv6 in brackets (skipped silently only if the kernel has no ::1). */
    if (web_start(&o, &src, &w, err, sizeof(err)) == 0) {
        assert_non_null(strstr(web_url(w), "http://[::1]:"));
        web_stop(w);
    } else {
        assert_non_null(strstr(err, "[::1]:0"));
    }
    o.listen = "127.0.0.1:0";
    assert_int_equal(web_start(&o, &src, &w, err, sizeof(err)), 0);
    /* The same port twice: the second says so. */
    snprintf(listen_on, sizeof(listen_on), "127.0.0.1:%u", web_port(w));
    o.listen = listen_on;
    assert_int_equal(web_start(&o, &src, &w2, err, sizeof(err)), -EADDRINUSE);
    assert_non_null(strstr(err, "Address already in use"));
    web_stop(w);
    web_stop(NULL);
}

static void test_private_dir(void **state)
{
    char path[512];
    char *dir = cw_mkdtemp("callwatch");
    FILE *f;

    (void)state;
    assert_non_null(dir);
    snprintf(path, sizeof(path), "%s/sub", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/sub/f", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    cw_rmtree(dir);
    assert_int_equal(access(dir, F_OK), -1);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_pct_decode),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_base64_and_compare),
        cmocka_unit_test(test_prom_format),
        cmocka_unit_test(test_config_web),
        cmocka_unit_test(test_missing_sources),
        cmocka_unit_test(test_static_and_paths),
        cmocka_unit_test(test_calls_and_live_merge),
        cmocka_unit_test(test_providers_incidents_metrics),
        cmocka_unit_test(test_basic_auth),
        cmocka_unit_test(test_listen),
        cmocka_unit_test(test_private_dir),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, setup_dir, teardown_dir);
    curl_global_cleanup();
    return rc;
}
