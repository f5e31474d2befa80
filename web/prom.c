/* prom: /metrics in the Prometheus text exposition format, version 0.0.4. */
#include "autoconf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calldb/calldb.h"
#include "common/metrics.h"
#include "common/status.h"
#include "web/webint.h"

static void family(web_buf_t *b, const char *name, const char *type, const char *help)
{
    web_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The exposition under construction, and the site every sample is of. */
struct prom {
    web_buf_t b;
    const char *site; /* NULL: no site label */
};

static void sample(struct prom *p, const char *name, const char *label, const char *value_of_label,
                   double v)
{
    web_buf_t *b = &p->b;
    const char *sep = "{";

    web_buf_puts(b, name);
    if (p->site) {
        web_buf_puts(b, "{site=\"");
        web_buf_prom_label(b, p->site);
        web_buf_puts(b, "\"");
        sep = ",";
    }
    if (label) {
        web_buf_printf(b, "%s%s=\"", sep, label);
        web_buf_prom_label(b, value_of_label);
        web_buf_puts(b, "\"");
        sep = ",";
    }
    if (*sep == ',')
        web_buf_puts(b, "}");
    web_buf_puts(b, " ");
    web_buf_prom_value(b, v);
    web_buf_puts(b, "\n");
}

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

/* The snapshot's "mos_histogram": {"bounds": [b0 < b1 < ...], "counts":
 * [n0, ..., nk] (one more than bounds: n_i streams with MOS in
 * (b_{i-1}, b_i], the last above every bound), "sum": S, "count": N}.
 * Anything else is ignored (the family stays without samples). */
static void mos_histogram(struct prom *b, const json_t *h)
{
    const json_t *bounds = json_object_get(h, "bounds"), *counts = json_object_get(h, "counts");
    size_t nb = json_array_size(bounds);
    double cum = 0, prev = -INFINITY;

    family(&b->b, "callwatch_rtp_mos", "histogram",
           "MOS (ITU-T G.107 E-model, listening) of the RTP streams measured");
    if (!json_is_array(bounds) || !json_is_array(counts) || json_array_size(counts) != nb + 1 ||
        !json_is_number(json_object_get(h, "sum")))
        return;
    for (size_t i = 0; i < nb; i++) {
        double bound = json_number_value(json_array_get(bounds, i));

        if (!json_is_number(json_array_get(bounds, i)) || !(bound > prev))
            return;
        prev = bound;
    }
    for (size_t i = 0; i <= nb; i++)
        if (!json_is_number(json_array_get(counts, i)) ||
            json_number_value(json_array_get(counts, i)) < 0)
            return;
    for (size_t i = 0; i < nb; i++) {
        char le[32];

        cum += json_number_value(json_array_get(counts, i));
        snprintf(le, sizeof(le), "%g", json_number_value(json_array_get(bounds, i)));
        sample(b, "callwatch_rtp_mos_bucket", "le", le, cum);
    }
    cum += json_number_value(json_array_get(counts, nb));
    sample(b, "callwatch_rtp_mos_bucket", "le", "+Inf", cum);
    sample(b, "callwatch_rtp_mos_sum", NULL, NULL, num(h, "sum"));
    sample(b, "callwatch_rtp_mos_count", NULL, NULL, cum);
}

struct series_pass {
    struct prom *b;
    const char *prefix, *suffix, *metric, *label;
};

/* link.NAME.util_pct -> callwatch_link_util_ratio{link="NAME"} (and CPUs). */
static void series_sample(void *ud, const char *name, cw_ns_t t, double value)
{
    struct series_pass *p = ud;
    size_t lp = strlen(p->prefix), ls = strlen(p->suffix), n = strlen(name);
    char inst[METRICS_NAME_MAX];

    (void)t;
    if (n <= lp + ls || strncmp(name, p->prefix, lp) != 0 || strcmp(name + n - ls, p->suffix) != 0)
        return;
    memcpy(inst, name + lp, n - lp - ls);
    inst[n - lp - ls] = '\0';
    if (strchr(inst, '.'))
        return; /* link.NAME.in.util_pct is not this series */
    sample(p->b, p->metric, p->label, inst, isfinite(value) ? value / 100.0 : NAN);
}

/* The call database's backend: connected, spooled, dropped, failed. */
static void calldb_families(struct prom *b, const web_sources_t *s)
{
    json_t *st;

    if (!s->db)
        return;
    st = calldb_state_json(s->db);
    family(&b->b, "callwatch_calldb_connected", "gauge",
           "Whether the call database answers (1; a local SQLite file always does)");
    sample(b, "callwatch_calldb_connected", "backend",
           json_string_value(json_object_get(st, "backend")),
           json_is_false(json_object_get(st, "connected")) ? 0 : 1);
    family(&b->b, "callwatch_calldb_spooled_records", "gauge",
           "Records waiting in the spool for the PostgreSQL server");
    sample(b, "callwatch_calldb_spooled_records", NULL, NULL, num(st, "spooled"));
    family(&b->b, "callwatch_calldb_spool_dropped_total", "counter",
           "Records lost because the spool was full");
    sample(b, "callwatch_calldb_spool_dropped_total", NULL, NULL, num(st, "spool_dropped"));
    family(&b->b, "callwatch_calldb_write_errors_total", "counter",
           "Records the call database refused or could not keep");
    sample(b, "callwatch_calldb_write_errors_total", NULL, NULL, num(st, "write_errors"));
    json_decref(st);
}

/* The central dashboard's /metrics: what the shared database says of each
 * site (the probes' own /metrics carry the rates). */
static void central_metrics(const web_sources_t *s, web_reply_t *r)
{
    static const struct {
        const char *name, *key, *help;
    } per_site[] = {
        { "callwatch_site_calls", "calls", "Calls stored for the site" },
        { "callwatch_site_calls_dropped", "dropped", "Dropped calls stored for the site" },
        { "callwatch_site_mos_avg", "mos_avg", "Mean of the calls' worst-stream MOS" },
        { "callwatch_site_incidents_open", "open_incidents", "Incidents of the site open now" },
    };
    struct prom b = { .site = s->site };
    char err[512];
    json_t *list = s->sites(s->ud, 0, 0, err, sizeof(err)), *st;
    size_t i;

    if (!list) {
        web_reply_error(r, 500, "sites: %s", err);
        return;
    }
    family(&b.b, "callwatch_build_info", "gauge", "callwatch's version (always 1)");
    sample(&b, "callwatch_build_info", "version", PACKAGE_VERSION, 1);
    calldb_families(&b, s);
    for (size_t k = 0; k < sizeof(per_site) / sizeof(per_site[0]); k++) {
        family(&b.b, per_site[k].name, "gauge", per_site[k].help);
        json_array_foreach(list, i, st)
        {
            struct prom one = { .b = b.b, .site = json_string_value(json_object_get(st, "site")) };
            const json_t *v = json_object_get(st, per_site[k].key);

            sample(&one, per_site[k].name, NULL, NULL,
                   json_is_number(v) ? json_number_value(v) : NAN);
            b.b = one.b;
        }
    }
    json_decref(list);
    free(r->body);
    r->status = 200;
    r->body = b.b.p;
    r->len = b.b.len;
    r->ctype = "text/plain; version=0.0.4; charset=utf-8";
    r->cache = NULL;
}

void web_prom_metrics(const web_sources_t *s, const web_query_t *q, web_reply_t *r)
{
    static const char *const outcome_keys[] = { "answered",   "failed",  "cancelled",
                                                "unanswered", "dropped", NULL };
    static const char *const none[] = { NULL };
    char err[256];
    json_t *snap, *calls, *cap, *hist;
    struct prom b = { .site = s->site };

    if (web_query_allowed(q, none, err, sizeof(err)) != 0) {
        web_reply_error(r, 400, "%s", err);
        return;
    }
    if (s->sites) {
        central_metrics(s, r);
        return;
    }
    if (!s->status) {
        web_reply_error(r, 503, "the probe's status is not available");
        return;
    }
    snap = status_get(s->status);
    calls = json_object_get(snap, "calls");
    cap = json_object_get(snap, "capture");

    family(&b.b, "callwatch_build_info", "gauge", "callwatch's version (always 1)");
    sample(&b, "callwatch_build_info", "version", PACKAGE_VERSION, 1);

    family(&b.b, "callwatch_calls_active", "gauge", "Calls answered and not yet ended");
    sample(&b, "callwatch_calls_active", NULL, NULL, num(calls, "active"));
    family(&b.b, "callwatch_calls_in_progress", "gauge",
           "Calls followed and not yet ended (ringing or answered)");
    sample(&b, "callwatch_calls_in_progress", NULL, NULL, num(calls, "in_progress"));
    family(&b.b, "callwatch_call_attempts_total", "counter", "Calls attempted (first INVITEs)");
    sample(&b, "callwatch_call_attempts_total", NULL, NULL, num(calls, "attempts"));
    family(&b.b, "callwatch_call_answers_total", "counter",
           "Calls answered (a 2xx to the INVITE), however they ended");
    sample(&b, "callwatch_call_answers_total", NULL, NULL, num(calls, "answered"));
    family(&b.b, "callwatch_calls_total", "counter", "Calls ended, by outcome");
    for (size_t i = 0; outcome_keys[i]; i++) {
        double v = num(calls, outcome_keys[i]);

        /* The snapshot counts answers; the answered outcome is the
         * answers that neither dropped nor are still up. */
        if (strcmp(outcome_keys[i], "answered") == 0) {
            v -= num(calls, "dropped") + num(calls, "active");
            if (v < 0)
                v = 0;
        }
        sample(&b, "callwatch_calls_total", "outcome", outcome_keys[i], v);
    }
    family(&b.b, "callwatch_calls_partial_total", "counter",
           "Partial calls: dialogs seen only from their middle, counted in no other family");
    sample(&b, "callwatch_calls_partial_total", NULL, NULL, num(calls, "partial"));

    hist = json_object_get(snap, "mos_histogram");
    mos_histogram(&b, hist);

    family(&b.b, "callwatch_link_util_ratio", "gauge",
           "Utilisation of a watched link (0-1, the busier direction)");
    if (s->metrics) {
        struct series_pass p = { &b, "link.", ".util_pct", "callwatch_link_util_ratio", "link" };

        metrics_foreach_latest(s->metrics, series_sample, &p);
    }
    family(&b.b, "callwatch_cpu_ratio", "gauge", "CPU load of a watched device (0-1)");
    if (s->metrics) {
        struct series_pass p = { &b, "cpu.", ".pct", "callwatch_cpu_ratio", "device" };

        metrics_foreach_latest(s->metrics, series_sample, &p);
    }

    family(&b.b, "callwatch_capture_packets_total", "counter", "Frames captured");
    sample(&b, "callwatch_capture_packets_total", NULL, NULL, num(cap, "packets"));
    family(&b.b, "callwatch_capture_bytes_total", "counter", "Bytes captured (wire length)");
    sample(&b, "callwatch_capture_bytes_total", NULL, NULL, num(cap, "bytes"));
    family(&b.b, "callwatch_capture_drops_total", "counter",
           "Frames the kernel or the interface dropped before capture");
    sample(&b, "callwatch_capture_drops_total", NULL, NULL,
           num(cap, "kernel_dropped") + num(cap, "kernel_ifdropped"));
    family(&b.b, "callwatch_capture_malformed_total", "counter",
           "Frames that could not be decoded, by reason");
    {
        const char *reason;
        json_t *v;

        json_object_foreach(json_object_get(cap, "malformed"), reason, v)
            sample(&b, "callwatch_capture_malformed_total", "reason", reason, json_number_value(v));
    }
    family(&b.b, "callwatch_capture_encapsulated_packets_total", "counter",
           "Packets taken out of an encapsulation (MPLS, GRE, VXLAN, ...), by encapsulation");
    {
        const char *encap;
        json_t *v;

        json_object_foreach(json_object_get(cap, "encapsulation"), encap, v)
            sample(&b, "callwatch_capture_encapsulated_packets_total", "encap", encap,
                   json_number_value(v));
    }
    family(&b.b, "callwatch_incidents_open", "gauge", "Incidents open now");
    sample(&b, "callwatch_incidents_open", NULL, NULL,
           (double)json_array_size(json_object_get(snap, "open_incidents")));
    json_decref(snap);
    calldb_families(&b, s);

    free(r->body);
    r->status = 200;
    r->body = b.b.p;
    r->len = b.b.len;
    r->ctype = "text/plain; version=0.0.4; charset=utf-8";
    r->cache = NULL;
}
