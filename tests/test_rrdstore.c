/* The RRD store and graphs: the layout table, archive definitions, batching
 * of samples into rrd_update calls, the bounded queue, the backfill rule,
 * reading series back, and PNG rendering. */
#include "autoconf.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <rrd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/fs.h"
#include "rrd/rrdgraph.h"
#include "common/metrics.h"
#include "rrd/rrdlib.h"
#include "rrd/rrdread.h"
#include "rrd/rrdschema.h"
#include "rrd/rrdstore.h"

#define T0 1700000000L /* a multiple of the step */

/* ------------------------------------------------------------ fixtures */

struct fx {
    char *dir;
    rrdstore_t *s;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    char err[512];

    /* Write the files directly, whatever the environment says. */
    unsetenv("RRDCACHED_ADDRESS");
    if (!(fx->dir = cw_mkdtemp("cw-rrdstore")))
        return -1;
    fx->s = rrdstore_open(fx->dir, 10, NULL, err, sizeof(err));
    if (!fx->s) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    /* The writer wakes only when asked (flush) or when the queue fills: the
     * batches below are then exactly what the test put. */
    rrdstore_tune(fx->s, 0, 3600 * 1000);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    rrdstore_close(fx->s);
    cw_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static char *path_in(const struct fx *fx, const char *file)
{
    static char buf[256];

    snprintf(buf, sizeof(buf), "%s/%s", fx->dir, file);
    return buf;
}

/* Reads one DS of a file with rrd_fetch at the finest resolution: the
 * values of the rows stamped from..to (inclusive), NAN for unknown. */
static int fetch(const char *path, const char *ds, const char *cf, time_t from, time_t to,
                 double *out, size_t max)
{
    time_t start = from - 1, end = to;
    unsigned long step = 1, nds = 0;
    char **names = NULL;
    rrd_value_t *data = NULL;
    long idx = -1;
    size_t n = 0;
    int rc;

    rrdlib_lock();
    rrd_clear_error();
    rc = rrd_fetch_r(path, cf, &start, &end, &step, &nds, &names, &data);
    if (rc != 0)
        fprintf(stderr, "fetch %s: %s\n", path, rrd_get_error());
    rrdlib_unlock();
    if (rc != 0)
        return -1;
    for (unsigned long i = 0; i < nds; i++) {
        if (strcmp(names[i], ds) == 0)
            idx = (long)i;
        free(names[i]);
    }
    free(names);
    for (time_t t = start + (time_t)step; t <= end && idx >= 0; t += (time_t)step) {
        if (t >= from && t <= to && n < max)
            out[n++] = data[(size_t)((t - start) / (time_t)step - 1) * nds + (size_t)idx];
    }
    free(data);
    return idx < 0 ? -1 : (int)n;
}

static time_t last_update(const char *path)
{
    time_t t;

    rrdlib_lock();
    t = rrd_last_r(path);
    rrdlib_unlock();
    return t;
}

/* -------------------------------------------------------------- layout */

static void test_layout_table(void **state)
{
    static const struct {
        const char *metric, *file, *ds, *cf;
        double min, max;
        bool generic;
    } cases[] = {
        { "calls.active", "calls.rrd", "active", "AVERAGE", 0, NAN, false },
        { "calls.attempts", "calls.rrd", "attempts", "AVERAGE", 0, NAN, false },
        { "calls.answered", "calls.rrd", "answered", "AVERAGE", 0, NAN, false },
        { "calls.failed", "calls.rrd", "failed", "AVERAGE", 0, NAN, false },
        { "calls.dropped", "calls.rrd", "dropped", "AVERAGE", 0, NAN, false },
        { "rtp.streams", "rtp.rrd", "streams", "AVERAGE", 0, NAN, false },
        { "rtp.loss_pct", "rtp.rrd", "loss_pct", "AVERAGE", 0, 100, false },
        { "rtp.jitter_ms", "rtp.rrd", "jitter_ms", "AVERAGE", 0, NAN, false },
        { "rtp.mos_avg", "rtp.rrd", "mos_avg", "AVERAGE", 1, 5, false },
        { "rtp.mos_min", "rtp.rrd", "mos_min", "MIN", 1, 5, false },
        { "traffic.bps", "traffic.rrd", "bps", "AVERAGE", 0, NAN, false },
        { "traffic.pps", "traffic.rrd", "pps", "AVERAGE", 0, NAN, false },
        { "traffic.rtp.bps", "traffic.rrd", "rtp_bps", "AVERAGE", 0, NAN, false },
        { "traffic.rtp.pps", "traffic.rrd", "rtp_pps", "AVERAGE", 0, NAN, false },
        { "traffic.sip.bps", "traffic.rrd", "sip_bps", "AVERAGE", 0, NAN, false },
        { "traffic.sip.pps", "traffic.rrd", "sip_pps", "AVERAGE", 0, NAN, false },
        { "traffic.other.bps", "traffic.rrd", "other_bps", "AVERAGE", 0, NAN, false },
        { "traffic.other.pps", "traffic.rrd", "other_pps", "AVERAGE", 0, NAN, false },
        { "capture.drops", "capture.rrd", "drops", "AVERAGE", 0, NAN, false },
        { "link.wan0.in_bps", "link-wan0.rrd", "in_bps", "AVERAGE", 0, NAN, false },
        { "link.wan0.out_bps", "link-wan0.rrd", "out_bps", "AVERAGE", 0, NAN, false },
        { "link.wan0.util_pct", "link-wan0.rrd", "util_pct", "AVERAGE", 0, 1000, false },
        { "link.wan0.errors", "link-wan0.rrd", "errors", "AVERAGE", 0, NAN, false },
        { "link.Uplink_2-b.in_bps", "link-Uplink_2-b.rrd", "in_bps", "AVERAGE", 0, NAN, false },
        { "cpu.fw1.pct", "cpu-fw1.rrd", "pct", "AVERAGE", 0, 100, false },
        { "group.branch-a.calls.dropped", "group-branch-a.calls.rrd", "dropped", "AVERAGE", 0, NAN,
          false },
        { "group.branch-a.rtp.mos_min", "group-branch-a.rtp.rrd", "mos_min", "MIN", 1, 5, false },
        { "group.branch-a.traffic.sip.pps", "group-branch-a.traffic.rrd", "sip_pps", "AVERAGE", 0,
          NAN, false },
        { "group.b.capture.drops", "group-b.capture.rrd", "drops", "AVERAGE", 0, NAN, false },
        /* Outside the table: one generic file per name. */
        { "correlator.score", "misc-correlator.score.rrd", "value", "AVERAGE", NAN, NAN, true },
        { "calls.bogus", "misc-calls.bogus.rrd", "value", "AVERAGE", NAN, NAN, true },
        { "traffic.rtp", "misc-traffic.rtp.rrd", "value", "AVERAGE", NAN, NAN, true },
        { "link.wan0.in_pps", "misc-link.wan0.in_pps.rrd", "value", "AVERAGE", NAN, NAN, true },
        { "link.a.b.in_bps", "misc-link.a.b.in_bps.rrd", "value", "AVERAGE", NAN, NAN, true },
        { "link.in_bps", "misc-link.in_bps.rrd", "value", "AVERAGE", NAN, NAN, true },
        { "cpu..pct", "misc-cpu..pct.rrd", "value", "AVERAGE", NAN, NAN, true },
        { "group.x.link.wan0.in_bps", "misc-group.x.link.wan0.in_bps.rrd", "value", "AVERAGE", NAN,
          NAN, true },
        { "group.x.group.y.calls.active", "misc-group.x.group.y.calls.active.rrd", "value",
          "AVERAGE", NAN, NAN, true },
    };
    char longname[120];
    rrdschema_loc_t loc;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(rrdschema_locate(cases[i].metric, &loc), 0);
        assert_string_equal(loc.file, cases[i].file);
        assert_string_equal(loc.ds, cases[i].ds);
        assert_string_equal(loc.cf, cases[i].cf);
        assert_true(isnan(cases[i].min) ? isnan(loc.min) : loc.min == cases[i].min);
        assert_true(isnan(cases[i].max) ? isnan(loc.max) : loc.max == cases[i].max);
        assert_int_equal(loc.generic, cases[i].generic);
        /* librrd takes DS names of at most 19 characters of [A-Za-z0-9_]. */
        assert_true(strlen(loc.ds) <= 19);
        assert_int_equal(strspn(loc.ds, "abcdefghijklmnopqrstuvwxyz_0123456789"), strlen(loc.ds));
    }
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(rrdschema_locate("", &loc), -EINVAL);
    assert_int_equal(rrdschema_locate("calls active", &loc), -EINVAL);
    assert_int_equal(rrdschema_locate("../../etc/passwd", &loc), -EINVAL);
    assert_int_equal(rrdschema_locate("a/b", &loc), -EINVAL);
    assert_int_equal(rrdschema_locate(longname, &loc), -EINVAL);
    assert_int_equal(rrdschema_locate(NULL, &loc), -EINVAL);
}

static void expect_args(const char *metric, long step, const char *const *want)
{
    char **argv = NULL;
    size_t argc = 0, n = 0;

    assert_int_equal(rrdschema_create_args(metric, step, &argv, &argc), 0);
    while (want[n])
        n++;
    for (size_t i = 0; i < argc && i < n; i++)
        assert_string_equal(argv[i], want[i]);
    assert_int_equal(argc, n);
    assert_null(argv[argc]);
    rrdschema_args_free(argv);
}

static void test_archives(void **state)
{
    /* 2 days / 10 s = 17280 rows; 2 weeks / 60 s = 20160; 183 days / 300 s
     * = 52704; 1826 days / 3600 s = 43824.  Heartbeat: two steps. */
    static const char *const traffic10[] = {
        "DS:bps:GAUGE:20:0:U",
        "DS:pps:GAUGE:20:0:U",
        "DS:rtp_bps:GAUGE:20:0:U",
        "DS:rtp_pps:GAUGE:20:0:U",
        "DS:sip_bps:GAUGE:20:0:U",
        "DS:sip_pps:GAUGE:20:0:U",
        "DS:other_bps:GAUGE:20:0:U",
        "DS:other_pps:GAUGE:20:0:U",
        "RRA:AVERAGE:0.5:1:17280",
        "RRA:AVERAGE:0.5:6:20160",
        "RRA:AVERAGE:0.5:30:52704",
        "RRA:AVERAGE:0.5:360:43824",
        "RRA:MAX:0.5:1:17280",
        "RRA:MAX:0.5:6:20160",
        "RRA:MAX:0.5:30:52704",
        "RRA:MAX:0.5:360:43824",
        NULL,
    };
    /* MOS: lower is worse, so rtp.rrd keeps MIN too. */
    static const char *const rtp5[] = {
        "DS:streams:GAUGE:10:0:U",  "DS:loss_pct:GAUGE:10:0:100", "DS:jitter_ms:GAUGE:10:0:U",
        "DS:mos_avg:GAUGE:10:1:5",  "DS:mos_min:GAUGE:10:1:5",    "RRA:AVERAGE:0.5:1:34560",
        "RRA:AVERAGE:0.5:12:20160", "RRA:AVERAGE:0.5:60:52704",   "RRA:AVERAGE:0.5:720:43824",
        "RRA:MAX:0.5:1:34560",      "RRA:MAX:0.5:12:20160",       "RRA:MAX:0.5:60:52704",
        "RRA:MAX:0.5:720:43824",    "RRA:MIN:0.5:1:34560",        "RRA:MIN:0.5:12:20160",
        "RRA:MIN:0.5:60:52704",     "RRA:MIN:0.5:720:43824",      NULL,
    };
    /* An hour per step: every resolution is one step; keep five years. */
    static const char *const cpu3600[] = {
        "DS:pct:GAUGE:7200:0:100",
        "RRA:AVERAGE:0.5:1:43824",
        "RRA:MAX:0.5:1:43824",
        NULL,
    };
    static const char *const link10[] = {
        "DS:in_bps:GAUGE:20:0:U",
        "DS:out_bps:GAUGE:20:0:U",
        "DS:util_pct:GAUGE:20:0:1000",
        "DS:errors:GAUGE:20:0:U",
        "RRA:AVERAGE:0.5:1:17280",
        "RRA:AVERAGE:0.5:6:20160",
        "RRA:AVERAGE:0.5:30:52704",
        "RRA:AVERAGE:0.5:360:43824",
        "RRA:MAX:0.5:1:17280",
        "RRA:MAX:0.5:6:20160",
        "RRA:MAX:0.5:30:52704",
        "RRA:MAX:0.5:360:43824",
        NULL,
    };
    static const char *const generic10[] = {
        "DS:value:GAUGE:20:U:U",     "RRA:AVERAGE:0.5:1:17280",
        "RRA:AVERAGE:0.5:6:20160",   "RRA:AVERAGE:0.5:30:52704",
        "RRA:AVERAGE:0.5:360:43824", "RRA:MAX:0.5:1:17280",
        "RRA:MAX:0.5:6:20160",       "RRA:MAX:0.5:30:52704",
        "RRA:MAX:0.5:360:43824",     "RRA:MIN:0.5:1:17280",
        "RRA:MIN:0.5:6:20160",       "RRA:MIN:0.5:30:52704",
        "RRA:MIN:0.5:360:43824",     NULL,
    };
    char **argv;
    size_t argc;

    (void)state;
    expect_args("traffic.bps", 10, traffic10);
    expect_args("traffic.other.pps", 10, traffic10);
    expect_args("rtp.mos_min", 5, rtp5);
    expect_args("group.g1.rtp.loss_pct", 5, rtp5);
    expect_args("cpu.fw1.pct", 3600, cpu3600);
    expect_args("link.wan0.errors", 10, link10);
    expect_args("some.new.metric", 10, generic10);
    assert_int_equal(rrdschema_create_args("bad name", 10, &argv, &argc), -EINVAL);
    assert_int_equal(rrdschema_create_args("traffic.bps", 0, &argv, &argc), -EINVAL);
}

/* -------------------------------------------------------------- writing */

static void test_batching(void **state)
{
    struct fx *fx = *state;
    rrdstore_stats_t st;
    double v[8];

    /* Three samples of two files at one time: one update per file. */
    assert_int_equal(rrdstore_update(fx->s, "traffic.bps", CW_SEC(T0 + 10), 8000), 0);
    assert_int_equal(rrdstore_update(fx->s, "traffic.pps", CW_SEC(T0 + 10), 12.5), 0);
    assert_int_equal(rrdstore_update(fx->s, "capture.drops", CW_SEC(T0 + 10), 3), 0);
    assert_int_equal(rrdstore_flush(fx->s), 0);
    rrdstore_get_stats(fx->s, &st);
    assert_int_equal(st.queued, 3);
    assert_int_equal(st.files_created, 2);
    assert_int_equal(st.updates, 2);
    assert_int_equal(st.rows_written, 2);
    assert_int_equal(st.samples_written, 3);
    assert_int_equal(st.queue_full, 0);

    /* Created one step before the first sample. */
    assert_int_equal(last_update(path_in(fx, "traffic.rrd")), T0 + 10);

    /* Samples of one file at increasing times: one update, several rows;
     * put out of order, and with the pps of T0+30 missing. */
    rrdstore_update(fx->s, "traffic.bps", CW_SEC(T0 + 30), 8300);
    rrdstore_update(fx->s, "traffic.bps", CW_SEC(T0 + 20), 8200);
    rrdstore_update(fx->s, "traffic.pps", CW_SEC(T0 + 20), 22);
    rrdstore_update(fx->s, "traffic.bps", CW_SEC(T0 + 40) + 999999999, 8400); /* same second */
    rrdstore_update(fx->s, "traffic.pps", CW_SEC(T0 + 40), 42);
    assert_int_equal(rrdstore_flush(fx->s), 0);
    rrdstore_get_stats(fx->s, &st);
    assert_int_equal(st.updates, 3);
    assert_int_equal(st.rows_written, 5);
    assert_int_equal(st.samples_written, 8);

    assert_int_equal(fetch(path_in(fx, "traffic.rrd"), "bps", "AVERAGE", T0 + 10, T0 + 40, v, 8),
                     4);
    assert_true(v[0] == 8000 && v[1] == 8200 && v[2] == 8300 && v[3] == 8400);
    assert_int_equal(fetch(path_in(fx, "traffic.rrd"), "pps", "AVERAGE", T0 + 10, T0 + 40, v, 8),
                     4);
    assert_true(v[0] == 12.5 && v[1] == 22 && isnan(v[2]) && v[3] == 42);
    /* A DS nobody wrote is unknown, not zero. */
    assert_int_equal(
        fetch(path_in(fx, "traffic.rrd"), "rtp_bps", "AVERAGE", T0 + 10, T0 + 40, v, 8), 4);
    assert_true(isnan(v[0]) && isnan(v[3]));
    assert_int_equal(fetch(path_in(fx, "capture.rrd"), "drops", "MAX", T0 + 10, T0 + 10, v, 8), 1);
    assert_true(v[0] == 3);
}

static void test_gaps(void **state)
{
    struct fx *fx = *state;
    double v[10];

    /* One missing step is bridged by the next sample (heartbeat: two
     * steps); a longer gap stays unknown and the sample after it counts. */
    rrdstore_update(fx->s, "cpu.fw1.pct", CW_SEC(T0 + 10), 10);
    rrdstore_update(fx->s, "cpu.fw1.pct", CW_SEC(T0 + 30), 30);
    rrdstore_update(fx->s, "cpu.fw1.pct", CW_SEC(T0 + 70), 70);
    rrdstore_update(fx->s, "cpu.fw1.pct", CW_SEC(T0 + 80), NAN);
    rrdstore_update(fx->s, "cpu.fw1.pct", CW_SEC(T0 + 90), 90);
    rrdstore_update(fx->s, "cpu.fw1.pct", CW_SEC(T0 + 100), 150); /* above max: unknown */
    assert_int_equal(rrdstore_flush(fx->s), 0);
    assert_int_equal(fetch(path_in(fx, "cpu-fw1.rrd"), "pct", "AVERAGE", T0 + 10, T0 + 100, v, 10),
                     10);
    assert_true(v[0] == 10);
    assert_true(v[1] == 30 && v[2] == 30);
    assert_true(isnan(v[3]) && isnan(v[4]) && isnan(v[5]));
    assert_true(v[6] == 70);
    assert_true(isnan(v[7])); /* NAN is a gap */
    assert_true(v[8] == 90);
    assert_true(isnan(v[9])); /* out of the DS's range */
}

static void *flusher(void *arg)
{
    return (void *)(intptr_t)rrdstore_flush(arg);
}

static void test_queue_full(void **state)
{
    struct fx *fx = *state;
    rrdstore_stats_t st;
    int accepted = 0, full = 0;
    pthread_t th;
    void *frc;
    double t0;

    rrdstore_tune(fx->s, 16, 0);
    /* Hold librrd, queue one sample of a new file and have another thread
     * flush: the writer takes that sample and waits for librrd to create
     * the file.  The queue is then not drained, and the producer finds it
     * full: it must neither wait nor fail other than by dropping. */
    rrdlib_lock();
    assert_int_equal(rrdstore_update(fx->s, "traffic.bps", CW_SEC(T0 + 10), -1), 0);
    pthread_create(&th, NULL, flusher, fx->s);
    do {
        rrdstore_get_stats(fx->s, &st);
    } while (st.queue_len != 0); /* the writer has taken it */
    t0 = (double)cw_wall_now() / 1e9;
    for (int i = 1; i < 201; i++) {
        int rc = rrdstore_update(fx->s, "traffic.bps", CW_SEC(T0 + 10 * (i + 1)), i);

        if (rc == 0)
            accepted++;
        else if (rc == -EAGAIN)
            full++;
        else
            fail_msg("unexpected rc %d", rc);
    }
    /* 200 puts against a stuck writer: far below a second. */
    assert_true((double)cw_wall_now() / 1e9 - t0 < 1.0);
    rrdlib_unlock();
    pthread_join(th, &frc);
    assert_int_equal((intptr_t)frc, 0);
    assert_int_equal(accepted, 16);
    assert_int_equal(full, 200 - 16);
    assert_int_equal(rrdstore_flush(fx->s), 0);
    rrdstore_get_stats(fx->s, &st);
    assert_int_equal(st.queue_full, 184);
    assert_int_equal(st.queued, 17);
    assert_int_equal(st.samples_written, 17);
    assert_int_equal(st.queue_len, 0);

    /* Invalid names are refused at the door and counted. */
    assert_int_equal(rrdstore_update(fx->s, "no spaces please", CW_SEC(T0), 1), -EINVAL);
    assert_int_equal(rrdstore_update(fx->s, "", CW_SEC(T0), 1), -EINVAL);
    rrdstore_get_stats(fx->s, &st);
    assert_int_equal(st.rejected, 2);
}

static void collect(void *ud, const char *msg)
{
    json_array_append_new(ud, json_string(msg));
}

static void test_backfill(void **state)
{
    struct fx *fx = *state;
    rrdstore_stats_t st;
    json_t *w = json_array();
    char err[256], want[160];
    const char *msg;
    rrdstore_t *s2;
    double v[8];

    for (int i = 1; i <= 6; i++)
        rrdstore_update(fx->s, "traffic.bps", CW_SEC(T0 + 10 * i), i);
    assert_int_equal(rrdstore_flush(fx->s), 0);
    rrdstore_foreach_warning(fx->s, collect, w);
    assert_int_equal(json_array_size(w), 0);

    /* Late samples for steps this store already wrote: not backfill, but
     * not written either, and said. */
    rrdstore_update(fx->s, "traffic.bps", CW_SEC(T0 + 30), 99);
    rrdstore_update(fx->s, "traffic.pps", CW_SEC(T0 + 60), 99);
    rrdstore_update(fx->s, "traffic.bps", CW_SEC(T0 + 70), 7);
    assert_int_equal(rrdstore_flush(fx->s), 0);
    rrdstore_get_stats(fx->s, &st);
    assert_int_equal(st.late, 2);
    assert_int_equal(st.backfill_skipped, 0);
    assert_int_equal(st.samples_written, 7);
    rrdstore_foreach_warning(fx->s, collect, w);
    assert_int_equal(json_array_size(w), 1);
    snprintf(want, sizeof(want),
             "2 samples for steps from 2023-11-14 22:13:50 UTC to 2023-11-14 "
             "22:14:20 UTC (%ld..%ld) came after",
             T0 + 30, T0 + 60);
    assert_non_null(strstr(json_string_value(json_array_get(w, 0)), want));
    json_decref(w);

    /* A later run with an older capture that overlaps the end of the
     * stored one, then goes on. */
    s2 = rrdstore_open(fx->dir, 10, NULL, err, sizeof(err));
    assert_non_null(s2);
    rrdstore_tune(s2, 0, 3600 * 1000);
    for (int i = -10; i <= 2; i++)
        rrdstore_update(s2, "traffic.bps", CW_SEC(T0 + 10 * i), 100 + i);
    rrdstore_update(s2, "traffic.pps", CW_SEC(T0 + 70), 1);
    rrdstore_update(s2, "traffic.bps", CW_SEC(T0 + 80), 8);
    assert_int_equal(rrdstore_flush(s2), 0);
    rrdstore_get_stats(s2, &st);
    assert_int_equal(st.backfill_skipped, 14);
    assert_int_equal(st.late, 0);
    assert_int_equal(st.samples_written, 1);
    /* One warning for the file: its name, last update and the range. */
    w = json_array();
    rrdstore_foreach_warning(s2, collect, w);
    assert_int_equal(json_array_size(w), 1);
    msg = json_string_value(json_array_get(w, 0));
    assert_non_null(strstr(msg, path_in(fx, "traffic.rrd")));
    assert_non_null(strstr(msg, "14 samples in 14 steps"));
    snprintf(want, sizeof(want), "(%ld..%ld)", T0 - 100, T0 + 70);
    assert_non_null(strstr(msg, want));
    snprintf(want, sizeof(want), "last update 2023-11-14 22:14:30 UTC (%ld)", T0 + 70);
    assert_non_null(strstr(msg, want));
    json_decref(w);
    rrdstore_close(s2);

    /* What was there is untouched; the newer rows are written. */
    assert_int_equal(fetch(path_in(fx, "traffic.rrd"), "bps", "AVERAGE", T0 + 10, T0 + 80, v, 8),
                     8);
    assert_true(v[0] == 1 && v[1] == 2 && v[2] == 3 && v[5] == 6 && v[6] == 7 && v[7] == 8);
}

static void *producer(void *arg)
{
    rrdstore_t *s = arg;
    static int which;
    char name[64];

    snprintf(name, sizeof(name), "link.l%d.in_bps", __atomic_fetch_add(&which, 1, 0));
    for (int i = 1; i <= 2000; i++)
        rrdstore_update(s, name, CW_SEC(T0 + 10 * i), i);
    return NULL;
}

static void test_threads_and_close(void **state)
{
    struct fx *fx = *state;
    pthread_t th[3];
    rrdstore_stats_t st;
    char err[256];
    double v[4];

    rrdstore_tune(fx->s, 0, 5); /* a busy writer, woken every 5 ms */
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, producer, fx->s);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(rrdstore_flush(fx->s), 0);
    rrdstore_get_stats(fx->s, &st);
    assert_int_equal(st.queued, 6000);
    assert_int_equal(st.samples_written, 6000);
    assert_int_equal(st.rows_written, 6000);
    assert_int_equal(st.backfill_skipped + st.write_errors + st.queue_full, 0);
    for (int i = 0; i < 3; i++) {
        char f[32];

        snprintf(f, sizeof(f), "link-l%d.rrd", i);
        assert_int_equal(last_update(path_in(fx, f)), T0 + 20000);
    }

    /* Close without a flush: nothing is lost. */
    rrdstore_update(fx->s, "calls.dropped", CW_SEC(T0 + 10), 4);
    rrdstore_update(fx->s, "calls.dropped", CW_SEC(T0 + 20), 5);
    rrdstore_close(fx->s);
    fx->s = rrdstore_open(fx->dir, 10, NULL, err, sizeof(err));
    assert_non_null(fx->s);
    assert_int_equal(fetch(path_in(fx, "calls.rrd"), "dropped", "AVERAGE", T0 + 10, T0 + 20, v, 4),
                     2);
    assert_true(v[0] == 4 && v[1] == 5);
}

static void test_attach(void **state)
{
    struct fx *fx = *state;
    metrics_t *m = metrics_new();
    double v[4];

    rrdstore_attach(fx->s, m);
    metrics_put(m, "rtp.mos_min", CW_SEC(T0 + 10), 3.9);
    metrics_put(m, "rtp.mos_avg", CW_SEC(T0 + 10), 4.2);
    assert_int_equal(rrdstore_flush(fx->s), 0);
    assert_int_equal(fetch(path_in(fx, "rtp.rrd"), "mos_min", "MIN", T0 + 10, T0 + 10, v, 4), 1);
    assert_true(v[0] == 3.9);
    assert_int_equal(fetch(path_in(fx, "rtp.rrd"), "mos_avg", "AVERAGE", T0 + 10, T0 + 10, v, 4),
                     1);
    assert_true(v[0] == 4.2);
    metrics_free(m);
}

static void test_open_errors(void **state)
{
    char err[512], file[80];
    char *dir = cw_mkdtemp("cw-rrdopen");
    rrdstore_t *s;
    FILE *f;

    (void)state;
    assert_non_null(dir);
    snprintf(file, sizeof(file), "%s/plain", dir);
    f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);

    errno = 0;
    s = rrdstore_open(file, 10, NULL, err, sizeof(err));
    assert_null(s);
    assert_int_equal(errno, EINVAL);
    assert_non_null(strstr(err, file));
    snprintf(file, sizeof(file), "%s/plain/sub", dir);
    s = rrdstore_open(file, 10, NULL, err, sizeof(err));
    assert_null(s);
    assert_int_equal(errno, EINVAL);
    s = rrdstore_open("", 10, NULL, err, sizeof(err));
    assert_null(s);
    assert_int_equal(errno, EINVAL);
    s = rrdstore_open(dir, 10, "unix:", err, sizeof(err));
    assert_null(s);
    assert_int_equal(errno, EINVAL);
    /* A daemon that is not there is a runtime failure naming it. */
    snprintf(file, sizeof(file), "unix:%s/no.sock", dir);
    s = rrdstore_open(dir, 10, file, err, sizeof(err));
    assert_null(s);
    assert_int_not_equal(errno, EINVAL);
    assert_non_null(strstr(err, file));
    /* A remote daemon resolves paths itself: absolute ones are refused. */
    s = rrdstore_open("/abs", 10, "192.0.2.1:42217", err, sizeof(err));
    assert_null(s);
    assert_int_equal(errno, EINVAL);
    /* Nested directories are made. */
    snprintf(file, sizeof(file), "%s/a/b/c", dir);
    s = rrdstore_open(file, 10, NULL, err, sizeof(err));
    assert_non_null(s);
    rrdstore_close(s);
    cw_rmtree(dir);
    free(dir);
}

/* -------------------------------------------------------------- reading */

static void test_series(void **state)
{
    struct fx *fx = *state;
    json_t *got, *want;
    char err[256];
    char *dump;

    rrdstore_update(fx->s, "link.wan0.util_pct", CW_SEC(T0 + 10), 12.5);
    rrdstore_update(fx->s, "link.wan0.util_pct", CW_SEC(T0 + 20), 97);
    rrdstore_update(fx->s, "link.wan0.util_pct", CW_SEC(T0 + 50), 40);
    assert_int_equal(rrdstore_flush(fx->s), 0);

    got = rrdread_series(fx->s, "link.wan0.util_pct", T0 + 10, T0 + 50, err, sizeof(err));
    assert_non_null(got);
    want =
        json_pack("{s:s, s:i, s:[[I,f],[I,f],[I,n],[I,n],[I,f]]}", "metric", "link.wan0.util_pct",
                  "step", 10, "points", (json_int_t)(T0 + 10), 12.5, (json_int_t)(T0 + 20), 97.0,
                  (json_int_t)(T0 + 30), (json_int_t)(T0 + 40), (json_int_t)(T0 + 50), 40.0);
    dump = json_dumps(got, JSON_COMPACT);
    if (!json_equal(got, want))
        fail_msg("series: %s", dump);
    free(dump);
    json_decref(got);
    json_decref(want);

    /* A narrower window: rows stamped inside it. */
    got = rrdread_series(fx->s, "link.wan0.util_pct", T0 + 15, T0 + 25, err, sizeof(err));
    assert_non_null(got);
    assert_int_equal(json_array_size(json_object_get(got, "points")), 1);
    assert_int_equal(
        json_integer_value(json_array_get(json_array_get(json_object_get(got, "points"), 0), 0)),
        T0 + 20);
    json_decref(got);

    errno = 0;
    assert_null(rrdread_series(fx->s, "calls.active", T0, T0 + 50, err, sizeof(err)));
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(err, "calls.active"));
    assert_null(rrdread_series(fx->s, "not a metric", T0, T0 + 50, err, sizeof(err)));
    assert_int_equal(errno, EINVAL);
    assert_null(rrdread_series(fx->s, "link.wan0.util_pct", T0 + 50, T0, err, sizeof(err)));
    assert_int_equal(errno, EINVAL);
}

static void test_metrics_list(void **state)
{
    struct fx *fx = *state;
    json_t *got, *want;
    char *dump;
    FILE *f;

    rrdstore_update(fx->s, "capture.drops", CW_SEC(T0 + 10), 0);
    rrdstore_update(fx->s, "cpu.fw1.pct", CW_SEC(T0 + 10), 50);
    rrdstore_update(fx->s, "group.b-1.calls.active", CW_SEC(T0 + 10), 2);
    rrdstore_update(fx->s, "correlator.score", CW_SEC(T0 + 10), 0.5);
    assert_int_equal(rrdstore_flush(fx->s), 0);
    /* Files that are not the store's are not metrics. */
    f = fopen(path_in(fx, "notes.txt"), "w");
    fclose(f);
    f = fopen(path_in(fx, "misc-bad name.rrd"), "w");
    fclose(f);
    got = rrdread_metrics(fx->s);
    want =
        json_pack("[s,s,s,s,s,s,s,s]", "capture.drops", "correlator.score", "cpu.fw1.pct",
                  "group.b-1.calls.active", "group.b-1.calls.answered", "group.b-1.calls.attempts",
                  "group.b-1.calls.dropped", "group.b-1.calls.failed");
    dump = json_dumps(got, JSON_COMPACT);
    if (!json_equal(got, want))
        fail_msg("metrics: %s", dump);
    free(dump);
    json_decref(got);
    json_decref(want);
}

/* -------------------------------------------------------------- graphs */

static bool is_png(const unsigned char *p, size_t len, unsigned *w, unsigned *h)
{
    static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

    if (len < 33 || memcmp(p, sig, 8) != 0 || memcmp(p + 12, "IHDR", 4) != 0)
        return false;
    *w = (unsigned)p[16] << 24 | (unsigned)p[17] << 16 | (unsigned)p[18] << 8 | p[19];
    *h = (unsigned)p[20] << 24 | (unsigned)p[21] << 16 | (unsigned)p[22] << 8 | p[23];
    return memcmp(p + len - 8, "IEND", 4) == 0;
}

/* An hour of an incident: calls drop while the link saturates and the
 * firewall's CPU climbs; MOS falls. */
static void fill_incident(rrdstore_t *s)
{
    for (int i = 1; i <= 360; i++) {
        cw_ns_t t = CW_SEC(T0 + 10 * i);
        bool bad = i >= 200 && i < 260;

        rrdstore_update(s, "calls.active", t, 20);
        rrdstore_update(s, "calls.attempts", t, 2);
        rrdstore_update(s, "calls.answered", t, 2);
        rrdstore_update(s, "calls.failed", t, 0);
        rrdstore_update(s, "calls.dropped", t, bad && i % 7 == 0 ? 2 : 0);
        rrdstore_update(s, "rtp.streams", t, 40);
        rrdstore_update(s, "rtp.loss_pct", t, bad ? 8 : 0.1);
        rrdstore_update(s, "rtp.jitter_ms", t, bad ? 45 : 3);
        rrdstore_update(s, "rtp.mos_avg", t, bad ? 2.9 : 4.3);
        rrdstore_update(s, "rtp.mos_min", t, bad ? 1.8 : 4.1);
        rrdstore_update(s, "traffic.bps", t, bad ? 95e6 : 20e6);
        rrdstore_update(s, "traffic.rtp.bps", t, 3e6);
        rrdstore_update(s, "traffic.sip.bps", t, 1e5);
        rrdstore_update(s, "traffic.other.bps", t, bad ? 91.9e6 : 16.9e6);
        rrdstore_update(s, "link.wan0.util_pct", t, bad ? 97 : 20);
        rrdstore_update(s, "link.lan1.util_pct", t, 5);
        rrdstore_update(s, "cpu.fw1.pct", t, bad ? 99 : 15);
    }
}

static void test_graphs(void **state)
{
    struct fx *fx = *state;
    rrdgraph_window_t win = { T0 + 2000, T0 + 2600 };
    rrdgraph_req_t req = { .start = T0, .end = T0 + 3600, .width = 600, .height = 200 };
    static const char *const names[] = { "traffic.bps", "rtp.mos_min", "link.wan0.util_pct",
                                         "overview",    "calls",       "quality",
                                         "traffic",     "links",       "cpu" };
    unsigned char *png = NULL, *plain = NULL;
    size_t len = 0, plain_len = 0;
    unsigned w, h;
    char err[512];

    fill_incident(fx->s);
    assert_int_equal(rrdstore_flush(fx->s), 0);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        req.name = names[i];
        req.windows = NULL;
        req.nwindows = 0;
        if (rrdgraph_png(fx->s, &req, &plain, &plain_len, err, sizeof(err)) != 0)
            fail_msg("%s: %s", names[i], err);
        assert_true(is_png(plain, plain_len, &w, &h));
        /* The canvas holds the plot area plus axes and legend. */
        assert_true(w > 600 && w < 1200 && h > 200 && h < 800);
        assert_true(plain_len > 2000);

        /* The same with an incident shaded: a different picture. */
        req.windows = &win;
        req.nwindows = 1;
        if (rrdgraph_png(fx->s, &req, &png, &len, err, sizeof(err)) != 0)
            fail_msg("%s shaded: %s", names[i], err);
        assert_true(is_png(png, len, &w, &h));
        assert_false(len == plain_len && memcmp(png, plain, len) == 0);
        free(png);
        free(plain);
        png = plain = NULL;
    }

    req.name = "overview";
    req.width = req.height = 0; /* defaults */
    assert_int_equal(rrdgraph_png(fx->s, &req, &png, &len, err, sizeof(err)), 0);
    assert_true(is_png(png, len, &w, &h));
    assert_true(w > RRDGRAPH_DEFAULT_WIDTH && h > RRDGRAPH_DEFAULT_HEIGHT);
    free(png);

    /* Errors say what is wrong. */
    req.name = "no such graph!";
    assert_int_equal(rrdgraph_png(fx->s, &req, &png, &len, err, sizeof(err)), -EINVAL);
    assert_null(png);
    req.name = "rtp.streams";
    req.start = T0 + 100;
    req.end = T0;
    assert_int_equal(rrdgraph_png(fx->s, &req, &png, &len, err, sizeof(err)), -EINVAL);
    req.start = T0;
    req.end = T0 + 3600;
    req.width = 100000;
    assert_int_equal(rrdgraph_png(fx->s, &req, &png, &len, err, sizeof(err)), -EINVAL);
    req.width = 0;
    req.name = "cpu.nobody.pct";
    assert_int_equal(rrdgraph_png(fx->s, &req, &png, &len, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "cpu.nobody.pct"));
    req.name = "group.nobody.calls";
    assert_int_equal(rrdgraph_png(fx->s, &req, &png, &len, err, sizeof(err)), -ENOENT);
}

static void test_graph_empty_store(void **state)
{
    struct fx *fx = *state;
    rrdgraph_req_t req = { .name = "overview", .start = T0, .end = T0 + 3600 };
    unsigned char *png = NULL;
    size_t len = 0;
    char err[512];

    assert_int_equal(rrdgraph_png(fx->s, &req, &png, &len, err, sizeof(err)), -ENOENT);
    assert_null(png);
    assert_non_null(strstr(err, fx->dir));
    assert_true(rrdgraph_is_composite("overview"));
    assert_false(rrdgraph_is_composite("traffic.bps"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_table),
        cmocka_unit_test(test_archives),
        cmocka_unit_test_setup_teardown(test_batching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gaps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backfill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_and_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach, setup, teardown),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test_setup_teardown(test_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graphs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graph_empty_store, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
