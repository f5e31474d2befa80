#include "autoconf.h"

#include "rrd/rrdstore.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "rrd/rrdlib.h"
#include "rrd/rrdstoreint.h"

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

static void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* Puts one line in err and sets errno to e; returns NULL, for the caller
 * to return. */
static void *fail(int e, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void *fail(int e, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    errno = e;
    return NULL;
}

/* The data dir on this host: created if missing, checked, made absolute. */
static char *local_dir(const char *dir, char *err, size_t errlen)
{
    int rc = cw_mkdir_p(dir, 0755, NULL, 0), e;
    struct stat sb;
    char *absdir;

    if (rc == -ENOTDIR || (rc == 0 && stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode)))
        return fail(EINVAL, err, errlen, "data directory %s: not a directory", dir);
    if (rc != 0)
        return fail(-rc, err, errlen, "data directory %s: cannot create it: %s", dir,
                    strerror(-rc));
    if (access(dir, W_OK | X_OK) != 0) {
        e = errno;
        return fail(e, err, errlen, "data directory %s: cannot write there: %s", dir, strerror(e));
    }
    absdir = realpath(dir, NULL);
    if (!absdir) {
        e = errno;
        return fail(e, err, errlen, "data directory %s: %s", dir, strerror(e));
    }
    return absdir;
}

/* The data dir as librrd will name it: absolute for a local one; for a
 * remote rrdcached, relative to its base directory, which is not here. */
static char *data_dir(const char *dir, const char *daemon, char *err, size_t errlen)
{
    if (!daemon || rrdlib_daemon_is_local(daemon))
        return local_dir(dir, err, errlen);
    if (dir[0] == '/')
        return fail(EINVAL, err, errlen,
                    "data directory %s: a remote rrdcached (%s) takes a path relative to its "
                    "base directory (-b), not an absolute one",
                    dir, daemon);
    return cw_strdup(dir);
}

/* Connects to the rrdcached at daemon once, so that a wrong address fails
 * the open rather than every write.  Returns 0, or -1 with err and errno. */
static int connect_daemon(const char *daemon, const char *dir, char *err, size_t errlen)
{
    int rc;

    rrdlib_lock();
    rc = rrdlib_connect(daemon);
    if (rc != 0)
        snprintf(err, errlen, "rrdcached at %s (for data directory %s): %s", daemon, dir,
                 rrdlib_error());
    rrdlib_unlock();
    if (rc == 0)
        return 0;
    errno = rc > 0 && rc != EINVAL ? rc : EIO; /* EINVAL means bad input */
    return -1;
}

static rrdstore_t *store_new(char *absdir, const char *daemon, long step_s)
{
    rrdstore_t *s = cw_calloc(1, sizeof(*s));
    pthread_condattr_t ca;

    s->dir = absdir;
    s->daemon = daemon ? cw_strdup(daemon) : NULL;
    s->remote = daemon && !rrdlib_daemon_is_local(daemon);
    s->step = step_s > 0 ? step_s : CW_DEF_STEP_S;
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
    rrdwriter_init(s);
    return s;
}

/* Returns 0 or pthread_create's error. */
static int start_writer(rrdstore_t *s)
{
    sigset_t all, old;
    int e;

    /* Signals belong to the main thread (SIGTERM breaks the capture loop). */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    e = pthread_create(&s->writer, NULL, rrdwriter_main, s);
    if (e == 0)
        pthread_setname_np(s->writer, "cw-rrd");
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return e;
}

rrdstore_t *rrdstore_open(const char *dir, long step_s, const char *daemon, char *err,
                          size_t errlen)
{
    rrdstore_t *s;
    char *absdir;
    int e;

    if (!dir || !*dir)
        return fail(EINVAL, err, errlen, "the data directory name is empty");
    if (!rrdlib_load(err, errlen)) {
        errno = ENOENT;
        return NULL;
    }
    if (!daemon)
        daemon = getenv(ENV_RRDCACHED_ADDRESS);
    if (daemon && !*daemon)
        daemon = NULL;
    if (daemon && !rrdlib_daemon_valid(daemon))
        return fail(EINVAL, err, errlen,
                    "rrdcached address \"%s\" is not unix:/path, /path or host[:port]", daemon);
    absdir = data_dir(dir, daemon, err, errlen);
    if (!absdir)
        return NULL;
    if (daemon && connect_daemon(daemon, dir, err, errlen) != 0) {
        e = errno;
        free(absdir);
        errno = e;
        return NULL;
    }
    s = store_new(absdir, daemon, step_s);
    e = start_writer(s);
    if (e != 0) {
        snprintf(err, errlen, "data directory %s: cannot start the writer thread: %s", dir,
                 strerror(e));
        rrdstore_close(s);
        errno = e;
        return NULL;
    }
    s->started = true;
    return s;
}

/* The daemon address to use: the one given, else $RRDCACHED_ADDRESS; NULL
 * for none.  Sets err and returns "" for a malformed one. */
static const char *daemon_of(const char *daemon, char *err, size_t errlen)
{
    if (!daemon)
        daemon = getenv(ENV_RRDCACHED_ADDRESS);
    if (daemon && !*daemon)
        daemon = NULL;
    if (daemon && !rrdlib_daemon_valid(daemon)) {
        fail(EINVAL, err, errlen,
             "rrdcached address \"%s\" is not unix:/path, /path or host[:port]", daemon);
        return "";
    }
    return daemon;
}

rrdstore_t *rrdstore_open_site(const char *dir, const char *site, long step_s, const char *daemon,
                               char *err, size_t errlen)
{
    const char *d = daemon_of(daemon, err, errlen);

    if (d && !*d)
        return NULL;
    if (d && !rrdlib_daemon_is_local(d) && site)
        dir = site;
    return rrdstore_open(dir, step_s, d, err, errlen);
}

rrdstore_t *rrdstore_open_reader(const char *dir, long step_s, const char *daemon, char *err,
                                 size_t errlen)
{
    const char *d;
    char *absdir;

    if (!dir || !*dir)
        return fail(EINVAL, err, errlen, "the data directory name is empty");
    if (!rrdlib_load(err, errlen)) {
        errno = ENOENT;
        return NULL;
    }
    d = daemon_of(daemon, err, errlen);
    if (d && !*d)
        return NULL;
    if (d && !rrdlib_daemon_is_local(d))
        absdir = cw_strdup(dir);
    else if (!(absdir = realpath(dir, NULL)))
        return fail(errno, err, errlen, "data directory %s: %s", dir, strerror(errno));
    return store_new(absdir, d, step_s);
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
    if (!s->started) {
        rc = -EROFS;
    } else if (s->closing) {
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
        rrdlib_lock();
        rrdlib.rrdc_disconnect();
        rrdlib_unlock();
    }
    rrdwriter_free(s);
    strlist_free(&s->warnings);
    strlist_free(&s->known);
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
    struct strlist copy;

    /* A copy, so that fn runs with no lock held and may take its time. */
    pthread_mutex_lock(&s->qlock);
    copy.n = s->warnings.n;
    copy.v = cw_calloc(copy.n + 1, sizeof(*copy.v));
    for (size_t i = 0; i < copy.n; i++)
        copy.v[i] = cw_strdup(s->warnings.v[i]);
    pthread_mutex_unlock(&s->qlock);
    for (size_t i = 0; i < copy.n; i++)
        fn(ud, copy.v[i]);
    strlist_free(&copy);
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
