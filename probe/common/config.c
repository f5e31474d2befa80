#include "autoconf.h"

#include "common/config.h"

#include <stdarg.h>

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum key_type {
    K_STRING,
    K_LONG,
    K_BOOL,
    K_BITRATE,
    K_SUBNETS,
    K_PRESET,
    K_VERSION,
    K_PORTS,
    K_ENCAP_PORTS, /* as K_PORTS, and an empty value turns the encapsulation off */
    K_DOUBLE,
    K_LISTEN,
    K_NAME
};

struct key_def {
    const char *name;
    enum key_type type;
    size_t offset; /* into the section's struct */
    long min, max;
};

enum section_kind {
    S_PROBE,
    S_WEB,
    S_RRD,
    S_CALLDB,
    S_ALERT,
    S_INCIDENT,
    S_GROUP,
    S_LINK,
    S_CPU,
    S_NONE
};

#define CFG(f)  offsetof(cw_config_t, f)
#define LINK(f) offsetof(cw_link_cfg_t, f)
#define CPU(f)  offsetof(cw_cpu_cfg_t, f)
#define GRP(f)  offsetof(cw_group_cfg_t, f)

static const struct key_def probe_keys[] = {
    { "interface", K_STRING, CFG(interface), 0, 0 },
    { "filter", K_STRING, CFG(filter), 0, 0 },
    { "data_dir", K_STRING, CFG(data_dir), 0, 0 },
    { "rtp_timeout", K_LONG, CFG(rtp_timeout_s), 1, 3600 },
    { "step", K_LONG, CFG(step_s), 1, 3600 },
    { "snaplen", K_LONG, CFG(snaplen), 64, 262144 },
    { "buffer_mb", K_LONG, CFG(buffer_mb), 1, 4096 },
    { "promisc", K_BOOL, CFG(promisc), 0, 0 },
    { "sip_ports", K_PORTS, CFG(sip_ports), 0, 0 },
    { "max_calls", K_LONG, CFG(max_calls), 10, 10000000 },
    { "idle_timeout", K_LONG, CFG(idle_timeout_s), 10, 604800 },
    { "retention_days", K_LONG, CFG(retention_days), 1, 36500 },
    { "user", K_STRING, CFG(user), 0, 0 },
    { "site", K_NAME, CFG(site), 0, 0 },
    { "vxlan_ports", K_ENCAP_PORTS, CFG(encap_ports[CW_ENCAP_VXLAN]), CW_ENCAP_VXLAN, 0 },
    { "geneve_ports", K_ENCAP_PORTS, CFG(encap_ports[CW_ENCAP_GENEVE]), CW_ENCAP_GENEVE, 0 },
    { "gtpu_ports", K_ENCAP_PORTS, CFG(encap_ports[CW_ENCAP_GTPU]), CW_ENCAP_GTPU, 0 },
    { "tzsp_ports", K_ENCAP_PORTS, CFG(encap_ports[CW_ENCAP_TZSP]), CW_ENCAP_TZSP, 0 },
    { NULL, 0, 0, 0, 0 },
};

static const uint16_t encap_default_port[CW_ENCAP_COUNT] = {
    [CW_ENCAP_VXLAN] = CW_DEF_VXLAN_PORT,
    [CW_ENCAP_GENEVE] = CW_DEF_GENEVE_PORT,
    [CW_ENCAP_GTPU] = CW_DEF_GTPU_PORT,
    [CW_ENCAP_TZSP] = CW_DEF_TZSP_PORT,
};

static const char *const encap_keys[CW_ENCAP_COUNT] = {
    [CW_ENCAP_VXLAN] = "vxlan_ports",
    [CW_ENCAP_GENEVE] = "geneve_ports",
    [CW_ENCAP_GTPU] = "gtpu_ports",
    [CW_ENCAP_TZSP] = "tzsp_ports",
};

static const struct key_def web_keys[] = {
    { "listen", K_LISTEN, CFG(web_listen), 0, 0 },
    { "users", K_STRING, CFG(web_users), 0, 0 },
    { "tls_cert", K_STRING, CFG(web_tls_cert), 0, 0 },
    { "tls_key", K_STRING, CFG(web_tls_key), 0, 0 },
    { "external_url", K_STRING, CFG(web_external_url), 0, 0 },
    { NULL, 0, 0, 0, 0 },
};

static const struct key_def rrd_keys[] = {
    { "daemon", K_STRING, CFG(rrd_daemon), 0, 0 },
    { NULL, 0, 0, 0, 0 },
};

static const struct key_def calldb_keys[] = {
    { "url", K_STRING, CFG(calldb_url), 0, 0 },
    { "spool_mb", K_LONG, CFG(calldb_spool_mb), 1, 1048576 },
    { NULL, 0, 0, 0, 0 },
};

static const struct key_def alert_keys[] = {
    { "syslog", K_BOOL, CFG(alert_syslog), 0, 0 },
    { "webhook", K_STRING, CFG(alert_webhook), 0, 0 },
    { "exec", K_STRING, CFG(alert_exec), 0, 0 },
    { "rate_limit", K_LONG, CFG(alert_rate_limit), 1, 100000 },
    { NULL, 0, 0, 0, 0 },
};

static const struct key_def incident_keys[] = {
    { "window", K_LONG, CFG(inc_window_s), 10, 3600 },
    { "min_drops", K_LONG, CFG(inc_min_drops), 1, 100000 },
    { "link_threshold", K_DOUBLE, CFG(inc_link_pct), 1, 1000 },
    { "cpu_threshold", K_DOUBLE, CFG(inc_cpu_pct), 1, 100 },
    { "spike_factor", K_DOUBLE, CFG(inc_spike_factor), 1, 1000 },
    { "baseline", K_LONG, CFG(inc_baseline_s), 60, 86400 },
    { "min_traffic", K_BITRATE, CFG(inc_min_traffic_bps), 0, 0 },
    { "resolve_windows", K_LONG, CFG(inc_resolve_windows), 1, 1000 },
    { "congestion_steps", K_LONG, CFG(inc_congestion_steps), 1, 100000 },
    { "mos_threshold", K_DOUBLE, CFG(inc_mos), 1, 5 },
    { "min_degraded_streams", K_LONG, CFG(inc_min_degraded), 1, 100000 },
    { "scan_hosts", K_LONG, CFG(scan_hosts), 2, 10000000 },
    { NULL, 0, 0, 0, 0 },
};

static const struct key_def group_keys[] = {
    { "subnets", K_SUBNETS, 0, 0, 0 },
    { NULL, 0, 0, 0, 0 },
};

// clang-format off
#define SNMP_KEYS(S)                                                                   \
    { "snmp", K_STRING, S(snmp.agent), 0, 0 },                                         \
        { "version", K_VERSION, S(snmp.version), 1, 3 },                               \
        { "community", K_STRING, S(snmp.community), 0, 0 },                            \
        { "user", K_STRING, S(snmp.user), 0, 0 },                                      \
        { "auth", K_STRING, S(snmp.auth), 0, 0 },                                      \
        { "auth_pass", K_STRING, S(snmp.auth_pass), 0, 0 },                            \
        { "priv", K_STRING, S(snmp.priv), 0, 0 },                                      \
        { "priv_pass", K_STRING, S(snmp.priv_pass), 0, 0 },                            \
        { "interval", K_LONG, S(snmp.interval_s), 1, 86400 },                          \
        { "timeout", K_LONG, S(snmp.timeout_ms), 10, 60000 },                          \
        { "retries", K_LONG, S(snmp.retries), 0, 10 }
// clang-format on

static const struct key_def link_keys[] = {
    SNMP_KEYS(LINK),
    { "ifname", K_STRING, LINK(ifname), 0, 0 },
    { "ifindex", K_LONG, LINK(ifindex), 1, 2147483647L },
    { "speed", K_BITRATE, LINK(speed_bps), 0, 0 },
    { "rrd", K_STRING, LINK(rrd), 0, 0 },
    { "ds_in", K_STRING, LINK(ds_in), 0, 0 },
    { "ds_out", K_STRING, LINK(ds_out), 0, 0 },
    { NULL, 0, 0, 0, 0 },
};

static const struct key_def cpu_keys[] = {
    SNMP_KEYS(CPU),
    { "preset", K_PRESET, CPU(preset), 0, 0 },
    { "oid", K_STRING, CPU(oid), 0, 0 },
    { "rrd", K_STRING, CPU(rrd), 0, 0 },
    { "ds", K_STRING, CPU(ds), 0, 0 },
    { NULL, 0, 0, 0, 0 },
};

// clang-format off
static const char *const cpu_presets[] = { "host-resources", "ucd", "cisco", "fortinet",
                                           "juniper", NULL };
// clang-format on

struct parse_ctx {
    cw_config_t *cfg;
    FILE *f;
    const char *path;
    int line;     /* line the reader handed out last */
    int err_line; /* first error found by the handler */
    char *err;
    size_t errlen;
    char last_section[256];
    enum section_kind kind;
    void *target; /* the struct the current section writes */
    int long_line;
    int encap_line[CW_ENCAP_COUNT]; /* where each *_ports key was set, or 0 */
};

void config_default_site(char *buf, size_t len)
{
    char host[256] = "";
    size_t n = 0;

    if (gethostname(host, sizeof(host) - 1) != 0)
        host[0] = '\0';
    for (const char *p = host; *p && *p != '.' && n + 1 < len && n < 64; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '_' || *p == '-';

        buf[n++] = ok ? *p : '-';
    }
    buf[n] = '\0';
    if (n == 0)
        cw_strlcpy(buf, CW_DEF_SITE, len);
}

void config_init(cw_config_t *cfg)
{
    char site[72];

    memset(cfg, 0, sizeof(*cfg));
    config_default_site(site, sizeof(site));
    cfg->site = cw_strdup(site);
    cfg->calldb_spool_mb = CW_DEF_SPOOL_MB;
    cfg->rtp_timeout_s = CW_DEF_RTP_TIMEOUT_S;
    cfg->step_s = CW_DEF_STEP_S;
    cfg->snaplen = CW_DEF_SNAPLEN;
    cfg->buffer_mb = CW_DEF_BUFFER_MB;
    cfg->promisc = true;
    cfg->max_calls = CW_DEF_MAX_CALLS;
    cfg->idle_timeout_s = CW_DEF_IDLE_TIMEOUT_S;
    cfg->retention_days = CW_DEF_RETENTION_DAYS;
    cfg->alert_rate_limit = CW_DEF_ALERT_RATE_LIMIT;
    cfg->inc_window_s = CW_DEF_INC_WINDOW_S;
    cfg->inc_min_drops = CW_DEF_INC_MIN_DROPS;
    cfg->inc_link_pct = CW_DEF_INC_LINK_PCT;
    cfg->inc_cpu_pct = CW_DEF_INC_CPU_PCT;
    cfg->inc_spike_factor = CW_DEF_INC_SPIKE_FACTOR;
    cfg->inc_baseline_s = CW_DEF_INC_BASELINE_S;
    cfg->inc_min_traffic_bps = CW_DEF_INC_MIN_TRAFFIC_BPS;
    cfg->inc_resolve_windows = CW_DEF_INC_RESOLVE_WINDOWS;
    cfg->inc_congestion_steps = CW_DEF_INC_CONGESTION_STEPS;
    cfg->inc_mos = CW_DEF_INC_MOS;
    cfg->inc_min_degraded = CW_DEF_INC_MIN_DEGRADED;
    cfg->scan_hosts = CW_DEF_SCAN_HOSTS;
}

bool config_sip_port(const cw_config_t *cfg, uint16_t port)
{
    return !cfg->sip_ports || (cfg->sip_ports[port / 8] & (1u << (port % 8)));
}

bool config_encap_port(const cw_config_t *cfg, enum cw_udp_encap e, uint16_t port)
{
    const uint8_t *map = cfg->encap_ports[e];

    return map ? (map[port / 8] & (1u << (port % 8))) != 0 : port == encap_default_port[e];
}

void config_encap_bitmap(const cw_config_t *cfg, enum cw_udp_encap e, uint8_t map[65536 / 8])
{
    if (cfg->encap_ports[e]) {
        memcpy(map, cfg->encap_ports[e], 65536 / 8);
        return;
    }
    memset(map, 0, 65536 / 8);
    map[encap_default_port[e] / 8] |= (uint8_t)(1u << (encap_default_port[e] % 8));
}

const char *config_encap_key(enum cw_udp_encap e)
{
    return (unsigned)e < CW_ENCAP_COUNT ? encap_keys[e] : "unknown";
}

static void snmp_defaults(cw_snmp_cfg_t *s)
{
    s->version = CW_DEF_SNMP_VERSION;
    s->interval_s = CW_DEF_SNMP_INTERVAL_S;
    s->timeout_ms = CW_DEF_SNMP_TIMEOUT_MS;
    s->retries = CW_DEF_SNMP_RETRIES;
}

static void snmp_free(cw_snmp_cfg_t *s)
{
    free(s->agent);
    free(s->community);
    free(s->user);
    free(s->auth);
    free(s->auth_pass);
    free(s->priv);
    free(s->priv_pass);
}

void config_free(cw_config_t *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->interface);
    free(cfg->filter);
    free(cfg->sip_ports);
    for (int e = 0; e < CW_ENCAP_COUNT; e++)
        free(cfg->encap_ports[e]);
    free(cfg->data_dir);
    free(cfg->user);
    free(cfg->site);
    free(cfg->web_external_url);
    free(cfg->calldb_url);
    free(cfg->web_listen);
    free(cfg->web_users);
    free(cfg->web_tls_cert);
    free(cfg->web_tls_key);
    free(cfg->rrd_daemon);
    free(cfg->alert_webhook);
    free(cfg->alert_exec);
    for (size_t i = 0; i < cfg->ngroups; i++) {
        free(cfg->groups[i].name);
        free(cfg->groups[i].subnets);
    }
    free(cfg->groups);
    for (size_t i = 0; i < cfg->nlinks; i++) {
        cw_link_cfg_t *l = &cfg->links[i];

        free(l->name);
        snmp_free(&l->snmp);
        free(l->ifname);
        free(l->rrd);
        free(l->ds_in);
        free(l->ds_out);
    }
    free(cfg->links);
    for (size_t i = 0; i < cfg->ncpus; i++) {
        cw_cpu_cfg_t *c = &cfg->cpus[i];

        free(c->name);
        snmp_free(&c->snmp);
        free(c->preset);
        free(c->oid);
        free(c->rrd);
        free(c->ds);
    }
    free(cfg->cpus);
    memset(cfg, 0, sizeof(*cfg));
}

bool config_name_valid(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > 64)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return false;
    return true;
}

bool config_listen_valid(const char *s)
{
    const char *colon;
    long port;

    if (strcmp(s, "off") == 0)
        return true;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');

        if (!end || end == s + 1 || end[1] != ':')
            return false;
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s || memchr(s, ':', (size_t)(colon - s)))
            return false;
    }
    return cw_parse_long(colon + 1, 0, 65535, &port) == 0;
}

int config_parse_subnet(const char *s, cw_subnet_t *out)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    long prefix;
    size_t n = slash ? (size_t)(slash - s) : strlen(s);

    if (n == 0 || n >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (cw_addr_parse(buf, &out->addr) != 0)
        return -EINVAL;
    if (slash) {
        if (cw_parse_long(slash + 1, 0, out->addr.family == 4 ? 32 : 128, &prefix) != 0)
            return -EINVAL;
    } else {
        prefix = out->addr.family == 4 ? 32 : 128;
    }
    out->prefix = (uint8_t)prefix;
    /* Clear host bits so that containment is a plain masked compare. */
    for (unsigned i = 0; i < 16; i++) {
        unsigned bits = prefix > (long)(i * 8) ? (unsigned)(prefix - (long)(i * 8)) : 0;

        if (bits < 8)
            out->addr.bytes[i] &= (uint8_t)(0xff00u >> bits);
    }
    return 0;
}

bool config_subnet_contains(const cw_subnet_t *net, const cw_addr_t *a)
{
    unsigned full = net->prefix / 8, rest = net->prefix % 8;

    if (a->family != net->addr.family)
        return false;
    if (memcmp(a->bytes, net->addr.bytes, full) != 0)
        return false;
    if (rest && ((a->bytes[full] ^ net->addr.bytes[full]) & (uint8_t)(0xff00u >> rest)))
        return false;
    return true;
}

static int fail(struct parse_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parse_ctx *ctx, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (ctx->err_line)
        return 0; /* keep the first error */
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ctx->err_line = ctx->line;
    snprintf(ctx->err, ctx->errlen, "%s:%d: %s", ctx->path, ctx->line, msg);
    return 0;
}

static int enter_section(struct parse_ctx *ctx, const char *section);

/* Sees a "[section]" line before inih does, so that even a section without
 * keys is checked, and errors name the header's line. */
static void reader_section(struct parse_ctx *ctx, const char *line)
{
    char name[256];
    const char *start = line, *end;
    size_t n;

    while (*start == ' ' || *start == '\t')
        start++;
    if (*start != '[')
        return;
    end = strchr(start, ']');
    if (!end)
        return; /* inih reports the syntax error */
    start++;
    while (start < end && (*start == ' ' || *start == '\t'))
        start++;
    n = (size_t)(end - start);
    while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\t'))
        n--;
    if (n >= sizeof(name))
        n = sizeof(name) - 1;
    memcpy(name, start, n);
    name[n] = '\0';
    enter_section(ctx, name);
}

/* fgets-style reader that counts lines, so the handler knows where it is. */
static char *reader(char *str, int num, void *stream)
{
    struct parse_ctx *ctx = stream;
    char *r = fgets(str, num, ctx->f);
    size_t n;

    if (!r)
        return NULL;
    ctx->line++;
    n = strlen(r);
    if (!(n > 0 && r[n - 1] == '\n') && !feof(ctx->f)) {
        /* The line does not fit: swallow the rest and report it. */
        int c;

        while ((c = fgetc(ctx->f)) != EOF && c != '\n')
            ;
        if (!ctx->long_line)
            ctx->long_line = ctx->line;
    }
    if (!ctx->err_line)
        reader_section(ctx, r);
    return r;
}

static const struct key_def *keys_for(enum section_kind k)
{
    switch (k) {
    case S_PROBE:
        return probe_keys;
    case S_WEB:
        return web_keys;
    case S_RRD:
        return rrd_keys;
    case S_CALLDB:
        return calldb_keys;
    case S_ALERT:
        return alert_keys;
    case S_INCIDENT:
        return incident_keys;
    case S_GROUP:
        return group_keys;
    case S_LINK:
        return link_keys;
    case S_CPU:
        return cpu_keys;
    default:
        return NULL;
    }
}

/* Finds or creates the struct that section `name` of `kind` writes. */
static int enter_section(struct parse_ctx *ctx, const char *section)
{
    // clang-format off
    static const struct {
        const char *word;
        enum section_kind kind;
        bool named;
    } kinds[] = {
        { "probe", S_PROBE, false }, { "web", S_WEB, false },   { "rrd", S_RRD, false },
        { "calldb", S_CALLDB, false }, { "alert", S_ALERT, false },
        { "incident", S_INCIDENT, false },
        { "group", S_GROUP, true },  { "link", S_LINK, true },
        { "cpu", S_CPU, true },
    };
    // clang-format on
    cw_config_t *cfg = ctx->cfg;
    const char *space = strchr(section, ' ');
    size_t wlen = space ? (size_t)(space - section) : strlen(section);
    const char *name = NULL;

    cw_strlcpy(ctx->last_section, section, sizeof(ctx->last_section));
    ctx->kind = S_NONE;
    ctx->target = NULL;
    if (section[0] == '\0')
        return fail(ctx, "empty section name []");
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strlen(kinds[i].word) != wlen || strncmp(section, kinds[i].word, wlen) != 0)
            continue;
        if (kinds[i].named) {
            name = space ? space + 1 : NULL;
            while (name && *name == ' ')
                name++;
            if (!name || !*name)
                return fail(ctx, "section [%s] needs a name, as in [%s NAME]", kinds[i].word,
                            kinds[i].word);
            if (!config_name_valid(name))
                return fail(ctx,
                            "section [%s]: name \"%s\" may use only letters, digits, '-' and '_' "
                            "(at most 64)",
                            section, name);
        } else if (space) {
            return fail(ctx, "section [%s] takes no name", kinds[i].word);
        }
        ctx->kind = kinds[i].kind;
        break;
    }
    if (ctx->kind == S_NONE)
        return fail(ctx,
                    "unknown section [%s] (known: probe, web, rrd, calldb, alert, incident, group "
                    "NAME, link NAME, cpu NAME)",
                    section);

    switch (ctx->kind) {
    case S_GROUP:
        for (size_t i = 0; i < cfg->ngroups; i++)
            if (strcmp(cfg->groups[i].name, name) == 0)
                return fail(ctx, "section [group %s] appears twice (first at line %d)", name,
                            cfg->groups[i].line);
        cfg->groups = cw_realloc(cfg->groups, (cfg->ngroups + 1) * sizeof(*cfg->groups));
        memset(&cfg->groups[cfg->ngroups], 0, sizeof(*cfg->groups));
        cfg->groups[cfg->ngroups].name = cw_strdup(name);
        cfg->groups[cfg->ngroups].line = ctx->line;
        ctx->target = &cfg->groups[cfg->ngroups++];
        break;
    case S_LINK:
        for (size_t i = 0; i < cfg->nlinks; i++)
            if (strcmp(cfg->links[i].name, name) == 0)
                return fail(ctx, "section [link %s] appears twice (first at line %d)", name,
                            cfg->links[i].line);
        cfg->links = cw_realloc(cfg->links, (cfg->nlinks + 1) * sizeof(*cfg->links));
        memset(&cfg->links[cfg->nlinks], 0, sizeof(*cfg->links));
        cfg->links[cfg->nlinks].name = cw_strdup(name);
        cfg->links[cfg->nlinks].line = ctx->line;
        snmp_defaults(&cfg->links[cfg->nlinks].snmp);
        ctx->target = &cfg->links[cfg->nlinks++];
        break;
    case S_CPU:
        for (size_t i = 0; i < cfg->ncpus; i++)
            if (strcmp(cfg->cpus[i].name, name) == 0)
                return fail(ctx, "section [cpu %s] appears twice (first at line %d)", name,
                            cfg->cpus[i].line);
        cfg->cpus = cw_realloc(cfg->cpus, (cfg->ncpus + 1) * sizeof(*cfg->cpus));
        memset(&cfg->cpus[cfg->ncpus], 0, sizeof(*cfg->cpus));
        cfg->cpus[cfg->ncpus].name = cw_strdup(name);
        cfg->cpus[cfg->ncpus].line = ctx->line;
        snmp_defaults(&cfg->cpus[cfg->ncpus].snmp);
        ctx->target = &cfg->cpus[cfg->ncpus++];
        break;
    default:
        ctx->target = cfg;
        break;
    }
    return 1;
}

static int set_subnets(struct parse_ctx *ctx, cw_group_cfg_t *g, const char *value)
{
    char *copy = cw_strdup(value), *save = NULL;
    int ok = 1;

    for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        cw_subnet_t net;

        if (config_parse_subnet(tok, &net) != 0) {
            ok = fail(ctx, "subnets: \"%s\" is not an address or prefix such as 10.20.0.0/16", tok);
            break;
        }
        g->subnets = cw_realloc(g->subnets, (g->nsubnets + 1) * sizeof(*g->subnets));
        g->subnets[g->nsubnets++] = net;
    }
    free(copy);
    if (ok && g->nsubnets == 0)
        ok = fail(ctx, "subnets: give at least one prefix");
    return ok;
}

/* "5060, 5061-5080" into a bitmap of ports. */
static int set_ports(struct parse_ctx *ctx, uint8_t **bitmap, const char *key, const char *value)
{
    char *copy = cw_strdup(value), *save = NULL;
    uint8_t *map = cw_calloc(65536 / 8, 1);
    int ok = 1, n = 0;

    for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        char *dash = strchr(tok, '-');
        long lo, hi;

        if (dash)
            *dash = '\0';
        if (cw_parse_long(tok, 1, 65535, &lo) != 0 ||
            (dash && cw_parse_long(dash + 1, 1, 65535, &hi) != 0) || (dash && hi < lo)) {
            ok = fail(ctx, "%s: \"%s\" is not a port or a range such as 5060-5080", key,
                      dash ? (*dash = '-', tok) : tok);
            break;
        }
        if (!dash)
            hi = lo;
        for (long p = lo; p <= hi; p++)
            map[p / 8] |= (uint8_t)(1u << (p % 8));
        n++;
    }
    free(copy);
    if (ok && n == 0)
        ok = fail(ctx, "%s: give at least one port", key);
    if (!ok) {
        free(map);
        return 0;
    }
    free(*bitmap);
    *bitmap = map;
    return 1;
}

static int set_value(struct parse_ctx *ctx, const struct key_def *k, const char *value)
{
    char *field = (char *)ctx->target + k->offset;

    switch (k->type) {
    case K_STRING: {
        char **s = (char **)field;

        if (*value == '\0')
            return fail(ctx, "%s: empty value", k->name);
        free(*s);
        *s = cw_strdup(value);
        return 1;
    }
    case K_LONG: {
        long v;
        int rc = cw_parse_long(value, k->min, k->max, &v);

        if (rc == -EINVAL)
            return fail(ctx, "%s: \"%s\" is not a whole number", k->name, value);
        if (rc)
            return fail(ctx, "%s: %s is out of range (%ld to %ld)", k->name, value, k->min, k->max);
        *(long *)field = v;
        return 1;
    }
    case K_DOUBLE: {
        double v;
        int rc = cw_parse_double(value, (double)k->min, (double)k->max, &v);

        if (rc == -EINVAL)
            return fail(ctx, "%s: \"%s\" is not a number", k->name, value);
        if (rc)
            return fail(ctx, "%s: %s is out of range (%ld to %ld)", k->name, value, k->min, k->max);
        *(double *)field = v;
        return 1;
    }
    case K_VERSION: {
        int v;

        if (strcmp(value, "1") == 0 || strcasecmp(value, "v1") == 0)
            v = 1;
        else if (strcmp(value, "2") == 0 || strcasecmp(value, "2c") == 0 ||
                 strcasecmp(value, "v2c") == 0)
            v = 2;
        else if (strcmp(value, "3") == 0 || strcasecmp(value, "v3") == 0)
            v = 3;
        else
            return fail(ctx, "%s: \"%s\" is not an SNMP version (1, 2c or 3)", k->name, value);
        *(int *)field = v;
        return 1;
    }
    case K_BOOL:
        if (!strcasecmp(value, "yes") || !strcasecmp(value, "true") || !strcmp(value, "1") ||
            !strcasecmp(value, "on"))
            *(bool *)field = true;
        else if (!strcasecmp(value, "no") || !strcasecmp(value, "false") || !strcmp(value, "0") ||
                 !strcasecmp(value, "off"))
            *(bool *)field = false;
        else
            return fail(ctx, "%s: \"%s\" is not yes or no", k->name, value);
        return 1;
    case K_BITRATE:
        if (cw_parse_bitrate(value, (uint64_t *)field) != 0)
            return fail(ctx, "%s: \"%s\" is not a bit rate such as 100M, 1G or 512k", k->name,
                        value);
        return 1;
    case K_PRESET: {
        char **s = (char **)field;

        for (size_t i = 0; cpu_presets[i]; i++) {
            if (strcmp(value, cpu_presets[i]) == 0) {
                free(*s);
                *s = cw_strdup(value);
                return 1;
            }
        }
        return fail(ctx,
                    "%s: unknown preset \"%s\" (host-resources, ucd, cisco, fortinet, juniper; "
                    "or oid = NUMERIC.OID)",
                    k->name, value);
    }
    case K_LISTEN: {
        char **s = (char **)field;

        if (*value == '\0')
            return fail(ctx, "%s: empty value", k->name);
        if (!config_listen_valid(value))
            return fail(ctx, "%s: \"%s\" is not ADDR:PORT, [IPV6]:PORT or off", k->name, value);
        free(*s);
        *s = cw_strdup(value);
        return 1;
    }
    case K_NAME: {
        char **s = (char **)field;

        if (!config_name_valid(value))
            return fail(ctx, "%s: \"%s\" may use only letters, digits, '-' and '_' (at most 64)",
                        k->name, value);
        free(*s);
        *s = cw_strdup(value);
        return 1;
    }
    case K_SUBNETS:
        return set_subnets(ctx, ctx->target, value);
    case K_PORTS:
        return set_ports(ctx, (uint8_t **)field, k->name, value);
    case K_ENCAP_PORTS:
        ctx->encap_line[k->min] = ctx->line;
        if (*value == '\0') {
            free(*(uint8_t **)field);
            *(uint8_t **)field = cw_calloc(65536 / 8, 1);
            return 1;
        }
        return set_ports(ctx, (uint8_t **)field, k->name, value);
    }
    return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parse_ctx *ctx = user;
    const struct key_def *keys;

    if (ctx->err_line)
        return 1; /* report only the first error */
    (void)section;
    if (ctx->kind == S_NONE)
        return fail(ctx, "key outside any section: put it under [probe], [web], ...");
    keys = keys_for(ctx->kind);
    for (const struct key_def *k = keys; k && k->name; k++)
        if (strcmp(k->name, name) == 0)
            return set_value(ctx, k, value);
    return fail(ctx, "unknown key \"%s\" in section [%s]", name, ctx->last_section);
}

static int validate_snmp(const char *path, const char *what, int line, cw_snmp_cfg_t *s, char *err,
                         size_t errlen)
{
    if (s->version == 3) {
        if (!s->user) {
            snprintf(err, errlen, "%s:%d: [%s]: SNMP v3 needs user =", path, line, what);
            return -EINVAL;
        }
        if ((s->auth && !s->auth_pass) || (s->priv && !s->priv_pass) || (s->priv && !s->auth)) {
            snprintf(err, errlen,
                     "%s:%d: [%s]: SNMP v3 auth needs auth_pass, priv needs auth and priv_pass",
                     path, line, what);
            return -EINVAL;
        }
    } else if (!s->community) {
        s->community = cw_strdup("public");
    }
    return 0;
}

/* No UDP port is read as two encapsulations. */
static int validate_encap_ports(const cw_config_t *cfg, const char *path, const int *lines,
                                char *err, size_t errlen)
{
    for (uint32_t port = 1; port < 65536; port++) {
        int first = -1;

        for (int e = 0; e < CW_ENCAP_COUNT; e++) {
            if (!config_encap_port(cfg, e, (uint16_t)port))
                continue;
            if (first < 0) {
                first = e;
                continue;
            }
            /* Name the key written last: the one to change. */
            int at = lines[e] >= lines[first] ? e : first, other = at == e ? first : e;

            snprintf(err, errlen, "%s:%d: %s: port %u is also in %s%s", path, lines[at],
                     encap_keys[at], port, encap_keys[other], lines[other] ? "" : " (its default)");
            return -EINVAL;
        }
    }
    return 0;
}

static int validate(cw_config_t *cfg, const char *path, const int *encap_lines, char *err,
                    size_t errlen)
{
    if (validate_encap_ports(cfg, path, encap_lines, err, errlen) != 0)
        return -EINVAL;
    if (cfg->calldb_url && strncmp(cfg->calldb_url, "postgresql://", 13) != 0 &&
        strncmp(cfg->calldb_url, "postgres://", 11) != 0) {
        snprintf(err, errlen,
                 "%s: [calldb]: url \"%s\" is not a PostgreSQL connection URI "
                 "(postgresql://USER@HOST:PORT/DB)",
                 path, cfg->calldb_url);
        return -EINVAL;
    }
    if (!cfg->web_tls_cert != !cfg->web_tls_key) {
        snprintf(err, errlen, "%s: [web]: tls_cert and tls_key go together; give both", path);
        return -EINVAL;
    }
    for (size_t i = 0; i < cfg->nlinks; i++) {
        cw_link_cfg_t *l = &cfg->links[i];
        char what[96];

        snprintf(what, sizeof(what), "link %s", l->name);
        if (!l->snmp.agent && !l->rrd) {
            snprintf(err, errlen, "%s:%d: [%s]: give snmp = HOST[:PORT] or rrd = FILE", path,
                     l->line, what);
            return -EINVAL;
        }
        if (l->snmp.agent && l->rrd) {
            snprintf(err, errlen, "%s:%d: [%s]: snmp and rrd are alternatives; give one", path,
                     l->line, what);
            return -EINVAL;
        }
        if (l->snmp.agent && !l->ifname && !l->ifindex) {
            snprintf(err, errlen, "%s:%d: [%s]: give ifname = NAME or ifindex = N", path, l->line,
                     what);
            return -EINVAL;
        }
        if (l->rrd && (!l->ds_in || !l->ds_out)) {
            snprintf(err, errlen, "%s:%d: [%s]: rrd = needs ds_in and ds_out", path, l->line, what);
            return -EINVAL;
        }
        if (l->snmp.agent && validate_snmp(path, what, l->line, &l->snmp, err, errlen))
            return -EINVAL;
    }
    for (size_t i = 0; i < cfg->ncpus; i++) {
        cw_cpu_cfg_t *c = &cfg->cpus[i];
        char what[96];

        snprintf(what, sizeof(what), "cpu %s", c->name);
        if (!c->snmp.agent && !c->rrd) {
            snprintf(err, errlen, "%s:%d: [%s]: give snmp = HOST[:PORT] or rrd = FILE", path,
                     c->line, what);
            return -EINVAL;
        }
        if (c->snmp.agent && c->rrd) {
            snprintf(err, errlen, "%s:%d: [%s]: snmp and rrd are alternatives; give one", path,
                     c->line, what);
            return -EINVAL;
        }
        if (c->snmp.agent && !c->preset && !c->oid) {
            snprintf(err, errlen, "%s:%d: [%s]: give preset = NAME or oid = NUMERIC.OID", path,
                     c->line, what);
            return -EINVAL;
        }
        if (c->preset && c->oid) {
            snprintf(err, errlen, "%s:%d: [%s]: preset and oid are alternatives; give one", path,
                     c->line, what);
            return -EINVAL;
        }
        if (c->rrd && !c->ds) {
            snprintf(err, errlen, "%s:%d: [%s]: rrd = needs ds = NAME", path, c->line, what);
            return -EINVAL;
        }
        if (c->snmp.agent && validate_snmp(path, what, c->line, &c->snmp, err, errlen))
            return -EINVAL;
    }
    for (size_t i = 0; i < cfg->ngroups; i++) {
        if (cfg->groups[i].nsubnets == 0) {
            snprintf(err, errlen, "%s:%d: [group %s]: give subnets = PREFIX, ...", path,
                     cfg->groups[i].line, cfg->groups[i].name);
            return -EINVAL;
        }
    }
    return 0;
}

int config_load(cw_config_t *cfg, const char *path, char *err, size_t errlen)
{
    struct parse_ctx ctx;
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    ctx.cfg = cfg;
    ctx.path = path;
    ctx.err = err;
    ctx.errlen = errlen;
    ctx.kind = S_NONE;
    ctx.f = fopen(path, "r");
    if (!ctx.f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -EINVAL;
    }
    free(cfg->path);
    cfg->path = cw_strdup(path);
    rc = ini_parse_stream(reader, &ctx, handler, &ctx);
    fclose(ctx.f);
    if (ctx.long_line && (!ctx.err_line || ctx.long_line < ctx.err_line)) {
        snprintf(err, errlen, "%s:%d: line too long (at most %d characters)", path, ctx.long_line,
                 INI_MAX_LINE - 3);
        return -EINVAL;
    }
    if (rc > 0 && (!ctx.err_line || rc < ctx.err_line)) {
        snprintf(err, errlen, "%s:%d: syntax error: expected [section], key = value or a comment",
                 path, rc);
        return -EINVAL;
    }
    if (ctx.err_line)
        return -EINVAL;
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot be read", path);
        return -EINVAL;
    }
    return validate(cfg, path, ctx.encap_line, err, errlen);
}
