/* The analysing thread's read loops: files in order, the reader thread for
 * what libpcap reads, bad input, truncation, stopping, pacing, the span. */
#include "autoconf.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/fs.h"
#include "engine/engine.h"
#include "daemon/readloop.h"
#include "pcapgen.h"

#define T0 CW_SEC(1700000000)

static char *dir;

static int setup(void **state)
{
    (void)state;
    return (dir = cw_mkdtemp("cw-readloop")) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cw_rmtree(dir);
    free(dir);
    return 0;
}

/* n UDP packets, one every gap_ms from t0; returns the file's path. */
static const char *write_udp(const char *name, int n, cw_ns_t t0, int gap_ms)
{
    static char path[8][512];
    static int next;
    char *p = path[next++ % 8];
    pcapgen_t *g;
    pg_buf_t f;

    snprintf(p, 512, "%s/%s", dir, name);
    g = pcapgen_open(p, PG_PCAP_US, PG_LINK_ETHERNET, 0);
    assert_non_null(g);
    for (int i = 0; i < n; i++) {
        f.len = 0;
        pg_eth_udp(&f, "10.0.0.1", 4000, "10.0.0.2", 4002, "payload", 7);
        assert_int_equal(pcapgen_write(g, t0 + (cw_ns_t)i * gap_ms * CW_NS_PER_MS, f.data,
                                       (uint32_t)f.len, (uint32_t)f.len),
                         0);
    }
    assert_int_equal(pcapgen_close(g), 0);
    return p;
}

struct run {
    cw_config_t cfg;
    engine_t *e;
    readloop_cfg_t rc;
    readloop_t *rl;
    engine_capture_info_t info;
};

static void run_begin(struct run *r, const char **files, size_t n)
{
    memset(r, 0, sizeof(*r));
    config_init(&r->cfg);
    r->e = engine_new(&r->cfg, NULL);
    r->rc.files = files;
    r->rc.nfiles = n;
    r->rl = readloop_new(&r->rc, r->e);
}

static void run_end(struct run *r)
{
    engine_finish(r->e);
    engine_capture_info(r->e, &r->info);
}

static void run_free(struct run *r)
{
    readloop_free(r->rl);
    engine_free(r->e);
    config_free(&r->cfg);
}

static void test_files_in_order(void **state)
{
    const char *files[] = { write_udp("a.pcap", 5, T0, 10),
                            write_udp("b.pcap", 7, T0 + CW_SEC(1), 10) };
    char err[256];
    struct run r;
    cw_ns_t from, to;

    (void)state;
    run_begin(&r, files, 2);
    assert_true(readloop_span(r.rl, &from, &to));
    assert_true(from == T0);
    assert_true(to == T0 + CW_SEC(1) + 60 * CW_NS_PER_MS);
    assert_int_equal(readloop_files(r.rl, err, sizeof(err)), 0);
    run_end(&r);
    assert_int_equal(r.info.packets, 12);
    assert_int_equal(r.info.nfiles, 2);
    assert_string_equal(r.info.files[0], files[0]);
    assert_string_equal(r.info.files[1], files[1]);
    assert_int_equal(r.info.nwarnings, 0);
    run_free(&r);
}

/* A file that cannot be read, or a filter that does not compile, is bad
 * input found before any packet is analysed. */
static void test_bad_input(void **state)
{
    char missing[600], err[512];
    const char *files[2] = { write_udp("good.pcap", 3, T0, 10), missing };
    struct run r;

    (void)state;
    snprintf(missing, sizeof(missing), "%s/none.pcap", dir);
    run_begin(&r, files, 2);
    assert_int_equal(readloop_files(r.rl, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "none.pcap"));
    run_end(&r);
    assert_int_equal(r.info.packets, 0);
    run_free(&r);

    run_begin(&r, files, 1);
    r.rc.filter = "udp and and";
    assert_int_equal(readloop_files(r.rl, err, sizeof(err)), -EINVAL);
    run_free(&r);
}

static void test_filter(void **state)
{
    const char *files[] = { write_udp("f.pcap", 4, T0, 10) };
    char err[256];
    struct run r;

    (void)state;
    run_begin(&r, files, 1);
    r.rc.filter = "tcp";
    assert_int_equal(readloop_files(r.rl, err, sizeof(err)), 0);
    run_end(&r);
    assert_int_equal(r.info.packets, 0);
    run_free(&r);
}

/* A file cut short is analysed up to the cut and said so in the report. */
static void test_truncated(void **state)
{
    const char *files[] = { write_udp("t.pcap", 10, T0, 10) };
    char err[256];
    struct stat st;
    struct run r;

    (void)state;
    assert_int_equal(stat(files[0], &st), 0);
    assert_int_equal(truncate(files[0], st.st_size - 5), 0);
    run_begin(&r, files, 1);
    assert_int_equal(readloop_files(r.rl, err, sizeof(err)), 0);
    run_end(&r);
    assert_int_equal(r.info.packets, 9);
    assert_int_equal(r.info.nwarnings, 1);
    assert_non_null(strstr(r.info.warnings[0], "cut short"));
    run_free(&r);
}

/* A pipe is read by the reader thread, in the same order. */
static void test_pipe(void **state)
{
    const char *file = write_udp("p.pcap", 25, T0, 10);
    char fifo[600], err[256];
    const char *files[] = { fifo };
    struct run r;
    pid_t pid;

    (void)state;
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execlp("cp", "cp", file, fifo, (char *)NULL);
        _exit(127);
    }
    run_begin(&r, files, 1);
    assert_int_equal(readloop_files(r.rl, err, sizeof(err)), 0);
    run_end(&r);
    assert_int_equal(r.info.packets, 25);
    assert_true(r.info.start == T0);
    assert_true(r.info.end == T0 + 240 * CW_NS_PER_MS);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    run_free(&r);
}

/* Stopped before it starts, a loop reads nothing and says it stopped. */
static void test_stop(void **state)
{
    const char *files[] = { write_udp("s.pcap", 10, T0, 10) };
    char err[256];
    struct run r;
    cw_ns_t from, to;

    (void)state;
    run_begin(&r, files, 1);
    assert_false(readloop_stopped(r.rl));
    readloop_stop(r.rl);
    assert_true(readloop_stopped(r.rl));
    assert_false(readloop_span(r.rl, &from, &to));
    assert_int_equal(readloop_files(r.rl, err, sizeof(err)), 0);
    run_end(&r);
    assert_int_equal(r.info.packets, 0);
    run_free(&r);
}

/* --replay-speed: 300 ms of packet time at 3x takes at least 100 ms. */
static void test_replay_speed(void **state)
{
    const char *files[] = { write_udp("r.pcap", 4, T0, 100) };
    char err[256];
    struct run r;
    cw_ns_t t;

    (void)state;
    run_begin(&r, files, 1);
    r.rc.replay_speed = 3;
    t = cw_wall_now();
    assert_int_equal(readloop_files(r.rl, err, sizeof(err)), 0);
    t = cw_wall_now() - t;
    assert_true(t >= 95 * CW_NS_PER_MS);
    run_end(&r);
    assert_int_equal(r.info.packets, 4);
    run_free(&r);
}

/* A live capture on an interface that does not exist fails and says so. */
static void test_live_no_interface(void **state)
{
    char err[512];
    struct run r;

    (void)state;
    run_begin(&r, NULL, 0);
    r.rc.interface = "cw-no-such0";
    r.rc.snaplen = 65535;
    r.rc.buffer_bytes = 1 << 20;
    assert_true(readloop_live(r.rl, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "cw-no-such0"));
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_in_order), cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_filter),         cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_pipe),           cmocka_unit_test(test_stop),
        cmocka_unit_test(test_replay_speed),   cmocka_unit_test(test_live_no_interface),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
