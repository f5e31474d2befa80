/* rrdwriter: the writer thread of a store (see rrd/rrdstore.h): it gathers
 * the queued samples into rows per file and time, creates the files, and
 * writes the rows in batches, directly or through rrdcached. */
#include "autoconf.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "rrd/rrdlib.h"
#include "rrd/rrdschema.h"
#include "rrd/rrdstoreint.h"

#define WRITER_NICE 10

/* One row: one file at one time. */
struct row {
    time_t t;
    uint64_t batch;    /* the writer cycle that opened it */
    int64_t opened_ms; /* monotonic clock when it was opened */
    uint32_t nsamples; /* samples that went into it */
};

enum file_state { F_UNKNOWN, F_READY };

struct sfile {
    char *rel;    /* relative to the data dir */
    char *path;   /* as librrd and rrdcached get it */
    char *metric; /* the first metric seen of the file: its schema */
    size_t nds;   /* data sources: values per row */
    enum file_state state;
    time_t last_up;
    time_t found_last_up; /* the last update before this store wrote (or the start) */
    bool found;
    struct row *rows; /* sorted by time */
    double *vals;     /* nrows * nds */
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
    size_t ds;       /* its column in f's rows */
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

static void strlist_add(rrdstore_t *s, struct strlist *l, const char *str)
{
    pthread_mutex_lock(&s->qlock);
    l->v = cw_realloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n++] = cw_strdup(str);
    pthread_mutex_unlock(&s->qlock);
}

static void add_warning(rrdstore_t *s, const char *msg)
{
    cw_log(CW_LOG_WARN, "%s", msg);
    strlist_add(s, &s->warnings, msg);
}

/* ----------------------------------------------------------- series map */

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

static struct sfile *file_get(rrdstore_t *s, const char *metric, const rrdschema_loc_t *loc)
{
    struct sfile *f;
    size_t plen;

    for (size_t i = 0; i < s->nfiles; i++)
        if (strcmp(s->files[i]->rel, loc->file) == 0)
            return s->files[i];
    if (loc->generic) {
        if (s->ngeneric >= RRDSTORE_MAX_GENERIC)
            return NULL;
        s->ngeneric++;
    }
    f = cw_calloc(1, sizeof(*f));
    f->rel = cw_strdup(loc->file);
    plen = strlen(s->dir) + strlen(loc->file) + 2;
    f->path = cw_calloc(1, plen);
    snprintf(f->path, plen, "%s/%s", s->dir, loc->file);
    f->metric = cw_strdup(metric);
    f->nds = loc->nds;
    s->files = cw_realloc(s->files, (s->nfiles + 1) * sizeof(*s->files));
    s->files[s->nfiles++] = f;
    strlist_add(s, &s->known, f->rel);
    return f;
}

static void file_free(struct sfile *f)
{
    free(f->rel);
    free(f->path);
    free(f->metric);
    free(f->rows);
    free(f->vals);
    free(f);
}

/* The row of f at time t, opened if needed (rows stay sorted; samples come
 * mostly in time order, so search from the newest). */
static size_t row_get(rrdstore_t *s, struct sfile *f, time_t t)
{
    size_t nds = f->nds, i = f->nrows;

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
        rrdschema_loc_t loc;

        e->name = cw_strdup(it->name);
        s->map_used++;
        e->f = NULL;
        if (rrdschema_locate(it->name, &loc) == 0 && (e->f = file_get(s, it->name, &loc)) != NULL)
            e->ds = loc.ds_index;
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
    e->f->vals[r * e->f->nds + e->ds] = it->v;
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

/* Must hold the lock.  The file's last update goes into *last; returns 1
 * when the file exists, 0 when it does not, or -EIO with msg. */
static int find_last(rrdstore_t *s, struct sfile *f, time_t *last, char *msg, size_t len)
{
    struct stat sb;
    bool exists;

    *last = -1;
    if (s->daemon) {
        if (rrdlib_connect(s->daemon) != 0) {
            snprintf(msg, len, "cannot reach rrdcached at %s: %s", s->daemon, rrdlib_error());
            return -EIO;
        }
        *last = rrdlib.rrdc_last(f->path);
        exists = *last > 0;
    } else {
        exists = stat(f->path, &sb) == 0;
        if (exists) {
            rrdlib.rrd_clear_error();
            *last = rrdlib.rrd_last_r(f->path);
        }
    }
    if (exists && *last <= 0) {
        snprintf(msg, len, "cannot read the last update: %s", rrdlib_error());
        return -EIO;
    }
    return exists;
}

/* Must hold the lock.  Creates f to start one step before first_t; returns
 * 0 or -EIO with msg. */
static int create_file(rrdstore_t *s, struct sfile *f, time_t first_t, char *msg, size_t len)
{
    char **argv = NULL;
    size_t argc = 0;
    int rc;

    rrdschema_create_args(f->metric, s->step, &argv, &argc);
    rrdlib.rrd_clear_error();
    /* no_overwrite: another probe sharing the store may have won. */
    if (s->daemon)
        rc = rrdlib.rrdc_create_r2(f->path, (unsigned long)s->step, first_t - s->step, 1, NULL,
                                   NULL, (int)argc, (const char **)argv);
    else
        rc = rrdlib.rrd_create_r2(f->path, (unsigned long)s->step, first_t - s->step, 1, NULL, NULL,
                                  (int)argc, (const char **)argv);
    rrdschema_args_free(argv);
    if (rc != 0) {
        /* rrdcached makes no directory unless told to (-B -R). */
        snprintf(msg, len, "cannot create: %s%s", rrdlib_error(),
                 s->remote ? " (does the directory exist under rrdcached's -b base directory? "
                             "-B -R lets the daemon create it)"
                           : "");
        return -EIO;
    }
    s->delta.files_created++;
    cw_log(CW_LOG_INFO, "created %s (start %lld, step %ld s)", f->path,
           (long long)(first_t - s->step), s->step);
    return 0;
}

/* Finds the file's last update, creating it to start one step before
 * first_t when it does not exist.  Returns 0 or -EIO.  One hold of the
 * lock: the rrdcached connection stays ours from the look to the create. */
static int prepare_file(rrdstore_t *s, struct sfile *f, time_t first_t)
{
    char msg[512];
    time_t last;
    int rc;

    rrdlib_lock();
    rc = find_last(s, f, &last, msg, sizeof(msg));
    if (rc == 0) {
        rc = create_file(s, f, first_t, msg, sizeof(msg));
        last = first_t - s->step;
    } else if (rc > 0) {
        rc = 0;
    }
    rrdlib_unlock();
    if (rc) {
        cw_strlcpy(f->last_error, msg, sizeof(f->last_error));
        return rc;
    }
    f->last_up = last;
    if (!f->found) {
        f->found_last_up = last;
        f->found = true;
    }
    f->state = F_READY;
    return 0;
}

static size_t fmt_row(const struct sfile *f, size_t r, char *buf, size_t len)
{
    size_t nds = f->nds;
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

/* Formats rows [from, to) of f as update arguments into args, each in
 * rowlen bytes of text; rowof[k] is the row of args[k], or -1.  Returns how
 * many arguments.
 *
 * librrd spreads a value over the whole interval since the previous update,
 * and makes all of it unknown when that is longer than the heartbeat: after
 * a gap, the first sample would be lost with the gap.  So a gap longer than
 * the heartbeat is closed first with an unknown update (rowof -1) one step
 * before the next row: the gap stays a gap and the row keeps its value. */
static size_t format_rows(rrdstore_t *s, struct sfile *f, size_t from, size_t to, char *text,
                          size_t rowlen, char **args, long *rowof)
{
    time_t prev = f->last_up;
    size_t nent = 0;

    for (size_t r = from; r < to; r++) {
        time_t t = f->rows[r].t;

        if (t - prev > RRDSCHEMA_HEARTBEAT_STEPS * s->step && t - s->step > prev) {
            char *p = text + nent * rowlen;
            int n = snprintf(p, rowlen, "%lld", (long long)(t - s->step));

            for (size_t k = 0; k < f->nds && n > 0 && (size_t)n + 3 < rowlen; k++)
                n += snprintf(p + n, rowlen - (size_t)n, ":U");
            args[nent] = p;
            rowof[nent++] = -1;
        }
        args[nent] = text + nent * rowlen;
        fmt_row(f, r, args[nent], rowlen);
        rowof[nent++] = (long)r;
        prev = t;
    }
    return nent;
}

/* How many of the arguments from i on (of nent) go into one update call;
 * the rows and samples among them are added to *rows and *samples. */
static size_t call_size(rrdstore_t *s, struct sfile *f, char **args, const long *rowof, size_t i,
                        size_t nent, size_t *rows, uint64_t *samples)
{
    size_t j = i, budget = DAEMON_CMD_BUDGET - strlen(f->path);

    while (j < nent) {
        size_t l = strlen(args[j]) + 1;

        if (s->daemon ? (j > i && l > budget) : j - i >= DIRECT_MAX_ROWS)
            break;
        budget -= l < budget ? l : budget;
        if (rowof[j] >= 0) {
            *samples += f->rows[rowof[j]].nsamples;
            (*rows)++;
        }
        j++;
    }
    return j - i;
}

/* One update call of n arguments; returns 0, or -EIO with what. */
static int update_call(rrdstore_t *s, struct sfile *f, char **args, size_t n, char *what,
                       size_t len)
{
    int rc;

    rrdlib_lock();
    rrdlib.rrd_clear_error();
    if (s->daemon) {
        rc = rrdlib_connect(s->daemon);
        if (rc == 0)
            rc = rrdlib.rrdc_update(f->path, (int)n, (const char *const *)args);
    } else {
        rc = rrdlib.rrd_update_r(f->path, NULL, (int)n, (const char **)args);
    }
    if (rc != 0)
        snprintf(what, len, "update failed: %s", rrdlib_error());
    rrdlib_unlock();
    return rc ? -EIO : 0;
}

/* Writes rows [from, to) of f in as few update calls as allowed. */
static void write_rows(rrdstore_t *s, struct sfile *f, size_t from, size_t to)
{
    size_t rowlen = 24 + f->nds * 26, nent;
    char **args = cw_calloc(2 * (to - from), sizeof(*args));
    long *rowof = cw_calloc(2 * (to - from), sizeof(*rowof));
    char *text = cw_calloc(2 * (to - from), rowlen);

    nent = format_rows(s, f, from, to, text, rowlen, args, rowof);
    for (size_t i = 0, n; i < nent; i += n) {
        size_t rows = 0;
        uint64_t samples = 0;
        char what[300];

        n = call_size(s, f, args, rowof, i, nent, &rows, &samples);
        if (update_call(s, f, &args[i], n, what, sizeof(what)) != 0) {
            note_error(s, f, samples, what);
            f->state = F_UNKNOWN; /* re-read the last update before the next write */
            continue;
        }
        s->delta.updates++;
        s->delta.rows_written += rows;
        s->delta.samples_written += samples;
        if (rowof[i + n - 1] >= 0)
            f->last_up = f->rows[rowof[i + n - 1]].t;
        if (s->daemon)
            f->touched = true;
    }
    free(args);
    free(rowof);
    free(text);
}

/* Counts the samples of rows [0, n) of f as lost to a write error. */
static void lose_rows(rrdstore_t *s, struct sfile *f, size_t n)
{
    uint64_t lost = 0;
    char what[300];

    for (size_t r = 0; r < n; r++)
        lost += f->rows[r].nsamples;
    snprintf(what, sizeof(what), "%s", f->last_error);
    note_error(s, f, lost, what);
}

/* The backfill rule: an RRD cannot go back in time.  Counts the rows from
 * first on (up to ready) that the file's last update already covers, and
 * returns the first row that is newer.  A row at or before what the file
 * held when this store found it is backfill; one after it is a late sample
 * for a step this store already wrote. */
static size_t skip_written(rrdstore_t *s, struct sfile *f, size_t first, size_t ready)
{
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
    return first;
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
    size_t ready = f->nrows, first = 0, nds = f->nds;

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
        lose_rows(s, f, ready);
        first = ready;
    }
    first = skip_written(s, f, first, ready);
    if (first < ready)
        write_rows(s, f, first, ready);
    memmove(f->rows, &f->rows[ready], (f->nrows - ready) * sizeof(*f->rows));
    memmove(f->vals, &f->vals[ready * nds], (f->nrows - ready) * nds * sizeof(*f->vals));
    f->nrows -= ready;
}

/* Has rrdcached write what it holds of f. */
static void flush_daemon(rrdstore_t *s, struct sfile *f)
{
    char msg[1024];
    int rc;

    rrdlib_lock();
    rc = rrdlib_connect(s->daemon);
    if (rc == 0)
        rc = rrdlib.rrdc_flush(f->path);
    if (rc != 0)
        snprintf(msg, sizeof(msg), "rrdcached at %s did not flush: %s", s->daemon, rrdlib_error());
    rrdlib_unlock();
    if (rc != 0)
        note_error(s, f, 0, msg);
}

/* Says once what was skipped, late or lost in f since the last report. */
static void report_file(rrdstore_t *s, struct sfile *f)
{
    char msg[1024], a[40], b[40], c[40];

    if (f->skipped) {
        fmt_time(f->skip_min, a, sizeof(a));
        fmt_time(f->skip_max, b, sizeof(b));
        fmt_time(f->skip_last_up, c, sizeof(c));
        snprintf(msg, sizeof(msg),
                 "%s: %llu samples in %llu steps from %s to %s (%lld..%lld) are at or "
                 "before the file's last update %s (%lld) and were not written: an RRD "
                 "cannot go back in time (use another data directory for older captures)",
                 f->path, (unsigned long long)f->skipped, (unsigned long long)f->skipped_rows, a, b,
                 (long long)f->skip_min, (long long)f->skip_max, c, (long long)f->skip_last_up);
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

/* After a forced cycle: rrdcached writes what it holds, and what was
 * skipped or lost is said once per file. */
static void finish_cycle(rrdstore_t *s)
{
    for (size_t i = 0; i < s->nfiles; i++) {
        struct sfile *f = s->files[i];

        if (f->touched) {
            flush_daemon(s, f);
            f->touched = false;
        }
        report_file(s, f);
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

/* Waits until the queue is worth taking (a quarter full, a flush or close
 * asked, or the interval over) and takes it: returns its samples and their
 * count in *n, with the flush to complete in *target and whether the store
 * closes in *closing. */
static struct qitem *take_queue(rrdstore_t *s, size_t *n, uint64_t *target, bool *closing)
{
    struct qitem *items;
    struct timespec until;

    pthread_mutex_lock(&s->qlock);
    deadline_in(&until, s->interval_ms);
    while (!s->closing && s->flush_req == s->flush_done && s->qlen < s->high_water)
        if (pthread_cond_timedwait(&s->wake, &s->qlock, &until) == ETIMEDOUT)
            break;
    /* Swap the buffers: producers go on filling the other one. */
    items = s->q;
    *n = s->qlen;
    s->q = s->spare;
    s->spare = items;
    s->qlen = 0;
    *target = s->flush_req;
    *closing = s->closing;
    s->processing = true;
    pthread_mutex_unlock(&s->qlock);
    return items;
}

/* Ends a cycle: what it counted becomes visible, and a flush it completed
 * releases its waiters. */
static void end_cycle(rrdstore_t *s, bool force, uint64_t target)
{
    pthread_mutex_lock(&s->qlock);
    publish_stats(s);
    s->processing = false;
    if (force)
        s->flush_done = target;
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->qlock);
}

void *rrdwriter_main(void *arg)
{
    rrdstore_t *s = arg;
    bool closing = false;

    /* Background work: when the CPUs are busy, the capture thread goes
     * first (the queue absorbs the backlog, or counts what it drops). */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WRITER_NICE) != 0)
        cw_log(CW_LOG_DEBUG, "RRD writer: cannot lower its priority: %s", strerror(errno));

    while (!closing) {
        uint64_t target;
        size_t n;
        struct qitem *items = take_queue(s, &n, &target, &closing);
        bool force;

        s->batch++;
        s->now_ms = mono_ms();
        for (size_t i = 0; i < n; i++)
            take(s, &items[i]);
        force = closing || target != s->flush_done;
        for (size_t i = 0; i < s->nfiles; i++)
            write_file(s, s->files[i], force);
        if (force)
            finish_cycle(s);
        end_cycle(s, force, target);
    }
    return NULL;
}

void rrdwriter_init(rrdstore_t *s)
{
    map_grow(s);
}

void rrdwriter_free(rrdstore_t *s)
{
    for (size_t i = 0; i < s->nfiles; i++)
        file_free(s->files[i]);
    free(s->files);
    for (size_t i = 0; i < s->map_cap; i++)
        free(s->map[i].name);
    free(s->map);
}
