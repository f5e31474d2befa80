#include "autoconf.h"

#include "rrd/rrdread.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "rrd/rrdlib.h"
#include "rrd/rrdschema.h"
#include "rrd/rrdstoreint.h"

/* ------------------------------------------------------------ any file */

/* Must hold the lock. */
static void copy_error(char *err, size_t errlen)
{
    const char *e = rrdlib.rrd_get_error();

    if (err && errlen)
        snprintf(err, errlen, "%s", e ? e : "");
}

int rrdread_ds_names(const char *path, char ***names, size_t *count, char *err, size_t errlen)
{
    unsigned long n = 0;
    char **values = NULL;
    time_t last;
    int rc = 0;

    *names = NULL;
    *count = 0;
    if (!rrdlib_load(err, errlen))
        return -EIO;
    rrdlib_lock();
    rrdlib.rrd_clear_error();
    if (rrdlib.rrd_lastupdate_r(path, &last, &n, names, &values) != 0) {
        copy_error(err, errlen);
        rc = -EIO;
        *names = NULL;
        n = 0;
    }
    rrdlib.rrd_clear_error();
    rrdlib_unlock();
    /* Only the names are wanted: the last values are text. */
    rrdread_names_free(values, n);
    *count = n;
    return rc;
}

void rrdread_names_free(char **names, size_t count)
{
    if (!names)
        return;
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

time_t rrdread_last(const char *path, const char *daemon, char *err, size_t errlen)
{
    time_t last;

    if (!rrdlib_load(err, errlen))
        return -1;
    rrdlib_lock();
    rrdlib.rrd_clear_error();
    if (daemon)
        last = rrdlib_connect(daemon) == 0 ? rrdlib.rrdc_last(path) : -1;
    else
        last = rrdlib.rrd_last_r(path);
    if (last < 0)
        copy_error(err, errlen);
    rrdlib.rrd_clear_error();
    rrdlib_unlock();
    return last;
}

/* Must hold the lock. */
static int fetch_locked(const char *path, const char *daemon, const char *cf, rrdread_range_t *r)
{
    unsigned long nds = 0;
    int rc;

    if (daemon && rrdlib_connect(daemon) != 0)
        return -1;
    if (daemon && !rrdlib_daemon_is_local(daemon)) {
        rc = rrdlib.rrdc_fetch(path, cf, &r->start, &r->end, &r->step, &nds, &r->names, &r->data);
    } else {
        rc = daemon ? rrdlib.rrdc_flush(path) : 0;
        if (rc == 0)
            rc = rrdlib.rrd_fetch_r(path, cf, &r->start, &r->end, &r->step, &nds, &r->names,
                                    &r->data);
    }
    r->nds = nds;
    return rc;
}

int rrdread_fetch(const char *path, const char *daemon, const char *cf, time_t start, time_t end,
                  unsigned long step, rrdread_range_t *out, char *err, size_t errlen)
{
    int rc;

    memset(out, 0, sizeof(*out));
    out->start = start;
    out->end = end;
    out->step = step;
    if (!rrdlib_load(err, errlen))
        return -EIO;
    rrdlib_lock();
    rrdlib.rrd_clear_error();
    rc = fetch_locked(path, daemon, cf, out);
    if (rc != 0)
        copy_error(err, errlen);
    rrdlib.rrd_clear_error();
    rrdlib_unlock();
    if (rc != 0) {
        /* librrd frees what it allocated, but some versions leave the
         * pointers set. */
        memset(out, 0, sizeof(*out));
        return -EIO;
    }
    if (out->step > 0 && out->end > out->start)
        out->rows = (size_t)((out->end - out->start) / (time_t)out->step);
    return 0;
}

void rrdread_range_free(rrdread_range_t *r)
{
    rrdread_names_free(r->names, r->nds);
    free(r->data);
    r->names = NULL;
    r->data = NULL;
    r->nds = r->rows = 0;
}

long rrdread_ds_index(const rrdread_range_t *r, const char *ds)
{
    for (size_t i = 0; i < r->nds; i++)
        if (strcmp(r->names[i], ds) == 0)
            return (long)i;
    return -1;
}

/* -------------------------------------------------------------- the store */

static char *file_path(const rrdstore_t *s, const char *file)
{
    size_t n = strlen(s->dir) + strlen(file) + 2;
    char *p = cw_calloc(1, n);

    snprintf(p, n, "%s/%s", s->dir, file);
    return p;
}

bool rrdread_file_exists(rrdstore_t *s, const char *file)
{
    char *path = file_path(s, file);
    struct stat sb;
    bool yes;

    if (!s->remote)
        yes = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
    else
        yes = rrdread_last(path, s->daemon, NULL, 0) > 0;
    free(path);
    return yes;
}

/* The rows of column ds of r with start <= t <= end, as [[t, v], ...]. */
static json_t *points_of(const rrdread_range_t *r, long ds, time_t start, time_t end)
{
    json_t *points = json_array();

    for (size_t i = 0; i < r->rows; i++) {
        time_t t = r->start + (time_t)((i + 1) * r->step);
        double v = r->data[i * r->nds + (size_t)ds];
        json_t *p;

        if (t < start || t > end)
            continue;
        p = json_array();
        json_array_append_new(p, json_integer((json_int_t)t));
        json_array_append_new(p, isfinite(v) ? json_real(v) : json_null());
        json_array_append_new(points, p);
    }
    return points;
}

/* Checks the request; returns 0, or -1 with err and errno set. */
static int check_series(rrdstore_t *s, const char *metric, time_t start, time_t end,
                        rrdschema_loc_t *loc, char *err, size_t errlen)
{
    if (rrdschema_locate(metric, loc) != 0) {
        snprintf(err, errlen, "\"%s\" is not a metric name", metric ? metric : "");
        errno = EINVAL;
        return -1;
    }
    if (start < 0 || end < start) {
        snprintf(err, errlen, "bad time range %lld..%lld", (long long)start, (long long)end);
        errno = EINVAL;
        return -1;
    }
    if (!rrdread_file_exists(s, loc->file)) {
        snprintf(err, errlen, "no data for %s (%s/%s does not exist)", metric, s->dir, loc->file);
        errno = ENOENT;
        return -1;
    }
    return 0;
}

json_t *rrdread_series(rrdstore_t *s, const char *metric, time_t start, time_t end, char *err,
                       size_t errlen)
{
    rrdschema_loc_t loc;
    rrdread_range_t r;
    char *path, msg[4096];
    json_t *out = NULL;
    long ds;

    if (check_series(s, metric, start, end, &loc, err, errlen) != 0)
        return NULL;
    path = file_path(s, loc.file);
    /* rrd_fetch returns the rows after its start: ask from just before, so
     * that a row stamped exactly at start is included. */
    if (rrdread_fetch(path, s->daemon, loc.cf, start - 1, end, (unsigned long)s->step, &r, msg,
                      sizeof(msg)) != 0) {
        snprintf(err, errlen, "%s: cannot read %s: %s", path, loc.ds, rrdlib_error_text(msg));
        errno = EIO;
        free(path);
        return NULL;
    }
    ds = rrdread_ds_index(&r, loc.ds);
    if (ds < 0) {
        snprintf(err, errlen, "%s has no data source %s", path, loc.ds);
        errno = EIO;
    } else {
        out = json_object();
        json_object_set_new(out, "metric", json_string(metric));
        json_object_set_new(out, "step", json_integer((json_int_t)r.step));
        json_object_set_new(out, "points", points_of(&r, ds, start, end));
    }
    rrdread_range_free(&r);
    free(path);
    return out;
}

static void add_name(void *ud, const char *name)
{
    json_array_append_new(ud, json_string(name));
}

static void add_metrics_of(void *ud, const char *file)
{
    rrdschema_metrics_of_file(file, add_name, ud);
}

static int cmp_json_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names in raw, sorted, each once. */
static json_t *sorted_unique(json_t *raw)
{
    json_t *out = json_array(), *v;
    size_t i, n = json_array_size(raw);
    const char **names = cw_calloc(n + 1, sizeof(*names));

    json_array_foreach(raw, i, v) names[i] = json_string_value(v);
    qsort(names, n, sizeof(*names), cmp_json_str);
    for (i = 0; i < n; i++)
        if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
            json_array_append_new(out, json_string(names[i]));
    free(names);
    return out;
}

/* The entries rrdcached lists under "/" + dir (recursive or not), one
 * per line, or NULL when it cannot (an old daemon, LIST not permitted). */
static char *daemon_list(const char *daemon, const char *dir, bool recursive)
{
    char path[4096], *argv[6];
    int argc = 0;
    char *list;

    if (!rrdlib_load(path, sizeof(path)))
        return NULL;
    /* librrd exports LIST only through its command-line entry point. */
    snprintf(path, sizeof(path), "/%s", dir ? dir : "");
    argv[argc++] = (char *)"list";
    argv[argc++] = (char *)"--daemon";
    argv[argc++] = (char *)daemon;
    if (recursive)
        argv[argc++] = (char *)"--recursive";
    argv[argc++] = path;
    argv[argc] = NULL;
    rrdlib_lock();
    rrdlib.rrd_clear_error();
    list = rrdlib.rrd_list(argc, argv);
    rrdlib.rrd_clear_error();
    rrdlib_unlock();
    return list;
}

json_t *rrdread_subdirs(const char *dir, const char *daemon)
{
    json_t *raw = json_array(), *out;

    if (daemon && !rrdlib_daemon_is_local(daemon)) {
        char *list = daemon_list(daemon, NULL, true), *save = NULL;

        for (char *l = list ? strtok_r(list, "\n", &save) : NULL; l;
             l = strtok_r(NULL, "\n", &save)) {
            char *slash = strchr(l, '/');

            if (slash && !strchr(slash + 1, '/')) {
                *slash = '\0';
                json_array_append_new(raw, json_string(l));
            }
        }
        free(list);
    } else {
        DIR *d = opendir(dir);
        struct dirent *de;

        while (d && (de = readdir(d)) != NULL) {
            char path[4096];
            struct stat sb;

            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            if (de->d_name[0] != '.' && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
                json_array_append_new(raw, json_string(de->d_name));
        }
        if (d)
            closedir(d);
    }
    out = sorted_unique(raw);
    json_decref(raw);
    return out;
}

json_t *rrdread_metrics(rrdstore_t *s)
{
    json_t *raw = json_array(), *out;
    char *list = s->remote ? daemon_list(s->daemon, s->dir, false) : NULL;

    if (list) {
        char *save = NULL;

        for (char *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
            add_metrics_of(raw, l);
        free(list);
    } else if (!s->remote) {
        DIR *d = opendir(s->dir);
        struct dirent *de;

        while (d && (de = readdir(d)) != NULL)
            add_metrics_of(raw, de->d_name);
        if (d)
            closedir(d);
    } else {
        pthread_mutex_lock(&s->qlock);
        for (size_t i = 0; i < s->known.n; i++)
            add_metrics_of(raw, s->known.v[i]);
        pthread_mutex_unlock(&s->qlock);
    }
    out = sorted_unique(raw);
    json_decref(raw);
    return out;
}
