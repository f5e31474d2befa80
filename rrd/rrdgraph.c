#include "autoconf.h"

#include "rrd/rrdgraph.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rrd/rrdlib.h"
#include "rrd/rrdread.h"
#include "rrd/rrdschema.h"

/* The rrd_graph argument list under construction. */
struct gargs {
    char **v;
    size_t n, cap;
    int ndefs;       /* DEFs so far: the vnames are d0, d1, ... */
    size_t shade_at; /* where the incident shading goes: before any drawing */
};

static void arg(struct gargs *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void arg(struct gargs *g, const char *fmt, ...)
{
    va_list ap;
    char buf[1024];

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (g->n + 1 >= g->cap) {
        g->cap = g->cap ? g->cap * 2 : 64;
        g->v = cw_realloc(g->v, g->cap * sizeof(*g->v));
    }
    g->v[g->n++] = cw_strdup(buf);
    g->v[g->n] = NULL;
}

static void gargs_free(struct gargs *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->v[i]);
    free(g->v);
}

/* A file name inside DEF: escape the colons that separate DEF's fields. */
static void escape_path(const char *in, char *out, size_t len)
{
    size_t o = 0;

    for (; *in && o + 2 < len; in++) {
        if (*in == ':' || *in == '\\')
            out[o++] = '\\';
        out[o++] = *in;
    }
    out[o] = '\0';
}

/* Adds DEF:dN=DIR/file:ds:cf if the file exists; returns N or -1. */
static int def(rrdstore_t *s, struct gargs *g, const char *file, const char *ds, const char *cf)
{
    char path[4096], esc[8192];

    if (!rrdread_file_exists(s, file))
        return -1;
    snprintf(path, sizeof(path), "%s/%s", rrdstore_dir(s), file);
    escape_path(path, esc, sizeof(esc));
    arg(g, "DEF:d%d=%s:%s:%s", g->ndefs, esc, ds, cf);
    return g->ndefs++;
}

/* DEF of a metric through the store's layout. */
static int def_metric(rrdstore_t *s, struct gargs *g, const char *metric, bool use_read_cf)
{
    rrdschema_loc_t loc;

    if (rrdschema_locate(metric, &loc) != 0)
        return -1;
    return def(s, g, loc.file, loc.ds, use_read_cf ? loc.cf : "AVERAGE");
}

static const char *const palette[] = { "1F77B4", "FF7F0E", "2CA02C", "9467BD",
                                       "8C564B", "E377C2", "17BECF", "BCBD22" };
#define NPALETTE (sizeof(palette) / sizeof(palette[0]))

static const char *units_of(const char *metric)
{
    static const struct {
        const char *suffix, *unit;
    } u[] = { { "_pct", "%" },        { "_ms", "ms" },        { "bps", "bit/s" },
              { "pps", "packets/s" }, { "mos_avg", "MOS" },   { "mos_min", "MOS" },
              { "drops", "packets" }, { "errors", "errors" }, { "streams", "streams" },
              { "calls.", "calls" } };
    size_t n = strlen(metric);

    for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
        size_t k = strlen(u[i].suffix);

        if (u[i].suffix[k - 1] == '.' ? strncmp(metric, u[i].suffix, k) == 0
                                      : n >= k && strcmp(metric + n - k, u[i].suffix) == 0)
            return u[i].unit;
    }
    return "";
}

static void legend_stats(struct gargs *g, int d)
{
    arg(g, "VDEF:d%dmin=d%d,MINIMUM", d, d);
    arg(g, "VDEF:d%davg=d%d,AVERAGE", d, d);
    arg(g, "VDEF:d%dmax=d%d,MAXIMUM", d, d);
    arg(g, "GPRINT:d%dmin:min %%.2lf%%s", d);
    arg(g, "GPRINT:d%davg:avg %%.2lf%%s", d);
    arg(g, "GPRINT:d%dmax:max %%.2lf%%s\\l", d);
}

static int build_single(rrdstore_t *s, struct gargs *g, const char *metric)
{
    int d;

    arg(g, "--vertical-label=%s", units_of(metric));
    d = def_metric(s, g, metric, true);
    if (d < 0)
        return -ENOENT;
    g->shade_at = g->n;
    arg(g, "LINE2:d%d#%s:%s", d, palette[0], metric);
    legend_stats(g, d);
    return 0;
}

/* Link and CPU names with a file, from the store's list of metrics. */
static json_t *instances(rrdstore_t *s, const char *family, const char *leaf)
{
    json_t *all = rrdread_metrics(s), *out = json_array(), *v;
    size_t i, fl = strlen(family), ll = strlen(leaf);

    json_array_foreach(all, i, v)
    {
        const char *m = json_string_value(v);
        size_t n = strlen(m);

        if (strncmp(m, family, fl) == 0 && m[fl] == '.' && n > fl + ll + 2 &&
            strcmp(m + n - ll, leaf) == 0 && m[n - ll - 1] == '.') {
            char name[80];

            snprintf(name, sizeof(name), "%.*s", (int)(n - ll - fl - 2), m + fl + 1);
            json_array_append_new(out, json_string(name));
        }
    }
    json_decref(all);
    return out;
}

#define MAX_INSTANCES 32 /* lines per graph */

struct inst {
    char name[72];
    int d;
};

/* DEFs for every instance of family ("link", "cpu"); returns how many. */
static size_t defs_of(rrdstore_t *s, struct gargs *g, const char *family, const char *leaf,
                      struct inst *out)
{
    json_t *names = instances(s, family, leaf), *v;
    char metric[160];
    size_t i, n = 0;

    json_array_foreach(names, i, v)
    {
        if (n == MAX_INSTANCES)
            break;
        snprintf(metric, sizeof(metric), "%s.%s.%s", family, json_string_value(v), leaf);
        out[n].d = def_metric(s, g, metric, false);
        if (out[n].d < 0)
            continue;
        cw_strlcpy(out[n].name, json_string_value(v), sizeof(out[n].name));
        n++;
    }
    json_decref(names);
    return n;
}

static void draw_instances(struct gargs *g, const struct inst *in, size_t n, const char *label,
                           size_t *color)
{
    for (size_t i = 0; i < n; i++) {
        arg(g, "LINE2:d%d#%s:%s %s", in[i].d, palette[(*color)++ % NPALETTE], label, in[i].name);
        arg(g, "VDEF:d%dmax=d%d,MAXIMUM", in[i].d, in[i].d);
        arg(g, "GPRINT:d%dmax:max %%.1lf%%%%\\l", in[i].d);
    }
}

/* overview: dropped calls, MOS, link utilisation, CPU on one time axis.
 * Percentages on the left axis; MOS x 20 on the right one (100 = MOS 5);
 * dropped calls as ticks across the whole height. */
static int build_overview(rrdstore_t *s, struct gargs *g)
{
    struct inst links[MAX_INSTANCES], cpus[MAX_INSTANCES];
    int drop, mos, mosmin;
    size_t nlinks, ncpus, color = 0;

    arg(g, "--vertical-label=%% (links, CPU)");
    arg(g, "--right-axis=0.05:0");
    arg(g, "--right-axis-label=MOS");
    arg(g, "--right-axis-format=%%.1lf");
    arg(g, "--lower-limit=0");
    arg(g, "--upper-limit=100");
    drop = def_metric(s, g, "calls.dropped", false);
    mos = def_metric(s, g, "rtp.mos_avg", false);
    mosmin = def_metric(s, g, "rtp.mos_min", true);
    nlinks = defs_of(s, g, "link", "util_pct", links);
    ncpus = defs_of(s, g, "cpu", "pct", cpus);
    if (drop < 0 && mos < 0 && nlinks == 0 && ncpus == 0)
        return -ENOENT;
    g->shade_at = g->n;
    draw_instances(g, links, nlinks, "link", &color);
    draw_instances(g, cpus, ncpus, "CPU", &color);
    if (mos >= 0) {
        arg(g, "CDEF:mos20=d%d,20,*", mos);
        arg(g, "LINE2:mos20#7B3294:MOS avg (right axis)");
        arg(g, "VDEF:mosworst=d%d,MINIMUM", mos);
        arg(g, "GPRINT:mosworst:lowest %%.2lf\\l");
    }
    if (mosmin >= 0) {
        arg(g, "CDEF:mosmin20=d%d,20,*", mosmin);
        arg(g, "LINE1:mosmin20#C2A5CF:MOS min\\l:dashes");
    }
    if (drop >= 0) {
        /* A step's value is the count in that step; TOTAL multiplies by the
         * row's width in seconds, so divide by the base step first. */
        arg(g, "CDEF:dropn=d%d,%ld,/", drop, rrdstore_step(s));
        arg(g, "VDEF:droptotal=dropn,TOTAL");
        arg(g, "TICK:d%d#D62728:1.0:  dropped calls", drop);
        arg(g, "GPRINT:droptotal:%%.0lf in all\\l");
    }
    return 0;
}

static int build_calls(rrdstore_t *s, struct gargs *g, const char *prefix)
{
    static const char *const leaves[] = { "active", "attempts", "answered", "failed", "dropped" };
    int d[5], any = 0;
    char m[160];

    arg(g, "--vertical-label=calls");
    arg(g, "--lower-limit=0");
    for (size_t i = 0; i < 5; i++) {
        snprintf(m, sizeof(m), "%scalls.%s", prefix, leaves[i]);
        d[i] = def_metric(s, g, m, false);
        any |= d[i] >= 0;
    }
    if (!any)
        return -ENOENT;
    g->shade_at = g->n;
    for (size_t i = 0; i < 5; i++)
        if (d[i] >= 0) {
            arg(g, "%s:d%d#%s:%s", i == 0 ? "LINE2" : "LINE1", d[i], i == 4 ? "D62728" : palette[i],
                leaves[i]);
            arg(g, "VDEF:d%dmax=d%d,MAXIMUM", d[i], d[i]);
            arg(g, "GPRINT:d%dmax:max %%.0lf\\l", d[i]);
        }
    return 0;
}

static int build_quality(rrdstore_t *s, struct gargs *g, const char *prefix)
{
    char m[160];
    int loss, jit, mos, mosmin;

    arg(g, "--vertical-label=loss %%, jitter ms");
    arg(g, "--right-axis=0.05:0");
    arg(g, "--right-axis-label=MOS");
    arg(g, "--right-axis-format=%%.1lf");
    arg(g, "--lower-limit=0");
    snprintf(m, sizeof(m), "%srtp.loss_pct", prefix);
    loss = def_metric(s, g, m, false);
    snprintf(m, sizeof(m), "%srtp.jitter_ms", prefix);
    jit = def_metric(s, g, m, false);
    snprintf(m, sizeof(m), "%srtp.mos_avg", prefix);
    mos = def_metric(s, g, m, false);
    snprintf(m, sizeof(m), "%srtp.mos_min", prefix);
    mosmin = def_metric(s, g, m, true);
    if (loss < 0)
        return -ENOENT; /* all four live in one file */
    g->shade_at = g->n;
    arg(g, "LINE1:d%d#D62728:loss %%", loss);
    legend_stats(g, loss);
    arg(g, "LINE1:d%d#FF7F0E:jitter ms", jit);
    legend_stats(g, jit);
    arg(g, "CDEF:mos20=d%d,20,*", mos);
    arg(g, "LINE2:mos20#7B3294:MOS avg (right axis)\\l");
    arg(g, "CDEF:mosmin20=d%d,20,*", mosmin);
    arg(g, "LINE1:mosmin20#C2A5CF:MOS min (right axis)\\l:dashes");
    return 0;
}

static int build_traffic(rrdstore_t *s, struct gargs *g, const char *prefix)
{
    char m[160];
    int bps, rtp, sip, other;

    arg(g, "--vertical-label=bit/s");
    arg(g, "--lower-limit=0");
    snprintf(m, sizeof(m), "%straffic.bps", prefix);
    bps = def_metric(s, g, m, false);
    if (bps < 0)
        return -ENOENT;
    snprintf(m, sizeof(m), "%straffic.rtp.bps", prefix);
    rtp = def_metric(s, g, m, false);
    snprintf(m, sizeof(m), "%straffic.sip.bps", prefix);
    sip = def_metric(s, g, m, false);
    snprintf(m, sizeof(m), "%straffic.other.bps", prefix);
    other = def_metric(s, g, m, false);
    g->shade_at = g->n;
    arg(g, "AREA:d%d#2CA02C80:RTP", rtp);
    arg(g, "AREA:d%d#1F77B480:SIP:STACK", sip);
    arg(g, "AREA:d%d#BCBD2280:other\\l:STACK", other);
    arg(g, "LINE1:d%d#000000:total", bps);
    legend_stats(g, bps);
    return 0;
}

static int build_instances(rrdstore_t *s, struct gargs *g, const char *family, const char *leaf,
                           const char *label)
{
    struct inst in[MAX_INSTANCES];
    size_t n, color = 0;

    arg(g, "--vertical-label=%%");
    arg(g, "--lower-limit=0");
    arg(g, "--upper-limit=100");
    n = defs_of(s, g, family, leaf, in);
    if (n == 0)
        return -ENOENT;
    g->shade_at = g->n;
    draw_instances(g, in, n, label, &color);
    return 0;
}

bool rrdgraph_is_composite(const char *name)
{
    static const char *const names[] = {
        "overview", "calls", "quality", "traffic", "links", "cpu"
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

/* "group.NAME.calls" -> prefix "group.NAME.", kind "calls". */
static bool group_composite(const char *name, char *prefix, size_t len, const char **kind)
{
    const char *dot;

    if (strncmp(name, "group.", 6) != 0 || !(dot = strchr(name + 6, '.')))
        return false;
    if (strcmp(dot + 1, "calls") != 0 && strcmp(dot + 1, "quality") != 0 &&
        strcmp(dot + 1, "traffic") != 0)
        return false;
    if ((size_t)(dot - name) + 2 > len)
        return false;
    snprintf(prefix, len, "%.*s", (int)(dot - name + 1), name);
    *kind = dot + 1;
    return true;
}

/* Inserts the shading of the incident windows at g->shade_at: a CDEF that
 * is INF inside a window (drawn to the top of the graph) and unknown
 * elsewhere, an AREA of it, and a rule where each window starts. */
static void add_shading(struct gargs *g, const rrdgraph_req_t *req)
{
    struct gargs sh = { 0 };
    char expr[8192];
    size_t o = 0;

    if (!req->nwindows || g->ndefs == 0)
        return;
    o += (size_t)snprintf(expr + o, sizeof(expr) - o, "CDEF:incident=d0,POP");
    for (size_t i = 0; i < req->nwindows && o < sizeof(expr); i++)
        o += (size_t)snprintf(expr + o, sizeof(expr) - o, ",TIME,%lld,GE,TIME,%lld,LE,*%s",
                              (long long)req->windows[i].start, (long long)req->windows[i].end,
                              i ? ",+" : "");
    if (o >= sizeof(expr))
        return;
    arg(&sh, "%s,0,GT,INF,UNKN,IF", expr);
    arg(&sh, "AREA:incident#FF000033:incident");
    for (size_t i = 0; i < req->nwindows; i++)
        arg(&sh, "VRULE:%lld#FF000099", (long long)req->windows[i].start);
    /* Splice sh into g at shade_at. */
    g->v = cw_realloc(g->v, (g->n + sh.n + 1) * sizeof(*g->v));
    memmove(&g->v[g->shade_at + sh.n], &g->v[g->shade_at],
            (g->n - g->shade_at + 1) * sizeof(*g->v));
    memcpy(&g->v[g->shade_at], sh.v, sh.n * sizeof(*g->v));
    g->n += sh.n;
    g->cap = g->n + 1;
    free(sh.v);
}

/* Checks req; returns 0, or -EINVAL with err. */
static int check_req(const rrdgraph_req_t *req, int width, int height, char *err, size_t errlen)
{
    if (!req->name || !*req->name) {
        snprintf(err, errlen, "graph: no name");
        return -EINVAL;
    }
    if (req->start < 0 || req->end <= req->start) {
        snprintf(err, errlen, "graph %s: bad time range %lld..%lld", req->name,
                 (long long)req->start, (long long)req->end);
        return -EINVAL;
    }
    if (width < 10 || width > RRDGRAPH_MAX_WIDTH || height < 10 || height > RRDGRAPH_MAX_HEIGHT) {
        snprintf(err, errlen, "graph %s: size %dx%d is outside 10x10..%dx%d", req->name, width,
                 height, RRDGRAPH_MAX_WIDTH, RRDGRAPH_MAX_HEIGHT);
        return -EINVAL;
    }
    if (req->nwindows > RRDGRAPH_MAX_WINDOWS || (req->nwindows && !req->windows)) {
        snprintf(err, errlen, "graph %s: at most %d incident windows", req->name,
                 RRDGRAPH_MAX_WINDOWS);
        return -EINVAL;
    }
    for (size_t i = 0; i < req->nwindows; i++)
        if (req->windows[i].end < req->windows[i].start) {
            snprintf(err, errlen, "graph %s: incident window %zu ends before it starts", req->name,
                     i + 1);
            return -EINVAL;
        }
    return 0;
}

/* Adds the DEFs and drawing of the graph named name; returns 0, -ENOENT
 * (no data) or -EINVAL (not a graph name). */
static int build(rrdstore_t *s, struct gargs *g, const char *name)
{
    rrdschema_loc_t loc;
    char prefix[96];
    const char *kind;

    if (strcmp(name, "overview") == 0)
        return build_overview(s, g);
    if (strcmp(name, "calls") == 0)
        return build_calls(s, g, "");
    if (strcmp(name, "quality") == 0)
        return build_quality(s, g, "");
    if (strcmp(name, "traffic") == 0)
        return build_traffic(s, g, "");
    if (strcmp(name, "links") == 0)
        return build_instances(s, g, "link", "util_pct", "link");
    if (strcmp(name, "cpu") == 0)
        return build_instances(s, g, "cpu", "pct", "CPU");
    if (group_composite(name, prefix, sizeof(prefix), &kind))
        return strcmp(kind, "calls") == 0     ? build_calls(s, g, prefix)
               : strcmp(kind, "quality") == 0 ? build_quality(s, g, prefix)
                                              : build_traffic(s, g, prefix);
    if (rrdschema_locate(name, &loc) == 0)
        return build_single(s, g, name);
    return -EINVAL;
}

/* Runs rrd_graph on g and copies the image out.  Returns 0 or -EIO with err. */
static int render(struct gargs *g, const char *name, unsigned char **png, size_t *len, char *err,
                  size_t errlen)
{
    rrd_info_t *info;
    int rc = -EIO;

    rrdlib_lock();
    rrdlib.rrd_clear_error();
    info = rrdlib.rrd_graph_v((int)g->n, g->v);
    if (!info) {
        snprintf(err, errlen, "graph %s: %s", name,
                 rrdlib.rrd_get_error() && *rrdlib.rrd_get_error() ? rrdlib.rrd_get_error()
                                                                   : "rrd_graph failed");
    }
    rrdlib_unlock();
    if (!info)
        return -EIO;
    snprintf(err, errlen, "graph %s: rrd_graph returned no image", name);
    for (rrd_info_t *i = info; i; i = i->next)
        if (strcmp(i->key, "image") == 0 && i->type == RD_I_BLO && i->value.u_blo.size > 0) {
            *len = i->value.u_blo.size;
            *png = cw_calloc(1, *len);
            memcpy(*png, i->value.u_blo.ptr, *len);
            rc = 0;
            break;
        }
    if (rc == 0 && errlen)
        err[0] = '\0';
    rrdlib_lock();
    rrdlib.rrd_info_free(info);
    rrdlib_unlock();
    return rc;
}

int rrdgraph_png(rrdstore_t *s, const rrdgraph_req_t *req, unsigned char **png, size_t *len,
                 char *err, size_t errlen)
{
    struct gargs g = { 0 };
    int width = req->width ? req->width : RRDGRAPH_DEFAULT_WIDTH;
    int height = req->height ? req->height : RRDGRAPH_DEFAULT_HEIGHT;
    int rc;

    *png = NULL;
    *len = 0;
    rc = check_req(req, width, height, err, errlen);
    if (rc != 0)
        return rc;

    arg(&g, "graphv");
    arg(&g, "-");
    arg(&g, "--imgformat=PNG");
    arg(&g, "--start=%lld", (long long)req->start);
    arg(&g, "--end=%lld", (long long)req->end);
    arg(&g, "--width=%d", width);
    arg(&g, "--height=%d", height);
    arg(&g, "--title=%s", req->title ? req->title : req->name);
    if (rrdstore_daemon(s))
        arg(&g, "--daemon=%s", rrdstore_daemon(s));
    rc = build(s, &g, req->name);
    if (rc == -EINVAL)
        snprintf(err, errlen, "graph \"%s\": not a metric or composite name", req->name);
    else if (rc == -ENOENT)
        snprintf(err, errlen, "graph %s: no data in %s", req->name, rrdstore_dir(s));
    if (rc == 0) {
        add_shading(&g, req);
        rc = render(&g, req->name, png, len, err, errlen);
    }
    gargs_free(&g);
    return rc;
}
