/* rrdstoreint: the state of a store, shared by its API (rrd/rrdstore.c),
 * its writer thread (rrd/rrdwriter.c) and its readers (rrd/rrdread.c).
 * Private to rrd/: nothing outside it includes this header. */
#ifndef CW_RRD_RRDSTOREINT_H
#define CW_RRD_RRDSTOREINT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"
#include "rrd/rrdstore.h"

struct qitem {
    cw_ns_t t;
    double v;
    char name[METRICS_NAME_MAX];
};

/* Strings the writer adds and API callers read, under qlock. */
struct strlist {
    char **v;
    size_t n;
};

struct sfile;    /* the writer's: one RRD file */
struct smap_ent; /* the writer's: where a metric name goes */

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
    struct strlist warnings;
    struct strlist known; /* names of the files the writer has used */

    /* Writer thread only. */
    uint64_t batch;
    int64_t now_ms; /* monotonic, at the start of the cycle */
    struct sfile **files;
    size_t nfiles, ngeneric;
    struct smap_ent *map;
    size_t map_cap, map_used;
    rrdstore_stats_t delta; /* counted since the last publish */
};

/* Readies the writer's own state of a new store, before the thread runs. */
void rrdwriter_init(rrdstore_t *s);

/* The writer thread: takes the queue in cycles until the store closes. */
void *rrdwriter_main(void *arg);

/* Frees the writer's own state once the thread has ended (or never ran). */
void rrdwriter_free(rrdstore_t *s);

#endif
