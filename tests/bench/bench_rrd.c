/* bench_rrd: how fast the RRD store writes, and what it costs the producer.
 *
 *   bench_rrd [--series N] [--days D] [--dir DIR] [--daemon ADDR]
 *
 * N series (default 1000: N/4 link files of 4 data sources) at a 10 s step.
 *
 * 1. Sustained writing: D simulated days of steps (default 1) are put as fast
 *    as the writer thread takes them (the bench waits while the queue is
 *    more than half full, so nothing is dropped), then flushed.  Prints
 *    samples, rows and rrd_update calls per second, and how many times real
 *    time that is for N series.  File creation is timed apart.
 * 2. The packet path: the time producers spend in metrics_put with the
 *    store attached, with its writer idle and with its writer busy writing,
 *    against a registry with no listener; all three in this run.
 *
 * With --daemon (or RRDCACHED_ADDRESS) the store writes through rrdcached;
 * DIR must then be inside its base directory.  A benchmark, not a test: it
 * prints numbers and ratios and never fails on timing. */
#include "autoconf.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/metrics.h"
#include "rrd/rrdstore.h"

#define STEP    10
#define T_START 1700000000L
#define LEAVES  4

static const char *const leaves[LEAVES] = { "in_bps", "out_bps", "util_pct", "errors" };

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static char (*names)[64];
static size_t nseries;

static void make_names(size_t n)
{
    nseries = n;
    names = calloc(n, sizeof(*names));
    for (size_t i = 0; i < n; i++)
        snprintf(names[i], sizeof(names[i]), "link.b%04zu.%s", i / LEAVES, leaves[i % LEAVES]);
}

static double value_of(size_t i, long step)
{
    return (double)((i * 7 + (size_t)step * 13) % 1000) / 10.0;
}

/* Puts one step of every series, waiting (bench only) while the queue is
 * more than half full so that the writer's pace is what is measured. */
static void put_step(rrdstore_t *s, long step, size_t qmax)
{
    rrdstore_stats_t st;

    for (;;) {
        rrdstore_get_stats(s, &st);
        if (st.queue_len < qmax / 2)
            break;
        usleep(200);
    }
    for (size_t i = 0; i < nseries; i++)
        rrdstore_update(s, names[i], CW_SEC(T_START + STEP * step), value_of(i, step));
}

/* Producer loop: nsteps steps of every series through metrics_put. */
static double produce(metrics_t *m, long first, long nsteps)
{
    double t0 = now_s();

    for (long k = first; k < first + nsteps; k++)
        for (size_t i = 0; i < nseries; i++)
            metrics_put(m, names[i], CW_SEC(T_START + STEP * k), value_of(i, k));
    return now_s() - t0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "series", required_argument, NULL, 'n' },
        { "days", required_argument, NULL, 'd' },
        { "dir", required_argument, NULL, 'D' },
        { "daemon", required_argument, NULL, 'a' },
        { NULL, 0, NULL, 0 },
    };
    const char *daemon = NULL, *dir_arg = NULL;
    long series = 1000, steps;
    double days = 1, t0, t_create, t_write, t_flush;
    char dir[4096], err[1024];
    rrdstore_stats_t st0, st1, st;
    rrdstore_t *s;
    size_t qmax = RRDSTORE_QUEUE_DEFAULT;
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (cw_parse_long(optarg, LEAVES, 1000000, &series) != 0)
                goto usage;
            break;
        case 'd':
            if (cw_parse_double(optarg, 0.001, 365, &days) != 0)
                goto usage;
            break;
        case 'D':
            dir_arg = optarg;
            break;
        case 'a':
            daemon = optarg;
            break;
        default:
            goto usage;
        }
    }
    if (optind != argc)
        goto usage;
    if (!daemon)
        daemon = getenv("RRDCACHED_ADDRESS");
    if (daemon && !*daemon)
        daemon = NULL;
    cw_log_set_level(CW_LOG_WARN);
    make_names((size_t)series / LEAVES * LEAVES);
    steps = (long)(days * 86400 / STEP);
    if (dir_arg)
        snprintf(dir, sizeof(dir), "%s/bench-rrd.%ld", dir_arg, (long)getpid());
    else
        snprintf(dir, sizeof(dir), "/tmp/cw-bench-rrd.%ld", (long)getpid());

    s = rrdstore_open(dir, STEP, daemon, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "bench_rrd: %s\n", err);
        return 1;
    }
    printf("bench_rrd: %zu series (%zu files x %d DS), step %d s, %s%s\n", nseries,
           nseries / LEAVES, LEAVES, STEP, daemon ? "through rrdcached at " : "direct writes",
           daemon ? daemon : "");

    /* 1. Sustained writing.  The first step creates the files. */
    t0 = now_s();
    put_step(s, 0, qmax);
    rrdstore_flush(s);
    t_create = now_s() - t0;
    printf("  create %zu files: %.2f s\n", nseries / LEAVES, t_create);
    rrdstore_get_stats(s, &st0);
    t0 = now_s();
    for (long k = 1; k <= steps; k++)
        put_step(s, k, qmax);
    t_write = now_s() - t0;
    rrdstore_flush(s);
    t_flush = now_s() - t0 - t_write;
    rrdstore_get_stats(s, &st1);
    {
        double secs = t_write + t_flush;
        double samples = (double)(st1.samples_written - st0.samples_written);
        double needed = (double)nseries / STEP;

        printf("  %.3g days = %ld steps: %.0f samples in %.2f s (%.2f s of it the final flush)\n",
               days, steps, samples, secs, t_flush);
        printf("  sustained: %.0f samples/s, %.0f rows/s, %.0f update calls/s "
               "(%.1f rows per call)\n",
               samples / secs, (double)(st1.rows_written - st0.rows_written) / secs,
               (double)(st1.updates - st0.updates) / secs,
               (double)(st1.rows_written - st0.rows_written) /
                   (double)(st1.updates - st0.updates ? st1.updates - st0.updates : 1));
        printf("  = %.0f x real time for %zu series at a %d s step (%.0f samples/s needed)\n",
               samples / secs / needed, nseries, STEP, needed);
        printf("  dropped %llu, errors %llu\n",
               (unsigned long long)(st1.queue_full - st0.queue_full),
               (unsigned long long)(st1.write_errors - st0.write_errors));
    }

    /* 2. The packet path: metrics_put with and without the store listening. */
    {
        const long psteps = 300; /* 300,000 puts per measurement */
        const int rounds = 3;
        double base = 1e9, idle = 1e9, busy = 1e9;
        long next = steps + 1;
        metrics_t *plain = metrics_new(), *m = metrics_new();

        rrdstore_attach(s, m);
        /* Warm both registries: series exist, history rings allocated. */
        produce(plain, next, 1);
        produce(m, next, 1);
        rrdstore_flush(s);
        next++;
        for (int r = 0; r < rounds; r++) {
            double t;

            t = produce(plain, next, psteps);
            base = t < base ? t : base;

            /* Writer idle: it sleeps until the flush below. */
            rrdstore_tune(s, (size_t)(psteps + 1) * nseries * 2, 3600 * 1000);
            t = produce(m, next, psteps);
            idle = t < idle ? t : idle;
            rrdstore_flush(s);
            next += psteps;

            /* Writer busy: woken every millisecond, writing while we put. */
            rrdstore_tune(s, 0, 1);
            t = produce(m, next, psteps);
            busy = t < busy ? t : busy;
            rrdstore_flush(s);
            next += psteps;
        }
        rrdstore_get_stats(s, &st);
        printf("  producer, metrics_put per sample (best of %d x %ld puts):\n", rounds,
               psteps * (long)nseries);
        printf("    no listener (baseline)        %7.1f ns\n",
               base * 1e9 / (double)(psteps * (long)nseries));
        printf("    store attached, writer idle   %7.1f ns  ratio %.2f\n",
               idle * 1e9 / (double)(psteps * (long)nseries), idle / base);
        printf("    store attached, writer busy   %7.1f ns  ratio %.2f  (busy/idle %.2f)\n",
               busy * 1e9 / (double)(psteps * (long)nseries), busy / base, busy / idle);
        printf("    queue drops %llu, write errors %llu\n",
               (unsigned long long)(st.queue_full - st1.queue_full),
               (unsigned long long)(st.write_errors - st1.write_errors));
        rrdstore_close(s);
        metrics_free(plain);
        metrics_free(m);
    }
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(names);
    return 0;
usage:
    fprintf(stderr, "usage: bench_rrd [--series N] [--days D] [--dir DIR] [--daemon ADDR]\n");
    return 2;
}
