#include "autoconf.h"

#include "daemon/central.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rrd/rrdgraph.h"
#include "rrd/rrdlib.h"
#include "rrd/rrdread.h"

#define MAX_SITES 1024

struct site_store {
    char *site;
    rrdstore_t *store; /* NULL: none could be opened (yet) */
};

struct central {
    const cw_config_t *cfg;
    calldb_t *db;
    const char *daemon; /* the rrdcached to read through, or NULL */
    bool remote;
    char *base; /* the local base directory of the sites' folders, or NULL */
    pthread_mutex_t lock;
    struct site_store *stores;
    size_t nstores;
};

/* The reading store of a site, opened on first use; NULL with err. */
static rrdstore_t *store_of(central_t *c, const char *site, char *err, size_t errlen)
{
    rrdstore_t *s = NULL;
    char dir[4200];

    if (!config_name_valid(site)) {
        snprintf(err, errlen, "\"%s\" is not a site name", site);
        return NULL;
    }
    if (!c->remote && !c->base) {
        snprintf(err, errlen, "no RRD store: give [rrd] daemon or a data directory");
        return NULL;
    }
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nstores; i++)
        if (strcmp(c->stores[i].site, site) == 0)
            s = c->stores[i].store;
    if (!s && c->nstores < MAX_SITES) {
        snprintf(dir, sizeof(dir), "%s/%s", c->base ? c->base : "", site);
        s = rrdstore_open_reader(c->remote ? site : dir, c->cfg->step_s, c->daemon, err, errlen);
        if (s) {
            c->stores = cw_realloc(c->stores, (c->nstores + 1) * sizeof(*c->stores));
            c->stores[c->nstores].site = cw_strdup(site);
            c->stores[c->nstores++].store = s;
        }
    } else if (!s) {
        snprintf(err, errlen, "more than %d sites", MAX_SITES);
    }
    pthread_mutex_unlock(&c->lock);
    return s;
}

static int site_series(void *ud, const char *site, const char *metric, time_t start, time_t end,
                       json_t **out, char *err, size_t errlen)
{
    rrdstore_t *s = store_of(ud, site, err, errlen);

    *out = NULL;
    if (!s)
        return -ENOENT;
    *out = rrdread_series(s, metric, start, end, err, errlen);
    if (*out)
        return 0;
    return errno == ENOENT ? -ENOENT : errno == EINVAL ? -EINVAL : -EIO;
}

static int site_graph(void *ud, const char *site, const char *name, time_t start, time_t end,
                      int width, int height, const web_window_t *shade, size_t nshade,
                      unsigned char **png, size_t *len, char *err, size_t errlen)
{
    rrdstore_t *s = store_of(ud, site, err, errlen);
    rrdgraph_window_t win[RRDGRAPH_MAX_WINDOWS];
    rrdgraph_req_t req = {
        .name = name, .start = start, .end = end, .width = width, .height = height, .windows = win
    };

    if (!s)
        return -ENOENT;
    for (size_t i = 0; i < nshade && i < RRDGRAPH_MAX_WINDOWS; i++) {
        win[i].start = shade[i].start;
        win[i].end = shade[i].end;
        req.nwindows++;
    }
    return rrdgraph_png(s, &req, png, len, err, errlen);
}

/* The largest value of the series named prefix NAME suffix over [from, to]
 * (percent), or NAN when there is none. */
static double peak(rrdstore_t *s, const json_t *metrics, const char *prefix, const char *suffix,
                   time_t from, time_t to)
{
    size_t lp = strlen(prefix), ls = strlen(suffix), i;
    double m = NAN;
    json_t *name;

    json_array_foreach(metrics, i, name)
    {
        const char *n = json_string_value(name);
        size_t ln = n ? strlen(n) : 0;
        json_t *ser, *pt;
        char err[512];
        size_t k;

        if (ln <= lp + ls || strncmp(n, prefix, lp) || strcmp(n + ln - ls, suffix) ||
            memchr(n + lp, '.', ln - lp - ls))
            continue;
        if (!(ser = rrdread_series(s, n, from, to, err, sizeof(err))))
            continue;
        json_array_foreach(json_object_get(ser, "points"), k, pt)
        {
            const json_t *v = json_array_get(pt, 1);

            if (json_is_number(v) && (isnan(m) || json_number_value(v) > m))
                m = json_number_value(v);
        }
        json_decref(ser);
    }
    return m;
}

static json_t *empty_site(const char *name)
{
    return json_pack("{s:s, s:i, s:i, s:i, s:i, s:n, s:n, s:n, s:n, s:i, s:i}", "site", name,
                     "calls", 0, "answered", 0, "failed", 0, "dropped", 0, "mos_avg", "mos_min",
                     "first", "last", "incidents", 0, "open_incidents", 0);
}

/* Adds the sites that have series but no records yet. */
static void add_store_sites(central_t *c, json_t *list)
{
    json_t *dirs = rrdread_subdirs(c->base, c->remote ? c->daemon : NULL), *d, *o;
    size_t i, j;

    json_array_foreach(dirs, i, d)
    {
        bool known = false;

        if (!config_name_valid(json_string_value(d)))
            continue;
        json_array_foreach(list, j, o) known = known || json_equal(json_object_get(o, "site"), d);
        if (!known)
            json_array_append_new(list, empty_site(json_string_value(d)));
    }
    json_decref(dirs);
}

/* The series of the site of o and the peaks of its links and CPUs. */
static void add_series_facts(central_t *c, json_t *o, double from, double to)
{
    char err[512];
    const char *site = json_string_value(json_object_get(o, "site"));
    rrdstore_t *s = site ? store_of(c, site, err, sizeof(err)) : NULL;
    json_t *metrics = s ? rrdread_metrics(s) : json_array();
    double last = json_number_value(json_object_get(o, "last"));
    double first = json_number_value(json_object_get(o, "first"));
    time_t a, b;
    double lp = NAN, cp = NAN;

    /* Without a range: the period of the site's calls, or its last hour. */
    b = (time_t)ceil(to > 0 ? to : last > 0 ? last + (double)c->cfg->step_s : 0);
    a = (time_t)floor(from > 0 ? from : first > 0 ? first - (double)c->cfg->step_s : b - 3600);
    if (s && b > a) {
        lp = peak(s, metrics, "link.", ".util_pct", a, b);
        cp = peak(s, metrics, "cpu.", ".pct", a, b);
    }
    json_object_set_new(o, "link_peak_pct", isnan(lp) ? json_null() : json_real(lp));
    json_object_set_new(o, "cpu_peak_pct", isnan(cp) ? json_null() : json_real(cp));
    json_object_set_new(o, "metrics", metrics);
}

static json_t *sites(void *ud, double from, double to, char *err, size_t errlen)
{
    central_t *c = ud;
    json_t *list = calldb_sites(c->db, from, to, err, errlen), *o;
    size_t i;

    if (!list)
        return NULL;
    if (c->remote || c->base)
        add_store_sites(c, list);
    json_array_foreach(list, i, o) add_series_facts(c, o, from, to);
    return list;
}

void central_sources(central_t *c, web_sources_t *src)
{
    memset(src, 0, sizeof(*src));
    src->db = c->db;
    src->site = c->cfg->site;
    src->site_series = site_series;
    src->site_graph = site_graph;
    src->sites = sites;
    src->ud = c;
}

central_t *central_open(const cw_config_t *cfg, bool *usage, char *err, size_t errlen)
{
    central_t *c;
    calldb_options_t o = { .url = cfg->calldb_url, .site = cfg->site, .readonly = true };
    const char *daemon = cfg->rrd_daemon ? cfg->rrd_daemon : getenv(ENV_RRDCACHED_ADDRESS);

    *usage = false;
    if (!cfg->calldb_url) {
        snprintf(err, errlen,
                 "%s: --central reads every site's calls from PostgreSQL: give [calldb] url",
                 cfg->path ? cfg->path : "the configuration (-c FILE)");
        *usage = true;
        return NULL;
    }
    if (daemon && (!*daemon || !rrdlib_daemon_valid(daemon))) {
        snprintf(err, errlen, "rrdcached address \"%s\" is not unix:/path, /path or host[:port]",
                 daemon);
        *usage = true;
        return NULL;
    }
    c = cw_calloc(1, sizeof(*c));
    c->cfg = cfg;
    c->daemon = daemon;
    c->remote = daemon && !rrdlib_daemon_is_local(daemon);
    if (cfg->data_dir && !c->remote && !(c->base = realpath(cfg->data_dir, NULL))) {
        snprintf(err, errlen, "data directory %s (the sites' RRD folders): %s", cfg->data_dir,
                 strerror(errno));
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    if (!(c->db = calldb_open_options(&o, err, errlen))) {
        central_close(c);
        return NULL;
    }
    return c;
}

void central_close(central_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nstores; i++) {
        rrdstore_close(c->stores[i].store);
        free(c->stores[i].site);
    }
    free(c->stores);
    calldb_close(c->db);
    pthread_mutex_destroy(&c->lock);
    free(c->base);
    free(c);
}
