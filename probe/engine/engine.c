#include "autoconf.h"

#include "engine/engine.h"

#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incident/alert.h"
#include "calldb/calldb.h"
#include "sip/calls.h"
#include "incident/correlate.h"
#include "traffic/groups.h"
#include "media/media.h"
#include "sip/sip.h"
#include "sip/siptcp.h"
#include "common/status.h"
#include "traffic/traffic.h"

/* Housekeeping (timeouts) runs every second of packet time; metrics every
 * step. */
#define HOUSEKEEP_NS CW_NS_PER_SEC
/* A jump in packet time longer than this many steps (a gap between files)
 * is not filled step by step. */
#define MAX_CATCHUP_STEPS 10000

struct engine {
    const cw_config_t *cfg;
    metrics_t *metrics;
    decoder_t *dec;
    cw_ns_t step_ns;

    cw_ns_t now;            /* the clock: the latest packet (or idle) time */
    cw_ns_t next_housekeep; /* 0 until the first packet */
    cw_ns_t next_step;

    uint64_t packets, bytes, steps;
    uint64_t step_packets, step_bytes; /* in the current step */
    uint64_t drops_reported;           /* kernel drops already put in a step */
    cw_ns_t first_ts, last_ts;
    capture_stats_t kernel;

    char **sources;
    size_t nsources;
    char **warnings;
    size_t nwarnings;
    bool finished;

    /* SIP */
    sip_msg_t *sipmsg; /* scratch, reused for every message */
    siptcp_t *siptcp;
    calls_t *calls;
    uint64_t sip_messages, sip_parse_errors;
    calls_counters_t calls_last; /* counters at the previous step */
    calldb_t *db;                /* where ended calls are recorded, or NULL */

    traffic_t *traffic;
    groups_t *groups; /* NULL without [group] sections */
    media_t *media;
    correlate_t *corr;
    bool mirror;          /* the source is a mirror socket */
    alert_t *alert;       /* not owned */
    status_t *status;     /* where a snapshot is published every second, or NULL */
    cw_ns_t last_publish; /* wall time */
    bool live;
};

static void sip_message(engine_t *e, const decode_pkt_t *p, const uint8_t *buf, size_t len, bool ws)
{
    e->sip_messages++;
    if (sip_parse(buf, len, e->sipmsg) != 0) {
        e->sip_parse_errors++;
        return;
    }
    e->sipmsg->over_ws = ws;
    calls_sip(e->calls, e->sipmsg, p);
}

/* The report's STREAM objects of one call. */
static json_t *call_streams(engine_t *e, const call_t *c)
{
    return media_streams_json(e->media, call_id(c));
}

static void on_sdp(void *ud, call_t *c, const sdp_info_t *sdp, bool from_caller, cw_ns_t t)
{
    engine_t *e = ud;

    media_expect(e->media, call_id(c), sdp, from_caller, t);
}

static void on_media_activity(void *ud, const char *id, bool from_caller, cw_ns_t last)
{
    engine_t *e = ud;
    call_t *c = calls_find(e->calls, id);

    if (c)
        calls_media(e->calls, c, from_caller, last);
}

static void on_media_quality(void *ud, const char *id, const cw_addr_t *src, const cw_addr_t *dst,
                             cw_ns_t t, double mos, double loss_pct, double jitter_ms)
{
    engine_t *e = ud;

    correlate_stream_quality(e->corr, t, id, mos, loss_pct);
    if (e->groups)
        groups_stream(e->groups, groups_match(e->groups, src) | groups_match(e->groups, dst), mos,
                      loss_pct, jitter_ms);
}

static uint32_t call_groups(engine_t *e, const call_t *c)
{
    return groups_match(e->groups, call_caller_addr(c)) |
           groups_match(e->groups, call_callee_addr(c));
}

static void on_call_start(void *ud, call_t *c)
{
    engine_t *e = ud;

    if (e->groups)
        groups_call_attempt(e->groups, call_groups(e, c));
}

static void on_call_answer(void *ud, call_t *c)
{
    engine_t *e = ud;

    if (e->groups)
        groups_call_answered(e->groups, call_groups(e, c));
}

/* The worst MOS and the mean loss of a call's streams (NAN if none). */
static void call_quality(engine_t *e, const call_t *c, double *mos, double *loss)
{
    json_t *streams = media_streams_json(e->media, call_id(c)), *s;
    size_t i, n = 0;

    *mos = NAN;
    *loss = 0;
    json_array_foreach(streams, i, s)
    {
        json_t *m = json_object_get(s, "mos");

        if (!json_is_number(m))
            continue;
        if (isnan(*mos) || json_number_value(m) < *mos)
            *mos = json_number_value(m);
        *loss += json_number_value(json_object_get(s, "loss_pct"));
        n++;
    }
    *loss = n ? *loss / (double)n : NAN;
    json_decref(streams);
}

static json_t *call_record(engine_t *e, const call_t *c, bool with_messages)
{
    json_t *o = call_json(c, with_messages);

    json_object_set_new(o, "streams", call_streams(e, c));
    if (e->cfg->site)
        json_object_set_new(o, "site", json_string(e->cfg->site));
    return o;
}

static void on_call_end(void *ud, call_t *c)
{
    engine_t *e = ud;

    /* A partial call counts in no group: neither its attempt nor its
     * answer was seen. */
    if (e->groups && !call_partial(c))
        groups_call_ended(e->groups, call_groups(e, c),
                          call_end_reports(c) == 1 && call_answered(c) != 0,
                          call_outcome(c) == CALL_FAILED, call_outcome(c) == CALL_DROPPED);
    media_call_ended(e->media, call_id(c));
    if (call_outcome(c) == CALL_DROPPED) {
        double mos, loss;

        call_quality(e, c, &mos, &loss);
        correlate_call_dropped(e->corr, call_end(c), call_id(c), mos, loss);
    }
    if (e->db)
        calldb_put(e->db, call_record(e, c, true));
}

static void on_call_update(void *ud, call_t *c)
{
    engine_t *e = ud;

    if (e->db)
        calldb_put(e->db, call_record(e, c, true));
}

static void on_incident(void *ud, const json_t *incident, bool resolved)
{
    engine_t *e = ud;

    if (e->db)
        calldb_put_incident(e->db, json_deep_copy(incident));
    alert_incident(e->alert, incident, resolved);
    cw_log(CW_LOG_INFO, "incident %lld %s: %s",
           (long long)json_integer_value(json_object_get(incident, "id")),
           resolved ? "resolved" : "opened",
           json_string_value(json_object_get(incident, "summary")));
}

static void on_tcp_message(void *ud, const decode_pkt_t *p, const uint8_t *buf, size_t len, bool ws)
{
    sip_message(ud, p, buf, len, ws);
}

static media_t *new_media(engine_t *e, bool keep)
{
    media_hooks_t mh = { .on_activity = on_media_activity,
                         .on_quality = on_media_quality,
                         .ud = e };

    return media_new(0, 0, keep, &mh);
}

static calls_t *new_calls(engine_t *e, bool keep)
{
    calls_cfg_t cc = {
        .max_calls = (size_t)e->cfg->max_calls,
        .idle_timeout = CW_SEC(e->cfg->idle_timeout_s),
        .rtp_timeout = CW_SEC(e->cfg->rtp_timeout_s),
        .keep_ended = keep,
    };
    calls_hooks_t hooks = { .on_start = on_call_start,
                            .on_answer = on_call_answer,
                            .on_sdp = on_sdp,
                            .on_end = on_call_end,
                            .on_update = on_call_update,
                            .ud = e };

    return calls_new(&cc, &hooks);
}

static correlate_cfg_t correlate_settings(const cw_config_t *cfg)
{
    return (correlate_cfg_t){
        .window = CW_SEC(cfg->inc_window_s),
        .min_drops = cfg->inc_min_drops,
        .link_pct = cfg->inc_link_pct,
        .cpu_pct = cfg->inc_cpu_pct,
        .spike_factor = cfg->inc_spike_factor,
        .baseline = CW_SEC(cfg->inc_baseline_s),
        .min_traffic_bps = (double)cfg->inc_min_traffic_bps,
        .resolve_windows = cfg->inc_resolve_windows,
        .congestion_steps = cfg->inc_congestion_steps,
        .mos_collapse = cfg->inc_mos,
        .min_degraded = cfg->inc_min_degraded,
    };
}

static correlate_t *new_correlate(engine_t *e)
{
    correlate_cfg_t cc = correlate_settings(e->cfg);

    return correlate_new(&cc, e->cfg, e->metrics, e->traffic, on_incident, e);
}

void engine_reconfigure(engine_t *e)
{
    correlate_cfg_t cc = correlate_settings(e->cfg);

    correlate_reconfigure(e->corr, &cc, e->cfg);
}

/* The decoder, reading the UDP encapsulations on the configured ports. */
static decoder_t *new_decoder(const cw_config_t *cfg)
{
    static const enum decode_encap kinds[CW_ENCAP_COUNT] = {
        [CW_ENCAP_VXLAN] = DE_VXLAN,
        [CW_ENCAP_GENEVE] = DE_GENEVE,
        [CW_ENCAP_GTPU] = DE_GTPU,
        [CW_ENCAP_TZSP] = DE_TZSP,
    };
    decoder_t *d = decoder_new(0, 0);
    uint8_t *map = cw_calloc(65536 / 8, 1);

    for (int k = 0; k < CW_ENCAP_COUNT; k++) {
        config_encap_bitmap(cfg, k, map);
        decoder_set_udp_ports(d, kinds[k], map);
    }
    free(map);
    return d;
}

engine_t *engine_new(const cw_config_t *cfg, metrics_t *m)
{
    engine_t *e = cw_calloc(1, sizeof(*e));

    e->cfg = cfg;
    e->metrics = m;
    e->dec = new_decoder(cfg);
    e->step_ns = CW_SEC(cfg->step_s > 0 ? cfg->step_s : CW_DEF_STEP_S);
    sip_init();
    e->traffic = traffic_new(&(traffic_cfg_t){ .scan_hosts = cfg->scan_hosts });
    e->groups = groups_new(cfg);
    e->media = new_media(e, true);
    e->corr = new_correlate(e);
    e->sipmsg = cw_calloc(1, sizeof(*e->sipmsg));
    e->siptcp = siptcp_new(0, on_tcp_message, e);
    e->calls = new_calls(e, true);
    return e;
}

void engine_set_status(engine_t *e, status_t *s)
{
    e->status = s;
}

void engine_set_live(engine_t *e, bool keep)
{
    e->live = true;
    calls_free(e->calls);
    e->calls = new_calls(e, keep);
    media_free(e->media);
    e->media = new_media(e, keep);
}

void engine_set_calldb(engine_t *e, calldb_t *db)
{
    e->db = db;
    if (db)
        correlate_set_next_id(e->corr, calldb_max_incident_id(db) + 1);
}

void engine_set_alert(engine_t *e, alert_t *a)
{
    e->alert = a;
}

void engine_free(engine_t *e)
{
    if (!e)
        return;
    decoder_free(e->dec);
    siptcp_free(e->siptcp);
    calls_free(e->calls);
    media_free(e->media);
    correlate_free(e->corr);
    groups_free(e->groups);
    traffic_free(e->traffic);
    free(e->sipmsg);
    for (size_t i = 0; i < e->nsources; i++)
        free(e->sources[i]);
    free(e->sources);
    for (size_t i = 0; i < e->nwarnings; i++)
        free(e->warnings[i]);
    free(e->warnings);
    free(e);
}

void engine_add_source(engine_t *e, const char *name)
{
    e->sources = cw_realloc(e->sources, (e->nsources + 1) * sizeof(*e->sources));
    e->sources[e->nsources++] = cw_strdup(name);
}

void engine_add_warning(engine_t *e, const char *msg)
{
    e->warnings = cw_realloc(e->warnings, (e->nwarnings + 1) * sizeof(*e->warnings));
    e->warnings[e->nwarnings++] = cw_strdup(msg);
}

static void publish(engine_t *e);

static void housekeep(engine_t *e, cw_ns_t now)
{
    decoder_expire(e->dec, now);
    /* Media first: the calls judge silence on what it reports. */
    media_tick(e->media, now);
    calls_tick(e->calls, now);
    siptcp_expire(e->siptcp, now, CW_SEC(300));
    traffic_tick(e->traffic, now);
    publish(e);
}

static void put(engine_t *e, const char *name, cw_ns_t t, double v)
{
    if (e->metrics)
        metrics_put(e->metrics, name, t, v);
}

/* One step [start, start + step) is over.  Its metrics carry the step's end
 * time, as an RRD row does: the row at T describes (T - step, T]. */
static void put_media_step(engine_t *e, cw_ns_t end)
{
    media_step_summary_t ms;

    media_step(e->media, end, e->step_ns, &ms);
    put(e, "rtp.streams", end, (double)ms.streams);
    put(e, "rtp.loss_pct", end, ms.loss_pct);
    put(e, "rtp.jitter_ms", end, ms.jitter_ms);
    put(e, "rtp.mos_avg", end, ms.mos_avg);
    put(e, "rtp.mos_min", end, ms.mos_min);
}

static void put_traffic_classes(engine_t *e, cw_ns_t end, double secs)
{
    static const char *const cls[TRAFFIC_CLASSES][2] = {
        [TRAFFIC_OTHER] = { "traffic.other.bps", "traffic.other.pps" },
        [TRAFFIC_SIP] = { "traffic.sip.bps", "traffic.sip.pps" },
        [TRAFFIC_RTP] = { "traffic.rtp.bps", "traffic.rtp.pps" },
    };
    traffic_step_t ts;

    traffic_take_step(e->traffic, &ts);
    for (int c = 0; c < TRAFFIC_CLASSES; c++) {
        put(e, cls[c][0], end, (double)ts.bytes[c] * 8.0 / secs);
        put(e, cls[c][1], end, (double)ts.packets[c] / secs);
    }
}

/* The calls' counters as per-step figures (active is a level). */
static void put_calls_step(engine_t *e, cw_ns_t end)
{
    calls_counters_t c;

    calls_get_counters(e->calls, &c);
    put(e, "calls.active", end, (double)c.active);
    put(e, "calls.attempts", end, (double)(c.attempts - e->calls_last.attempts));
    put(e, "calls.answered", end, (double)(c.answered - e->calls_last.answered));
    put(e, "calls.failed", end, (double)(c.failed - e->calls_last.failed));
    put(e, "calls.dropped", end, (double)(c.dropped - e->calls_last.dropped));
    e->calls_last = c;
}

static void step_tick(engine_t *e, cw_ns_t start)
{
    double secs = (double)e->step_ns / 1e9;
    uint64_t drops = e->kernel.dropped + e->kernel.ifdropped;
    cw_ns_t end = start + e->step_ns;

    put_media_step(e, end);
    correlate_step(e->corr, end, (double)e->step_bytes * 8.0 / secs,
                   (double)e->step_packets / secs);
    groups_step(e->groups, e->metrics, end, secs);
    put(e, "traffic.bps", end, (double)e->step_bytes * 8.0 / secs);
    put(e, "traffic.pps", end, (double)e->step_packets / secs);
    put(e, "capture.drops", end, (double)(drops - e->drops_reported));
    put_traffic_classes(e, end, secs);
    put_calls_step(e, end);
    e->drops_reported = drops;
    e->step_bytes = e->step_packets = 0;
    e->steps++;
}

/* Moves the clock to t and runs every timer that fell due on the way. */
static void advance(engine_t *e, cw_ns_t t)
{
    if (e->next_step == 0) {
        /* Steps align to multiples of the step since the epoch, as RRD
         * files do, so series from several probes line up. */
        e->next_step = (t / e->step_ns + 1) * e->step_ns;
        e->next_housekeep = t + HOUSEKEEP_NS;
        e->now = t;
        return;
    }
    if (t <= e->now)
        return; /* packet time never goes back */
    e->now = t;
    if (t >= e->next_housekeep) {
        housekeep(e, t);
        e->next_housekeep = t + HOUSEKEEP_NS;
    }
    if (t >= e->next_step && (t - e->next_step) / e->step_ns > MAX_CATCHUP_STEPS) {
        /* A long gap: close the current step and resume at t. */
        step_tick(e, e->next_step - e->step_ns);
        e->next_step = (t / e->step_ns) * e->step_ns;
    }
    while (t >= e->next_step) {
        step_tick(e, e->next_step - e->step_ns);
        e->next_step += e->step_ns;
    }
}

static enum traffic_class classify(engine_t *e, const decode_pkt_t *dp);

void engine_packet(engine_t *e, int dlt, const capture_pkt_t *pkt)
{
    enum traffic_class cls;
    decode_pkt_t dp;
    int rc;

    e->packets++;
    e->bytes += pkt->wirelen;
    if (e->packets == 1 || pkt->ts < e->first_ts)
        e->first_ts = pkt->ts;
    if (pkt->ts > e->last_ts)
        e->last_ts = pkt->ts;
    advance(e, pkt->ts);
    /* Counted in the step the packet falls in, after any tick it closed;
     * a packet out of a tunnel by what the tunnel carried. */
    e->step_packets++;
    rc = decode_frame(e->dec, dlt, pkt->ts, pkt->data, pkt->caplen, pkt->wirelen, &dp);
    e->step_bytes += dp.wirelen;
    if (rc != DECODE_OK)
        return;
    cls = classify(e, &dp);
    traffic_packet(e->traffic, &dp, cls);
    if (e->groups)
        groups_packet(e->groups,
                      groups_match(e->groups, &dp.src) | groups_match(e->groups, &dp.dst),
                      dp.wirelen, cls);
}

/* Hands the packet to SIP or media and says which it was. */
static enum traffic_class classify(engine_t *e, const decode_pkt_t *dp)
{
    if (dp->proto == IPPROTO_UDP) {
        if ((config_sip_port(e->cfg, dp->sport) || config_sip_port(e->cfg, dp->dport)) &&
            !dp->truncated && sip_looks_like(dp->payload, dp->payload_len)) {
            sip_message(e, dp, dp->payload, dp->payload_len, false);
            return TRAFFIC_SIP;
        }
    } else if (dp->proto == IPPROTO_TCP) {
        bool port = e->cfg->sip_ports &&
                    (config_sip_port(e->cfg, dp->sport) || config_sip_port(e->cfg, dp->dport));

        if ((port || !e->cfg->sip_ports) && siptcp_segment(e->siptcp, dp, port))
            return TRAFFIC_SIP;
        return TRAFFIC_OTHER;
    }
    if (dp->proto == IPPROTO_UDP && !dp->truncated && media_packet(e->media, dp))
        return TRAFFIC_RTP;
    return TRAFFIC_OTHER;
}

void engine_idle(engine_t *e, cw_ns_t now)
{
    if (e->next_step && now > e->now)
        advance(e, now);
}

void engine_kernel_stats(engine_t *e, const capture_stats_t *st)
{
    e->kernel = *st;
}

void engine_set_mirror(engine_t *e)
{
    e->mirror = true;
}

static json_t *encapsulation_json(const engine_t *e)
{
    decode_stats_t ds;
    json_t *o = json_object();

    decoder_get_stats(e->dec, &ds);
    for (int k = 0; k < DE_COUNT; k++)
        if (ds.encap[k])
            json_object_set_new(o, decode_encap_name(k), json_integer((json_int_t)ds.encap[k]));
    return o;
}

static json_t *mirror_json(const engine_t *e)
{
    if (!e->mirror)
        return NULL;
    return json_pack("{s:I, s:I, s:I, s:I}", "datagrams", (json_int_t)e->kernel.received, "dropped",
                     (json_int_t)e->kernel.dropped, "truncated", (json_int_t)e->kernel.truncated,
                     "errors", (json_int_t)e->kernel.errors);
}

void engine_finish(engine_t *e)
{
    if (e->finished)
        return;
    e->finished = true;
    if (e->next_step) {
        housekeep(e, e->now);
        media_finish(e->media);
        calls_finish(e->calls, e->now);
        correlate_finish(e->corr, e->now);
        if (e->db) {
            json_t *open = correlate_open_json(e->corr);
            size_t i;
            json_t *inc;

            /* Open incidents are stored as they stand at the end. */
            json_array_foreach(open, i, inc) calldb_put_incident(e->db, json_incref(inc));
            json_decref(open);
        }
        publish(e);
        if (e->db) {
            /* Calls still up at the end are recorded as active. */
            call_t **list;
            size_t n = calls_list(e->calls, &list);

            for (size_t i = 0; i < n; i++)
                if (!call_ended(list[i]))
                    calldb_put(e->db, call_record(e, list[i], true));
        }
        /* The last, partial step. */
        step_tick(e, e->next_step - e->step_ns);
    }
}

const char *engine_site(const engine_t *e)
{
    return e->cfg->site;
}

cw_ns_t engine_now(const engine_t *e)
{
    return e->now;
}

void engine_capture_info(const engine_t *e, engine_capture_info_t *out)
{
    memset(out, 0, sizeof(*out));
    out->packets = e->packets;
    out->bytes = e->bytes;
    out->start = e->first_ts;
    out->end = e->last_ts;
    out->kernel_received = e->kernel.received;
    out->kernel_dropped = e->kernel.dropped;
    out->kernel_ifdropped = e->kernel.ifdropped;
    out->steps = e->steps;
    out->nfiles = e->nsources;
    out->files = (const char *const *)e->sources;
    out->nwarnings = e->nwarnings;
    out->warnings = (const char *const *)e->warnings;
}

void engine_decode_stats(const engine_t *e, decode_stats_t *out)
{
    decoder_get_stats(e->dec, out);
}

calls_t *engine_calls(const engine_t *e)
{
    return e->calls;
}

json_t *engine_streams(engine_t *e)
{
    return media_streams_json(e->media, NULL);
}

int engine_streams_foreach(engine_t *e, int (*fn)(void *ud, json_t *stream), void *ud)
{
    return media_streams_foreach(e->media, fn, ud);
}

json_t *engine_incidents(engine_t *e)
{
    return correlate_incidents_json(e->corr);
}

json_t *engine_top_talkers(engine_t *e, cw_ns_t from, cw_ns_t to, size_t max)
{
    return traffic_top_json(e->traffic, from, to, max);
}

json_t *engine_call_json(engine_t *e, const call_t *c, bool with_messages)
{
    return call_record(e, c, with_messages);
}

void engine_sip_stats(const engine_t *e, engine_sip_stats_t *out)
{
    siptcp_stats_t ts;

    siptcp_get_stats(e->siptcp, &ts);
    out->messages = e->sip_messages;
    out->parse_errors = e->sip_parse_errors;
    out->tcp_messages = ts.messages;
    out->tcp_gaps = ts.gaps;
    out->tcp_overflows = ts.overflows;
    out->ws_malformed = ts.ws_malformed;
    out->ws_too_long = ts.ws_too_long;
}

void engine_sip_malformed(const engine_sip_stats_t *ss, json_t *mal)
{
    if (ss->parse_errors)
        json_object_set_new(mal, "sip_unparseable", json_integer((json_int_t)ss->parse_errors));
    if (ss->ws_malformed)
        json_object_set_new(mal, "websocket_malformed", json_integer((json_int_t)ss->ws_malformed));
    if (ss->ws_too_long)
        json_object_set_new(mal, "websocket_too_long", json_integer((json_int_t)ss->ws_too_long));
}

static json_t *sources_json(const engine_capture_info_t *ci)
{
    json_t *files = json_array();

    for (size_t i = 0; i < ci->nfiles; i++)
        json_array_append_new(files, json_string(ci->files[i]));
    return files;
}

void engine_capture_extras(const engine_t *e, json_t *cap)
{
    json_t *encap = encapsulation_json(e), *mirror = mirror_json(e);

    if (json_object_size(encap))
        json_object_set_new(cap, "encapsulation", encap);
    else
        json_decref(encap);
    if (mirror)
        json_object_set_new(cap, "mirror", mirror);
}

/* The MOS of the streams measured, as Prometheus buckets its histograms. */
static json_t *mos_histogram_json(engine_t *e)
{
    static const double bounds[] = { 1.0, 2.0, 2.5, 3.0, 3.5, 3.8, 4.0, 4.2, 4.4 };
    const size_t nb = sizeof(bounds) / sizeof(bounds[0]);
    uint64_t counts[sizeof(bounds) / sizeof(bounds[0]) + 1], count;
    double sum;
    json_t *jb = json_array(), *jc = json_array();

    media_mos_histogram(e->media, bounds, nb, counts, &sum, &count);
    for (size_t i = 0; i < nb; i++)
        json_array_append_new(jb, json_real(bounds[i]));
    for (size_t i = 0; i <= nb; i++)
        json_array_append_new(jc, json_integer((json_int_t)counts[i]));
    return json_pack("{s:o, s:o, s:f, s:I}", "bounds", jb, "counts", jc, "sum", sum, "count",
                     (json_int_t)count);
}

json_t *engine_status_json(engine_t *e)
{
    engine_capture_info_t ci;
    decode_stats_t ds;
    engine_sip_stats_t ss;
    calls_counters_t cc;
    json_t *o = json_object(), *cap, *mal = json_object(), *calls, *active = json_array();
    call_t **list;
    size_t n, shown = 0;

    engine_capture_info(e, &ci);
    decoder_get_stats(e->dec, &ds);
    engine_sip_stats(e, &ss);
    calls_get_counters(e->calls, &cc);
    for (int r = 0; r < DR_COUNT; r++)
        if (ds.malformed[r])
            json_object_set_new(mal, decode_reason_name(r),
                                json_integer((json_int_t)ds.malformed[r]));
    engine_sip_malformed(&ss, mal);
    cap = json_pack("{s:s, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:o, s:I, s:b}", "mode",
                    e->live ? "live" : "offline", "packets", (json_int_t)ci.packets, "bytes",
                    (json_int_t)ci.bytes, "start", ci.packets ? cw_ns_to_sec(ci.start) : 0.0, "end",
                    ci.packets ? cw_ns_to_sec(ci.end) : 0.0, "kernel_received",
                    (json_int_t)ci.kernel_received, "kernel_dropped", (json_int_t)ci.kernel_dropped,
                    "kernel_ifdropped", (json_int_t)ci.kernel_ifdropped, "malformed", mal,
                    "sip_messages", (json_int_t)ss.messages, "finished", e->finished);
    json_object_set_new(cap, "sources", sources_json(&ci));
    engine_capture_extras(e, cap);
    calls = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "active",
                      (json_int_t)cc.active, "in_progress", (json_int_t)cc.in_progress, "attempts",
                      (json_int_t)cc.attempts, "answered", (json_int_t)cc.answered, "failed",
                      (json_int_t)cc.failed, "cancelled", (json_int_t)cc.cancelled, "unanswered",
                      (json_int_t)cc.unanswered, "dropped", (json_int_t)cc.dropped, "evicted",
                      (json_int_t)cc.evicted, "orphans", (json_int_t)cc.orphans, "partial",
                      (json_int_t)cc.partial, "partial_active", (json_int_t)cc.partial_active);
    /* Calls still up, which the database has not seen yet (bounded). */
    n = calls_list(e->calls, &list);
    for (size_t i = 0; i < n && shown < 1000; i++) {
        if (call_ended(list[i]))
            continue;
        json_array_append_new(active, call_record(e, list[i], false));
        shown++;
    }
    if (e->cfg->site)
        json_object_set_new(o, "site", json_string(e->cfg->site));
    json_object_set_new(o, "now", json_real(cw_ns_to_sec(e->now)));
    json_object_set_new(o, "step", json_integer(e->step_ns / CW_NS_PER_SEC));
    json_object_set_new(o, "capture", cap);
    json_object_set_new(o, "calls", calls);
    json_object_set_new(o, "active_calls", active);
    json_object_set_new(o, "top_talkers",
                        traffic_top_json(e->traffic, e->now - CW_SEC(60), e->now, 10));
    json_object_set_new(o, "open_incidents", correlate_open_json(e->corr));
    json_object_set_new(o, "mos_histogram", mos_histogram_json(e));
    json_object_set_new(o, "incidents_open",
                        json_integer((json_int_t)correlate_open_count(e->corr)));
    return o;
}

static void publish(engine_t *e)
{
    cw_ns_t wall;

    if (!e->status)
        return;
    /* At most once a second of wall time: an offline read runs through
     * hours of packet time a second, and the snapshot is not free. */
    wall = cw_wall_now();
    if (!e->finished && wall - e->last_publish < CW_NS_PER_SEC)
        return;
    e->last_publish = wall;
    status_publish(e->status, engine_status_json(e));
}
