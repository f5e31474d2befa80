#include "autoconf.h"

#include "incident/correlate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENTS    8192
#define MAX_STEPS     4096
#define MAX_INCIDENTS 10000

struct event {
    cw_ns_t t;
    char call_id[128];
    double mos, loss;
};

struct ring {
    struct event *ev;
    size_t head, n;
};

/* One series watched for spikes. */
struct watch {
    char metric[METRICS_NAME_MAX];
    char name[72]; /* link or device name, "" for traffic */
    int kind;      /* W_TRAFFIC, W_LINK, W_CPU */
    double threshold;
    bool was;      /* condition true at the last step */
    cw_ns_t first; /* start of the current run of true steps */
    cw_ns_t last_true;
    long run; /* consecutive true steps */
};

enum { W_TRAFFIC = 0, W_LINK, W_CPU };

enum pend { P_NONE = 0, P_DEGRADATION, P_CONGESTION };

struct incident {
    long id;
    const char *kind;
    cw_ns_t start, end, last_active;
    bool open;
};

struct correlate {
    correlate_cfg_t cfg;
    char *site; /* stamped on every incident, or NULL */
    metrics_t *m;
    traffic_t *tr;
    correlate_notify_fn notify;
    void *ud;
    struct ring drops, degraded;
    cw_ns_t *step_t;
    double *step_bps, *step_pps;
    size_t step_head, step_n;
    struct watch *w;
    size_t nw;
    struct incident *inc;
    size_t ninc;
    struct incident *cur; /* the open incident, if any */
    cw_ns_t pending_since, pending_start;
    enum pend pending;
    long next_id;
    cw_ns_t step_ns, last_t;
};

static void ring_init(struct ring *r)
{
    r->ev = cw_calloc(MAX_EVENTS, sizeof(*r->ev));
}

static void ring_add(struct ring *r, cw_ns_t t, const char *id, double mos, double loss)
{
    struct event *e = &r->ev[r->head];

    e->t = t;
    cw_strlcpy(e->call_id, id ? id : "", sizeof(e->call_id));
    e->mos = mos;
    e->loss = loss;
    r->head = (r->head + 1) % MAX_EVENTS;
    if (r->n < MAX_EVENTS)
        r->n++;
}

/* Calls fn for events with from < t <= to. */
static size_t ring_count(const struct ring *r, cw_ns_t from, cw_ns_t to, cw_ns_t *first)
{
    size_t n = 0;

    for (size_t i = 0; i < r->n; i++) {
        const struct event *e = &r->ev[(r->head + MAX_EVENTS - 1 - i) % MAX_EVENTS];

        if (e->t > from && e->t <= to) {
            n++;
            if (first && (!*first || e->t < *first))
                *first = e->t;
        }
    }
    return n;
}

static void add_watch(correlate_t *c, const char *metric, const char *name, int kind, double thr)
{
    struct watch *w;

    c->w = cw_realloc(c->w, (c->nw + 1) * sizeof(*c->w));
    w = &c->w[c->nw++];
    memset(w, 0, sizeof(*w));
    cw_strlcpy(w->metric, metric, sizeof(w->metric));
    cw_strlcpy(w->name, name, sizeof(w->name));
    w->kind = kind;
    w->threshold = thr;
}

/* Fills the settings left 0 with their defaults. */
static void apply_defaults(correlate_cfg_t *cfg)
{
    if (!cfg->window)
        cfg->window = CW_SEC(CW_DEF_INC_WINDOW_S);
    if (!cfg->min_drops)
        cfg->min_drops = CW_DEF_INC_MIN_DROPS;
    if (cfg->link_pct <= 0)
        cfg->link_pct = CW_DEF_INC_LINK_PCT;
    if (cfg->cpu_pct <= 0)
        cfg->cpu_pct = CW_DEF_INC_CPU_PCT;
    if (cfg->spike_factor <= 0)
        cfg->spike_factor = CW_DEF_INC_SPIKE_FACTOR;
    if (!cfg->baseline)
        cfg->baseline = CW_SEC(CW_DEF_INC_BASELINE_S);
    if (cfg->min_traffic_bps <= 0)
        cfg->min_traffic_bps = CW_DEF_INC_MIN_TRAFFIC_BPS;
    if (!cfg->resolve_windows)
        cfg->resolve_windows = CW_DEF_INC_RESOLVE_WINDOWS;
    if (!cfg->congestion_steps)
        cfg->congestion_steps = CW_DEF_INC_CONGESTION_STEPS;
    if (cfg->mos_collapse <= 0)
        cfg->mos_collapse = CW_DEF_INC_MOS;
    if (!cfg->min_degraded)
        cfg->min_degraded = CW_DEF_INC_MIN_DEGRADED;
}

/* The watched series: traffic, then each configured link and CPU.  A
 * series watched before keeps its state (the run of spiking steps). */
static void set_watches(correlate_t *c, const cw_config_t *conf)
{
    struct watch *old = c->w;
    size_t nold = c->nw;
    char metric[METRICS_NAME_MAX];

    c->w = NULL;
    c->nw = 0;
    add_watch(c, "traffic.bps", "", W_TRAFFIC, 0);
    for (size_t i = 0; conf && i < conf->nlinks; i++) {
        snprintf(metric, sizeof(metric), "link.%s.util_pct", conf->links[i].name);
        add_watch(c, metric, conf->links[i].name, W_LINK, c->cfg.link_pct);
    }
    for (size_t i = 0; conf && i < conf->ncpus; i++) {
        snprintf(metric, sizeof(metric), "cpu.%s.pct", conf->cpus[i].name);
        add_watch(c, metric, conf->cpus[i].name, W_CPU, c->cfg.cpu_pct);
    }
    for (size_t i = 0; i < c->nw; i++) {
        for (size_t j = 0; j < nold; j++) {
            if (strcmp(c->w[i].metric, old[j].metric) != 0)
                continue;
            c->w[i].was = old[j].was;
            c->w[i].first = old[j].first;
            c->w[i].last_true = old[j].last_true;
            c->w[i].run = old[j].run;
            break;
        }
    }
    free(old);
}

correlate_t *correlate_new(const correlate_cfg_t *cfg, const cw_config_t *conf, metrics_t *m,
                           traffic_t *tr, correlate_notify_fn notify, void *ud)
{
    correlate_t *c = cw_calloc(1, sizeof(*c));

    if (cfg)
        c->cfg = *cfg;
    apply_defaults(&c->cfg);
    c->m = m;
    c->tr = tr;
    c->notify = notify;
    c->ud = ud;
    c->next_id = 1;
    c->step_ns = CW_SEC(conf && conf->step_s > 0 ? conf->step_s : CW_DEF_STEP_S);
    c->site = conf && conf->site ? cw_strdup(conf->site) : NULL;
    ring_init(&c->drops);
    ring_init(&c->degraded);
    c->step_t = cw_calloc(MAX_STEPS, sizeof(*c->step_t));
    c->step_bps = cw_calloc(MAX_STEPS, sizeof(*c->step_bps));
    c->step_pps = cw_calloc(MAX_STEPS, sizeof(*c->step_pps));
    c->inc = cw_calloc(MAX_INCIDENTS, sizeof(*c->inc));
    set_watches(c, conf);
    return c;
}

void correlate_reconfigure(correlate_t *c, const correlate_cfg_t *cfg, const cw_config_t *conf)
{
    c->cfg = *cfg;
    apply_defaults(&c->cfg);
    set_watches(c, conf);
}

void correlate_free(correlate_t *c)
{
    if (!c)
        return;
    free(c->site);
    free(c->drops.ev);
    free(c->degraded.ev);
    free(c->step_t);
    free(c->step_bps);
    free(c->step_pps);
    free(c->w);
    free(c->inc);
    free(c);
}

void correlate_set_next_id(correlate_t *c, long next_id)
{
    if (next_id > c->next_id)
        c->next_id = next_id;
}

void correlate_call_dropped(correlate_t *c, cw_ns_t t, const char *call_id, double mos,
                            double loss_pct)
{
    ring_add(&c->drops, t, call_id, mos, loss_pct);
}

void correlate_stream_quality(correlate_t *c, cw_ns_t t, const char *call_id, double mos,
                              double loss_pct)
{
    if (mos < c->cfg.mos_collapse)
        ring_add(&c->degraded, t, call_id, mos, loss_pct);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Median traffic over the baseline before t (NAN if too little history). */
static double baseline_bps(const correlate_t *c, cw_ns_t t)
{
    double *v = cw_calloc(MAX_STEPS, sizeof(*v)), med = NAN;
    size_t n = 0;

    for (size_t i = 0; i < c->step_n; i++) {
        size_t k = (c->step_head + MAX_STEPS - 1 - i) % MAX_STEPS;

        if (c->step_t[k] >= t)
            continue;
        if (c->step_t[k] < t - c->cfg.baseline)
            break;
        v[n++] = c->step_bps[k];
    }
    if (n >= 6) {
        qsort(v, n, sizeof(*v), cmp_double);
        med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
    free(v);
    return med;
}

/* The largest sample of a metric in (from, to]; NAN if none. */
/* The largest value of a metric over (from, to].  A sample at T describes
 * the interval since the sample before it (an RRD row, an SNMP poll), so
 * the first sample after `to` counts too when it covers part of the window
 * (an NMS series polled every 5 minutes); with no sample at all, the last
 * one at most two steps old stands (a live poll that is due).  NAN if
 * none. */
#define COVER_HORIZON CW_SEC(3600)

static double metric_max(correlate_t *c, const char *metric, cw_ns_t from, cw_ns_t to, cw_ns_t *at)
{
    cw_ns_t *ts = cw_calloc(METRICS_HISTORY, sizeof(*ts)), prev_t = 0;
    double *vs = cw_calloc(METRICS_HISTORY, sizeof(*vs)), best = NAN, prev_v = NAN;
    size_t n = metrics_range(c->m, metric, from - COVER_HORIZON, to + COVER_HORIZON, ts, vs,
                             METRICS_HISTORY);
    bool have_prev = false;

    for (size_t i = 0; i < n; i++) {
        if (isnan(vs[i]))
            continue;
        if (ts[i] <= from) {
            have_prev = true;
            prev_t = ts[i];
            prev_v = vs[i];
            continue;
        }
        if (ts[i] > to) {
            /* The row covering the window's end. */
            if ((!have_prev || ts[i] - prev_t <= COVER_HORIZON) && (isnan(best) || vs[i] > best)) {
                best = vs[i];
                if (at)
                    *at = ts[i];
            }
            break;
        }
        if (isnan(best) || vs[i] > best) {
            best = vs[i];
            if (at)
                *at = ts[i];
        }
        have_prev = true;
        prev_t = ts[i];
        prev_v = vs[i];
    }
    if (isnan(best) && have_prev && to - prev_t <= 2 * c->step_ns) {
        best = prev_v;
        if (at)
            *at = prev_t;
    }
    free(ts);
    free(vs);
    return best;
}

static bool watch_true(correlate_t *c, struct watch *w, cw_ns_t t, double bps)
{
    if (w->kind == W_TRAFFIC) {
        double base = baseline_bps(c, t);

        return !isnan(base) && bps > c->cfg.spike_factor * base && bps > c->cfg.min_traffic_bps;
    }
    return metric_max(c, w->metric, t - c->step_ns, t, NULL) >= w->threshold;
}

static double traffic_peak(const correlate_t *c, cw_ns_t from, cw_ns_t to)
{
    double peak = 0;

    for (size_t i = 0; i < c->step_n; i++) {
        size_t k = (c->step_head + MAX_STEPS - 1 - i) % MAX_STEPS;

        if (c->step_t[k] > from && c->step_t[k] <= to + c->step_ns && c->step_bps[k] > peak)
            peak = c->step_bps[k];
    }
    return peak;
}

#define TOP_TALKERS  5
#define MAX_CALL_IDS 100 /* dropped calls named in an incident */

/* What an incident's JSON says, gathered from the correlator's state. */
struct evidence {
    size_t dropped, affected, degraded;
    size_t nq; /* streams with a quality figure */
    double mos_sum, loss_sum;
    const char *call_ids[MAX_CALL_IDS]; /* the dropped calls, newest first */
    size_t ncall_ids;
    char link[72], cpu[72]; /* the busiest watched link and CPU; "" if none */
    double link_max, cpu_max;
    double traffic_peak_bps;
    traffic_talker_t top[TOP_TALKERS];
    size_t ntop;
};

/* The dropped calls of the incident, and the quality of the dropped and
 * degraded streams around it. */
static void gather_calls(const correlate_t *c, const struct incident *in, struct evidence *ev)
{
    for (size_t i = 0; i < c->drops.n; i++) {
        const struct event *e = &c->drops.ev[(c->drops.head + MAX_EVENTS - 1 - i) % MAX_EVENTS];

        if (e->t < in->start || e->t > in->end)
            continue;
        ev->dropped++;
        if (ev->ncall_ids < MAX_CALL_IDS)
            ev->call_ids[ev->ncall_ids++] = e->call_id;
        if (!isnan(e->mos)) {
            ev->mos_sum += e->mos;
            ev->loss_sum += e->loss;
            ev->nq++;
        }
    }
    for (size_t i = 0; i < c->degraded.n; i++) {
        const struct event *e =
            &c->degraded.ev[(c->degraded.head + MAX_EVENTS - 1 - i) % MAX_EVENTS];

        if (e->t < in->start || e->t > in->end)
            continue;
        ev->mos_sum += e->mos;
        ev->loss_sum += e->loss;
        ev->nq++;
    }
    ev->degraded = ring_count(&c->degraded, in->start - 1, in->end, NULL);
}

/* Distinct calls among the dropped and the degraded. */
static size_t calls_affected(const correlate_t *c, const struct incident *in)
{
    const struct ring *rings[2] = { &c->drops, &c->degraded };
    const char **seen = cw_calloc(2 * MAX_EVENTS, sizeof(*seen));
    size_t affected = 0;

    for (int r = 0; r < 2; r++) {
        for (size_t i = 0; i < rings[r]->n; i++) {
            const struct event *e = &rings[r]->ev[i];
            bool dup = false;

            if (e->t < in->start || e->t > in->end || !e->call_id[0])
                continue;
            for (size_t j = 0; j < affected && !dup; j++)
                dup = strcmp(seen[j], e->call_id) == 0;
            if (!dup)
                seen[affected++] = e->call_id;
        }
    }
    free(seen);
    return affected;
}

/* The busiest watched link and CPU over [from, to]. */
static void gather_devices(correlate_t *c, cw_ns_t from, cw_ns_t to, struct evidence *ev)
{
    ev->link_max = ev->cpu_max = NAN;
    for (size_t i = 0; i < c->nw; i++) {
        double v;

        if (c->w[i].kind == W_TRAFFIC)
            continue;
        v = metric_max(c, c->w[i].metric, from, to, NULL);
        if (isnan(v))
            continue;
        if (c->w[i].kind == W_LINK && (isnan(ev->link_max) || v > ev->link_max)) {
            ev->link_max = v;
            cw_strlcpy(ev->link, c->w[i].name, sizeof(ev->link));
        }
        if (c->w[i].kind == W_CPU && (isnan(ev->cpu_max) || v > ev->cpu_max)) {
            ev->cpu_max = v;
            cw_strlcpy(ev->cpu, c->w[i].name, sizeof(ev->cpu));
        }
    }
}

static void gather_evidence(correlate_t *c, const struct incident *in, struct evidence *ev)
{
    cw_ns_t from = in->start - c->cfg.window, to = in->end;

    memset(ev, 0, sizeof(*ev));
    gather_calls(c, in, ev);
    ev->affected = calls_affected(c, in);
    gather_devices(c, from, to, ev);
    ev->traffic_peak_bps = traffic_peak(c, from, to);
    ev->ntop = traffic_top(c->tr, from, to, ev->top, TOP_TALKERS);
}

/* The talker an incident names: the scanner if there is one, else the
 * biggest; NULL when there is none. */
static const traffic_talker_t *culprit(const struct evidence *ev)
{
    for (size_t i = 0; i < ev->ntop; i++)
        if (ev->top[i].scanner)
            return &ev->top[i];
    return ev->ntop ? &ev->top[0] : NULL;
}

/* "12 calls dropped; link wan0 at 97 % and fw1's CPU at 99 %; top talker
 * 10.20.0.17 tcp/445 to 4312 hosts" */
static void summarize(const struct evidence *ev, char *buf, size_t len)
{
    const traffic_talker_t *k = culprit(ev);
    int n = snprintf(buf, len, "%zu call%s dropped", ev->dropped, ev->dropped == 1 ? "" : "s");

    if (ev->link[0])
        n += snprintf(buf + n, len - (size_t)n, "%slink %s at %.0f %%", n ? "; " : "", ev->link,
                      ev->link_max);
    if (ev->cpu[0])
        n += snprintf(buf + n, len - (size_t)n, "%s%s's CPU at %.0f %%",
                      ev->link[0] ? " and " : "; ", ev->cpu, ev->cpu_max);
    if (k) {
        char talker[160];

        traffic_talker_str(k, talker, sizeof(talker));
        snprintf(buf + n, len - (size_t)n, "; top talker %s", talker);
    }
}

static json_t *evidence_json(const struct evidence *ev)
{
    json_t *o = json_object(), *ids = json_array();

    json_object_set_new(o, "traffic_peak_bps", json_integer((json_int_t)ev->traffic_peak_bps));
    json_object_set_new(o, "link",
                        ev->link[0] ? json_pack("{s:s, s:f}", "name", ev->link, "util_max_pct",
                                                round(ev->link_max * 10) / 10)
                                    : json_null());
    json_object_set_new(o, "cpu",
                        ev->cpu[0] ? json_pack("{s:s, s:f}", "name", ev->cpu, "max_pct",
                                               round(ev->cpu_max * 10) / 10)
                                   : json_null());
    json_object_set_new(o, "mos_mean",
                        ev->nq ? json_real(round(ev->mos_sum / ev->nq * 100) / 100) : json_null());
    json_object_set_new(o, "loss_pct_mean",
                        ev->nq ? json_real(round(ev->loss_sum / ev->nq * 100) / 100) : json_null());
    json_object_set_new(o, "degraded_streams", json_integer((json_int_t)ev->degraded));
    for (size_t i = 0; i < ev->ncall_ids; i++)
        json_array_append_new(ids, json_string(ev->call_ids[i]));
    json_object_set_new(o, "dropped_call_ids", ids);
    return o;
}

static json_t *incident_json(correlate_t *c, const struct incident *in)
{
    struct evidence *ev = cw_calloc(1, sizeof(*ev));
    json_t *o = json_object();
    char summary[512];

    gather_evidence(c, in, ev);
    summarize(ev, summary, sizeof(summary));
    json_object_set_new(o, "id", json_integer(in->id));
    json_object_set_new(o, "kind", json_string(in->kind));
    json_object_set_new(o, "state", json_string(in->open ? "open" : "resolved"));
    json_object_set_new(o, "start", json_real(cw_ns_to_sec(in->start)));
    json_object_set_new(o, "end", json_real(cw_ns_to_sec(in->end)));
    json_object_set_new(o, "dropped_calls", json_integer((json_int_t)ev->dropped));
    json_object_set_new(o, "calls_affected", json_integer((json_int_t)ev->affected));
    json_object_set_new(o, "evidence", evidence_json(ev));
    json_object_set_new(o, "top_talkers", traffic_talkers_json(ev->top, ev->ntop));
    json_object_set_new(o, "summary", json_string(summary));
    if (c->site)
        json_object_set_new(o, "site", json_string(c->site));
    free(ev);
    return o;
}

static void open_incident(correlate_t *c, const char *kind, cw_ns_t start, cw_ns_t t)
{
    struct incident *in;
    json_t *j;

    if (c->ninc == MAX_INCIDENTS)
        return;
    in = &c->inc[c->ninc++];
    in->id = c->next_id++;
    in->kind = kind;
    in->start = start;
    in->end = t;
    in->last_active = t;
    in->open = true;
    c->cur = in;
    if (c->notify) {
        j = incident_json(c, in);
        c->notify(c->ud, j, false);
        json_decref(j);
    }
}

static void resolve(correlate_t *c, cw_ns_t end)
{
    struct incident *in = c->cur;
    json_t *j;

    if (!in)
        return;
    in->open = false;
    in->end = end;
    c->cur = NULL;
    if (c->notify) {
        j = incident_json(c, in);
        c->notify(c->ud, j, true);
        json_decref(j);
    }
}

void correlate_step(correlate_t *c, cw_ns_t t, double bps, double pps)
{
    cw_ns_t W = c->cfg.window, first_drop = 0, spike_start = 0;
    bool burst, degraded, spike = false, sustained = false;

    c->last_t = t;
    for (size_t i = 0; i < c->nw; i++) {
        struct watch *w = &c->w[i];
        bool now = watch_true(c, w, t, bps);

        if (now) {
            if (!w->was)
                w->first = t - c->step_ns;
            w->run++;
            w->last_true = t;
        } else {
            w->run = 0;
        }
        w->was = now;
        /* Hold-down: a spike counts for a window after its last true step. */
        if (w->last_true && w->last_true > t - W) {
            spike = true;
            if (!spike_start || w->first < spike_start)
                spike_start = w->first;
            if (w->run >= c->cfg.congestion_steps)
                sustained = true;
        }
    }
    /* Record the step only after it was judged against the history. */
    c->step_t[c->step_head] = t;
    c->step_bps[c->step_head] = bps;
    c->step_pps[c->step_head] = pps;
    c->step_head = (c->step_head + 1) % MAX_STEPS;
    if (c->step_n < MAX_STEPS)
        c->step_n++;

    burst = (long)ring_count(&c->drops, t - W, t, &first_drop) >= c->cfg.min_drops;
    degraded = (long)ring_count(&c->degraded, t - W, t, NULL) >= c->cfg.min_degraded;

    if (c->cur) {
        struct incident *in = c->cur;
        bool dwc = strcmp(in->kind, "drops_with_congestion") == 0;
        bool active = dwc                                   ? (burst || spike)
                      : strcmp(in->kind, "congestion") == 0 ? spike
                                                            : (burst || degraded);

        if (!dwc && burst && spike) {
            /* What looked like degradation or congestion alone is the real
             * thing: close it and open the incident that names both. */
            resolve(c, t);
            open_incident(c, "drops_with_congestion",
                          first_drop && spike_start
                              ? (first_drop < spike_start ? first_drop : spike_start)
                              : t,
                          t);
            return;
        }
        if (active) {
            in->last_active = t;
            in->end = t;
        } else if (t - in->last_active >= c->cfg.resolve_windows * W) {
            resolve(c, in->last_active);
        }
        return;
    }

    if (burst && spike) {
        cw_ns_t start = first_drop < spike_start || !spike_start ? first_drop : spike_start;

        c->pending = P_NONE;
        open_incident(c, "drops_with_congestion", start, t);
        return;
    }
    /* Drops or a spike alone wait half a window (or congestion_steps)
     * before they are called an incident: the other half may yet show up,
     * a link sample arriving a poll late, say. */
    if (burst || degraded) {
        if (c->pending != P_DEGRADATION) {
            c->pending = P_DEGRADATION;
            c->pending_since = t;
            c->pending_start = first_drop ? first_drop : t;
        }
        if (t - c->pending_since >= W / 2) {
            c->pending = P_NONE;
            open_incident(c, "call_degradation", c->pending_start, t);
        }
        return;
    }
    if (c->pending == P_DEGRADATION) {
        /* The burst was short: still worth an incident. */
        c->pending = P_NONE;
        open_incident(c, "call_degradation", c->pending_start, t);
        return;
    }
    if (sustained) {
        c->pending = P_NONE;
        open_incident(c, "congestion", spike_start, t);
        return;
    }
    c->pending = P_NONE;
}

void correlate_finish(correlate_t *c, cw_ns_t t)
{
    (void)t;
    /* Open incidents stay open: the capture ended, the trouble may not
     * have. */
}

json_t *correlate_incidents_json(correlate_t *c)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < c->ninc; i++)
        json_array_append_new(arr, incident_json(c, &c->inc[i]));
    return arr;
}

json_t *correlate_open_json(correlate_t *c)
{
    json_t *arr = json_array();

    if (c->cur)
        json_array_append_new(arr, incident_json(c, c->cur));
    return arr;
}

size_t correlate_open_count(const correlate_t *c)
{
    return c->cur ? 1 : 0;
}
