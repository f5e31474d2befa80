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

#include "calldb/calldb.h"
#include "common/config.h"
#include "common/fs.h"
#include "common/metrics.h"
#include "common/status.h"
#include "common/util.h"
#include "daemon/central.h"
#include "daemon/collectors.h"
#include "engine/engine.h"
#include "daemon/readloop.h"
#include "daemon/reload.h"
#include "engine/report.h"
#include "daemon/websources.h"
#include "incident/alert.h"
#include "rrd/rrdstore.h"
#include "service/notify.h"
#include "service/privdrop.h"
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
    bool check_config;
    const char *user;
    bool central;
    int verbosity;
};

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;
static readloop_t *volatile the_loop;

static void on_signal(int sig)
{
    readloop_t *rl = the_loop;

    if (sig == SIGHUP) {
        reload_requested = 1;
        return;
    }
    stop_requested = 1;
    if (rl)
        readloop_stop(rl);
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
            "  -i, --interface IFACE     capture live from IFACE (needs root or CAP_NET_RAW);\n"
            "                            udp:ADDR:PORT receives a TZSP or VXLAN mirror there\n"
            "  -r, --read FILE           read a pcap or pcapng file; repeat to read several,\n"
            "                            in the order given, as one continuous capture\n"
            "\n"
            "Options:\n"
            "  -f, --filter BPF          capture filter in tcpdump syntax, e.g. \"udp or tcp\"\n"
            "  -c, --config FILE         INI configuration (docs/config.md); command-line\n"
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
            "      --central             capture nothing: serve the dashboard, the API and\n"
            "                            /metrics over every site's calls ([calldb] url)\n"
            "                            and series ([rrd] daemon or -d), until SIGINT or\n"
            "                            SIGTERM (docs/sites.md)\n"
            "  -s, --snaplen BYTES       live: bytes kept per packet (default 262144)\n"
            "  -B, --buffer-size MB      live: kernel capture buffer (default 32)\n"
            "      --no-promisc          live: do not put the interface in promiscuous mode\n"
            "      --user NAME           started as root: become NAME once the capture, the\n"
            "                            dashboard's socket and the data directory are open\n"
            "      --check-config        load the configuration (-c), check it, say so, exit\n"
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
            "  callwatch -c /etc/callwatch/callwatch.ini -i eth1 -f \"udp or tcp port 5060\"\n"
            "  callwatch -i udp:0.0.0.0:37008       (a MikroTik sniffer streaming TZSP)\n"
            "\n"
            "SIGHUP re-reads the configuration file: targets, alerts, the dashboard's users\n"
            "and incident thresholds change live; the rest is named and needs a restart.\n"
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
    enum {
        OPT_WEB = 256,
        OPT_REPORT,
        OPT_REPLAY,
        OPT_NO_PROMISC,
        OPT_USER,
        OPT_CHECK,
        OPT_CENTRAL
    };
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
        { "user", required_argument, NULL, OPT_USER },
        { "check-config", no_argument, NULL, OPT_CHECK },
        { "central", no_argument, NULL, OPT_CENTRAL },
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
        case OPT_USER:
            if (!*optarg)
                return usage_error("--user: give a user name");
            o->user = optarg;
            break;
        case OPT_CHECK:
            o->check_config = true;
            break;
        case OPT_CENTRAL:
            o->central = true;
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
    if (o->central && (o->interface || o->nfiles || o->report))
        return usage_error("--central captures nothing: it takes no -i, -r or --report");
    return 0;
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

static void set_log_level(int verbosity)
{
    if (verbosity < 0)
        cw_log_set_level(CW_LOG_ERR);
    else if (verbosity == 1)
        cw_log_set_level(CW_LOG_INFO);
    else if (verbosity > 1)
        cw_log_set_level(CW_LOG_DEBUG);
    else
        cw_log_set_level(CW_LOG_NOTICE);
}

static void override(char **field, const char *value)
{
    if (!value)
        return;
    free(*field);
    *field = cw_strdup(value);
}

/* The configuration file, then the options that override it.  0 or
 * -EINVAL with the file and line at fault in err. */
static int read_config(const struct options *o, cw_config_t *cfg, char *err, size_t errlen)
{
    config_init(cfg);
    if (o->config && config_load(cfg, o->config, err, errlen) != 0)
        return -EINVAL;
    override(&cfg->data_dir, o->data_dir);
    override(&cfg->web_listen, o->web);
    override(&cfg->user, o->user);
    return 0;
}

/* read_config() for the start.  0 or the exit status. */
static int load_config(const struct options *o, cw_config_t *cfg)
{
    char err[1024];

    if (read_config(o, cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "callwatch: %s\n", err);
        return EXIT_USAGE;
    }
    if (o->check_config)
        return 0;
    if (!o->nfiles && !o->interface && !cfg->interface && !o->central) {
        /* Also what a freshly installed service says until it is set up. */
        if (o->config)
            cw_log(CW_LOG_ERR,
                   "nothing to watch: set interface = in [probe] of %s (or give -i IFACE or "
                   "-r FILE)",
                   o->config);
        else
            return usage_error(
                "nothing to watch: give -i IFACE, -r FILE, or interface = in [probe]");
        return EXIT_USAGE;
    }
    return 0;
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Everything a run opens, closed in reverse order by probe_close(). */
struct probe {
    const struct options *o;
    cw_config_t cfg;
    privdrop_user_t user; /* to become, when user_set */
    bool user_set;
    enum report_format report;
    bool web_on;
    metrics_t *metrics;
    collectors_t *col;
    char *private_dir; /* the data directory of a dashboard run without one */
    rrdstore_t *store;
    engine_t *e;
    status_t *status;
    calldb_t *db;
    alert_t *alert;
    readloop_cfg_t rcfg;
    readloop_t *rl;
    websources_t ws;
    web_t *web;
};

/* The RRD store, when there is a data directory.  0 or the exit status
 * for a directory or rrdcached that cannot be used. */
static int open_store(struct probe *p)
{
    char err[1024];

    if (!p->cfg.data_dir)
        return 0;
    p->store = rrdstore_open_site(p->cfg.data_dir, p->cfg.site, p->cfg.step_s, p->cfg.rrd_daemon,
                                  err, sizeof(err));
    if (!p->store) {
        int bad_input = errno == EINVAL;

        cw_log(CW_LOG_ERR, "%s", err);
        return bad_input ? EXIT_USAGE : EXIT_RUNTIME;
    }
    rrdstore_attach(p->store, p->metrics);
    return 0;
}

/* The call database: SQLite in the data directory, or PostgreSQL with
 * [calldb] url (its spool in the data directory). */
static int open_calldb(struct probe *p)
{
    char err[1024], path[4200], spool[4200];
    calldb_options_t co = { .path = path,
                            .url = p->cfg.calldb_url,
                            .site = p->cfg.site,
                            .retention_days = p->cfg.retention_days,
                            .spool_path = spool,
                            .spool_max_bytes = (uint64_t)p->cfg.calldb_spool_mb << 20 };

    if (!p->cfg.data_dir && p->cfg.calldb_url) {
        cw_log(CW_LOG_ERR,
               "%s: [calldb] url needs a data directory (-d or data_dir) for the "
               "spool kept while the server is away",
               p->cfg.path ? p->cfg.path : "configuration");
        return EXIT_USAGE;
    }
    if (!p->cfg.data_dir)
        return 0;
    if (make_data_dir(p->cfg.data_dir, err, sizeof(err)) != 0) {
        cw_log(CW_LOG_ERR, "%s", err);
        return EXIT_RUNTIME;
    }
    snprintf(path, sizeof(path), "%s/calls.sqlite", p->cfg.data_dir);
    snprintf(spool, sizeof(spool), "%s/calldb-spool.jsonl", p->cfg.data_dir);
    p->db = calldb_open_options(&co, err, sizeof(err));
    if (!p->db) {
        cw_log(CW_LOG_ERR, "%s", err);
        return EXIT_RUNTIME;
    }
    engine_set_calldb(p->e, p->db);
    return 0;
}

/* Starts the dashboard on src (the probe's data when NULL). */
static int start_web(struct probe *p, const web_sources_t *central)
{
    const cw_config_t *cfg = &p->cfg;
    web_options_t wo = { .listen = cfg->web_listen ? cfg->web_listen : CW_DEF_WEB_LISTEN,
                         .users_file = cfg->web_users,
                         .tls_cert = cfg->web_tls_cert,
                         .tls_key = cfg->web_tls_key };
    web_sources_t src;
    char err[1024];
    int r;

    p->ws = (websources_t){ .status = p->status,
                            .db = p->db,
                            .metrics = p->metrics,
                            .store = p->store,
                            .col = p->col,
                            .site = p->cfg.site };
    websources_fill(&p->ws, &src);
    r = web_start(&wo, central ? central : &src, &p->web, err, sizeof(err));
    if (r != 0) {
        cw_log(CW_LOG_ERR, "%s", err);
        return r == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
    }
    if (cw_log_get_level() >= CW_LOG_WARN)
        fprintf(stderr, "callwatch: dashboard at %s\n", web_url(p->web));
    return 0;
}

static void readloop_config(const struct options *o, const cw_config_t *cfg, readloop_cfg_t *rc)
{
    long snaplen = o->snaplen > 0 ? o->snaplen : cfg->snaplen;
    long buffer_mb = o->buffer_mb > 0 ? o->buffer_mb : cfg->buffer_mb;

    *rc = (readloop_cfg_t){ .files = o->files,
                            .nfiles = o->nfiles,
                            .replay_speed = o->replay_speed,
                            .interface = o->interface ? o->interface : cfg->interface,
                            .snaplen = (int)snaplen,
                            .buffer_bytes = (int)(buffer_mb * 1024 * 1024),
                            .promisc = cfg->promisc && !o->no_promisc,
                            .config = cfg,
                            .filter = o->filter ? o->filter : cfg->filter };
}

/* SIGHUP: the configuration file read again and what can change live
 * applied; a file that no longer loads is refused and the one in force
 * kept. */
static void reload(struct probe *p)
{
    const struct options *o = p->o;
    reload_parts_t parts = { .cfg = &p->cfg,
                             .metrics = p->metrics,
                             .col = &p->col,
                             .alert = &p->alert,
                             .e = p->e,
                             .ws = p->web ? &p->ws : NULL,
                             .web = p->web };
    cw_config_t next;
    char err[1024], restart[512], changes[1024];

    if (o->nfiles) {
        cw_log(CW_LOG_NOTICE, "SIGHUP: reading capture files; the configuration is not re-read");
        return;
    }
    if (!o->config) {
        cw_log(CW_LOG_WARN, "SIGHUP: no configuration file (-c) to re-read");
        return;
    }
    notify_send("RELOADING=1");
    if (read_config(o, &next, err, sizeof(err)) != 0) {
        cw_log(CW_LOG_ERR, "SIGHUP: %s; the configuration in force is kept", err);
        notify_status("configuration %s refused: %s", o->config, err);
        goto out;
    }
    if (p->private_dir && !next.data_dir)
        next.data_dir = cw_strdup(p->private_dir);
    if (reload_restart_needed(&p->cfg, &next, restart, sizeof(restart)) > 0)
        cw_log(CW_LOG_WARN, "SIGHUP: %s: changed; takes effect after a restart (kept as it is)",
               restart);
    if (reload_live_changes(&p->cfg, &next, changes, sizeof(changes)) == 0)
        cw_strlcpy(changes, "nothing that applies live changed", sizeof(changes));
    if (reload_apply(&parts, &next, err, sizeof(err)) != 0) {
        cw_log(CW_LOG_ERR, "SIGHUP: %s: %s; the configuration in force is kept", o->config, err);
        notify_status("configuration %s refused: %s", o->config, err);
        goto out;
    }
    cw_log(CW_LOG_NOTICE, "SIGHUP: %s re-read and applied: %s", o->config, changes);
    notify_status("configuration %s reloaded", o->config);
out:
    config_free(&next);
    notify_send("READY=1");
}

/* The read loop's tick, in the packet thread: the watchdog is fed only
 * while analysis turns, and a reload happens between two packets. */
static void on_tick(void *ud)
{
    notify_watchdog();
    if (reload_requested) {
        reload_requested = 0;
        reload(ud);
    }
}

/* Under a service manager, not root but holding the capture's
 * capabilities: once the capture is open they are of no more use. */
static int drop_capabilities(void)
{
    char err[256];

    if (geteuid() == 0 || !privdrop_has_caps())
        return 0;
    if (privdrop_clear_caps(err, sizeof(err)) != 0) {
        cw_log(CW_LOG_ERR, "%s", err);
        return EXIT_RUNTIME;
    }
    cw_log(CW_LOG_INFO, "capture open: capabilities cleared");
    return 0;
}

/* Started as root with a user to run as: the data directory becomes the
 * user's, then the process becomes the user for good. */
static int drop_root(struct probe *p)
{
    char err[1024];

    if (!p->user_set || geteuid() != 0)
        return 0;
    if (p->cfg.data_dir && privdrop_chown_tree(p->cfg.data_dir, &p->user, err, sizeof(err)) != 0) {
        cw_log(CW_LOG_ERR, "data directory: %s", err);
        return EXIT_RUNTIME;
    }
    if (privdrop_to(&p->user, err, sizeof(err)) != 0) {
        cw_log(CW_LOG_ERR, "%s", err);
        return EXIT_RUNTIME;
    }
    cw_log(CW_LOG_NOTICE,
           "running as user %s (uid %lu, gid %lu): root and supplementary groups given up, "
           "no new privileges",
           p->user.name, (unsigned long)p->user.uid, (unsigned long)p->user.gid);
    return 0;
}

/* The capture, opened before anything starts a thread: files named on the
 * command line are bad input found at once, and the capabilities a live
 * capture needs are given up before a thread could inherit them. */
static int open_capture(struct probe *p, const struct options *o)
{
    char err[1024];
    int rc;

    readloop_config(o, &p->cfg, &p->rcfg);
    p->rcfg.tick = on_tick;
    p->rcfg.tick_ud = p;
    p->rl = readloop_new(&p->rcfg, p->e);
    the_loop = p->rl;
    if (stop_requested)
        readloop_stop(p->rl);
    if ((rc = readloop_open(p->rl, err, sizeof(err))) != 0) {
        cw_log(CW_LOG_ERR, "%s", err);
        return rc == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
    }
    return o->nfiles ? 0 : drop_capabilities();
}

/* Opens everything the run needs, in dependency order.  0 or the exit
 * status; what was opened is closed by probe_close() either way. */
static int probe_open(struct probe *p, const struct options *o)
{
    char err[1024];
    int rc;

    p->metrics = metrics_new();
    if (!(p->col = collectors_new(&p->cfg, p->metrics, o->nfiles == 0, err, sizeof(err)))) {
        fprintf(stderr, "callwatch: %s\n", err);
        return EXIT_USAGE;
    }
    p->e = engine_new(&p->cfg, p->metrics);
    if (!o->nfiles)
        engine_set_live(p->e, p->report != REPORT_NONE);
    if ((rc = open_capture(p, o)) != 0)
        return rc;
    if (p->web_on && !p->cfg.data_dir) {
        /* The API needs the call database and the graphs their RRD files:
         * keep them in a private directory, removed at exit. */
        if (!(p->private_dir = cw_mkdtemp("callwatch"))) {
            cw_log(CW_LOG_ERR, "cannot create a private data directory in %s: %s",
                   getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", strerror(errno));
            return EXIT_RUNTIME;
        }
        p->cfg.data_dir = cw_strdup(p->private_dir);
    }
    if ((rc = open_store(p)) != 0)
        return rc;
    if (p->web_on) {
        /* Snapshots for the dashboard; nothing else reads them. */
        p->status = status_new();
        engine_set_status(p->e, p->status);
        status_publish(p->status, engine_status_json(p->e)); /* before the first packet */
    }
    if ((rc = open_calldb(p)) != 0)
        return rc;
    if (alert_new(&p->cfg, &p->alert, err, sizeof(err)) != 0) {
        cw_log(CW_LOG_ERR, "%s", err);
        return EXIT_RUNTIME;
    }
    engine_set_alert(p->e, p->alert);
    if (p->web_on && (rc = start_web(p, NULL)) != 0)
        return rc;
    return drop_root(p);
}

/* Tells a service manager the probe is up. */
static void say_ready(const struct probe *p, const struct options *o)
{
    const char *what = o->nfiles ? "reading capture files" : "capturing on";
    const char *where = o->nfiles ? "" : p->rcfg.interface;

    if (p->web)
        notify_status("%s %s; dashboard at %s", what, where, web_url(p->web));
    else
        notify_status("%s %s", what, where);
    notify_send("READY=1");
}

/* STOPPING=1, once, when shutting down begins. */
static void say_stopping(void)
{
    static bool said;

    if (!said)
        notify_send("STOPPING=1");
    said = true;
}

/* Reads the files or the interface to the end.  0 or the exit status. */
static int probe_run(struct probe *p, const struct options *o)
{
    char err[1024];
    int rc;

    if (o->nfiles) {
        collectors_load_offline(p->col, p->rl, p->e);
        say_ready(p, o);
        rc = readloop_files(p->rl, err, sizeof(err));
    } else {
        collectors_start(p->col);
        say_ready(p, o);
        rc = readloop_live(p->rl, err, sizeof(err));
    }
    if (rc == 0)
        return 0;
    cw_log(CW_LOG_ERR, "%s", err);
    return rc == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
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

static int write_report(enum report_format report, engine_t *e)
{
    int rc;

    if (report == REPORT_JSON) {
        rc = report_write_json(stdout, e);
    } else {
        json_t *r = report_build(e);

        rc = report_write_text(stdout, r);
        json_decref(r);
    }
    if (rc != 0 || fflush(stdout) != 0) {
        cw_log(CW_LOG_ERR, "cannot write the report to standard output: %s", strerror(errno));
        return EXIT_RUNTIME;
    }
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
    while (!stop_requested) {
        nanosleep(&tick, NULL);
        notify_watchdog();
    }
}

static void probe_close(struct probe *p)
{
    web_stop(p->web);
    the_loop = NULL;
    readloop_free(p->rl);
    collectors_free(p->col);
    /* Give pending alerts a moment to go out, then stop. */
    if (p->alert && !alert_flush(p->alert, 10000))
        cw_log(CW_LOG_WARN, "some alerts were not delivered before exit");
    alert_free(p->alert);
    calldb_close(p->db);
    engine_free(p->e);
    rrdstore_close(p->store);
    status_free(p->status);
    metrics_free(p->metrics);
    config_free(&p->cfg);
    if (p->private_dir) {
        cw_rmtree(p->private_dir);
        free(p->private_dir);
    }
}

/* --check-config: the configuration loads, its targets are well formed
 * and its user exists.  The exit status. */
static int check_config(const struct options *o, const cw_config_t *cfg)
{
    metrics_t *m = metrics_new();
    collectors_t *col;
    privdrop_user_t u;
    char err[1024];
    int rc = 0;

    if (!(col = collectors_new(cfg, m, false, err, sizeof(err))) ||
        (cfg->user && privdrop_lookup(cfg->user, &u, err, sizeof(err)) != 0)) {
        fprintf(stderr, "callwatch: %s\n", err);
        rc = EXIT_USAGE;
    } else {
        printf("callwatch: configuration %s is valid\n", o->config ? o->config : "(defaults)");
    }
    collectors_free(col);
    metrics_free(m);
    return rc;
}

/* Who the process will become, looked up before anything is opened; and
 * from now on no thread gains privileges through exec.  0 or the exit
 * status. */
static int prepare_user(struct probe *p)
{
    char err[1024];

    if (!p->cfg.user)
        return 0;
    if (privdrop_lookup(p->cfg.user, &p->user, err, sizeof(err)) != 0) {
        fprintf(stderr, "callwatch: --user or [probe] user: %s\n", err);
        return EXIT_USAGE;
    }
    if (geteuid() != 0) {
        if (geteuid() == p->user.uid)
            return 0; /* started as that user already (a service manager did) */
        fprintf(stderr, "callwatch: --user or [probe] user %s: only root can switch users\n",
                p->user.name);
        return EXIT_USAGE;
    }
    if (privdrop_no_new_privs(err, sizeof(err)) != 0) {
        fprintf(stderr, "callwatch: %s\n", err);
        return EXIT_RUNTIME;
    }
    p->user_set = true;
    return 0;
}

/* --central: the dashboard over every site, until SIGINT or SIGTERM. */
static int run_central(struct probe *p)
{
    const struct timespec tick = { 0, 200 * 1000 * 1000 };
    web_sources_t src;
    central_t *c;
    char err[1024];
    bool usage;
    int rc;

    if (!p->web_on) {
        cw_log(CW_LOG_ERR, "--central serves the dashboard: [web] listen cannot be off");
        return EXIT_USAGE;
    }
    if (!(c = central_open(&p->cfg, &usage, err, sizeof(err)))) {
        cw_log(CW_LOG_ERR, "%s", err);
        return usage ? EXIT_USAGE : EXIT_RUNTIME;
    }
    central_sources(c, &src);
    if ((rc = start_web(p, &src)) == 0)
        while (!stop_requested)
            nanosleep(&tick, NULL);
    web_stop(p->web);
    p->web = NULL;
    central_close(c);
    return rc;
}

int main(int argc, char **argv)
{
    struct options o;
    struct probe p = { 0 };
    char err[512];
    int rc, store_rc = 0;

    if ((rc = parse_args(argc, argv, &o)) != 0)
        goto out;
    set_log_level(o.verbosity);
    if ((rc = load_config(&o, &p.cfg)) != 0)
        goto out;
    if (o.check_config) {
        rc = check_config(&o, &p.cfg);
        goto out;
    }
    p.o = &o;
    if ((rc = prepare_user(&p)) != 0)
        goto out;
    if (notify_init(err, sizeof(err)) != 0)
        cw_log(CW_LOG_WARN, "NOTIFY_SOCKET is set but %s: no service notifications", err);
    p.report = o.report;
    /* --report prints and exits: no dashboard unless --web asks for one. */
    p.web_on = strcmp(p.cfg.web_listen ? p.cfg.web_listen : "on", "off") != 0 &&
               (p.report == REPORT_NONE || o.web);
    if (o.nfiles && p.report == REPORT_NONE && !p.web_on)
        p.report = REPORT_TEXT; /* nothing to browse: show the analysis */
    install_signals();
    if (o.central) {
        rc = run_central(&p);
        goto out;
    }
    if ((rc = probe_open(&p, &o)) != 0)
        goto out;
    rc = probe_run(&p, &o);
    if (rc != 0 || stop_requested)
        say_stopping();
    if (rc == 0 || stop_requested) {
        engine_finish(p.e);
        store_rc = store_finish(p.store, p.e);
        if (p.report != REPORT_NONE && rc == 0)
            rc = write_report(p.report, p.e);
        if (rc == 0 && p.web && o.nfiles && p.report == REPORT_NONE && !stop_requested)
            serve_until_stopped(p.web, p.db);
    }
    if (store_rc && rc == 0)
        rc = store_rc;
out:
    say_stopping();
    probe_close(&p);
    free(o.files);
    return rc;
}
