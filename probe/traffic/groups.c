#include "autoconf.h"

#include "traffic/groups.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct group {
    const cw_group_cfg_t *cfg;
    uint64_t bytes[TRAFFIC_CLASSES], packets[TRAFFIC_CLASSES];
    uint64_t attempts, answered, failed, dropped;
    int64_t active;
    unsigned streams;
    double mos_sum, mos_min, loss_sum, jitter_sum;
};

struct groups {
    struct group g[GROUPS_MAX];
    size_t n;
};

groups_t *groups_new(const cw_config_t *cfg)
{
    groups_t *g;

    if (!cfg->ngroups)
        return NULL;
    g = cw_calloc(1, sizeof(*g));
    for (size_t i = 0; i < cfg->ngroups && i < GROUPS_MAX; i++) {
        g->g[i].cfg = &cfg->groups[i];
        g->g[i].mos_min = NAN;
    }
    g->n = cfg->ngroups < GROUPS_MAX ? cfg->ngroups : GROUPS_MAX;
    if (cfg->ngroups > GROUPS_MAX)
        cw_log(CW_LOG_WARN, "only the first %d [group] sections get series", GROUPS_MAX);
    return g;
}

void groups_free(groups_t *g)
{
    free(g);
}

uint32_t groups_match(const groups_t *g, const cw_addr_t *a)
{
    uint32_t mask = 0;

    if (!g)
        return 0;
    for (size_t i = 0; i < g->n; i++)
        for (size_t k = 0; k < g->g[i].cfg->nsubnets; k++)
            if (config_subnet_contains(&g->g[i].cfg->subnets[k], a)) {
                mask |= 1u << i;
                break;
            }
    return mask;
}

#define EACH(g, mask, i)                                                                           \
    for (size_t i = 0; (g) && i < (g)->n; i++)                                                     \
        if ((mask) & (1u << i))

void groups_packet(groups_t *g, uint32_t mask, uint32_t wirelen, enum traffic_class cls)
{
    EACH(g, mask, i)
    {
        g->g[i].bytes[cls] += wirelen;
        g->g[i].packets[cls]++;
    }
}

void groups_call_attempt(groups_t *g, uint32_t mask)
{
    EACH(g, mask, i) g->g[i].attempts++;
}

void groups_call_answered(groups_t *g, uint32_t mask)
{
    EACH(g, mask, i)
    {
        g->g[i].answered++;
        g->g[i].active++;
    }
}

void groups_call_ended(groups_t *g, uint32_t mask, bool was_up, bool failed, bool dropped)
{
    EACH(g, mask, i)
    {
        if (was_up && g->g[i].active > 0)
            g->g[i].active--;
        if (failed)
            g->g[i].failed++;
        if (dropped)
            g->g[i].dropped++;
    }
}

void groups_stream(groups_t *g, uint32_t mask, double mos, double loss_pct, double jitter_ms)
{
    EACH(g, mask, i)
    {
        struct group *gr = &g->g[i];

        gr->streams++;
        gr->mos_sum += mos;
        gr->loss_sum += loss_pct;
        gr->jitter_sum += jitter_ms;
        if (isnan(gr->mos_min) || mos < gr->mos_min)
            gr->mos_min = mos;
    }
}

static void put(metrics_t *m, const char *group, const char *name, cw_ns_t t, double v)
{
    char metric[METRICS_NAME_MAX];

    snprintf(metric, sizeof(metric), "group.%s.%s", group, name);
    if (m)
        metrics_put(m, metric, t, v);
}

void groups_step(groups_t *g, metrics_t *m, cw_ns_t t, double secs)
{
    static const char *const cls[TRAFFIC_CLASSES][2] = {
        [TRAFFIC_OTHER] = { "traffic.other.bps", "traffic.other.pps" },
        [TRAFFIC_SIP] = { "traffic.sip.bps", "traffic.sip.pps" },
        [TRAFFIC_RTP] = { "traffic.rtp.bps", "traffic.rtp.pps" },
    };

    for (size_t i = 0; g && i < g->n; i++) {
        struct group *gr = &g->g[i];
        const char *name = gr->cfg->name;
        uint64_t bytes = 0, packets = 0;

        for (int c = 0; c < TRAFFIC_CLASSES; c++) {
            put(m, name, cls[c][0], t, (double)gr->bytes[c] * 8.0 / secs);
            put(m, name, cls[c][1], t, (double)gr->packets[c] / secs);
            bytes += gr->bytes[c];
            packets += gr->packets[c];
        }
        put(m, name, "traffic.bps", t, (double)bytes * 8.0 / secs);
        put(m, name, "traffic.pps", t, (double)packets / secs);
        put(m, name, "calls.active", t, (double)gr->active);
        put(m, name, "calls.attempts", t, (double)gr->attempts);
        put(m, name, "calls.answered", t, (double)gr->answered);
        put(m, name, "calls.failed", t, (double)gr->failed);
        put(m, name, "calls.dropped", t, (double)gr->dropped);
        put(m, name, "rtp.streams", t, (double)gr->streams);
        put(m, name, "rtp.loss_pct", t, gr->streams ? gr->loss_sum / gr->streams : NAN);
        put(m, name, "rtp.jitter_ms", t, gr->streams ? gr->jitter_sum / gr->streams : NAN);
        put(m, name, "rtp.mos_avg", t, gr->streams ? gr->mos_sum / gr->streams : NAN);
        put(m, name, "rtp.mos_min", t, gr->mos_min);
        memset(gr->bytes, 0, sizeof(gr->bytes));
        memset(gr->packets, 0, sizeof(gr->packets));
        gr->attempts = gr->answered = gr->failed = gr->dropped = 0;
        gr->streams = 0;
        gr->mos_sum = gr->loss_sum = gr->jitter_sum = 0;
        gr->mos_min = NAN;
    }
}
