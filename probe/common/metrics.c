#include "autoconf.h"

#include "common/metrics.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_MAX_SERIES    8192
#define METRICS_MAX_LISTENERS 8

struct series {
    char name[METRICS_NAME_MAX];
    cw_ns_t t[METRICS_HISTORY];
    double v[METRICS_HISTORY];
    size_t head, count; /* ring: newest at head - 1 */
};

struct listener {
    metrics_listener_fn fn;
    void *ud;
};

struct metrics {
    pthread_mutex_t lock;
    struct series **series; /* sorted by name */
    size_t nseries;
    struct listener listeners[METRICS_MAX_LISTENERS];
    size_t nlisteners;
};

metrics_t *metrics_new(void)
{
    metrics_t *m = cw_calloc(1, sizeof(*m));

    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void metrics_free(metrics_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nseries; i++)
        free(m->series[i]);
    free(m->series);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void metrics_listen(metrics_t *m, metrics_listener_fn fn, void *ud)
{
    pthread_mutex_lock(&m->lock);
    if (m->nlisteners < METRICS_MAX_LISTENERS) {
        m->listeners[m->nlisteners].fn = fn;
        m->listeners[m->nlisteners].ud = ud;
        m->nlisteners++;
    }
    pthread_mutex_unlock(&m->lock);
}

bool metrics_name_valid(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n >= METRICS_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

/* Binary search; returns the index of name or where it would go. */
static size_t find(const metrics_t *m, const char *name, bool *found)
{
    size_t lo = 0, hi = m->nseries;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(m->series[mid]->name, name);

        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

int metrics_put(metrics_t *m, const char *name, cw_ns_t t, double value)
{
    struct listener ls[METRICS_MAX_LISTENERS];
    size_t nls, idx;
    struct series *s;
    bool found;

    if (!metrics_name_valid(name))
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    idx = find(m, name, &found);
    if (!found) {
        if (m->nseries >= METRICS_MAX_SERIES) {
            pthread_mutex_unlock(&m->lock);
            return -ENOSPC;
        }
        s = cw_calloc(1, sizeof(*s));
        cw_strlcpy(s->name, name, sizeof(s->name));
        m->series = cw_realloc(m->series, (m->nseries + 1) * sizeof(*m->series));
        memmove(&m->series[idx + 1], &m->series[idx], (m->nseries - idx) * sizeof(*m->series));
        m->series[idx] = s;
        m->nseries++;
    }
    s = m->series[idx];
    s->t[s->head] = t;
    s->v[s->head] = value;
    s->head = (s->head + 1) % METRICS_HISTORY;
    if (s->count < METRICS_HISTORY)
        s->count++;
    nls = m->nlisteners;
    memcpy(ls, m->listeners, nls * sizeof(ls[0]));
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < nls; i++)
        ls[i].fn(ls[i].ud, name, t, value);
    return 0;
}

bool metrics_latest(metrics_t *m, const char *name, cw_ns_t *t, double *value)
{
    bool found;
    size_t idx;

    pthread_mutex_lock(&m->lock);
    idx = find(m, name, &found);
    if (found && m->series[idx]->count) {
        struct series *s = m->series[idx];
        size_t last = (s->head + METRICS_HISTORY - 1) % METRICS_HISTORY;

        *t = s->t[last];
        *value = s->v[last];
    } else {
        found = false;
    }
    pthread_mutex_unlock(&m->lock);
    return found;
}

size_t metrics_range(metrics_t *m, const char *name, cw_ns_t from, cw_ns_t to, cw_ns_t *ts,
                     double *values, size_t max)
{
    size_t n = 0, idx;
    bool found;

    pthread_mutex_lock(&m->lock);
    idx = find(m, name, &found);
    if (found) {
        struct series *s = m->series[idx];
        size_t first = (s->head + METRICS_HISTORY - s->count) % METRICS_HISTORY;

        for (size_t i = 0; i < s->count && n < max; i++) {
            size_t k = (first + i) % METRICS_HISTORY;

            if (s->t[k] < from || s->t[k] > to)
                continue;
            ts[n] = s->t[k];
            values[n] = s->v[k];
            n++;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return n;
}

void metrics_foreach_latest(metrics_t *m, metrics_listener_fn fn, void *ud)
{
    char(*names)[METRICS_NAME_MAX];
    cw_ns_t *ts;
    double *vs;
    size_t n = 0;

    /* Copy under the lock, call back without it. */
    pthread_mutex_lock(&m->lock);
    names = cw_calloc(m->nseries + 1, sizeof(*names));
    ts = cw_calloc(m->nseries + 1, sizeof(*ts));
    vs = cw_calloc(m->nseries + 1, sizeof(*vs));
    for (size_t i = 0; i < m->nseries; i++) {
        struct series *s = m->series[i];

        if (!s->count)
            continue;
        memcpy(names[n], s->name, METRICS_NAME_MAX);
        ts[n] = s->t[(s->head + METRICS_HISTORY - 1) % METRICS_HISTORY];
        vs[n] = s->v[(s->head + METRICS_HISTORY - 1) % METRICS_HISTORY];
        n++;
    }
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < n; i++)
        fn(ud, names[i], ts[i], vs[i]);
    free(names);
    free(ts);
    free(vs);
}
