/* snmpcheck: a driver for the SNMP poller and the NMS RRD reader, for the
 * integration tests.  Prints JSON lines on stdout:
 *
 *   snmpcheck poll CONFIG SECONDS        run the poller; samples as they come,
 *                                        then one status line per target
 *   snmpcheck nms CONFIG FROM TO         nmsrrd_load_range over [FROM, TO]
 *                                        (Unix seconds); samples, then statuses
 *   snmpcheck follow CONFIG SECONDS MS   follow the RRDs, polling every MS
 *   snmpcheck blast BYTES                send BYTES of UDP payload through
 *                                        127.0.0.1 (to a socket of its own)
 *
 * A sample line: {"metric": NAME, "t": SECONDS, "v": VALUE or null}. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/metrics.h"
#include "netmon/nmsrrd.h"
#include "netmon/snmp.h"
#include "common/util.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static json_t *num(double v)
{
    return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

static void emit(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

    pthread_mutex_lock(&out_lock);
    fputs(s, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
    free(s);
    json_decref(o);
}

static void on_sample(void *ud, const char *name, cw_ns_t t, double v)
{
    json_t *o = json_object();

    (void)ud;
    json_object_set_new(o, "metric", json_string(name));
    json_object_set_new(o, "t", json_real(cw_ns_to_sec(t)));
    json_object_set_new(o, "v", num(v));
    emit(o);
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int load(const char *path, cw_config_t *cfg)
{
    char err[1024];

    config_init(cfg);
    if (config_load(cfg, path, err, sizeof(err)) != 0) {
        fprintf(stderr, "snmpcheck: %s\n", err);
        return 2;
    }
    return 0;
}

static void emit_snmp_status(snmp_poller_t *p)
{
    snmp_target_status_t st[64];
    size_t n = snmp_poller_status(p, st, 64);

    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();

        json_object_set_new(o, "target", json_string(st[i].name));
        json_object_set_new(o, "kind", json_string(st[i].kind));
        json_object_set_new(o, "agent", json_string(st[i].agent));
        json_object_set_new(o, "state", json_string(st[i].state));
        json_object_set_new(o, "error", json_string(st[i].error));
        json_object_set_new(o, "note", json_string(st[i].note));
        json_object_set_new(o, "last_ok", json_real(cw_ns_to_sec(st[i].last_ok)));
        json_object_set_new(o, "polls", json_integer((json_int_t)st[i].polls));
        json_object_set_new(o, "failures", json_integer((json_int_t)st[i].failures));
        json_object_set_new(o, "restarts", json_integer((json_int_t)st[i].restarts));
        json_object_set_new(o, "in_bps", num(st[i].in_bps));
        json_object_set_new(o, "out_bps", num(st[i].out_bps));
        json_object_set_new(o, "util_pct", num(st[i].util_pct));
        json_object_set_new(o, "errors", num(st[i].errors_ps));
        json_object_set_new(o, "speed_bps", num(st[i].speed_bps));
        json_object_set_new(o, "ifindex", json_integer(st[i].ifindex));
        json_object_set_new(o, "oper_status", json_integer(st[i].oper_status));
        json_object_set_new(o, "cpu_pct", num(st[i].cpu_pct));
        emit(o);
    }
}

static void emit_nms_status(nmsrrd_t *n)
{
    nmsrrd_status_t st[64];
    size_t k = nmsrrd_status(n, st, 64);

    for (size_t i = 0; i < k; i++) {
        json_t *o = json_object();

        json_object_set_new(o, "target", json_string(st[i].name));
        json_object_set_new(o, "kind", json_string(st[i].kind));
        json_object_set_new(o, "state", json_string(st[i].state));
        json_object_set_new(o, "file", json_string(st[i].file));
        json_object_set_new(o, "error", json_string(st[i].error));
        json_object_set_new(o, "note", json_string(st[i].note));
        json_object_set_new(o, "last_row", json_real(cw_ns_to_sec(st[i].last_row)));
        json_object_set_new(o, "step", json_integer((json_int_t)st[i].step_s));
        json_object_set_new(o, "rows", json_integer((json_int_t)st[i].rows));
        emit(o);
    }
}

static int cmd_poll(const char *path, double seconds)
{
    cw_config_t cfg;
    metrics_t *m;
    snmp_poller_t *p;
    char err[1024];
    int rc;

    if ((rc = load(path, &cfg)) != 0)
        return rc;
    m = metrics_new();
    metrics_listen(m, on_sample, NULL);
    p = snmp_poller_new(&cfg, m, err, sizeof(err));
    if (!p) {
        fprintf(stderr, "snmpcheck: %s\n", err);
        rc = 2;
        goto out;
    }
    if ((rc = snmp_poller_start(p)) != 0) {
        fprintf(stderr, "snmpcheck: cannot start: %s\n", strerror(-rc));
        rc = 1;
        goto out;
    }
    sleep_s(seconds);
    {
        cw_ns_t t0 = cw_wall_now();

        snmp_poller_stop(p);
        fprintf(stderr, "snmpcheck: stopped in %.3f s\n", (double)(cw_wall_now() - t0) / 1e9);
    }
    emit_snmp_status(p);
out:
    snmp_poller_free(p);
    metrics_free(m);
    config_free(&cfg);
    return rc;
}

static int cmd_nms(const char *path, double from, double to)
{
    cw_config_t cfg;
    metrics_t *m;
    nmsrrd_t *n;
    char err[1024];
    int rc;

    if ((rc = load(path, &cfg)) != 0)
        return rc;
    m = metrics_new();
    metrics_listen(m, on_sample, NULL);
    n = nmsrrd_new(&cfg, m, err, sizeof(err));
    if (!n) {
        fprintf(stderr, "snmpcheck: %s\n", err);
        rc = 2;
        goto out;
    }
    if (nmsrrd_load_range(n, (cw_ns_t)(from * 1e9), (cw_ns_t)(to * 1e9), err, sizeof(err)) != 0) {
        fprintf(stderr, "snmpcheck: %s\n", err);
        rc = 1;
    }
    emit_nms_status(n);
out:
    nmsrrd_free(n);
    metrics_free(m);
    config_free(&cfg);
    return rc;
}

static int cmd_follow(const char *path, double seconds, long period_ms)
{
    cw_config_t cfg;
    metrics_t *m;
    nmsrrd_t *n;
    char err[1024];
    int rc;

    if ((rc = load(path, &cfg)) != 0)
        return rc;
    m = metrics_new();
    metrics_listen(m, on_sample, NULL);
    n = nmsrrd_new(&cfg, m, err, sizeof(err));
    if (!n) {
        fprintf(stderr, "snmpcheck: %s\n", err);
        rc = 2;
        goto out;
    }
    if ((rc = nmsrrd_start(n, period_ms)) != 0) {
        fprintf(stderr, "snmpcheck: cannot start: %s\n", strerror(-rc));
        rc = 1;
        goto out;
    }
    sleep_s(seconds);
    nmsrrd_stop(n);
    emit_nms_status(n);
out:
    nmsrrd_free(n);
    metrics_free(m);
    config_free(&cfg);
    return rc;
}

/* Sends bytes through loopback in 1400-byte datagrams to a socket it reads
 * itself, so that nothing answers with ICMP and nothing leaves the host. */
static int cmd_blast(long long bytes)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
    char buf[1400], sink[2048];
    long long sent = 0;
    int rcvbuf = 4 << 20;

    if (rx < 0 || tx < 0)
        return 1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (bind(rx, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(rx, (struct sockaddr *)&a, &alen) != 0 ||
        connect(tx, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("snmpcheck: blast");
        return 1;
    }
    memset(buf, 0x5a, sizeof(buf));
    while (sent < bytes) {
        size_t n = bytes - sent < (long long)sizeof(buf) ? (size_t)(bytes - sent) : sizeof(buf);

        if (send(tx, buf, n, 0) < 0) {
            if (errno == ENOBUFS || errno == EAGAIN)
                continue;
            perror("snmpcheck: send");
            return 1;
        }
        sent += (long long)n;
        while (recv(rx, sink, sizeof(sink), MSG_DONTWAIT) > 0)
            ;
    }
    while (recv(rx, sink, sizeof(sink), MSG_DONTWAIT) > 0)
        ;
    close(rx);
    close(tx);
    printf("{\"sent\":%lld}\n", sent);
    return 0;
}

int main(int argc, char **argv)
{
    cw_log_set_level(getenv("SNMPCHECK_DEBUG") ? CW_LOG_DEBUG : CW_LOG_INFO);
    if (argc == 4 && strcmp(argv[1], "poll") == 0)
        return cmd_poll(argv[2], atof(argv[3]));
    if (argc == 5 && strcmp(argv[1], "nms") == 0)
        return cmd_nms(argv[2], atof(argv[3]), atof(argv[4]));
    if (argc == 5 && strcmp(argv[1], "follow") == 0)
        return cmd_follow(argv[2], atof(argv[3]), atol(argv[4]));
    if (argc == 3 && strcmp(argv[1], "blast") == 0)
        return cmd_blast(atoll(argv[2]));
    fprintf(stderr, "usage: snmpcheck poll CONFIG SECONDS | nms CONFIG FROM TO |\n"
                    "       follow CONFIG SECONDS PERIOD_MS | blast BYTES\n");
    return 2;
}
