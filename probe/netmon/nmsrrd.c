#include "autoconf.h"

#include "netmon/nmsrrd.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netmon/snmpcounter.h"
#include "rrd/rrdread.h"

struct series {
    struct nmsrrd *n;
    bool link;
    const char *name;
    const char *file;
    const char *ds[2]; /* in, out; or the cpu's ds and NULL */
    uint64_t speed_bps;
    time_t follow_last; /* newest row time put by follow; 0: not started */
    nmsrrd_status_t st; /* guarded by n->lock */
};

struct nmsrrd {
    const cw_config_t *cfg;
    metrics_t *m;
    struct series *s;
    size_t count;
    pthread_mutex_t lock;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    pthread_t thread;
    bool running, stop;
    long period_ms;
};

static int check_one(const char *path, const char *what, const char *name, int line,
                     const char *file, const char *const *ds, size_t nds, char *err, size_t errlen)
{
    char **names = NULL;
    size_t count = 0;
    char msg[512];
    int rc = 0;

    /* Loads librrd too: every later read relies on it. */
    if (rrdread_ds_names(file, &names, &count, msg, sizeof(msg)) != 0) {
        snprintf(err, errlen, "%s:%d: [%s %s]: rrd = %s: %s", path, line, what, name, file, msg);
        return -EINVAL;
    }
    for (size_t k = 0; k < nds && rc == 0; k++) {
        bool found = false;
        char list[256] = "";
        size_t off = 0;

        for (size_t i = 0; i < count; i++) {
            if (strcmp(names[i], ds[k]) == 0)
                found = true;
            if (off < sizeof(list))
                off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "",
                                        names[i]);
        }
        if (!found) {
            snprintf(err, errlen, "%s:%d: [%s %s]: rrd = %s has no data source \"%s\" (it has: %s)",
                     path, line, what, name, file, ds[k], list);
            rc = -EINVAL;
        }
    }
    rrdread_names_free(names, count);
    return rc;
}

int nmsrrd_config_check(const cw_config_t *cfg, char *err, size_t errlen)
{
    const char *path = cfg->path ? cfg->path : "(config)";

    for (size_t i = 0; i < cfg->nlinks; i++) {
        const cw_link_cfg_t *l = &cfg->links[i];
        const char *ds[2] = { l->ds_in, l->ds_out };

        if (l->rrd && check_one(path, "link", l->name, l->line, l->rrd, ds, 2, err, errlen))
            return -EINVAL;
    }
    for (size_t i = 0; i < cfg->ncpus; i++) {
        const cw_cpu_cfg_t *c = &cfg->cpus[i];
        const char *ds[1] = { c->ds };

        if (c->rrd && check_one(path, "cpu", c->name, c->line, c->rrd, ds, 1, err, errlen))
            return -EINVAL;
    }
    return 0;
}

nmsrrd_t *nmsrrd_new(const cw_config_t *cfg, metrics_t *m, char *err, size_t errlen)
{
    nmsrrd_t *n;
    size_t k = 0;

    if (nmsrrd_config_check(cfg, err, errlen) != 0)
        return NULL;
    n = cw_calloc(1, sizeof(*n));
    n->cfg = cfg;
    n->m = m;
    for (size_t i = 0; i < cfg->nlinks; i++)
        n->count += cfg->links[i].rrd != NULL;
    for (size_t i = 0; i < cfg->ncpus; i++)
        n->count += cfg->cpus[i].rrd != NULL;
    n->s = cw_calloc(n->count ? n->count : 1, sizeof(*n->s));
    pthread_mutex_init(&n->lock, NULL);
    pthread_mutex_init(&n->stop_lock, NULL);
    pthread_cond_init(&n->stop_cond, NULL);
    for (size_t i = 0; i < cfg->nlinks; i++) {
        const cw_link_cfg_t *l = &cfg->links[i];
        struct series *s;

        if (!l->rrd)
            continue;
        s = &n->s[k++];
        s->link = true;
        s->name = l->name;
        s->file = l->rrd;
        s->ds[0] = l->ds_in;
        s->ds[1] = l->ds_out;
        s->speed_bps = l->speed_bps;
    }
    for (size_t i = 0; i < cfg->ncpus; i++) {
        const cw_cpu_cfg_t *c = &cfg->cpus[i];
        struct series *s;

        if (!c->rrd)
            continue;
        s = &n->s[k++];
        s->name = c->name;
        s->file = c->rrd;
        s->ds[0] = c->ds;
    }
    for (size_t i = 0; i < n->count; i++) {
        struct series *s = &n->s[i];

        s->n = n;
        cw_strlcpy(s->st.name, s->name, sizeof(s->st.name));
        s->st.kind = s->link ? "link" : "cpu";
        s->st.state = "idle";
        cw_strlcpy(s->st.file, s->file, sizeof(s->st.file));
        if (s->link && !s->speed_bps)
            cw_strlcpy(s->st.note,
                       "no util_pct: the RRD has no link speed; give speed = in the section",
                       sizeof(s->st.note));
    }
    return n;
}

size_t nmsrrd_count(const nmsrrd_t *n)
{
    return n ? n->count : 0;
}

static void set_error(struct series *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct series *s, const char *fmt, ...)
{
    char msg[256];
    bool changed;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&s->n->lock);
    changed = strcmp(s->st.state, "error") != 0 || strcmp(s->st.error, msg) != 0;
    s->st.state = "error";
    cw_strlcpy(s->st.error, msg, sizeof(s->st.error));
    pthread_mutex_unlock(&s->n->lock);
    if (changed) /* once per new failure, not at every retry */
        cw_log(CW_LOG_WARN, "nms [%s %s] %s: %s", s->st.kind, s->name, s->file, msg);
}

static void put(struct series *s, const char *what, time_t t, double v)
{
    char name[METRICS_NAME_MAX];

    snprintf(name, sizeof(name), "%s.%s.%s", s->link ? "link" : "cpu", s->name, what);
    metrics_put(s->n->m, name, CW_SEC(t), v);
}

/* Puts one row's samples. */
static void put_row(struct series *s, time_t t, double a, double b)
{
    if (s->link) {
        double in = isnan(a) ? NAN : a * 8.0, out = isnan(b) ? NAN : b * 8.0;

        put(s, "in_bps", t, in);
        put(s, "out_bps", t, out);
        if (s->speed_bps) {
            double hi = isnan(in) ? out : isnan(out) ? in : (in > out ? in : out);
            double u = hi * 100.0 / (double)s->speed_bps;

            if (u > 100.0) {
                pthread_mutex_lock(&s->n->lock);
                snprintf(s->st.note, sizeof(s->st.note),
                         "util clamped to 100 %% at %lld: %.0f %% of %llu bit/s", (long long)t, u,
                         (unsigned long long)s->speed_bps);
                pthread_mutex_unlock(&s->n->lock);
                u = 100.0;
            }
            put(s, "util_pct", t, u);
        }
    } else {
        double pct = NAN;

        if (!isnan(a) && snmpcounter_pct_check(a, &pct) != SNMPCOUNTER_PCT_OK) {
            pthread_mutex_lock(&s->n->lock);
            snprintf(s->st.note, sizeof(s->st.note), "%s %.1f at %lld",
                     isnan(pct) ? "not a percentage, left out:" : "clamped to 100:", a,
                     (long long)t);
            pthread_mutex_unlock(&s->n->lock);
        }
        put(s, "pct", t, pct);
    }
}

/* Puts the rows of r with lo < T <= hi (T the row's time) and
 * T - step < lim; columns idx.  Returns how many, the newest in *newest. */
static long put_rows(struct series *s, const rrdread_range_t *r, const long *idx, time_t lo,
                     time_t hi, time_t lim, time_t *newest)
{
    long put_n = 0;

    for (size_t i = 0; i < r->rows; i++) {
        time_t t = r->start + (time_t)((i + 1) * r->step);
        const double *row = r->data + i * r->nds;

        if (t <= lo || t > hi || t - (time_t)r->step >= lim)
            continue;
        put_row(s, t, row[idx[0]], s->link ? row[idx[1]] : NAN);
        put_n++;
        if (t > *newest)
            *newest = t;
    }
    return put_n;
}

/* Fetches (start, end] at the finest resolution that covers it and puts the
 * rows with lo < T <= hi (T the row's time) and T - step < lim.  Returns the
 * number of rows put, or -1 with the error recorded. */
static long fetch_put(struct series *s, time_t start, time_t end, time_t lo, time_t hi, time_t lim,
                      time_t *newest)
{
    rrdread_range_t r;
    long idx[2] = { -1, -1 }, put_n;
    char msg[256];

    /* step 1: rrd_fetch picks, among the AVERAGE archives covering the
     * range, the one whose step is closest to 1 s, i.e. the finest. */
    if (rrdread_fetch(s->file, NULL, "AVERAGE", start, end, 1, &r, msg, sizeof(msg)) != 0) {
        set_error(s, "rrd_fetch: %s", msg);
        return -1;
    }
    idx[0] = rrdread_ds_index(&r, s->ds[0]);
    if (s->link)
        idx[1] = rrdread_ds_index(&r, s->ds[1]);
    if (idx[0] < 0 || (s->link && idx[1] < 0)) {
        set_error(s, "data source %s is gone", idx[0] < 0 ? s->ds[0] : s->ds[1]);
        rrdread_range_free(&r);
        return -1;
    }
    put_n = put_rows(s, &r, idx, lo, hi, lim, newest);
    pthread_mutex_lock(&s->n->lock);
    s->st.state = "ok";
    s->st.error[0] = '\0';
    s->st.step_s = r.step;
    s->st.rows += (uint64_t)put_n;
    if (*newest > 0 && CW_SEC(*newest) > s->st.last_row)
        s->st.last_row = CW_SEC(*newest);
    pthread_mutex_unlock(&s->n->lock);
    rrdread_range_free(&r);
    return put_n;
}

int nmsrrd_load_range(nmsrrd_t *n, cw_ns_t from, cw_ns_t to, char *err, size_t errlen)
{
    time_t f = (time_t)(from / CW_NS_PER_SEC),
           e = (time_t)((to + CW_NS_PER_SEC - 1) / CW_NS_PER_SEC);
    int rc = 0;

    if (err && errlen)
        err[0] = '\0';
    if (!n)
        return 0;
    for (size_t i = 0; i < n->count; i++) {
        struct series *s = &n->s[i];
        time_t newest = 0;
        long got;

        /* rrd_fetch widens the range to whole rows, so the row whose
         * interval holds `to` (it ends up to a step later) comes too. */
        got = fetch_put(s, f, e, f, INT64_MAX, e, &newest);
        if (got < 0) {
            if (rc == 0 && err)
                snprintf(err, errlen, "[%s %s] %s: %s", s->st.kind, s->name, s->file, s->st.error);
            rc = -EIO;
            continue;
        }
        cw_log(CW_LOG_INFO, "nms [%s %s]: %ld rows from %s (step %lu s)", s->st.kind, s->name, got,
               s->file, s->st.step_s);
    }
    return rc;
}

size_t nmsrrd_follow(nmsrrd_t *n, cw_ns_t now, long backfill_s)
{
    size_t total = 0;
    time_t now_s = (time_t)(now / CW_NS_PER_SEC);

    if (!n)
        return 0;
    for (size_t i = 0; i < n->count; i++) {
        struct series *s = &n->s[i];
        time_t last, newest;
        char msg[256];
        long got;

        last = rrdread_last(s->file, NULL, msg, sizeof(msg));
        if (last < 0) {
            set_error(s, "rrd_last: %s", msg);
            continue;
        }
        if (s->follow_last == 0)
            s->follow_last = now_s - backfill_s;
        if (last <= s->follow_last)
            continue;
        /* Rows up to the last update are complete; later ones are not yet. */
        newest = s->follow_last;
        got = fetch_put(s, s->follow_last, last, s->follow_last, last, last + 1, &newest);
        if (got > 0) {
            s->follow_last = newest;
            total += (size_t)got;
        }
    }
    return total;
}

static void *follow_main(void *arg)
{
    nmsrrd_t *n = arg;

    pthread_mutex_lock(&n->stop_lock);
    while (!n->stop) {
        struct timespec until;

        pthread_mutex_unlock(&n->stop_lock);
        nmsrrd_follow(n, cw_wall_now(), 3600);
        pthread_mutex_lock(&n->stop_lock);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += n->period_ms / 1000;
        until.tv_nsec += (n->period_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!n->stop && pthread_cond_timedwait(&n->stop_cond, &n->stop_lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&n->stop_lock);
    return NULL;
}

int nmsrrd_start(nmsrrd_t *n, long period_ms)
{
    int rc;

    if (!n || n->running || n->count == 0)
        return 0;
    n->period_ms = period_ms > 0 ? period_ms : 5000;
    n->stop = false;
    rc = pthread_create(&n->thread, NULL, follow_main, n);
    if (rc == 0)
        pthread_setname_np(n->thread, "cw-nmsrrd");
    if (rc != 0)
        return -rc;
    n->running = true;
    return 0;
}

void nmsrrd_stop(nmsrrd_t *n)
{
    if (!n || !n->running)
        return;
    pthread_mutex_lock(&n->stop_lock);
    n->stop = true;
    pthread_cond_signal(&n->stop_cond);
    pthread_mutex_unlock(&n->stop_lock);
    pthread_join(n->thread, NULL);
    n->running = false;
}

void nmsrrd_free(nmsrrd_t *n)
{
    if (!n)
        return;
    nmsrrd_stop(n);
    pthread_mutex_destroy(&n->lock);
    pthread_mutex_destroy(&n->stop_lock);
    pthread_cond_destroy(&n->stop_cond);
    free(n->s);
    free(n);
}

size_t nmsrrd_status(nmsrrd_t *n, nmsrrd_status_t *out, size_t max)
{
    size_t k;

    if (!n)
        return 0;
    pthread_mutex_lock(&n->lock);
    k = n->count < max ? n->count : max;
    for (size_t i = 0; i < k; i++)
        out[i] = n->s[i].st;
    pthread_mutex_unlock(&n->lock);
    return k;
}
