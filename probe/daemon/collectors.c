#include "autoconf.h"

#include "daemon/collectors.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netmon/nmsrrd.h"
#include "netmon/snmp.h"
#include "netmon/snmpconf.h"

struct collectors {
    snmp_poller_t *snmp; /* live only */
    nmsrrd_t *nms;
};

collectors_t *collectors_new(const cw_config_t *cfg, metrics_t *m, bool live, char *err,
                             size_t errlen)
{
    collectors_t *col = cw_calloc(1, sizeof(*col));

    if (live)
        col->snmp = snmp_poller_new(cfg, m, err, errlen);
    if ((live && !col->snmp) || (!live && snmpconf_check(cfg, err, errlen) != 0) ||
        !(col->nms = nmsrrd_new(cfg, m, err, errlen))) {
        collectors_free(col);
        return NULL;
    }
    return col;
}

void collectors_free(collectors_t *col)
{
    if (!col)
        return;
    snmp_poller_free(col->snmp);
    nmsrrd_free(col->nms);
    free(col);
}

void collectors_start(collectors_t *col)
{
    int rc;

    if (snmp_poller_count(col->snmp) && (rc = snmp_poller_start(col->snmp)) != 0)
        cw_log(CW_LOG_ERR, "cannot start the SNMP poller: %s", strerror(-rc));
    if (nmsrrd_count(col->nms) && (rc = nmsrrd_start(col->nms, 5000)) != 0)
        cw_log(CW_LOG_ERR, "cannot start reading NMS RRD files: %s", strerror(-rc));
}

void collectors_load_offline(collectors_t *col, readloop_t *rl, engine_t *e)
{
    cw_ns_t from, to;
    char err[1024], msg[1100];

    /* Reading the files' timestamps costs a pass: only when there are NMS
     * series to load. */
    if (nmsrrd_count(col->nms) == 0 || !readloop_span(rl, &from, &to))
        return;
    if (nmsrrd_load_range(col->nms, from, to, err, sizeof(err)) != 0) {
        snprintf(msg, sizeof(msg), "NMS series: %s", err);
        cw_log(CW_LOG_WARN, "%s", msg);
        engine_add_warning(e, msg);
    }
}

static json_t *num_or_null(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

static json_t *snmp_target_json(const snmp_target_status_t *st)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "name", st->name, "kind",
                          st->kind, "source", "snmp", "agent", st->agent, "state", st->state,
                          "error", st->error, "polls", (json_int_t)st->polls, "failures",
                          (json_int_t)st->failures, "restarts", (json_int_t)st->restarts);

    json_object_set_new(o, "note", json_string(st->note));
    json_object_set_new(o, "last_ok",
                        st->last_ok ? json_real(cw_ns_to_sec(st->last_ok)) : json_null());
    if (strcmp(st->kind, "link") == 0) {
        json_object_set_new(o, "in_bps", num_or_null(st->in_bps));
        json_object_set_new(o, "out_bps", num_or_null(st->out_bps));
        json_object_set_new(o, "util_pct", num_or_null(st->util_pct));
        json_object_set_new(o, "speed_bps", num_or_null(st->speed_bps));
    } else {
        json_object_set_new(o, "cpu_pct", num_or_null(st->cpu_pct));
    }
    return o;
}

static json_t *nms_series_json(const nmsrrd_status_t *st)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:I}", "name", st->name, "kind",
                     st->kind, "source", "rrd", "agent", st->file, "state", st->state, "error",
                     st->error, "note", st->note, "last_ok",
                     st->last_row ? json_real(cw_ns_to_sec(st->last_row)) : json_null(), "rows",
                     (json_int_t)st->rows);
}

json_t *collectors_targets_json(const collectors_t *col)
{
    json_t *arr = json_array();
    size_t n;

    if (col->snmp && (n = snmp_poller_count(col->snmp))) {
        snmp_target_status_t *st = cw_calloc(n, sizeof(*st));

        n = snmp_poller_status(col->snmp, st, n);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, snmp_target_json(&st[i]));
        free(st);
    }
    if (col->nms && (n = nmsrrd_count(col->nms))) {
        nmsrrd_status_t *st = cw_calloc(n, sizeof(*st));

        n = nmsrrd_status(col->nms, st, n);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, nms_series_json(&st[i]));
        free(st);
    }
    return arr;
}
