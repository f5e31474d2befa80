/* callwatch: VoIP quality and network degradation monitor. */
#include "autoconf.h"

#include <errno.h>
#include <math.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "incident/alert.h"
#include "calldb/calldb.h"
#include "capture/capture.h"
#include "common/config.h"
#include "engine/engine.h"
#include "common/metrics.h"
#include "netmon/nmsrrd.h"
#include "capture/reader.h"
#include "engine/report.h"
#include "netmon/snmp.h"
#include "netmon/snmpconf.h"
#include "rrd/graph.h"
#include "rrd/store.h"
#include "common/status.h"
#include "common/fs.h"
#include "common/util.h"
#include "web/web.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

enum report_format { REPORT_NONE, REPORT_JSON, REPORT_TEXT };

struct options {
    const char **files;
    size_t nfiles;
    const char *interface;
    const char *filter;
    const char *config;
    const char *data_dir;
    const char *web;
    enum report_format report;
    double replay_speed;
    long snaplen;
    long buffer_mb;
    bool no_promisc;
    int verbosity;
};

static volatile sig_atomic_t stop_requested;
static capture_t *volatile current_capture;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (current_capture)
        capture_breakloop(current_capture);
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: callwatch [-c FILE] [-i IFACE | -r FILE ...] [options]\n"
            "\n"
            "Watches VoIP calls and the network they cross: follows SIP dialogs, measures\n"
            "every RTP stream (loss, jitter, MOS), and says why calls dropped.\n"
            "\n"
            "Input (one of):\n"
            "  -i, --interface IFACE     capture live from IFACE (needs root or CAP_NET_RAW)\n"
            "  -r, --read FILE           read a pcap or pcapng file; repeat to read several,\n"
            "                            in the order given, as one continuous capture\n"
            "\n"
            "Options:\n"
            "  -f, --filter BPF          capture filter in tcpdump syntax, e.g. \"udp or tcp\"\n"
            "  -c, --config FILE         INI configuration (see the README); command-line\n"
            "                            options override it\n"
            "  -d, --data-dir DIR        where RRD files and the call database go (created\n"
            "                            if missing); without one nothing is kept, except\n"
            "                            in a private temporary directory while the\n"
            "                            dashboard runs\n"
            "      --web ADDR:PORT       serve the dashboard there (default 127.0.0.1:8080);\n"
            "                            \"off\" disables it\n"
            "      --report json|text    offline: print the analysis report to stdout at the\n"
            "                            end of the capture, then exit\n"
            "      --replay-speed X      offline: pace packets at X times real time\n"
            "                            (default 0: as fast as possible)\n"
            "  -s, --snaplen BYTES       live: bytes kept per packet (default 262144)\n"
            "  -B, --buffer-size MB      live: kernel capture buffer (default 32)\n"
            "      --no-promisc          live: do not put the interface in promiscuous mode\n"
            "  -v, --verbose             say more on stderr (repeat for debug)\n"
            "  -q, --quiet               only errors on stderr\n"
            "  -h, --help                show this help and exit\n"
            "  -V, --version             show the version and exit\n"
            "\n"
            "With -r, callwatch exits at the end of the capture when --report is given or\n"
            "--web is off; otherwise it keeps serving the captured period until SIGINT or\n"
            "SIGTERM.  Packet time drives every timer, so results do not depend on how\n"
            "fast a file is read.\n"
            "\n"
            "Examples:\n"
            "  callwatch -r calls.pcap --report text\n"
            "  callwatch -r a.pcap -r b.pcapng --report json > report.json\n"
            "  callwatch -c /etc/callwatch.ini -i eth1 -f \"udp or tcp port 5060\"\n"
            "\n"
            "Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input.\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("callwatch: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'callwatch --help' for more information.\n", stderr);
    return EXIT_USAGE;
}

/* Validates "ADDR:PORT", "[v6]:PORT" or "off". */
static bool web_addr_valid(const char *s)
{
    return config_listen_valid(s);
}

static int parse_args(int argc, char **argv, struct options *o)
{
    enum { OPT_WEB = 256, OPT_REPORT, OPT_REPLAY, OPT_NO_PROMISC };
    static const struct option longopts[] = {
        { "interface", required_argument, NULL, 'i' },
        { "read", required_argument, NULL, 'r' },
        { "filter", required_argument, NULL, 'f' },
        { "config", required_argument, NULL, 'c' },
        { "data-dir", required_argument, NULL, 'd' },
        { "web", required_argument, NULL, OPT_WEB },
        { "report", required_argument, NULL, OPT_REPORT },
        { "replay-speed", required_argument, NULL, OPT_REPLAY },
        { "snaplen", required_argument, NULL, 's' },
        { "buffer-size", required_argument, NULL, 'B' },
        { "no-promisc", no_argument, NULL, OPT_NO_PROMISC },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    memset(o, 0, sizeof(*o));
    o->snaplen = -1;
    o->buffer_mb = -1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":i:r:f:c:d:s:B:vqhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'i':
            o->interface = optarg;
            break;
        case 'r':
            o->files = cw_realloc(o->files, (o->nfiles + 1) * sizeof(*o->files));
            o->files[o->nfiles++] = optarg;
            break;
        case 'f':
            o->filter = optarg;
            break;
        case 'c':
            o->config = optarg;
            break;
        case 'd':
            o->data_dir = optarg;
            break;
        case OPT_WEB:
            if (!web_addr_valid(optarg))
                return usage_error("--web: \"%s\" is not ADDR:PORT (e.g. 127.0.0.1:8080) or off",
                                   optarg);
            o->web = optarg;
            break;
        case OPT_REPORT:
            if (strcmp(optarg, "json") == 0)
                o->report = REPORT_JSON;
            else if (strcmp(optarg, "text") == 0)
                o->report = REPORT_TEXT;
            else
                return usage_error("--report: \"%s\" is not json or text", optarg);
            break;
        case OPT_REPLAY:
            if (cw_parse_double(optarg, 0, 1e6, &o->replay_speed) != 0)
                return usage_error("--replay-speed: \"%s\" is not a number from 0 to 1000000",
                                   optarg);
            break;
        case 's':
            if (cw_parse_long(optarg, 64, 262144, &o->snaplen) != 0)
                return usage_error("--snaplen: \"%s\" is not a number of bytes from 64 to 262144",
                                   optarg);
            break;
        case 'B':
            if (cw_parse_long(optarg, 1, 4096, &o->buffer_mb) != 0)
                return usage_error("--buffer-size: \"%s\" is not a size in MB from 1 to 4096",
                                   optarg);
            break;
        case OPT_NO_PROMISC:
            o->no_promisc = true;
            break;
        case 'v':
            o->verbosity++;
            break;
        case 'q':
            o->verbosity = -1;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            printf("callwatch %s\n", PACKAGE_VERSION);
            exit(0);
        case ':':
            if (optopt)
                return usage_error("option -%c needs an argument", optopt);
            return usage_error("option %s needs an argument", argv[optind - 1]);
        case '?':
        default:
            if (optopt)
                return usage_error("unknown option -%c", optopt);
            return usage_error("unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument \"%s\" (files to read go after -r)", argv[optind]);
    if (o->interface && o->nfiles)
        return usage_error("-i and -r are alternatives: capture live or read files, not both");
    if (o->replay_speed > 0 && !o->nfiles)
        return usage_error("--replay-speed applies only to -r");
    return 0;
}

/* Sleeps so that packet time ts plays at `speed` times real time. */
static void pace(double speed, cw_ns_t ts, cw_ns_t *first_ts, cw_ns_t *wall0)
{
    cw_ns_t due, now;

    if (*first_ts == 0) {
        *first_ts = ts;
        *wall0 = cw_wall_now();
        return;
    }
    if (ts <= *first_ts)
        return;
    due = *wall0 + (cw_ns_t)((double)(ts - *first_ts) / speed);
    while (!stop_requested && (now = cw_wall_now()) < due) {
        cw_ns_t wait = due - now;
        struct timespec req;

        if (wait > 200 * CW_NS_PER_MS)
            wait = 200 * CW_NS_PER_MS; /* stay responsive to signals */
        req.tv_sec = (time_t)(wait / CW_NS_PER_SEC);
        req.tv_nsec = (long)(wait % CW_NS_PER_SEC);
        nanosleep(&req, NULL);
    }
}

/* Creates the data directory (and its parents) if needed. */
static int make_data_dir(const char *dir, char *err, size_t errlen)
{
    char failed[4096];
    int rc;

    if (!*dir) {
        snprintf(err, errlen, "data directory \"%s\": invalid path", dir);
        return -EINVAL;
    }
    if ((rc = cw_mkdir_p(dir, 0755, failed, sizeof(failed))) != 0) {
        if (strcmp(failed, dir) == 0)
            snprintf(err, errlen, "data directory %s: %s", dir, strerror(-rc));
        else
            snprintf(err, errlen, "data directory %s: cannot create %.*s: %s", dir,
                     (int)strlen(failed), failed, strerror(-rc));
        return rc;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(err, errlen, "data directory %s: %s", dir, strerror(errno));
        return -errno;
    }
    return 0;
}

/* A packet of the files read, paced with --replay-speed. */
static inline void file_packet(const struct options *o, engine_t *e, int dlt,
                               const capture_pkt_t *pkt, cw_ns_t *first_ts, cw_ns_t *wall0)
{
    if (o->replay_speed > 0)
        pace(o->replay_speed, pkt->ts, first_ts, wall0);
    engine_packet(e, dlt, pkt);
}

/* One item of the files read: a packet, a file's start or its end cut
 * short. */
static void file_item(const struct options *o, engine_t *e, reader_item_t *it, cw_ns_t *first_ts,
                      cw_ns_t *wall0)
{
    char msg[1024];

    switch (it->kind) {
    case READER_FILE:
        engine_add_source(e, it->name);
        break;
    case READER_TRUNCATED:
        snprintf(msg, sizeof(msg),
                 "%s: capture is cut short at byte offset %ld (%s); analysed up to there", it->name,
                 it->offset, it->error);
        cw_log(CW_LOG_WARN, "%s", msg);
        engine_add_warning(e, msg);
        break;
    case READER_PACKET:
        file_packet(o, e, it->dlt, &it->pkt, first_ts, wall0);
        break;
    default:
        break;
    }
}

/* pcap and pcapng files, read directly: reading costs next to nothing, so
 * this thread reads them itself. */
static void read_direct(const struct options *o, engine_t *e, capture_t **caps)
{
    cw_ns_t first_ts = 0, wall0 = 0;

    for (size_t i = 0; i < o->nfiles && !stop_requested; i++) {
        reader_item_t it = { .kind = READER_FILE, .name = capture_name(caps[i]) };
        int rc = CAPTURE_EOF;

        file_item(o, e, &it, &first_ts, &wall0);
        it.dlt = capture_dlt(caps[i]);
        while (!stop_requested && (rc = capture_next(caps[i], &it.pkt)) == CAPTURE_PACKET)
            file_packet(o, e, it.dlt, &it.pkt, &first_ts, &wall0);
        if (!stop_requested && rc == CAPTURE_ERROR) {
            it.kind = READER_TRUNCATED;
            it.error = capture_error(caps[i]);
            it.offset = capture_offset(caps[i]);
            file_item(o, e, &it, &first_ts, &wall0);
        }
    }
}

static int run_files(const struct options *o, engine_t *e)
{
    capture_t **caps = cw_calloc(o->nfiles, sizeof(*caps));
    reader_t *rd;
    char err[1024];
    cw_ns_t first_ts = 0, wall0 = 0;
    bool direct = true;
    int rc = 0;

    /* Open every file first: a bad one is bad input, found before work. */
    for (size_t i = 0; i < o->nfiles; i++) {
        caps[i] = capture_open_file(o->files[i], err, sizeof(err));
        if (!caps[i]) {
            cw_log(CW_LOG_ERR, "%s", err);
            rc = EXIT_USAGE;
            goto out;
        }
        if (o->filter && capture_set_filter(caps[i], o->filter, err, sizeof(err)) != 0) {
            cw_log(CW_LOG_ERR, "%s", err);
            rc = EXIT_USAGE;
            goto out;
        }
        direct = direct && capture_is_direct(caps[i]);
    }
    if (direct) {
        read_direct(o, e, caps);
        goto out;
    }
    /* Otherwise a thread reads the files (libpcap) while this one
     * analyses: the two run on two cores, in packet order. */
    rd = reader_start(caps, o->nfiles, &stop_requested);
    if (!rd) {
        cw_log(CW_LOG_ERR, "cannot start the capture reader thread");
        rc = EXIT_RUNTIME;
        goto out;
    }
    for (;;) {
        reader_item_t it;

        if (stop_requested)
            break; /* the reader thread sees the flag too */
        reader_next(rd, &it);
        if (it.kind == READER_END)
            break;
        file_item(o, e, &it, &first_ts, &wall0);
    }
    reader_free(rd);
out:
    for (size_t i = 0; i < o->nfiles; i++)
        capture_close(caps[i]);
    free(caps);
    return rc;
}

static int run_live(const struct options *o, const cw_config_t *cfg, engine_t *e)
{
    const char *iface = o->interface ? o->interface : cfg->interface;
    const char *filter = o->filter ? o->filter : cfg->filter;
    long snaplen = o->snaplen > 0 ? o->snaplen : cfg->snaplen;
    long buffer_mb = o->buffer_mb > 0 ? o->buffer_mb : cfg->buffer_mb;
    char err[1024];
    capture_t *c;
    capture_pkt_t pkt;
    capture_stats_t st;
    cw_ns_t next_stats = 0;

    c = capture_open_live(iface, (int)snaplen, (int)(buffer_mb * 1024 * 1024),
                          cfg->promisc && !o->no_promisc, err, sizeof(err));
    if (!c) {
        cw_log(CW_LOG_ERR, "%s", err);
        return EXIT_RUNTIME;
    }
    if (filter && capture_set_filter(c, filter, err, sizeof(err)) != 0) {
        cw_log(CW_LOG_ERR, "%s", err);
        capture_close(c);
        return EXIT_USAGE;
    }
    engine_add_source(e, iface);
    current_capture = c;
    cw_log(CW_LOG_INFO, "capturing on %s", iface);
    while (!stop_requested) {
        int r = capture_next(c, &pkt);
        cw_ns_t now;

        if (r == CAPTURE_PACKET) {
            engine_packet(e, capture_dlt(c), &pkt);
            continue;
        }
        if (r == CAPTURE_ERROR) {
            cw_log(CW_LOG_ERR, "%s: %s", iface, capture_error(c));
            current_capture = NULL;
            capture_close(c);
            return EXIT_RUNTIME;
        }
        now = cw_wall_now();
        engine_idle(e, now);
        if (now >= next_stats && capture_stats(c, &st) == 0) {
            engine_kernel_stats(e, &st);
            next_stats = now + CW_NS_PER_SEC;
        }
    }
    if (capture_stats(c, &st) == 0)
        engine_kernel_stats(e, &st);
    current_capture = NULL;
    capture_close(c);
    return 0;
}

/* SNMP polling and NMS RRD import (README, "SNMP polling"): live mode polls and
 * follows, offline mode reads the NMS series over the capture's span. */
struct collectors {
    snmp_poller_t *snmp;
    nmsrrd_t *nms;
};

static int collectors_init(const cw_config_t *cfg, metrics_t *m, bool live, struct collectors *col)
{
    char err[1024];

    memset(col, 0, sizeof(*col));
    if (live)
        col->snmp = snmp_poller_new(cfg, m, err, sizeof(err));
    if ((live && !col->snmp) || (!live && snmpconf_check(cfg, err, sizeof(err)) != 0) ||
        !(col->nms = nmsrrd_new(cfg, m, err, sizeof(err)))) {
        fprintf(stderr, "callwatch: %s\n", err);
        snmp_poller_free(col->snmp);
        col->snmp = NULL;
        return -EINVAL;
    }
    return 0;
}

/* The first and last packet times of the -r files: a pass that reads only
 * timestamps, made only when there are NMS series to load. */
static bool capture_span(const struct options *o, cw_ns_t *from, cw_ns_t *to)
{
    char err[1024];

    *from = *to = 0;
    for (size_t i = 0; i < o->nfiles && !stop_requested; i++) {
        capture_t *c = capture_open_file(o->files[i], err, sizeof(err));
        capture_pkt_t pkt;

        if (!c)
            continue; /* run_files() reports it */
        while (!stop_requested && capture_next(c, &pkt) == CAPTURE_PACKET) {
            if (*from == 0 || pkt.ts < *from)
                *from = pkt.ts;
            if (pkt.ts > *to)
                *to = pkt.ts;
        }
        capture_close(c);
    }
    return *from != 0;
}

static void collectors_load_offline(struct collectors *col, const struct options *o, engine_t *e)
{
    cw_ns_t from, to;
    char err[1024], msg[1100];

    if (nmsrrd_count(col->nms) == 0 || !capture_span(o, &from, &to))
        return;
    if (nmsrrd_load_range(col->nms, from, to, err, sizeof(err)) != 0) {
        snprintf(msg, sizeof(msg), "NMS series: %s", err);
        cw_log(CW_LOG_WARN, "%s", msg);
        engine_add_warning(e, msg);
    }
}

static void collectors_start(struct collectors *col)
{
    int rc;

    if (snmp_poller_count(col->snmp) && (rc = snmp_poller_start(col->snmp)) != 0)
        cw_log(CW_LOG_ERR, "cannot start the SNMP poller: %s", strerror(-rc));
    if (nmsrrd_count(col->nms) && (rc = nmsrrd_start(col->nms, 5000)) != 0)
        cw_log(CW_LOG_ERR, "cannot start reading NMS RRD files: %s", strerror(-rc));
}

static void collectors_free(struct collectors *col)
{
    snmp_poller_free(col->snmp);
    nmsrrd_free(col->nms);
    memset(col, 0, sizeof(*col));
}

/* The RRD store, when a data directory is given (-d or data_dir).  Returns 0
 * or the exit status for a directory or rrdcached that cannot be used. */
static int store_open(const cw_config_t *cfg, metrics_t *m, rrdstore_t **out)
{
    char err[1024];

    *out = NULL;
    if (!cfg->data_dir)
        return 0;
    *out = rrdstore_open(cfg->data_dir, cfg->step_s, cfg->rrd_daemon, err, sizeof(err));
    if (!*out) {
        int bad_input = errno == EINVAL;

        cw_log(CW_LOG_ERR, "%s", err);
        return bad_input ? EXIT_USAGE : EXIT_RUNTIME;
    }
    rrdstore_attach(*out, m);
    return 0;
}

static void store_warning(void *ud, const char *msg)
{
    engine_add_warning(ud, msg);
}

/* Everything the engine put is written; what the store could not write
 * goes into the report.  Returns 0 or EXIT_RUNTIME. */
static int store_finish(rrdstore_t *s, engine_t *e)
{
    int rc;

    if (!s)
        return 0;
    rc = rrdstore_flush(s);
    rrdstore_foreach_warning(s, store_warning, e);
    return rc ? EXIT_RUNTIME : 0;
}

/* What the web server reads besides the status, the database and the
 * metrics: the RRD store and the collectors' targets. */
struct web_ctx {
    rrdstore_t *store;
    struct collectors *col;
};

static int web_series(void *ud, const char *metric, time_t start, time_t end, json_t **out,
                      char *err, size_t errlen)
{
    struct web_ctx *w = ud;

    *out = rrdstore_series(w->store, metric, start, end, err, errlen);
    if (*out)
        return 0;
    return errno == ENOENT ? -ENOENT : errno == EINVAL ? -EINVAL : -EIO;
}

static int web_graph(void *ud, const char *name, time_t start, time_t end, int width, int height,
                     const web_window_t *shade, size_t nshade, unsigned char **png, size_t *len,
                     char *err, size_t errlen)
{
    struct web_ctx *w = ud;
    rrdgraph_window_t win[RRDGRAPH_MAX_WINDOWS];
    rrdgraph_req_t req = {
        .name = name, .start = start, .end = end, .width = width, .height = height, .windows = win
    };

    for (size_t i = 0; i < nshade && i < RRDGRAPH_MAX_WINDOWS; i++) {
        win[i].start = shade[i].start;
        win[i].end = shade[i].end;
        req.nwindows++;
    }
    return rrdgraph_png(w->store, &req, png, len, err, errlen);
}

static json_t *num_or_null(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

/* Every SNMP target and NMS series with its state, for /api/status. */
static json_t *web_targets(void *ud)
{
    struct web_ctx *w = ud;
    json_t *arr = json_array();
    size_t n;

    if (w->col->snmp && (n = snmp_poller_count(w->col->snmp))) {
        snmp_target_status_t *st = cw_calloc(n, sizeof(*st));

        n = snmp_poller_status(w->col->snmp, st, n);
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "name",
                                  st[i].name, "kind", st[i].kind, "source", "snmp", "agent",
                                  st[i].agent, "state", st[i].state, "error", st[i].error, "polls",
                                  (json_int_t)st[i].polls, "failures", (json_int_t)st[i].failures,
                                  "restarts", (json_int_t)st[i].restarts);

            json_object_set_new(o, "note", json_string(st[i].note));
            json_object_set_new(
                o, "last_ok", st[i].last_ok ? json_real(cw_ns_to_sec(st[i].last_ok)) : json_null());
            if (strcmp(st[i].kind, "link") == 0) {
                json_object_set_new(o, "in_bps", num_or_null(st[i].in_bps));
                json_object_set_new(o, "out_bps", num_or_null(st[i].out_bps));
                json_object_set_new(o, "util_pct", num_or_null(st[i].util_pct));
                json_object_set_new(o, "speed_bps", num_or_null(st[i].speed_bps));
            } else {
                json_object_set_new(o, "cpu_pct", num_or_null(st[i].cpu_pct));
            }
            json_array_append_new(arr, o);
        }
        free(st);
    }
    if (w->col->nms && (n = nmsrrd_count(w->col->nms))) {
        nmsrrd_status_t *st = cw_calloc(n, sizeof(*st));

        n = nmsrrd_status(w->col->nms, st, n);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                arr,
                json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:I}", "name", st[i].name,
                          "kind", st[i].kind, "source", "rrd", "agent", st[i].file, "state",
                          st[i].state, "error", st[i].error, "note", st[i].note, "last_ok",
                          st[i].last_row ? json_real(cw_ns_to_sec(st[i].last_row)) : json_null(),
                          "rows", (json_int_t)st[i].rows));
        free(st);
    }
    return arr;
}

/* Starts the dashboard on the probe's data. */
static int start_web(const cw_config_t *cfg, status_t *st, calldb_t *db, metrics_t *m,
                     struct web_ctx *ctx, web_t **out)
{
    web_options_t wo = { .listen = cfg->web_listen ? cfg->web_listen : "127.0.0.1:8080",
                         .users_file = cfg->web_users,
                         .tls_cert = cfg->web_tls_cert,
                         .tls_key = cfg->web_tls_key };
    web_sources_t ws = { .status = st, .db = db, .metrics = m, .targets = web_targets, .ud = ctx };
    char err[1024];
    int r;

    if (ctx->store) {
        ws.series = web_series;
        ws.graph = web_graph;
    }
    r = web_start(&wo, &ws, out, err, sizeof(err));
    if (r != 0) {
        cw_log(CW_LOG_ERR, "%s", err);
        return r == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
    }
    if (cw_log_get_level() >= CW_LOG_WARN)
        fprintf(stderr, "callwatch: dashboard at %s\n", web_url(*out));
    return 0;
}

/* Offline, after the capture: serve it until SIGINT or SIGTERM. */
static void serve_until_stopped(web_t *web, calldb_t *db)
{
    const struct timespec tick = { 0, 200 * 1000 * 1000 };

    if (db)
        calldb_flush(db); /* every call queryable before saying so */
    if (cw_log_get_level() >= CW_LOG_WARN)
        fprintf(stderr, "callwatch: capture read; serving it at %s until interrupted\n",
                web_url(web));
    while (!stop_requested)
        nanosleep(&tick, NULL);
}

int main(int argc, char **argv)
{
    struct options o;
    cw_config_t cfg;
    engine_t *e = NULL;
    metrics_t *metrics = NULL;
    calldb_t *db = NULL;
    alert_t *alert = NULL;
    struct collectors col;
    rrdstore_t *store = NULL;
    status_t *status = NULL;
    web_t *web = NULL;
    struct web_ctx wctx;
    char *private_dir = NULL;
    bool web_on;
    char err[1024];
    struct sigaction sa;
    enum report_format report;
    int rc, store_rc = 0;

    rc = parse_args(argc, argv, &o);
    if (rc) {
        free(o.files);
        return rc;
    }
    if (o.verbosity < 0)
        cw_log_set_level(CW_LOG_ERR);
    else if (o.verbosity == 1)
        cw_log_set_level(CW_LOG_INFO);
    else if (o.verbosity > 1)
        cw_log_set_level(CW_LOG_DEBUG);
    else
        cw_log_set_level(CW_LOG_WARN);

    config_init(&cfg);
    if (o.config && config_load(&cfg, o.config, err, sizeof(err)) != 0) {
        fprintf(stderr, "callwatch: %s\n", err);
        config_free(&cfg);
        free(o.files);
        return EXIT_USAGE;
    }
    if (o.data_dir) {
        free(cfg.data_dir);
        cfg.data_dir = cw_strdup(o.data_dir);
    }
    if (o.web) {
        free(cfg.web_listen);
        cfg.web_listen = cw_strdup(o.web);
    }
    if (!o.nfiles && !o.interface && !cfg.interface) {
        config_free(&cfg);
        free(o.files);
        return usage_error("nothing to watch: give -i IFACE, -r FILE, or interface = in [probe]");
    }
    report = o.report;
    /* --report prints and exits: no dashboard unless --web asks for one. */
    web_on = strcmp(cfg.web_listen ? cfg.web_listen : "on", "off") != 0 &&
             (report == REPORT_NONE || o.web);
    if (o.nfiles && report == REPORT_NONE && !web_on)
        report = REPORT_TEXT; /* nothing to browse: show the analysis */

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    metrics = metrics_new();
    if (collectors_init(&cfg, metrics, o.nfiles == 0, &col) != 0) {
        metrics_free(metrics);
        config_free(&cfg);
        free(o.files);
        return EXIT_USAGE;
    }
    if (web_on && !cfg.data_dir) {
        /* The API needs the call database and the graphs their RRD files:
         * keep them in a private directory, removed at exit. */
        if (!(private_dir = cw_mkdtemp("callwatch"))) {
            cw_log(CW_LOG_ERR, "cannot create a private data directory in %s: %s",
                   getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", strerror(errno));
            rc = EXIT_RUNTIME;
            goto out;
        }
        cfg.data_dir = cw_strdup(private_dir);
    }
    rc = store_open(&cfg, metrics, &store);
    if (rc)
        goto out;
    e = engine_new(&cfg, metrics);
    if (!o.nfiles)
        engine_set_live(e, report != REPORT_NONE);
    if (web_on) {
        /* Snapshots for the dashboard; nothing else reads them. */
        status = status_new();
        engine_set_status(e, status);
        status_publish(status, engine_status_json(e)); /* before the first packet */
    }
    if (cfg.data_dir) {
        char path[4200];

        if (make_data_dir(cfg.data_dir, err, sizeof(err)) != 0) {
            cw_log(CW_LOG_ERR, "%s", err);
            rc = EXIT_RUNTIME;
            goto out;
        }
        snprintf(path, sizeof(path), "%s/calls.sqlite", cfg.data_dir);
        db = calldb_open(path, cfg.retention_days, err, sizeof(err));
        if (!db) {
            cw_log(CW_LOG_ERR, "%s", err);
            rc = EXIT_RUNTIME;
            goto out;
        }
        engine_set_calldb(e, db);
    }
    if (alert_new(&cfg, &alert, err, sizeof(err)) != 0) {
        cw_log(CW_LOG_ERR, "%s", err);
        rc = EXIT_RUNTIME;
        goto out;
    }
    engine_set_alert(e, alert);
    wctx.store = store;
    wctx.col = &col;
    if (web_on && (rc = start_web(&cfg, status, db, metrics, &wctx, &web)) != 0)
        goto out;
    if (o.nfiles) {
        collectors_load_offline(&col, &o, e);
        rc = run_files(&o, e);
    } else {
        collectors_start(&col);
        rc = run_live(&o, &cfg, e);
    }
    if (rc == 0 || stop_requested) {
        engine_finish(e);
        store_rc = store_finish(store, e);
        if (report != REPORT_NONE && (rc == 0)) {
            int wrc;

            if (report == REPORT_JSON) {
                wrc = report_write_json(stdout, e);
            } else {
                json_t *r = report_build(e);

                wrc = report_write_text(stdout, r);
                json_decref(r);
            }
            if (wrc != 0 || fflush(stdout) != 0) {
                cw_log(CW_LOG_ERR, "cannot write the report to standard output: %s",
                       strerror(errno));
                rc = EXIT_RUNTIME;
            }
        }
        if (rc == 0 && web && o.nfiles && report == REPORT_NONE && !stop_requested)
            serve_until_stopped(web, db);
    }
out:
    web_stop(web);
    collectors_free(&col);
    /* Give pending alerts a moment to go out, then stop. */
    if (alert && !alert_flush(alert, 10000))
        cw_log(CW_LOG_WARN, "some alerts were not delivered before exit");
    alert_free(alert);
    calldb_close(db);
    if (store_rc && rc == 0)
        rc = store_rc;
    engine_free(e);
    rrdstore_close(store);
    status_free(status);
    metrics_free(metrics);
    config_free(&cfg);
    free(o.files);
    if (private_dir) {
        cw_rmtree(private_dir);
        free(private_dir);
    }
    return rc;
}
