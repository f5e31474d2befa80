#include "autoconf.h"

#include "rrd/rrdschema.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/metrics.h"
#include "common/util.h"

struct ds_def {
    const char *leaf; /* the metric name after the family prefix */
    const char *ds;
    double min, max;
    const char *cf; /* the consolidation a series is read with */
};

struct file_def {
    const char *family; /* "calls", or "link" for link.NAME.* */
    const char *file;   /* "calls" -> calls.rrd; for instances "link" -> link-NAME.rrd */
    bool with_min;      /* keep MIN archives: lower is worse for some DS */
    const struct ds_def *ds;
    size_t nds;
};

#define U          NAN
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const struct ds_def calls_ds[] = {
    { "active", "active", 0, U, "AVERAGE" },     { "attempts", "attempts", 0, U, "AVERAGE" },
    { "answered", "answered", 0, U, "AVERAGE" }, { "failed", "failed", 0, U, "AVERAGE" },
    { "dropped", "dropped", 0, U, "AVERAGE" },
};

static const struct ds_def rtp_ds[] = {
    { "streams", "streams", 0, U, "AVERAGE" },     { "loss_pct", "loss_pct", 0, 100, "AVERAGE" },
    { "jitter_ms", "jitter_ms", 0, U, "AVERAGE" }, { "mos_avg", "mos_avg", 1, 5, "AVERAGE" },
    { "mos_min", "mos_min", 1, 5, "MIN" },
};

static const struct ds_def traffic_ds[] = {
    { "bps", "bps", 0, U, "AVERAGE" },
    { "pps", "pps", 0, U, "AVERAGE" },
    { "rtp.bps", "rtp_bps", 0, U, "AVERAGE" },
    { "rtp.pps", "rtp_pps", 0, U, "AVERAGE" },
    { "sip.bps", "sip_bps", 0, U, "AVERAGE" },
    { "sip.pps", "sip_pps", 0, U, "AVERAGE" },
    { "other.bps", "other_bps", 0, U, "AVERAGE" },
    { "other.pps", "other_pps", 0, U, "AVERAGE" },
};

static const struct ds_def capture_ds[] = {
    { "drops", "drops", 0, U, "AVERAGE" },
};

/* Utilisation above 100 % is real (counter caching in agents, a wrong
 * speed): keep it rather than turn the worst minutes into gaps. */
static const struct ds_def link_ds[] = {
    { "in_bps", "in_bps", 0, U, "AVERAGE" },
    { "out_bps", "out_bps", 0, U, "AVERAGE" },
    { "util_pct", "util_pct", 0, 1000, "AVERAGE" },
    { "errors", "errors", 0, U, "AVERAGE" },
};

static const struct ds_def cpu_ds[] = {
    { "pct", "pct", 0, 100, "AVERAGE" },
};

static const struct ds_def generic_ds[] = {
    { "", "value", U, U, "AVERAGE" },
};

/* Families whose files are per data dir (and per group). */
static const struct file_def fixed_files[] = {
    { "calls", "calls", false, calls_ds, N_ELEMS(calls_ds) },
    { "rtp", "rtp", true, rtp_ds, N_ELEMS(rtp_ds) },
    { "traffic", "traffic", false, traffic_ds, N_ELEMS(traffic_ds) },
    { "capture", "capture", false, capture_ds, N_ELEMS(capture_ds) },
};

/* Families with one file per configured instance. */
static const struct file_def instance_files[] = {
    { "link", "link", false, link_ds, N_ELEMS(link_ds) },
    { "cpu", "cpu", false, cpu_ds, N_ELEMS(cpu_ds) },
};

/* The value's direction is unknown: keep every consolidation. */
static const struct file_def generic_file = { "", "misc", true, generic_ds, 1 };

#define GENERIC_PREFIX "misc-"
#define GROUP_PREFIX   "group-"

/* Archives: resolution and how long it is kept, in seconds. */
static const struct {
    long res_s, keep_s;
} archives[] = {
    { 0, 2 * 86400 },        /* one step, two days */
    { 60, 14 * 86400 },      /* one minute, two weeks */
    { 300, 183 * 86400 },    /* five minutes, six months */
    { 3600, 1826L * 86400 }, /* one hour, five years */
};

#define XFF "0.5"

static const struct ds_def *find_leaf(const struct file_def *fd, const char *leaf)
{
    for (size_t i = 0; i < fd->nds; i++)
        if (strcmp(fd->ds[i].leaf, leaf) == 0)
            return &fd->ds[i];
    return NULL;
}

/* "calls.dropped" -> calls_files entry and its DS. */
static const struct file_def *fixed_lookup(const char *metric, const struct ds_def **dd)
{
    for (size_t i = 0; i < N_ELEMS(fixed_files); i++) {
        size_t n = strlen(fixed_files[i].family);

        if (strncmp(metric, fixed_files[i].family, n) == 0 && metric[n] == '.') {
            *dd = find_leaf(&fixed_files[i], metric + n + 1);
            if (*dd)
                return &fixed_files[i];
        }
    }
    return NULL;
}

/* Splits "PREFIX.NAME.rest": copies NAME (a valid config name) and returns
 * rest, or NULL. */
static const char *split_instance(const char *metric, const char *prefix, char *name, size_t len)
{
    size_t n = strlen(prefix);
    const char *dot;

    if (strncmp(metric, prefix, n) != 0 || metric[n] != '.')
        return NULL;
    metric += n + 1;
    dot = strchr(metric, '.');
    if (!dot || (size_t)(dot - metric) >= len)
        return NULL;
    memcpy(name, metric, (size_t)(dot - metric));
    name[dot - metric] = '\0';
    if (!config_name_valid(name))
        return NULL;
    return dot + 1;
}

/* Resolves a metric to its file definition, DS definition and file name. */
static const struct file_def *resolve(const char *metric, const struct ds_def **dd, char *file,
                                      size_t len)
{
    const struct file_def *fd;
    const char *rest;
    char name[72];

    if ((rest = split_instance(metric, "group", name, sizeof(name))) != NULL &&
        (fd = fixed_lookup(rest, dd)) != NULL) {
        snprintf(file, len, GROUP_PREFIX "%s.%s.rrd", name, fd->file);
        return fd;
    }
    if ((fd = fixed_lookup(metric, dd)) != NULL) {
        snprintf(file, len, "%s.rrd", fd->file);
        return fd;
    }
    for (size_t i = 0; i < N_ELEMS(instance_files); i++) {
        rest = split_instance(metric, instance_files[i].family, name, sizeof(name));
        if (rest && (*dd = find_leaf(&instance_files[i], rest)) != NULL) {
            snprintf(file, len, "%s-%s.rrd", instance_files[i].file, name);
            return &instance_files[i];
        }
    }
    *dd = &generic_ds[0];
    snprintf(file, len, GENERIC_PREFIX "%s.rrd", metric);
    return &generic_file;
}

int rrdschema_locate(const char *metric, rrdschema_loc_t *out)
{
    const struct file_def *fd;
    const struct ds_def *dd;

    if (!metric || !metrics_name_valid(metric))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    fd = resolve(metric, &dd, out->file, sizeof(out->file));
    cw_strlcpy(out->ds, dd->ds, sizeof(out->ds));
    out->cf = dd->cf;
    out->min = dd->min;
    out->max = dd->max;
    out->generic = fd == &generic_file;
    out->ds_index = (size_t)(dd - fd->ds);
    out->nds = fd->nds;
    return 0;
}

static void fmt_bound(char *buf, size_t len, double v)
{
    if (isnan(v))
        cw_strlcpy(buf, "U", len);
    else
        snprintf(buf, len, "%g", v);
}

/* The archives at step_s: rows consolidated per archive row (ppr) and rows
 * kept, per resolution; returns how many resolutions.  Each resolution
 * rounds to whole steps; a resolution no coarser than the one before (a
 * long step) merges into it and keeps the longer time. */
static size_t resolutions(long step_s, long *ppr, long *rows)
{
    size_t nres = 0;
    long prev_ppr = 0;

    for (size_t i = 0; i < N_ELEMS(archives); i++) {
        long p = archives[i].res_s ? (archives[i].res_s + step_s / 2) / step_s : 1;
        long r;

        if (p < 1)
            p = 1;
        r = (archives[i].keep_s + p * step_s - 1) / (p * step_s);
        if (nres && p <= prev_ppr) {
            if (r * p > rows[nres - 1] * ppr[nres - 1])
                rows[nres - 1] = (r * p + ppr[nres - 1] - 1) / ppr[nres - 1];
            continue;
        }
        ppr[nres] = p;
        rows[nres] = r;
        nres++;
        prev_ppr = p;
    }
    return nres;
}

/* Builds the rrd_create arguments of a file definition. */
static char **create_args(const struct file_def *fd, long step_s, size_t *argc)
{
    static const char *const cfs[] = { "AVERAGE", "MAX", "MIN" };
    size_t ncf = fd->with_min ? 3 : 2, n = 0;
    char **argv = cw_calloc(fd->nds + N_ELEMS(archives) * ncf + 1, sizeof(*argv));
    long ppr[N_ELEMS(archives)], rows[N_ELEMS(archives)];
    size_t nres = resolutions(step_s, ppr, rows);
    char buf[128], lo[32], hi[32];

    for (size_t i = 0; i < fd->nds; i++) {
        fmt_bound(lo, sizeof(lo), fd->ds[i].min);
        fmt_bound(hi, sizeof(hi), fd->ds[i].max);
        snprintf(buf, sizeof(buf), "DS:%s:GAUGE:%ld:%s:%s", fd->ds[i].ds,
                 RRDSCHEMA_HEARTBEAT_STEPS * step_s, lo, hi);
        argv[n++] = cw_strdup(buf);
    }
    for (size_t c = 0; c < ncf; c++)
        for (size_t i = 0; i < nres; i++) {
            snprintf(buf, sizeof(buf), "RRA:%s:" XFF ":%ld:%ld", cfs[c], ppr[i], rows[i]);
            argv[n++] = cw_strdup(buf);
        }
    argv[n] = NULL;
    *argc = n;
    return argv;
}

int rrdschema_create_args(const char *metric, long step_s, char ***argv, size_t *argc)
{
    const struct ds_def *dd;
    char file[RRDSCHEMA_FILE_MAX];

    if (!metric || !metrics_name_valid(metric) || step_s <= 0)
        return -EINVAL;
    *argv = create_args(resolve(metric, &dd, file, sizeof(file)), step_s, argc);
    return 0;
}

void rrdschema_args_free(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

/* Calls fn with every metric of fd: in the group named group, or of the
 * instance inst, or (both NULL) of the data dir's own file. */
static void each_metric(const struct file_def *fd, const char *group, const char *inst,
                        void (*fn)(void *, const char *), void *ud)
{
    char metric[RRDSCHEMA_FILE_MAX + 32];

    for (size_t k = 0; k < fd->nds; k++) {
        if (group)
            snprintf(metric, sizeof(metric), "group.%s.%s.%s", group, fd->family, fd->ds[k].leaf);
        else if (inst)
            snprintf(metric, sizeof(metric), "%s.%s.%s", fd->family, inst, fd->ds[k].leaf);
        else
            snprintf(metric, sizeof(metric), "%s.%s", fd->family, fd->ds[k].leaf);
        fn(ud, metric);
    }
}

/* The fixed family whose file is base.rrd. */
static const struct file_def *fixed_by_file(const char *base)
{
    for (size_t i = 0; i < N_ELEMS(fixed_files); i++)
        if (strcmp(base, fixed_files[i].file) == 0)
            return &fixed_files[i];
    return NULL;
}

/* base: "misc-NAME"; only names that really map to a generic file. */
static bool generic_metrics(const char *base, void (*fn)(void *, const char *), void *ud)
{
    const char *m = base + strlen(GENERIC_PREFIX);
    rrdschema_loc_t loc;

    if (rrdschema_locate(m, &loc) != 0 || !loc.generic)
        return false;
    fn(ud, m);
    return true;
}

/* base: "group-NAME.FILE". */
static bool group_metrics(const char *base, void (*fn)(void *, const char *), void *ud)
{
    const char *dot = strchr(base, '.');
    const struct file_def *fd;
    char name[72];
    size_t nl;

    if (!dot)
        return false;
    nl = (size_t)(dot - base) - strlen(GROUP_PREFIX);
    if (nl >= sizeof(name))
        return false;
    memcpy(name, base + strlen(GROUP_PREFIX), nl);
    name[nl] = '\0';
    if (!config_name_valid(name) || (fd = fixed_by_file(dot + 1)) == NULL)
        return false;
    each_metric(fd, name, NULL, fn, ud);
    return true;
}

/* base: "FAMILY-NAME" of a family with one file per instance. */
static bool instance_metrics(const char *base, void (*fn)(void *, const char *), void *ud)
{
    for (size_t i = 0; i < N_ELEMS(instance_files); i++) {
        size_t pl = strlen(instance_files[i].file);

        if (strncmp(base, instance_files[i].file, pl) == 0 && base[pl] == '-' &&
            config_name_valid(base + pl + 1)) {
            each_metric(&instance_files[i], NULL, base + pl + 1, fn, ud);
            return true;
        }
    }
    return false;
}

bool rrdschema_metrics_of_file(const char *fname, void (*fn)(void *ud, const char *metric),
                               void *ud)
{
    size_t n = strlen(fname);
    char base[RRDSCHEMA_FILE_MAX];
    const struct file_def *fd;

    if (n <= 4 || n >= sizeof(base) || strcmp(fname + n - 4, ".rrd") != 0)
        return false;
    memcpy(base, fname, n - 4);
    base[n - 4] = '\0';
    if (strncmp(base, GENERIC_PREFIX, strlen(GENERIC_PREFIX)) == 0)
        return generic_metrics(base, fn, ud);
    if ((fd = fixed_by_file(base)) != NULL) {
        each_metric(fd, NULL, NULL, fn, ud);
        return true;
    }
    if (strncmp(base, GROUP_PREFIX, strlen(GROUP_PREFIX)) == 0)
        return group_metrics(base, fn, ud);
    return instance_metrics(base, fn, ud);
}
