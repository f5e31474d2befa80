#include "autoconf.h"

#include "daemon/reload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool str_differs(const char *a, const char *b)
{
    if (!a || !b)
        return a != b;
    return strcmp(a, b) != 0;
}

static bool ports_differ(const uint8_t *a, const uint8_t *b)
{
    if (!a || !b)
        return a != b;
    return memcmp(a, b, 65536 / 8) != 0;
}

static bool groups_differ(const cw_config_t *a, const cw_config_t *b)
{
    if (a->ngroups != b->ngroups)
        return true;
    for (size_t i = 0; i < a->ngroups; i++) {
        const cw_group_cfg_t *x = &a->groups[i], *y = &b->groups[i];

        if (strcmp(x->name, y->name) != 0 || x->nsubnets != y->nsubnets ||
            memcmp(x->subnets, y->subnets, x->nsubnets * sizeof(*x->subnets)) != 0)
            return true;
    }
    return false;
}

static void add_name(char *buf, size_t len, int *n, const char *name)
{
    size_t used = strlen(buf);

    snprintf(buf + used, len - used, "%s%s", *n ? ", " : "", name);
    (*n)++;
}

int reload_restart_needed(const cw_config_t *a, const cw_config_t *b, char *buf, size_t len)
{
    static const char *const encap_names[CW_ENCAP_COUNT] = {
        [CW_ENCAP_VXLAN] = "[probe] vxlan_ports",
        [CW_ENCAP_GENEVE] = "[probe] geneve_ports",
        [CW_ENCAP_GTPU] = "[probe] gtpu_ports",
        [CW_ENCAP_TZSP] = "[probe] tzsp_ports",
    };
    // clang-format off
    const struct { const char *name; const char *x, *y; } strs[] = {
        { "[probe] interface", a->interface, b->interface },
        { "[probe] filter", a->filter, b->filter },
        { "[probe] data_dir", a->data_dir, b->data_dir },
        { "[probe] user", a->user, b->user },
        { "[probe] site", a->site, b->site },
        { "[web] listen", a->web_listen, b->web_listen },
        { "[web] tls_cert", a->web_tls_cert, b->web_tls_cert },
        { "[web] tls_key", a->web_tls_key, b->web_tls_key },
        { "[web] external_url", a->web_external_url, b->web_external_url },
        { "[rrd] daemon", a->rrd_daemon, b->rrd_daemon },
        { "[calldb] url", a->calldb_url, b->calldb_url },
    };
    const struct { const char *name; long x, y; } nums[] = {
        { "[probe] rtp_timeout", a->rtp_timeout_s, b->rtp_timeout_s },
        { "[probe] step", a->step_s, b->step_s },
        { "[probe] snaplen", a->snaplen, b->snaplen },
        { "[probe] buffer_mb", a->buffer_mb, b->buffer_mb },
        { "[probe] promisc", a->promisc, b->promisc },
        { "[probe] max_calls", a->max_calls, b->max_calls },
        { "[probe] idle_timeout", a->idle_timeout_s, b->idle_timeout_s },
        { "[probe] retention_days", a->retention_days, b->retention_days },
        { "[incident] scan_hosts", a->scan_hosts, b->scan_hosts },
        { "[calldb] spool_mb", a->calldb_spool_mb, b->calldb_spool_mb },
    };
    // clang-format on
    int n = 0;

    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        if (str_differs(strs[i].x, strs[i].y))
            add_name(buf, len, &n, strs[i].name);
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        if (nums[i].x != nums[i].y)
            add_name(buf, len, &n, nums[i].name);
    if (ports_differ(a->sip_ports, b->sip_ports))
        add_name(buf, len, &n, "[probe] sip_ports");
    for (int e = 0; e < CW_ENCAP_COUNT; e++)
        if (ports_differ(a->encap_ports[e], b->encap_ports[e]))
            add_name(buf, len, &n, encap_names[e]);
    if (groups_differ(a, b))
        add_name(buf, len, &n, "[group] sections");
    return n;
}

/* Sections named in a and not in b, as "[KIND NAME] removed". */
static void named_gone(const char *kind, const char *const *a, size_t na, const char *const *b,
                       size_t nb, const char *what, char *buf, size_t len, int *n)
{
    char item[128];

    for (size_t i = 0; i < na; i++) {
        size_t j = 0;

        while (j < nb && strcmp(a[i], b[j]) != 0)
            j++;
        if (j < nb)
            continue;
        snprintf(item, sizeof(item), "[%s %s] %s", kind, a[i], what);
        add_name(buf, len, n, item);
    }
}

static const char **link_names(const cw_config_t *c)
{
    const char **v = cw_calloc(c->nlinks + 1, sizeof(*v));

    for (size_t i = 0; i < c->nlinks; i++)
        v[i] = c->links[i].name;
    return v;
}

static const char **cpu_names(const cw_config_t *c)
{
    const char **v = cw_calloc(c->ncpus + 1, sizeof(*v));

    for (size_t i = 0; i < c->ncpus; i++)
        v[i] = c->cpus[i].name;
    return v;
}

int reload_live_changes(const cw_config_t *a, const cw_config_t *b, char *buf, size_t len)
{
    // clang-format off
    const struct { const char *name; double x, y; } nums[] = {
        { "[incident] window", a->inc_window_s, b->inc_window_s },
        { "[incident] min_drops", a->inc_min_drops, b->inc_min_drops },
        { "[incident] link_threshold", a->inc_link_pct, b->inc_link_pct },
        { "[incident] cpu_threshold", a->inc_cpu_pct, b->inc_cpu_pct },
        { "[incident] spike_factor", a->inc_spike_factor, b->inc_spike_factor },
        { "[incident] baseline", a->inc_baseline_s, b->inc_baseline_s },
        { "[incident] min_traffic", (double)a->inc_min_traffic_bps, (double)b->inc_min_traffic_bps },
        { "[incident] resolve_windows", a->inc_resolve_windows, b->inc_resolve_windows },
        { "[incident] congestion_steps", a->inc_congestion_steps, b->inc_congestion_steps },
        { "[incident] mos_threshold", a->inc_mos, b->inc_mos },
        { "[incident] min_degraded_streams", a->inc_min_degraded, b->inc_min_degraded },
        { "[alert] syslog", a->alert_syslog, b->alert_syslog },
        { "[alert] rate_limit", a->alert_rate_limit, b->alert_rate_limit },
    };
    // clang-format on
    const char **la = link_names(a), **lb = link_names(b), **ca = cpu_names(a), **cb = cpu_names(b);
    char item[160];
    int n = 0;

    if (len)
        buf[0] = '\0';
    named_gone("link", lb, b->nlinks, la, a->nlinks, "added", buf, len, &n);
    named_gone("link", la, a->nlinks, lb, b->nlinks, "removed", buf, len, &n);
    named_gone("cpu", cb, b->ncpus, ca, a->ncpus, "added", buf, len, &n);
    named_gone("cpu", ca, a->ncpus, cb, b->ncpus, "removed", buf, len, &n);
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if (nums[i].x == nums[i].y)
            continue;
        snprintf(item, sizeof(item), "%s %g -> %g", nums[i].name, nums[i].x, nums[i].y);
        add_name(buf, len, &n, item);
    }
    if (str_differs(a->alert_webhook, b->alert_webhook))
        add_name(buf, len, &n, "[alert] webhook");
    if (str_differs(a->alert_exec, b->alert_exec))
        add_name(buf, len, &n, "[alert] exec");
    if (str_differs(a->web_users, b->web_users))
        add_name(buf, len, &n, "[web] users");
    free(la);
    free(lb);
    free(ca);
    free(cb);
    return n;
}

#define SWAP(T, x, y)                                                                              \
    do {                                                                                           \
        T swap_tmp_ = (x);                                                                         \
        (x) = (y);                                                                                 \
        (y) = swap_tmp_;                                                                           \
    } while (0)

/* The [incident] thresholds that apply live (scan_hosts does not). */
static void take_incident(cw_config_t *cfg, const cw_config_t *next)
{
    cfg->inc_window_s = next->inc_window_s;
    cfg->inc_min_drops = next->inc_min_drops;
    cfg->inc_link_pct = next->inc_link_pct;
    cfg->inc_cpu_pct = next->inc_cpu_pct;
    cfg->inc_spike_factor = next->inc_spike_factor;
    cfg->inc_baseline_s = next->inc_baseline_s;
    cfg->inc_min_traffic_bps = next->inc_min_traffic_bps;
    cfg->inc_resolve_windows = next->inc_resolve_windows;
    cfg->inc_congestion_steps = next->inc_congestion_steps;
    cfg->inc_mos = next->inc_mos;
    cfg->inc_min_degraded = next->inc_min_degraded;
}

int reload_apply(const reload_parts_t *p, cw_config_t *next, char *err, size_t errlen)
{
    cw_config_t *cfg = p->cfg;
    collectors_t *col, *old_col;
    alert_t *alert = NULL, *old_alert;
    char why[1024];

    /* Everything that can fail first, so that a failure changes nothing. */
    if (!(col = collectors_new(next, p->metrics, true, why, sizeof(why)))) {
        snprintf(err, errlen, "%s", why);
        return -EINVAL;
    }
    if (alert_new(next, &alert, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "[alert]: %s", why);
        collectors_free(col);
        return -EINVAL;
    }
    if (p->web && web_set_users(p->web, next->web_users, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "[web] users: %s", why);
        alert_free(alert);
        collectors_free(col);
        return -EINVAL;
    }

    /* The targets: the old collectors stop before their settings go. */
    old_col = *p->col;
    if (p->ws)
        websources_set_collectors(p->ws, col);
    collectors_free(old_col);
    *p->col = col;
    SWAP(cw_link_cfg_t *, cfg->links, next->links);
    SWAP(size_t, cfg->nlinks, next->nlinks);
    SWAP(cw_cpu_cfg_t *, cfg->cpus, next->cpus);
    SWAP(size_t, cfg->ncpus, next->ncpus);
    collectors_start(col);

    /* The channels: what the old ones still hold goes out first. */
    old_alert = *p->alert;
    engine_set_alert(p->e, alert);
    *p->alert = alert;
    if (old_alert && !alert_flush(old_alert, 2000))
        cw_log(CW_LOG_WARN, "reload: some alerts of the previous channels were not delivered");
    alert_free(old_alert);
    cfg->alert_syslog = next->alert_syslog;
    SWAP(char *, cfg->alert_webhook, next->alert_webhook);
    SWAP(char *, cfg->alert_exec, next->alert_exec);
    cfg->alert_rate_limit = next->alert_rate_limit;

    SWAP(char *, cfg->web_users, next->web_users);

    take_incident(cfg, next);
    engine_reconfigure(p->e);
    return 0;
}
