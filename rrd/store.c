#include "autoconf.h"

#include "rrd/store.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/config.h"
#include "common/fs.h"
#include "rrd/rrdlib.h"
#include "rrd/rrdlock.h"

/* ------------------------------------------------------------------ layout */

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

#define HEARTBEAT_STEPS 2
#define WRITER_NICE     10
#define XFF             "0.5"

static const struct ds_def *find_leaf(const struct file_def *fd, const char *leaf, size_t *idx)
{
    for (size_t i = 0; i < fd->nds; i++)
        if (strcmp(fd->ds[i].leaf, leaf) == 0) {
            if (idx)
                *idx = i;
            return &fd->ds[i];
        }
    return NULL;
}

/* "calls.dropped" -> calls_files entry and its DS. */
static const struct file_def *fixed_lookup(const char *metric, const struct ds_def **dd)
{
    for (size_t i = 0; i < N_ELEMS(fixed_files); i++) {
        size_t n = strlen(fixed_files[i].family);

        if (strncmp(metric, fixed_files[i].family, n) == 0 && metric[n] == '.') {
            *dd = find_leaf(&fixed_files[i], metric + n + 1, NULL);
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
        if (rest && (*dd = find_leaf(&instance_files[i], rest, NULL)) != NULL) {
            snprintf(file, len, "%s-%s.rrd", instance_files[i].file, name);
            return &instance_files[i];
        }
    }
    *dd = &generic_ds[0];
    snprintf(file, len, GENERIC_PREFIX "%s.rrd", metric);
    return &generic_file;
}

int rrdstore_locate(const char *metric, rrdstore_loc_t *out)
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
    return 0;
}

static void fmt_bound(char *buf, size_t len, double v)
{
    if (isnan(v))
        cw_strlcpy(buf, "U", len);
    else
        snprintf(buf, len, "%g", v);
}

/* Builds the rrd_create arguments of a file definition. */
static char **create_args(const struct file_def *fd, long step_s, size_t *argc)
{
    static const char *const cfs[] = { "AVERAGE", "MAX", "MIN" };
    size_t ncf = fd->with_min ? 3 : 2, n = 0;
    char **argv = cw_calloc(fd->nds + N_ELEMS(archives) * ncf + 1, sizeof(*argv));
    long prev_ppr = 0;
    long ppr[N_ELEMS(archives)], rows[N_ELEMS(archives)];
    size_t nres = 0;
    char buf[128], lo[32], hi[32];

    for (size_t i = 0; i < fd->nds; i++) {
        fmt_bound(lo, sizeof(lo), fd->ds[i].min);
        fmt_bound(hi, sizeof(hi), fd->ds[i].max);
        snprintf(buf, sizeof(buf), "DS:%s:GAUGE:%ld:%s:%s", fd->ds[i].ds, HEARTBEAT_STEPS * step_s,
                 lo, hi);
        argv[n++] = cw_strdup(buf);
    }
    /* Each resolution rounds to whole steps; a resolution no coarser than
     * the one before (a long step) merges into it and keeps the longer time. */
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
    for (size_t c = 0; c < ncf; c++)
        for (size_t i = 0; i < nres; i++) {
            snprintf(buf, sizeof(buf), "RRA:%s:" XFF ":%ld:%ld", cfs[c], ppr[i], rows[i]);
            argv[n++] = cw_strdup(buf);
        }
    argv[n] = NULL;
    *argc = n;
    return argv;
}

int rrdstore_create_args(const char *metric, long step_s, char ***argv, size_t *argc)
{
    const struct ds_def *dd;
    char file[RRDSTORE_FILE_MAX];

    if (!metric || !metrics_name_valid(metric) || step_s <= 0)
        return -EINVAL;
    *argv = create_args(resolve(metric, &dd, file, sizeof(file)), step_s, argc);
    return 0;
}

void rrdstore_args_free(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

/* Calls fn with every metric a store file holds; returns false if the name
 * is not one of the store's files. */
static bool metrics_of_file(const char *fname, void (*fn)(void *, const char *), void *ud)
{
    size_t n = strlen(fname);
    char base[RRDSTORE_FILE_MAX], metric[RRDSTORE_FILE_MAX + 32];
    const char *dot;

    if (n <= 4 || n >= sizeof(base) || strcmp(fname + n - 4, ".rrd") != 0)
        return false;
    memcpy(base, fname, n - 4);
    base[n - 4] = '\0';
    if (strncmp(base, GENERIC_PREFIX, strlen(GENERIC_PREFIX)) == 0) {
        const char *m = base + strlen(GENERIC_PREFIX);
        rrdstore_loc_t loc;

        /* Only names that really map to a generic file. */
        if (rrdstore_locate(m, &loc) != 0 || !loc.generic)
            return false;
        fn(ud, m);
        return true;
    }
    for (size_t i = 0; i < N_ELEMS(fixed_files); i++)
        if (strcmp(base, fixed_files[i].file) == 0) {
            for (size_t k = 0; k < fixed_files[i].nds; k++) {
                snprintf(metric, sizeof(metric), "%s.%s", fixed_files[i].family,
                         fixed_files[i].ds[k].leaf);
                fn(ud, metric);
            }
            return true;
        }
    if (strncmp(base, GROUP_PREFIX, strlen(GROUP_PREFIX)) == 0 &&
        (dot = strchr(base, '.')) != NULL) {
        char name[72];
        size_t nl = (size_t)(dot - base) - strlen(GROUP_PREFIX);

        if (nl >= sizeof(name))
            return false;
        memcpy(name, base + strlen(GROUP_PREFIX), nl);
        name[nl] = '\0';
        if (!config_name_valid(name))
            return false;
        for (size_t i = 0; i < N_ELEMS(fixed_files); i++)
            if (strcmp(dot + 1, fixed_files[i].file) == 0) {
                for (size_t k = 0; k < fixed_files[i].nds; k++) {
                    snprintf(metric, sizeof(metric), "group.%s.%s.%s", name, fixed_files[i].family,
                             fixed_files[i].ds[k].leaf);
                    fn(ud, metric);
                }
                return true;
            }
        return false;
    }
    for (size_t i = 0; i < N_ELEMS(instance_files); i++) {
        size_t pl = strlen(instance_files[i].file);

        if (strncmp(base, instance_files[i].file, pl) == 0 && base[pl] == '-' &&
            config_name_valid(base + pl + 1)) {
            for (size_t k = 0; k < instance_files[i].nds; k++) {
                snprintf(metric, sizeof(metric), "%s.%s.%s", instance_files[i].family,
                         base + pl + 1, instance_files[i].ds[k].leaf);
                fn(ud, metric);
            }
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------- store */

struct qitem {
    cw_ns_t t;
    double v;
    char name[METRICS_NAME_MAX];
};

/* One row: one file at one time. */
struct row {
    time_t t;
    uint64_t batch;    /* the writer cycle that opened it */
    int64_t opened_ms; /* monotonic clock when it was opened */
    uint32_t nsamples; /* samples that went into it */
};

enum file_state { F_UNKNOWN, F_READY };

struct sfile {
    char *rel;  /* relative to the data dir */
    char *path; /* as librrd and rrdcached get it */
    const struct file_def *def;
    char *generic_metric; /* for misc-*.rrd: the metric, for create_args */
    enum file_state state;
    time_t last_up;
    time_t found_last_up; /* the last update before this store wrote (or the start) */
    bool found;
    struct row *rows; /* sorted by time */
    double *vals;     /* nrows * def->nds */
    size_t nrows, cap;
    bool touched;       /* updated through rrdcached since the last flush */
    uint64_t fed_batch; /* the last writer cycle that brought it samples */
    /* Backfill skips not yet reported. */
    uint64_t skipped, skipped_rows;
    time_t skip_min, skip_max, skip_last_up;
    /* Late samples (for a step this store had written) not yet reported. */
    uint64_t late;
    time_t late_min, late_max;
    /* Write errors not yet reported. */
    uint64_t errors;
    char last_error[256];
};

struct smap_ent {
    char *name;
    struct sfile *f; /* NULL: rejected */
    size_t ds;
};

struct rrdstore {
    char *dir;
    char *daemon;
    bool remote; /* rrdcached over the network: no local files */
    long step;

    pthread_mutex_t qlock;
    pthread_cond_t wake; /* the writer waits on it */
    pthread_cond_t done; /* flushers wait on it */
    struct qitem *q, *spare;
    size_t qlen, qmax, high_water;
    long interval_ms;
    uint64_t flush_req, flush_done;
    bool closing;
    bool started;
    bool processing; /* the writer holds a batch taken from the queue */
    pthread_t writer;
    rrdstore_stats_t st;
    char **warnings;
    size_t nwarnings;
    char **known; /* names of the files the writer has used */
    size_t nknown;

    /* Writer thread only. */
    uint64_t batch;
    int64_t now_ms; /* monotonic, at the start of the cycle */
    struct sfile **files;
    size_t nfiles, ngeneric;
    struct smap_ent *map;
    size_t map_cap, map_used;
    rrdstore_stats_t delta; /* counted since the last publish */
};

/* ---------------------------------------------------------------- helpers */

static void fmt_time(time_t t, char *buf, size_t len)
{
    struct tm tm;

    if (gmtime_r(&t, &tm))
        strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
    else
        snprintf(buf, len, "%lld", (long long)t);
}

static time_t ns_to_time(cw_ns_t t)
{
    cw_ns_t s = t / CW_NS_PER_SEC;

    if (t < 0 && t % CW_NS_PER_SEC)
        s--;
    return (time_t)s;
}

static const char *rrd_err(void)
{
    const char *e = rrdlib.rrd_get_error();

    return e && *e ? e : "unknown librrd error";
}

static bool daemon_is_local(const char *addr)
{
    return addr[0] == '/' || strncmp(addr, "unix:", 5) == 0;
}

/* The queue's pages are touched once here, so that producers never take a
 * page fault on them. */
static struct qitem *queue_alloc(size_t n)
{
    struct qitem *q = cw_calloc(n, sizeof(*q));
    volatile char *p = (volatile char *)q;

    for (size_t i = 0; i < n * sizeof(*q); i += 4096)
        p[i] = 0;
    return q;
}

static void add_warning(rrdstore_t *s, const char *msg)
{
    cw_log(CW_LOG_WARN, "%s", msg);
    pthread_mutex_lock(&s->qlock);
    s->warnings = cw_realloc(s->warnings, (s->nwarnings + 1) * sizeof(*s->warnings));
    s->warnings[s->nwarnings++] = cw_strdup(msg);
    pthread_mutex_unlock(&s->qlock);
}

/* Must hold rrdlock.  rrdc_* share one global connection, which another
 * user of librrd may have pointed elsewhere: reconnect (a no-op when it is
 * already ours). */
static int daemon_connect(rrdstore_t *s)
{
    rrdlib.rrd_clear_error();
    return rrdlib.rrdc_connect(s->daemon);
}

/* ------------------------------------------------------------ series map */

static struct smap_ent *map_find(rrdstore_t *s, const char *name, bool *found)
{
    size_t i = cw_hash32_str(name) & (s->map_cap - 1);

    while (s->map[i].name) {
        if (strcmp(s->map[i].name, name) == 0) {
            *found = true;
            return &s->map[i];
        }
        i = (i + 1) & (s->map_cap - 1);
    }
    *found = false;
    return &s->map[i];
}

static void map_grow(rrdstore_t *s)
{
    struct smap_ent *old = s->map;
    size_t oldcap = s->map_cap;
    bool found;

    s->map_cap = oldcap ? oldcap * 2 : 1024;
    s->map = cw_calloc(s->map_cap, sizeof(*s->map));
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].name)
            *map_find(s, old[i].name, &found) = old[i];
    free(old);
}

static struct sfile *file_get(rrdstore_t *s, const char *metric, const rrdstore_loc_t *loc)
{
    const struct ds_def *dd;
    const struct file_def *fd;
    struct sfile *f;
    char file[RRDSTORE_FILE_MAX];
    size_t plen;

    for (size_t i = 0; i < s->nfiles; i++)
        if (strcmp(s->files[i]->rel, loc->file) == 0)
            return s->files[i];
    fd = resolve(metric, &dd, file, sizeof(file));
    if (fd == &generic_file) {
        if (s->ngeneric >= RRDSTORE_MAX_GENERIC)
            return NULL;
        s->ngeneric++;
    }
    f = cw_calloc(1, sizeof(*f));
    f->rel = cw_strdup(loc->file);
    plen = strlen(s->dir) + strlen(loc->file) + 2;
    f->path = cw_calloc(1, plen);
    snprintf(f->path, plen, "%s/%s", s->dir, loc->file);
    f->def = fd;
    if (fd == &generic_file)
        f->generic_metric = cw_strdup(metric);
    s->files = cw_realloc(s->files, (s->nfiles + 1) * sizeof(*s->files));
    s->files[s->nfiles++] = f;
    pthread_mutex_lock(&s->qlock);
    s->known = cw_realloc(s->known, (s->nknown + 1) * sizeof(*s->known));
    s->known[s->nknown++] = cw_strdup(f->rel);
    pthread_mutex_unlock(&s->qlock);
    return f;
}

static void file_free(struct sfile *f)
{
    free(f->rel);
    free(f->path);
    free(f->generic_metric);
    free(f->rows);
    free(f->vals);
    free(f);
}

/* The row of f at time t, opened if needed (rows stay sorted; samples come
 * mostly in time order, so search from the newest). */
static size_t row_get(rrdstore_t *s, struct sfile *f, time_t t)
{
    size_t nds = f->def->nds, i = f->nrows;

    while (i > 0 && f->rows[i - 1].t > t)
        i--;
    if (i > 0 && f->rows[i - 1].t == t)
        return i - 1;
    if (f->nrows == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->rows = cw_realloc(f->rows, f->cap * sizeof(*f->rows));
        f->vals = cw_realloc(f->vals, f->cap * nds * sizeof(*f->vals));
    }
    memmove(&f->rows[i + 1], &f->rows[i], (f->nrows - i) * sizeof(*f->rows));
    memmove(&f->vals[(i + 1) * nds], &f->vals[i * nds], (f->nrows - i) * nds * sizeof(*f->vals));
    f->nrows++;
    f->rows[i].t = t;
    f->rows[i].batch = s->batch;
    f->rows[i].opened_ms = s->now_ms;
    f->rows[i].nsamples = 0;
    for (size_t k = 0; k < nds; k++)
        f->vals[i * nds + k] = NAN;
    return i;
}

/* Takes one sample from the queue into its file's row. */
static void take(rrdstore_t *s, const struct qitem *it)
{
    struct smap_ent *e;
    bool found;
    size_t r;

    if (s->map_used * 2 >= s->map_cap)
        map_grow(s);
    e = map_find(s, it->name, &found);
    if (!found) {
        rrdstore_loc_t loc;

        e->name = cw_strdup(it->name);
        s->map_used++;
        e->f = NULL;
        if (rrdstore_locate(it->name, &loc) == 0 && (e->f = file_get(s, it->name, &loc)) != NULL)
            for (size_t k = 0; k < e->f->def->nds; k++)
                if (strcmp(e->f->def->ds[k].ds, loc.ds) == 0)
                    e->ds = k;
        if (!e->f)
            cw_log(CW_LOG_WARN, "RRD store: metric %s rejected: more than %d generic files",
                   it->name, RRDSTORE_MAX_GENERIC);
    }
    if (!e->f) {
        s->delta.rejected++;
        return;
    }
    e->f->fed_batch = s->batch;
    r = row_get(s, e->f, ns_to_time(it->t));
    e->f->vals[r * e->f->def->nds + e->ds] = it->v;
    e->f->rows[r].nsamples++;
}

/* ---------------------------------------------------------------- writing */

static void note_error(rrdstore_t *s, struct sfile *f, uint64_t samples, const char *what)
{
    /* Logged once per file until reported; the rest is counted. */
    if (!f->errors)
        cw_log(CW_LOG_ERR, "%s: %s", f->path, what);
    f->errors += samples;
    cw_strlcpy(f->last_error, what, sizeof(f->last_error));
    s->delta.write_errors += samples;
}

/* Finds the file's last update, creating it to start one step before
 * first_t when it does not exist.  Returns 0 or -EIO. */
static int prepare_file(rrdstore_t *s, struct sfile *f, time_t first_t)
{
    char **argv = NULL;
    size_t argc = 0;
    char msg[512];
    time_t last = -1;
    int rc = 0, crc;
    struct stat sb;
    bool exists;

    rrdlock_lock();
    if (s->daemon) {
        if (daemon_connect(s) != 0) {
            snprintf(msg, sizeof(msg), "cannot reach rrdcached at %s: %s", s->daemon, rrd_err());
            rc = -EIO;
            goto out;
        }
        last = rrdlib.rrdc_last(f->path);
        exists = last > 0;
    } else {
        exists = stat(f->path, &sb) == 0;
        if (exists) {
            rrdlib.rrd_clear_error();
            last = rrdlib.rrd_last_r(f->path);
        }
    }
    if (exists && last <= 0) {
        snprintf(msg, sizeof(msg), "cannot read the last update: %s", rrd_err());
        rc = -EIO;
        goto out;
    }
    if (!exists) {
        argv = create_args(f->def, s->step, &argc);
        rrdlib.rrd_clear_error();
        /* no_overwrite: another probe sharing the store may have won. */
        if (s->daemon)
            crc = rrdlib.rrdc_create_r2(f->path, (unsigned long)s->step, first_t - s->step, 1, NULL,
                                        NULL, (int)argc, (const char **)argv);
        else
            crc = rrdlib.rrd_create_r2(f->path, (unsigned long)s->step, first_t - s->step, 1, NULL,
                                       NULL, (int)argc, (const char **)argv);
        if (crc != 0) {
            snprintf(msg, sizeof(msg), "cannot create: %s", rrd_err());
            rc = -EIO;
            goto out;
        }
        last = first_t - s->step;
        s->delta.files_created++;
        cw_log(CW_LOG_INFO, "created %s (start %lld, step %ld s)", f->path, (long long)last,
               s->step);
    }
    f->last_up = last;
    if (!f->found) {
        f->found_last_up = last;
        f->found = true;
    }
    f->state = F_READY;
out:
    rrdlock_unlock();
    rrdstore_args_free(argv);
    if (rc)
        cw_strlcpy(f->last_error, msg, sizeof(f->last_error));
    return rc;
}

static size_t fmt_row(const struct sfile *f, size_t r, char *buf, size_t len)
{
    size_t nds = f->def->nds;
    int n = snprintf(buf, len, "%lld", (long long)f->rows[r].t);

    for (size_t k = 0; k < nds && n > 0 && (size_t)n < len; k++) {
        double v = f->vals[r * nds + k];

        if (isfinite(v))
            n += snprintf(buf + n, len - (size_t)n, ":%.17g", v);
        else
            n += snprintf(buf + n, len - (size_t)n, ":U");
    }
    return n > 0 ? (size_t)n : 0;
}

/* Rows per librrd call: direct writes take any number; rrdcached's client
 * puts one command in a 4096-byte buffer. */
#define DIRECT_MAX_ROWS   256
#define WRITE_MIN_ROWS    128
#define WRITE_MAX_AGE_MS  30000
#define HOLD_MIN_MS       200 /* the newest row of a file stays open at least this long */
#define DAEMON_CMD_BUDGET 3900

/* Writes rows [from, to) of f in as few update calls as allowed.
 *
 * librrd spreads a value over the whole interval since the previous update,
 * and makes all of it unknown when that is longer than the heartbeat: after
 * a gap, the first sample would be lost with the gap.  So a gap longer than
 * the heartbeat is closed first with an unknown update one step before the
 * next row: the gap stays a gap and the row keeps its value. */
static void write_rows(rrdstore_t *s, struct sfile *f, size_t from, size_t to)
{
    size_t rowlen = 24 + f->def->nds * 26, nent = 0;
    char **args = cw_calloc(2 * (to - from), sizeof(*args));
    long *rowof = cw_calloc(2 * (to - from), sizeof(*rowof));
    char *text = cw_calloc(2 * (to - from), rowlen);
    time_t prev = f->last_up;

    for (size_t r = from; r < to; r++) {
        time_t t = f->rows[r].t;

        if (t - prev > HEARTBEAT_STEPS * s->step && t - s->step > prev) {
            char *p = text + nent * rowlen;
            int n = snprintf(p, rowlen, "%lld", (long long)(t - s->step));

            for (size_t k = 0; k < f->def->nds && n > 0 && (size_t)n + 3 < rowlen; k++)
                n += snprintf(p + n, rowlen - (size_t)n, ":U");
            args[nent] = p;
            rowof[nent++] = -1;
        }
        args[nent] = text + nent * rowlen;
        fmt_row(f, r, args[nent], rowlen);
        rowof[nent++] = (long)r;
        prev = t;
    }
    for (size_t i = 0; i < nent;) {
        size_t j = i, budget = DAEMON_CMD_BUDGET - strlen(f->path), rows = 0;
        uint64_t samples = 0;
        int rc;

        /* One call: as many rows as fit. */
        while (j < nent) {
            size_t l = strlen(args[j]) + 1;

            if (s->daemon ? (j > i && l > budget) : j - i >= DIRECT_MAX_ROWS)
                break;
            budget -= l < budget ? l : budget;
            if (rowof[j] >= 0) {
                samples += f->rows[rowof[j]].nsamples;
                rows++;
            }
            j++;
        }
        rrdlock_lock();
        rrdlib.rrd_clear_error();
        if (s->daemon) {
            rc = daemon_connect(s);
            if (rc == 0)
                rc = rrdlib.rrdc_update(f->path, (int)(j - i), (const char *const *)&args[i]);
        } else {
            rc = rrdlib.rrd_update_r(f->path, NULL, (int)(j - i), (const char **)&args[i]);
        }
        if (rc != 0) {
            char what[300];

            snprintf(what, sizeof(what), "update failed: %s", rrd_err());
            rrdlock_unlock();
            note_error(s, f, samples, what);
            f->state = F_UNKNOWN; /* re-read the last update before the next write */
        } else {
            rrdlock_unlock();
            s->delta.updates++;
            s->delta.rows_written += rows;
            s->delta.samples_written += samples;
            if (rowof[j - 1] >= 0)
                f->last_up = f->rows[rowof[j - 1]].t;
            if (s->daemon)
                f->touched = true;
        }
        i = j;
    }
    free(args);
    free(rowof);
    free(text);
}

/* Writes the ready rows of f.  Unless forced, the newest row stays open for
 * one more writer cycle and at least HOLD_MIN_MS (more samples for that time
 * may be on their way).
 * Every update call opens the file, which costs far more than a row: while
 * samples keep coming (offline analysis, a backlog), rows wait until there
 * are WRITE_MIN_ROWS of them (or WRITE_MAX_AGE_MS passed); a file that got
 * nothing new in this cycle (live monitoring) is written at once, so live
 * rows are on disk within two write intervals. */
static void write_file(rrdstore_t *s, struct sfile *f, bool force)
{
    size_t ready = f->nrows, first = 0, nds = f->def->nds;

    if (ready && !force &&
        (f->rows[ready - 1].batch == s->batch ||
         s->now_ms - f->rows[ready - 1].opened_ms < HOLD_MIN_MS))
        ready--;
    if (!ready)
        return;
    if (!force && ready < WRITE_MIN_ROWS && f->fed_batch == s->batch &&
        s->now_ms - f->rows[0].opened_ms < WRITE_MAX_AGE_MS)
        return;
    if (f->state != F_READY && prepare_file(s, f, f->rows[0].t) != 0) {
        uint64_t lost = 0;
        char what[300];

        for (size_t r = 0; r < ready; r++)
            lost += f->rows[r].nsamples;
        snprintf(what, sizeof(what), "%s", f->last_error);
        note_error(s, f, lost, what);
        first = ready;
    }
    /* The backfill rule: an RRD cannot go back in time.  A row at or before
     * what the file held when this store found it is backfill; one after it
     * is a late sample for a step this store already wrote. */
    while (first < ready && f->rows[first].t <= f->last_up) {
        const struct row *r = &f->rows[first++];

        if (r->t > f->found_last_up) {
            if (!f->late || r->t < f->late_min)
                f->late_min = r->t;
            if (!f->late || r->t > f->late_max)
                f->late_max = r->t;
            f->late += r->nsamples;
            s->delta.late += r->nsamples;
            continue;
        }
        if (!f->skipped || r->t < f->skip_min)
            f->skip_min = r->t;
        if (!f->skipped || r->t > f->skip_max)
            f->skip_max = r->t;
        if (!f->skipped)
            f->skip_last_up = f->found_last_up;
        f->skipped += r->nsamples;
        f->skipped_rows++;
        s->delta.backfill_skipped += r->nsamples;
    }
    if (first < ready)
        write_rows(s, f, first, ready);
    memmove(f->rows, &f->rows[ready], (f->nrows - ready) * sizeof(*f->rows));
    memmove(f->vals, &f->vals[ready * nds], (f->nrows - ready) * nds * sizeof(*f->vals));
    f->nrows -= ready;
}

/* After a forced cycle: rrdcached writes what it holds, and what was
 * skipped or lost is said once per file. */
static void finish_cycle(rrdstore_t *s)
{
    char msg[1024], a[40], b[40], c[40];

    for (size_t i = 0; i < s->nfiles; i++) {
        struct sfile *f = s->files[i];

        if (f->touched) {
            int rc;

            rrdlock_lock();
            rc = daemon_connect(s);
            if (rc == 0)
                rc = rrdlib.rrdc_flush(f->path);
            if (rc != 0)
                snprintf(msg, sizeof(msg), "rrdcached at %s did not flush: %s", s->daemon,
                         rrd_err());
            rrdlock_unlock();
            if (rc != 0)
                note_error(s, f, 0, msg);
            f->touched = false;
        }
        if (f->skipped) {
            fmt_time(f->skip_min, a, sizeof(a));
            fmt_time(f->skip_max, b, sizeof(b));
            fmt_time(f->skip_last_up, c, sizeof(c));
            snprintf(msg, sizeof(msg),
                     "%s: %llu samples in %llu steps from %s to %s (%lld..%lld) are at or "
                     "before the file's last update %s (%lld) and were not written: an RRD "
                     "cannot go back in time (use another data directory for older captures)",
                     f->path, (unsigned long long)f->skipped, (unsigned long long)f->skipped_rows,
                     a, b, (long long)f->skip_min, (long long)f->skip_max, c,
                     (long long)f->skip_last_up);
            add_warning(s, msg);
            f->skipped = f->skipped_rows = 0;
        }
        if (f->late) {
            fmt_time(f->late_min, a, sizeof(a));
            fmt_time(f->late_max, b, sizeof(b));
            snprintf(msg, sizeof(msg),
                     "%s: %llu samples for steps from %s to %s (%lld..%lld) came after those "
                     "steps were written and were not written",
                     f->path, (unsigned long long)f->late, a, b, (long long)f->late_min,
                     (long long)f->late_max);
            add_warning(s, msg);
            f->late = 0;
        }
        if (f->errors) {
            snprintf(msg, sizeof(msg), "%s: %llu samples could not be written (%s)", f->path,
                     (unsigned long long)f->errors, f->last_error);
            add_warning(s, msg);
            f->errors = 0;
        }
    }
}

static void publish_stats(rrdstore_t *s)
{
    rrdstore_stats_t *d = &s->delta;

    s->st.rejected += d->rejected;
    s->st.samples_written += d->samples_written;
    s->st.rows_written += d->rows_written;
    s->st.updates += d->updates;
    s->st.files_created += d->files_created;
    s->st.backfill_skipped += d->backfill_skipped;
    s->st.late += d->late;
    s->st.write_errors += d->write_errors;
    memset(d, 0, sizeof(*d));
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void deadline_in(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *writer_main(void *arg)
{
    rrdstore_t *s = arg;

    /* Background work: when the CPUs are busy, the capture thread goes
     * first (the queue absorbs the backlog, or counts what it drops). */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WRITER_NICE) != 0)
        cw_log(CW_LOG_DEBUG, "RRD writer: cannot lower its priority: %s", strerror(errno));

    for (;;) {
        struct qitem *items;
        struct timespec until;
        uint64_t target;
        bool closing, force;
        size_t n;

        pthread_mutex_lock(&s->qlock);
        deadline_in(&until, s->interval_ms);
        while (!s->closing && s->flush_req == s->flush_done && s->qlen < s->high_water)
            if (pthread_cond_timedwait(&s->wake, &s->qlock, &until) == ETIMEDOUT)
                break;
        /* Swap the buffers: producers go on filling the other one. */
        items = s->q;
        n = s->qlen;
        s->q = s->spare;
        s->spare = items;
        s->qlen = 0;
        target = s->flush_req;
        closing = s->closing;
        s->processing = true;
        pthread_mutex_unlock(&s->qlock);

        s->batch++;
        s->now_ms = mono_ms();
        for (size_t i = 0; i < n; i++)
            take(s, &items[i]);
        force = closing || target != s->flush_done;
        for (size_t i = 0; i < s->nfiles; i++)
            write_file(s, s->files[i], force);
        if (force)
            finish_cycle(s);

        pthread_mutex_lock(&s->qlock);
        publish_stats(s);
        s->processing = false;
        if (force)
            s->flush_done = target;
        pthread_cond_broadcast(&s->done);
        pthread_mutex_unlock(&s->qlock);
        if (closing)
            break;
    }
    return NULL;
}

/* ------------------------------------------------------------------- API */

static bool daemon_addr_valid(const char *a)
{
    if (strncmp(a, "unix:", 5) == 0)
        return a[5] == '/';
    if (a[0] == '/')
        return true;
    /* host, host:port, [v6]:port: no spaces, something before any colon */
    return a[0] != ':' && !strpbrk(a, " \t/");
}

rrdstore_t *rrdstore_open(const char *dir, long step_s, const char *daemon, char *err,
                          size_t errlen)
{
    rrdstore_t *s = NULL;
    pthread_condattr_t ca;
    sigset_t all, old;
    char *absdir = NULL;
    struct stat sb;
    int e = 0;

    if (!dir || !*dir) {
        snprintf(err, errlen, "the data directory name is empty");
        errno = EINVAL;
        return NULL;
    }
    if (!rrdlib_load(err, errlen)) {
        errno = ENOENT;
        return NULL;
    }
    if (!daemon)
        daemon = getenv(ENV_RRDCACHED_ADDRESS);
    if (daemon && !*daemon)
        daemon = NULL;
    if (daemon && !daemon_addr_valid(daemon)) {
        snprintf(err, errlen, "rrdcached address \"%s\" is not unix:/path, /path or host[:port]",
                 daemon);
        errno = EINVAL;
        return NULL;
    }
    if (!daemon || daemon_is_local(daemon)) {
        int rc = cw_mkdir_p(dir, 0755, NULL, 0);

        if (rc == -ENOTDIR || (rc == 0 && stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode))) {
            snprintf(err, errlen, "data directory %s: not a directory", dir);
            errno = EINVAL;
            return NULL;
        }
        if (rc != 0) {
            snprintf(err, errlen, "data directory %s: cannot create it: %s", dir, strerror(-rc));
            errno = -rc;
            return NULL;
        }
        if (access(dir, W_OK | X_OK) != 0) {
            e = errno;
            snprintf(err, errlen, "data directory %s: cannot write there: %s", dir, strerror(e));
            errno = e;
            return NULL;
        }
        absdir = realpath(dir, NULL);
        if (!absdir) {
            e = errno;
            snprintf(err, errlen, "data directory %s: %s", dir, strerror(e));
            errno = e;
            return NULL;
        }
    } else {
        if (dir[0] == '/') {
            snprintf(err, errlen,
                     "data directory %s: a remote rrdcached (%s) takes a path relative to its "
                     "base directory (-b), not an absolute one",
                     dir, daemon);
            errno = EINVAL;
            return NULL;
        }
        absdir = cw_strdup(dir);
    }
    if (daemon) {
        int rc;

        rrdlock_lock();
        rrdlib.rrd_clear_error();
        rc = rrdlib.rrdc_connect(daemon);
        if (rc != 0)
            snprintf(err, errlen, "rrdcached at %s (for data directory %s): %s", daemon, dir,
                     rrd_err());
        rrdlock_unlock();
        if (rc != 0) {
            free(absdir);
            errno = rc > 0 && rc != EINVAL ? rc : EIO; /* EINVAL means bad input */
            return NULL;
        }
    }

    s = cw_calloc(1, sizeof(*s));
    s->dir = absdir;
    s->daemon = daemon ? cw_strdup(daemon) : NULL;
    s->remote = daemon && !daemon_is_local(daemon);
    s->step = step_s > 0 ? step_s : RRDSTORE_DEFAULT_STEP;
    s->interval_ms = RRDSTORE_INTERVAL_MS;
    s->qmax = RRDSTORE_QUEUE_DEFAULT;
    s->high_water = s->qmax / 4;
    s->q = queue_alloc(s->qmax);
    s->spare = queue_alloc(s->qmax);
    pthread_mutex_init(&s->qlock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&s->done, NULL);
    map_grow(s);

    /* Signals belong to the main thread (SIGTERM breaks the capture loop). */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    e = pthread_create(&s->writer, NULL, writer_main, s);
    if (e == 0)
        pthread_setname_np(s->writer, "cw-rrd");
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        snprintf(err, errlen, "data directory %s: cannot start the writer thread: %s", dir,
                 strerror(e));
        s->started = false;
        rrdstore_close(s);
        errno = e;
        return NULL;
    }
    s->started = true;
    return s;
}

void rrdstore_tune(rrdstore_t *s, size_t queue_max, long interval_ms)
{
    pthread_mutex_lock(&s->qlock);
    /* The writer may be reading the other buffer: let it finish. */
    while (s->processing)
        pthread_cond_wait(&s->done, &s->qlock);
    if (queue_max > 0 && queue_max != s->qmax && s->qlen == 0) {
        free(s->q);
        free(s->spare);
        s->qmax = queue_max;
        s->q = queue_alloc(s->qmax);
        s->spare = queue_alloc(s->qmax);
        s->high_water = s->qmax / 4 ? s->qmax / 4 : 1;
    }
    if (interval_ms > 0)
        s->interval_ms = interval_ms;
    pthread_mutex_unlock(&s->qlock);
}

int rrdstore_update(rrdstore_t *s, const char *metric, cw_ns_t t, double value)
{
    size_t n;
    int rc = 0;

    if (!metrics_name_valid(metric)) {
        pthread_mutex_lock(&s->qlock);
        s->st.rejected++;
        pthread_mutex_unlock(&s->qlock);
        return -EINVAL;
    }
    n = strlen(metric) + 1;
    pthread_mutex_lock(&s->qlock);
    if (s->closing) {
        rc = -ESHUTDOWN;
    } else if (s->qlen >= s->qmax) {
        s->st.queue_full++;
        rc = -EAGAIN;
    } else {
        struct qitem *it = &s->q[s->qlen++];

        it->t = t;
        it->v = value;
        memcpy(it->name, metric, n);
        s->st.queued++;
        if (s->qlen == s->high_water)
            pthread_cond_signal(&s->wake);
    }
    pthread_mutex_unlock(&s->qlock);
    return rc;
}

static void on_metric(void *ud, const char *name, cw_ns_t t, double value)
{
    rrdstore_update(ud, name, t, value);
}

void rrdstore_attach(rrdstore_t *s, metrics_t *m)
{
    metrics_listen(m, on_metric, s);
}

int rrdstore_flush(rrdstore_t *s)
{
    uint64_t seq, errors;

    pthread_mutex_lock(&s->qlock);
    errors = s->st.write_errors;
    seq = ++s->flush_req;
    pthread_cond_signal(&s->wake);
    while (s->flush_done < seq && s->started)
        pthread_cond_wait(&s->done, &s->qlock);
    errors = s->st.write_errors - errors;
    pthread_mutex_unlock(&s->qlock);
    return errors ? -EIO : 0;
}

void rrdstore_close(rrdstore_t *s)
{
    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->qlock);
        s->closing = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->qlock);
        pthread_join(s->writer, NULL);
    }
    if (s->daemon) {
        rrdlock_lock();
        rrdlib.rrdc_disconnect();
        rrdlock_unlock();
    }
    for (size_t i = 0; i < s->nfiles; i++)
        file_free(s->files[i]);
    free(s->files);
    for (size_t i = 0; i < s->map_cap; i++)
        free(s->map[i].name);
    free(s->map);
    for (size_t i = 0; i < s->nwarnings; i++)
        free(s->warnings[i]);
    free(s->warnings);
    for (size_t i = 0; i < s->nknown; i++)
        free(s->known[i]);
    free(s->known);
    free(s->q);
    free(s->spare);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->done);
    pthread_mutex_destroy(&s->qlock);
    free(s->dir);
    free(s->daemon);
    free(s);
}

void rrdstore_get_stats(rrdstore_t *s, rrdstore_stats_t *out)
{
    pthread_mutex_lock(&s->qlock);
    *out = s->st;
    out->queue_len = s->qlen;
    pthread_mutex_unlock(&s->qlock);
}

void rrdstore_foreach_warning(rrdstore_t *s, void (*fn)(void *ud, const char *msg), void *ud)
{
    char **copy;
    size_t n;

    pthread_mutex_lock(&s->qlock);
    n = s->nwarnings;
    copy = cw_calloc(n + 1, sizeof(*copy));
    for (size_t i = 0; i < n; i++)
        copy[i] = cw_strdup(s->warnings[i]);
    pthread_mutex_unlock(&s->qlock);
    for (size_t i = 0; i < n; i++) {
        fn(ud, copy[i]);
        free(copy[i]);
    }
    free(copy);
}

const char *rrdstore_dir(const rrdstore_t *s)
{
    return s->dir;
}

const char *rrdstore_daemon(const rrdstore_t *s)
{
    return s->daemon;
}

long rrdstore_step(const rrdstore_t *s)
{
    return s->step;
}

static char *file_path(const rrdstore_t *s, const char *file)
{
    size_t n = strlen(s->dir) + strlen(file) + 2;
    char *p = cw_calloc(1, n);

    snprintf(p, n, "%s/%s", s->dir, file);
    return p;
}

bool rrdstore_file_exists(rrdstore_t *s, const char *file)
{
    char *path = file_path(s, file);
    struct stat sb;
    bool yes;

    if (!s->remote) {
        yes = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
    } else {
        rrdlock_lock();
        yes = daemon_connect(s) == 0 && rrdlib.rrdc_last(path) > 0;
        rrdlock_unlock();
    }
    free(path);
    return yes;
}

/* ---------------------------------------------------------------- reading */

json_t *rrdstore_series(rrdstore_t *s, const char *metric, time_t start, time_t end, char *err,
                        size_t errlen)
{
    rrdstore_loc_t loc;
    time_t fstart, fend;
    unsigned long step, nds = 0;
    char **names = NULL, *path = NULL;
    rrd_value_t *data = NULL;
    json_t *out = NULL, *points;
    long ds = -1;
    int rc;

    if (rrdstore_locate(metric, &loc) != 0) {
        snprintf(err, errlen, "\"%s\" is not a metric name", metric ? metric : "");
        errno = EINVAL;
        return NULL;
    }
    if (start < 0 || end < start) {
        snprintf(err, errlen, "bad time range %lld..%lld", (long long)start, (long long)end);
        errno = EINVAL;
        return NULL;
    }
    if (!rrdstore_file_exists(s, loc.file)) {
        snprintf(err, errlen, "no data for %s (%s/%s does not exist)", metric, s->dir, loc.file);
        errno = ENOENT;
        return NULL;
    }
    path = file_path(s, loc.file);
    /* rrd_fetch returns the rows after its start: ask from just before, so
     * that a row stamped exactly at start is included. */
    fstart = start - 1;
    fend = end;
    step = (unsigned long)s->step;
    rrdlock_lock();
    rrdlib.rrd_clear_error();
    if (s->daemon && daemon_connect(s) != 0) {
        rc = -1;
    } else if (s->remote) {
        rc = rrdlib.rrdc_fetch(path, loc.cf, &fstart, &fend, &step, &nds, &names, &data);
    } else {
        /* A local rrdcached writes the file first; then read it directly. */
        rc = s->daemon ? rrdlib.rrdc_flush(path) : 0;
        if (rc == 0)
            rc = rrdlib.rrd_fetch_r(path, loc.cf, &fstart, &fend, &step, &nds, &names, &data);
    }
    if (rc != 0)
        snprintf(err, errlen, "%s: cannot read %s: %s", path, loc.ds, rrd_err());
    rrdlock_unlock();
    if (rc != 0) {
        errno = EIO;
        goto out;
    }
    for (unsigned long i = 0; i < nds; i++)
        if (strcmp(names[i], loc.ds) == 0)
            ds = (long)i;
    if (ds < 0) {
        snprintf(err, errlen, "%s has no data source %s", path, loc.ds);
        errno = EIO;
        goto out;
    }
    out = json_object();
    points = json_array();
    json_object_set_new(out, "metric", json_string(metric));
    json_object_set_new(out, "step", json_integer((json_int_t)step));
    for (size_t i = 0;; i++) {
        time_t t = fstart + (time_t)((i + 1) * step);
        double v;
        json_t *p;

        if (t > fend)
            break;
        v = data[i * nds + (size_t)ds];
        if (t < start || t > end)
            continue;
        p = json_array();
        json_array_append_new(p, json_integer((json_int_t)t));
        json_array_append_new(p, isfinite(v) ? json_real(v) : json_null());
        json_array_append_new(points, p);
    }
    json_object_set_new(out, "points", points);
out:
    for (unsigned long i = 0; names && i < nds; i++)
        free(names[i]);
    free(names);
    free(data);
    free(path);
    return out;
}

static void add_name(void *ud, const char *name)
{
    json_array_append_new(ud, json_string(name));
}

static int cmp_json_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *rrdstore_metrics(rrdstore_t *s)
{
    json_t *raw = json_array(), *out = json_array(), *v;
    const char **names;
    size_t i, n;

    if (!s->remote) {
        DIR *d = opendir(s->dir);
        struct dirent *de;

        while (d && (de = readdir(d)) != NULL)
            metrics_of_file(de->d_name, add_name, raw);
        if (d)
            closedir(d);
    } else {
        pthread_mutex_lock(&s->qlock);
        for (i = 0; i < s->nknown; i++)
            metrics_of_file(s->known[i], add_name, raw);
        pthread_mutex_unlock(&s->qlock);
    }
    n = json_array_size(raw);
    names = cw_calloc(n + 1, sizeof(*names));
    json_array_foreach(raw, i, v) names[i] = json_string_value(v);
    qsort(names, n, sizeof(*names), cmp_json_str);
    for (i = 0; i < n; i++)
        if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
            json_array_append_new(out, json_string(names[i]));
    free(names);
    json_decref(raw);
    return out;
}
