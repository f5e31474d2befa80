#include "autoconf.h"

#include "engine/report.h"

#include "sip/calls.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *capture_section(const engine_t *e)
{
    engine_capture_info_t ci;
    decode_stats_t ds;
    json_t *cap = json_object(), *files = json_array(), *mal = json_object();

    engine_capture_info(e, &ci);
    engine_decode_stats(e, &ds);
    for (size_t i = 0; i < ci.nfiles; i++)
        json_array_append_new(files, json_string(ci.files[i]));
    for (int r = 0; r < DR_COUNT; r++)
        if (ds.malformed[r])
            json_object_set_new(mal, decode_reason_name(r),
                                json_integer((json_int_t)ds.malformed[r]));

    json_object_set_new(cap, "files", files);
    json_object_set_new(cap, "packets", json_integer((json_int_t)ci.packets));
    json_object_set_new(cap, "bytes", json_integer((json_int_t)ci.bytes));
    json_object_set_new(cap, "start", json_real(ci.packets ? cw_ns_to_sec(ci.start) : 0.0));
    json_object_set_new(cap, "end", json_real(ci.packets ? cw_ns_to_sec(ci.end) : 0.0));
    {
        engine_sip_stats_t ss;

        engine_sip_stats(e, &ss);
        engine_sip_malformed(&ss, mal);
        json_object_set_new(cap, "sip_messages", json_integer((json_int_t)ss.messages));
    }
    json_object_set_new(cap, "malformed", mal);
    /* Beyond the contract's minimum: what a person asks next. */
    json_object_set_new(cap, "ipv4", json_integer((json_int_t)ds.ipv4));
    json_object_set_new(cap, "ipv6", json_integer((json_int_t)ds.ipv6));
    json_object_set_new(cap, "not_ip", json_integer((json_int_t)ds.not_ip));
    json_object_set_new(cap, "udp", json_integer((json_int_t)ds.udp));
    json_object_set_new(cap, "tcp", json_integer((json_int_t)ds.tcp));
    json_object_set_new(cap, "fragments", json_integer((json_int_t)ds.fragments));
    json_object_set_new(cap, "reassembled", json_integer((json_int_t)ds.reassembled));
    json_object_set_new(cap, "snaplen_cut", json_integer((json_int_t)ds.snaplen_cut));
    json_object_set_new(cap, "kernel_dropped", json_integer((json_int_t)ci.kernel_dropped));
    engine_capture_extras(e, cap);
    if (ci.nwarnings) {
        json_t *w = json_array();

        for (size_t i = 0; i < ci.nwarnings; i++)
            json_array_append_new(w, json_string(ci.warnings[i]));
        json_object_set_new(cap, "warnings", w);
    }
    return cap;
}

static json_t *calls_section(engine_t *e)
{
    json_t *arr = json_array();
    call_t **list;
    size_t n = calls_list(engine_calls(e), &list);

    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, engine_call_json(e, list[i], false));
    }
    return arr;
}

json_t *report_build(engine_t *e)
{
    json_t *r = json_object();

    json_object_set_new(r, "version", json_integer(REPORT_VERSION));
    if (engine_site(e))
        json_object_set_new(r, "site", json_string(engine_site(e)));
    json_object_set_new(r, "capture", capture_section(e));
    json_object_set_new(r, "calls", calls_section(e));
    json_object_set_new(r, "streams", engine_streams(e));
    json_object_set_new(r, "incidents", engine_incidents(e));
    json_object_set_new(r, "top_talkers", engine_top_talkers(e, 0, 0, 10));
    return r;
}

/* ---- the JSON report, written as it is built */

/* What json_dump_callback() produces goes out through a buffer that
 * indents every line it starts by pad more spaces, so that a value dumped
 * alone reads as it does nested in the report.  A JSON string never holds
 * a raw newline: each one is a line break of the layout. */
struct jw {
    FILE *out;
    unsigned pad;
    bool failed; /* a write to out failed */
    size_t len;
    char buf[65536];
};

static void jw_flush(struct jw *w)
{
    if (w->len && !w->failed && fwrite(w->buf, 1, w->len, w->out) != w->len)
        w->failed = true;
    w->len = 0;
}

static void jw_put(struct jw *w, const char *s, size_t n)
{
    while (n) {
        size_t k = sizeof(w->buf) - w->len;

        if (k > n)
            k = n;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
        if (w->len == sizeof(w->buf))
            jw_flush(w);
    }
}

static void jw_puts(struct jw *w, const char *s)
{
    jw_put(w, s, strlen(s));
}

static int jw_dump(const char *s, size_t n, void *ud)
{
    static const char spaces[] = "        ";
    struct jw *w = ud;
    const char *nl;

    while ((nl = memchr(s, '\n', n))) {
        size_t k = (size_t)(nl - s) + 1;

        jw_put(w, s, k);
        jw_put(w, spaces, w->pad);
        s += k;
        n -= k;
    }
    jw_put(w, s, n);
    return w->failed ? -1 : 0;
}

/* Writes v, which it consumes, as a value at depth `depth` of the report. */
static int jw_value(struct jw *w, json_t *v, unsigned depth)
{
    int rc;

    w->pad = 2 * depth;
    rc = json_dump_callback(v, jw_dump, w,
                            JSON_INDENT(2) | JSON_REAL_PRECISION(17) | JSON_ENCODE_ANY);
    json_decref(v);
    return rc != 0 || w->failed ? -1 : 0;
}

/* An array of the report written element by element. */
struct jw_array {
    struct jw *w;
    size_t n; /* elements written */
};

static int jw_element(void *ud, json_t *v)
{
    struct jw_array *a = ud;

    jw_puts(a->w, a->n++ ? ",\n    " : "[\n    ");
    return jw_value(a->w, v, 2);
}

static void jw_array_end(struct jw_array *a)
{
    jw_puts(a->w, a->n ? "\n  ]" : "[]");
}

int report_write_json(FILE *out, engine_t *e)
{
    struct jw *w = cw_calloc(1, sizeof(*w));
    struct jw_array calls = { w, 0 }, streams = { w, 0 };
    call_t **list;
    size_t n;
    char head[64];
    int rc = -EIO;

    /* The keys and their order are report_build()'s. */
    w->out = out;
    snprintf(head, sizeof(head), "{\n  \"version\": %d,\n", REPORT_VERSION);
    jw_puts(w, head);
    if (engine_site(e)) {
        jw_puts(w, "  \"site\": ");
        if (jw_value(w, json_string(engine_site(e)), 1) != 0)
            goto out;
        jw_puts(w, ",\n");
    }
    jw_puts(w, "  \"capture\": ");
    if (jw_value(w, capture_section(e), 1) != 0)
        goto out;
    jw_puts(w, ",\n  \"calls\": ");
    n = calls_list(engine_calls(e), &list);
    for (size_t i = 0; i < n; i++)
        if (jw_element(&calls, engine_call_json(e, list[i], false)) != 0)
            goto out;
    jw_array_end(&calls);
    jw_puts(w, ",\n  \"streams\": ");
    if (engine_streams_foreach(e, jw_element, &streams) != 0)
        goto out;
    jw_array_end(&streams);
    jw_puts(w, ",\n  \"incidents\": ");
    if (jw_value(w, engine_incidents(e), 1) != 0)
        goto out;
    jw_puts(w, ",\n  \"top_talkers\": ");
    if (jw_value(w, engine_top_talkers(e, 0, 0, 10), 1) != 0)
        goto out;
    jw_puts(w, "\n}\n");
    jw_flush(w);
    if (!w->failed && !ferror(out))
        rc = 0;
out:
    free(w);
    return rc;
}

static const char *fmt_time(double t, char *buf, size_t len)
{
    time_t s = (time_t)t;
    struct tm tm;

    if (t <= 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    gmtime_r(&s, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf + strlen(buf), len - strlen(buf), ".%03d UTC", (int)((t - (double)s) * 1000));
    return buf;
}

static void report_text_calls(FILE *out, const json_t *report)
{
    const json_t *calls = json_object_get(report, "calls"), *c,
                 *inc = json_object_get(report, "incidents");
    size_t i;
    char t1[64];

    if (json_array_size(calls)) {
        fprintf(out, "\nCalls\n");
        json_array_foreach(calls, i, c)
        {
            const json_t *code = json_object_get(c, "sip_code");
            const char *reason = json_string_value(json_object_get(c, "end_reason"));
            char cs[16] = "-";

            if (json_is_integer(code))
                snprintf(cs, sizeof(cs), "%lld", (long long)json_integer_value(code));
            fprintf(out, "  %s  %-10s %3s  %-14s %s -> %s  [%s]%s\n",
                    fmt_time(json_real_value(json_object_get(c, "start")), t1, sizeof(t1)),
                    json_string_value(json_object_get(c, "outcome")), cs, reason ? reason : "",
                    json_string_value(json_object_get(c, "from")),
                    json_string_value(json_object_get(c, "to")),
                    json_string_value(json_object_get(c, "call_id")),
                    json_is_true(json_object_get(c, "partial")) ? "  partial" : "");
        }
    }
    if (json_array_size(inc)) {
        fprintf(out, "\nIncidents\n");
        json_array_foreach(inc, i, c)
        {
            fprintf(out, "  #%lld %s %s, %s\n      %s\n",
                    (long long)json_integer_value(json_object_get(c, "id")),
                    json_string_value(json_object_get(c, "kind")),
                    json_string_value(json_object_get(c, "state")),
                    fmt_time(json_real_value(json_object_get(c, "start")), t1, sizeof(t1)),
                    json_string_value(json_object_get(c, "summary")));
        }
    }
}

int report_write_text(FILE *out, const json_t *report)
{
    const json_t *cap = json_object_get(report, "capture");
    const json_t *files = json_object_get(cap, "files"), *mal = json_object_get(cap, "malformed");
    const json_t *v;
    const char *key;
    size_t i, npartial = 0;
    char t1[64], t2[64];
    double start = json_real_value(json_object_get(cap, "start"));
    double end = json_real_value(json_object_get(cap, "end"));

    fprintf(out, "callwatch report\n\nCapture\n");
    json_array_foreach(files, i, v) fprintf(out, "  source    %s\n", json_string_value(v));
    fprintf(out, "  packets   %lld (%lld bytes)\n",
            (long long)json_integer_value(json_object_get(cap, "packets")),
            (long long)json_integer_value(json_object_get(cap, "bytes")));
    fprintf(out, "  from      %s\n  to        %s (%.3f s)\n", fmt_time(start, t1, sizeof(t1)),
            fmt_time(end, t2, sizeof(t2)), end > start ? end - start : 0.0);
    fprintf(out, "  decoded   %lld IPv4, %lld IPv6, %lld not IP; %lld UDP, %lld TCP\n",
            (long long)json_integer_value(json_object_get(cap, "ipv4")),
            (long long)json_integer_value(json_object_get(cap, "ipv6")),
            (long long)json_integer_value(json_object_get(cap, "not_ip")),
            (long long)json_integer_value(json_object_get(cap, "udp")),
            (long long)json_integer_value(json_object_get(cap, "tcp")));
    if (json_object_size(json_object_get(cap, "encapsulation"))) {
        fprintf(out, "  tunnels  ");
        json_object_foreach((json_t *)json_object_get(cap, "encapsulation"), key, v)
            fprintf(out, " %s %lld", key, (long long)json_integer_value(v));
        fprintf(out, "\n");
    }
    if (json_object_get(cap, "mirror")) {
        const json_t *m = json_object_get(cap, "mirror");

        fprintf(out, "  mirror    %lld datagrams, %lld dropped, %lld truncated, %lld errors\n",
                (long long)json_integer_value(json_object_get(m, "datagrams")),
                (long long)json_integer_value(json_object_get(m, "dropped")),
                (long long)json_integer_value(json_object_get(m, "truncated")),
                (long long)json_integer_value(json_object_get(m, "errors")));
    }
    if (json_object_size(mal) == 0) {
        fprintf(out, "  malformed none\n");
    } else {
        fprintf(out, "  malformed\n");
        json_object_foreach((json_t *)mal, key, v)
            fprintf(out, "    %-26s %lld\n", key, (long long)json_integer_value(v));
    }
    json_array_foreach(json_object_get(cap, "warnings"), i, v)
        fprintf(out, "  warning   %s\n", json_string_value(v));

    report_text_calls(out, report);
    json_array_foreach(json_object_get(report, "calls"), i, v) npartial +=
        json_is_true(json_object_get(v, "partial"));
    /* Partial calls are listed, not counted as calls. */
    fprintf(out, "\nCalls: %zu", json_array_size(json_object_get(report, "calls")) - npartial);
    if (npartial)
        fprintf(out, " (and %zu partial)", npartial);
    fprintf(out, "   Streams: %zu   Incidents: %zu\n",
            json_array_size(json_object_get(report, "streams")),
            json_array_size(json_object_get(report, "incidents")));
    return ferror(out) ? -EIO : 0;
}
