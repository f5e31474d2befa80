/* api: the JSON endpoints (/api/...) and /graph. */
#include "autoconf.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calldb/calldb.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"
#include "common/util.h"
#include "web/webint.h"

#define DEFAULT_SPAN_S  3600
#define CALLS_LIMIT_DEF 1000 /* a plain /api/calls lists every call of most captures */
#define CALLS_LIMIT_MAX 100000
#define FILTER_TEXT_MAX 256
#define CALL_ID_MAX     1024
#define GRAPH_W_DEF     800
#define GRAPH_H_DEF     200

static const char time_help[] = "Unix seconds or ISO 8601 such as 2026-11-26T14:00:00Z";

void web_reply_json(web_reply_t *r, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(16)) : NULL;

    json_decref(body);
    free(r->body);
    r->body = NULL;
    r->static_body = NULL;
    r->ctype = "application/json; charset=utf-8";
    r->cache = NULL;
    r->etag[0] = '\0';
    if (!text) {
        static const char oops[] = "{\"error\":\"cannot build the response\"}";

        r->status = 500;
        r->body = cw_strdup(oops);
        r->len = sizeof(oops) - 1;
        return;
    }
    r->status = status;
    r->body = text;
    r->len = strlen(text);
}

void web_reply_error(web_reply_t *r, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* jansson refuses invalid UTF-8, and what came off the wire may be
     * that (or a message cut in the middle of a character). */
    json_t *text = json_string(msg);

    if (!text) {
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        text = json_string(msg);
    }
    web_reply_json(r, status, json_pack("{s:o}", "error", text));
}

/* ---- parameters */

/* Reads time parameter name; *given says whether it was there.  On a bad
 * value fills r with a 400 and returns -EINVAL. */
static int time_param(const web_query_t *q, const char *name, double *out, bool *given,
                      web_reply_t *r)
{
    const char *v = web_query_get(q, name);

    *given = false;
    if (!v || !*v)
        return 0;
    if (web_parse_time(v, out) != 0) {
        web_reply_error(r, 400, "%s: \"%.64s\" is not a time (%s)", name, v, time_help);
        return -EINVAL;
    }
    *given = true;
    return 0;
}

static int long_param(const web_query_t *q, const char *name, long min, long max, long *out,
                      web_reply_t *r)
{
    const char *v = web_query_get(q, name);

    if (!v || !*v)
        return 0;
    if (cw_parse_long(v, min, max, out) != 0) {
        web_reply_error(r, 400, "%s: \"%.64s\" is not a whole number from %ld to %ld", name, v, min,
                        max);
        return -EINVAL;
    }
    return 0;
}

/* One of the NULL-terminated choices, or NULL when absent. */
static int choice_param(const web_query_t *q, const char *name, const char *const *choices,
                        const char **out, web_reply_t *r)
{
    const char *v = web_query_get(q, name);
    web_buf_t b = { 0 };

    *out = NULL;
    if (!v || !*v)
        return 0;
    for (size_t i = 0; choices[i]; i++) {
        if (strcmp(v, choices[i]) == 0) {
            *out = choices[i];
            return 0;
        }
    }
    for (size_t i = 0; choices[i]; i++)
        web_buf_printf(&b, "%s%s", i ? ", " : "", choices[i]);
    web_reply_error(r, 400, "%s: \"%.64s\" is not one of %s", name, v, b.p);
    free(b.p);
    return -EINVAL;
}

static int check_allowed(const web_query_t *q, const char *const *allowed, web_reply_t *r)
{
    char err[512];

    if (web_query_allowed(q, allowed, err, sizeof(err)) != 0) {
        web_reply_error(r, 400, "%s", err);
        return -EINVAL;
    }
    return 0;
}

/* ---- site= */

enum site_scope { SITE_BAD = -1, SITE_HERE, SITE_NOT_HERE };

/* Reads site=.  On a probe every answer is of its own site: *site becomes
 * that (NULL when it has none), and another site is SITE_NOT_HERE (empty
 * lists, 404 for one thing).  On the central dashboard *site is the site
 * asked for, or NULL for every site.  A malformed name is a 400 in r. */
static enum site_scope site_param(const web_sources_t *s, const web_query_t *q, const char **site,
                                  web_reply_t *r)
{
    const char *v = web_query_get(q, "site");

    *site = s->sites ? NULL : s->site;
    if (!v || !*v)
        return SITE_HERE;
    if (!config_name_valid(v)) {
        web_reply_error(r, 400, "site: \"%.64s\" is not a site name (letters, digits, '-', '_')",
                        v);
        return SITE_BAD;
    }
    if (!s->sites && s->site && strcmp(v, s->site) != 0)
        return SITE_NOT_HERE;
    *site = v;
    return SITE_HERE;
}

static void not_here(const web_sources_t *s, const char *what, const web_query_t *q, web_reply_t *r)
{
    web_reply_error(r, 404, "%s: no site \"%.64s\" here (this probe is site %s)", what,
                    web_query_get(q, "site"), s->site ? s->site : "-");
}

/* The probe's clock (packet time), or the wall clock without a snapshot. */
static double probe_now(const web_sources_t *s)
{
    double now = 0;

    if (s->status) {
        json_t *snap = status_get(s->status);

        now = json_number_value(json_object_get(snap, "now"));
        json_decref(snap);
    }
    return now > 0 ? now : cw_ns_to_sec(cw_wall_now());
}

/* start/end (or from/to) with defaults: the last hour of probe time. */
static int range_params(const web_sources_t *s, const web_query_t *q, const char *kstart,
                        const char *kend, double *start, double *end, web_reply_t *r)
{
    bool has_start, has_end;

    if (time_param(q, kstart, start, &has_start, r) || time_param(q, kend, end, &has_end, r))
        return -EINVAL;
    if (!has_end)
        *end = has_start ? *start + DEFAULT_SPAN_S : probe_now(s);
    if (!has_start)
        *start = *end - DEFAULT_SPAN_S;
    if (*start >= *end) {
        web_reply_error(r, 400, "%s: must come before %s", kstart, kend);
        return -EINVAL;
    }
    return 0;
}

/* ---- /api/calls */

static const char *const outcomes[] = { "answered",   "failed", "cancelled", "dropped",
                                        "unanswered", "active", NULL };
static const char *const states[] = { "active", "ended", NULL };
static const char *const sorts[] = { "start", "setup_ms", "mos", "outcome", "end", NULL };
static const char *const orders[] = { "asc", "desc", NULL };

/* The worst MOS of a call's streams, as the database's mos column. */
static json_t *call_mos(const json_t *call)
{
    const json_t *streams = json_object_get(call, "streams"), *st;
    double mos = 0;
    bool any = false;
    size_t i;

    json_array_foreach(streams, i, st)
    {
        const json_t *m = json_object_get(st, "mos");

        if (!json_is_number(m))
            continue;
        if (!any || json_number_value(m) < mos)
            mos = json_number_value(m);
        any = true;
    }
    return any ? json_real(mos) : json_null();
}

/* Compares two calls on key as SQLite orders the column: NULL first,
 * numbers by value, text bytewise. */
static int cmp_key(const json_t *a, const json_t *b, const char *key)
{
    json_t *ka, *kb;
    int c;

    if (strcmp(key, "mos") == 0) {
        ka = call_mos(a);
        kb = call_mos(b);
    } else {
        ka = json_incref(json_object_get(a, key));
        kb = json_incref(json_object_get(b, key));
    }
    if (!ka)
        ka = json_null();
    if (!kb)
        kb = json_null();
    if (json_is_null(ka) || json_is_null(kb))
        c = json_is_null(ka) ? (json_is_null(kb) ? 0 : -1) : 1;
    else if (json_is_string(ka) && json_is_string(kb))
        c = strcmp(json_string_value(ka), json_string_value(kb));
    else
        c = json_number_value(ka) < json_number_value(kb)   ? -1
            : json_number_value(ka) > json_number_value(kb) ? 1
                                                            : 0;
    json_decref(ka);
    json_decref(kb);
    return c < 0 ? -1 : c > 0;
}

struct sort_ctx {
    const char *key;
    bool desc;
};

static int cmp_calls(const json_t *a, const json_t *b, const struct sort_ctx *sc)
{
    int c = cmp_key(a, b, sc->key);

    if (sc->desc)
        c = -c;
    if (c == 0 && strcmp(sc->key, "start") != 0)
        c = cmp_key(a, b, "start");
    return c;
}

/* Insertion sort: the active calls of a snapshot are few (at most 1000). */
static void sort_calls(json_t **v, size_t n, const struct sort_ctx *sc)
{
    for (size_t i = 1; i < n; i++) {
        json_t *x = v[i];
        size_t j = i;

        while (j > 0 && cmp_calls(v[j - 1], x, sc) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static bool contains(const json_t *o, const char *key, const char *needle)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s && strstr(s, needle);
}

static bool call_matches(const json_t *c, const calldb_filter_t *f)
{
    double start = json_number_value(json_object_get(c, "start"));
    const char *outcome = json_string_value(json_object_get(c, "outcome"));

    if (f->from > 0 && start < f->from)
        return false;
    if (f->to > 0 && start > f->to)
        return false;
    if (f->outcome && (!outcome || strcmp(outcome, f->outcome) != 0))
        return false;
    if (f->state && strcmp(f->state, "active") == 0 && (!outcome || strcmp(outcome, "active")))
        return false;
    if (f->party && !contains(c, "from", f->party) && !contains(c, "to", f->party) &&
        !contains(c, "from_display", f->party) && !contains(c, "to_display", f->party))
        return false;
    if (f->addr && !contains(c, "caller", f->addr) && !contains(c, "callee", f->addr))
        return false;
    return true;
}

static bool same_call(const json_t *a, const json_t *b)
{
    const char *ia = json_string_value(json_object_get(a, "call_id"));
    const char *ib = json_string_value(json_object_get(b, "call_id"));

    return ia && ib && strcmp(ia, ib) == 0 &&
           fabs(json_number_value(json_object_get(a, "start")) -
                json_number_value(json_object_get(b, "start"))) < 1e-3;
}

/* Calls still up that only the snapshot knows (a live capture records a
 * call when it ends), filtered; NULL when there are none to merge. */
static json_t *snapshot_calls(const web_sources_t *s, const calldb_filter_t *f)
{
    json_t *snap, *list, *out = NULL, *c;
    size_t i;

    if (!s->status || (f->state && strcmp(f->state, "ended") == 0))
        return NULL;
    snap = status_get(s->status);
    /* At the end of an offline run every call is in the database. */
    if (json_is_true(json_object_get(json_object_get(snap, "capture"), "finished"))) {
        json_decref(snap);
        return NULL;
    }
    list = json_object_get(snap, "active_calls");
    json_array_foreach(list, i, c)
    {
        if (!json_is_object(c) || !call_matches(c, f))
            continue;
        if (!out)
            out = json_array();
        json_array_append(out, c);
    }
    json_decref(snap);
    return out;
}

static json_t *query_db(calldb_t *db, const calldb_filter_t *f, web_reply_t *r)
{
    char err[512];
    json_t *res = calldb_query(db, f, err, sizeof(err));

    if (!res)
        web_reply_error(r, 500, "call database: %s", err);
    return res;
}

/* Reads /api/calls's parameters into f, limit and offset; false when one
 * is bad (r holds the 400). */
static bool calls_params(const web_query_t *q, calldb_filter_t *f, long *limit, long *offset,
                         web_reply_t *r)
{
    static const char *const allowed[] = { "from", "to",    "outcome", "state",  "party", "addr",
                                           "sort", "order", "limit",   "offset", "site",  NULL };
    const char *order = NULL;
    bool has_from, has_to;

    memset(f, 0, sizeof(*f));
    if (check_allowed(q, allowed, r) || time_param(q, "from", &f->from, &has_from, r) ||
        time_param(q, "to", &f->to, &has_to, r) ||
        choice_param(q, "outcome", outcomes, &f->outcome, r) ||
        choice_param(q, "state", states, &f->state, r) ||
        choice_param(q, "sort", sorts, &f->sort, r) ||
        choice_param(q, "order", orders, &order, r) ||
        long_param(q, "limit", 1, CALLS_LIMIT_MAX, limit, r) ||
        long_param(q, "offset", 0, 1000000000L, offset, r))
        return false;
    if (has_from && has_to && f->from > f->to) {
        web_reply_error(r, 400, "from: must not come after to");
        return false;
    }
    f->party = web_query_get(q, "party");
    f->addr = web_query_get(q, "addr");
    if (f->party && !*f->party)
        f->party = NULL;
    if (f->addr && !*f->addr)
        f->addr = NULL;
    if ((f->party && strlen(f->party) > FILTER_TEXT_MAX) ||
        (f->addr && strlen(f->addr) > FILTER_TEXT_MAX)) {
        web_reply_error(r, 400, "%s: longer than %d bytes",
                        f->party && strlen(f->party) > FILTER_TEXT_MAX ? "party" : "addr",
                        FILTER_TEXT_MAX);
        return false;
    }
    f->descending = order && strcmp(order, "desc") == 0;
    return true;
}

/* The page [offset, offset + limit) of the union of the database's calls
 * and extras, the calls only the live snapshot has (consumed), in the
 * order sc gives.  Every row of the union that can land on the page lies
 * within nextra rows before the page in the database's own order.  NULL
 * when the query fails (r holds the error); else *res is the database's
 * answer and *nmerged how many extras took part. */
static json_t *merged_page(const web_sources_t *s, calldb_filter_t *f, json_t *extras,
                           const struct sort_ctx *sc, long limit, long offset, json_t **res,
                           json_int_t *nmerged, web_reply_t *r)
{
    size_t nextra = json_array_size(extras), k = 0, di = 0, nd;
    long off2 = offset > (long)nextra ? offset - (long)nextra : 0;
    json_t **ev = cw_calloc(nextra, sizeof(*ev));
    json_t *db_calls, *page = NULL;
    long idx;

    for (size_t i = 0; i < nextra; i++)
        ev[i] = json_array_get(extras, i);
    sort_calls(ev, nextra, sc);
    f->offset = off2;
    f->limit = limit + (offset - off2);
    if (!(*res = query_db(s->db, f, r)))
        goto out;
    db_calls = json_object_get(*res, "calls");
    nd = json_array_size(db_calls);
    /* Drop extras the database has meanwhile recorded. */
    for (size_t i = 0; i < nextra; i++)
        for (size_t j = 0; j < nd && ev[i]; j++)
            if (same_call(ev[i], json_array_get(db_calls, j)))
                ev[i] = NULL;
    *nmerged = (json_int_t)nextra;
    page = json_array();
    if (off2 > 0 && nd > 0)
        while (k < nextra && (!ev[k] || cmp_calls(ev[k], json_array_get(db_calls, 0), sc) < 0))
            k++;
    idx = off2 + (long)k;
    while ((di < nd || k < nextra) && idx < offset + limit) {
        json_t *pick;

        if (k < nextra && !ev[k]) {
            k++;
            continue;
        }
        if (di < nd && (k >= nextra || cmp_calls(ev[k], json_array_get(db_calls, di), sc) >= 0))
            pick = json_array_get(db_calls, di++);
        else
            pick = ev[k++];
        if (idx >= offset)
            json_array_append(page, pick);
        idx++;
    }
out:
    free(ev);
    json_decref(extras);
    return page;
}

/* A page past the end has no rows to carry the total: ask for one row. */
static json_int_t total_past_end(const web_sources_t *s, const calldb_filter_t *f, json_int_t total,
                                 json_int_t nmerged)
{
    calldb_filter_t f1 = *f;
    char err1[256];
    json_t *r1;

    f1.offset = 0;
    f1.limit = 1;
    if ((r1 = calldb_query(s->db, &f1, err1, sizeof(err1)))) {
        json_int_t t1 = json_integer_value(json_object_get(r1, "total")) + nmerged;

        if (t1 > total)
            total = t1;
        json_decref(r1);
    }
    return total;
}

void web_api_calls(const web_sources_t *s, const web_query_t *q, web_reply_t *r)
{
    calldb_filter_t f;
    long limit = CALLS_LIMIT_DEF, offset = 0;
    json_t *extras, *res, *page;
    json_int_t total, nmerged = 0;
    struct sort_ctx sc;

    enum site_scope scope;

    if (!calls_params(q, &f, &limit, &offset, r) ||
        (scope = site_param(s, q, &f.site, r)) == SITE_BAD)
        return;
    if (scope == SITE_NOT_HERE) {
        web_reply_json(r, 200,
                       json_pack("{s:[], s:i, s:I, s:I}", "calls", "total", 0, "limit",
                                 (json_int_t)limit, "offset", (json_int_t)offset));
        return;
    }
    if (!s->db) {
        web_reply_error(r, 503, "the call database is not available");
        return;
    }
    sc.key = f.sort ? f.sort : "start";
    sc.desc = f.descending;
    extras = snapshot_calls(s, &f);
    if (!extras) {
        f.limit = limit;
        f.offset = offset;
        if (!(res = query_db(s->db, &f, r)))
            return;
        page = json_incref(json_object_get(res, "calls"));
    } else if (!(page = merged_page(s, &f, extras, &sc, limit, offset, &res, &nmerged, r))) {
        return;
    }
    total = json_integer_value(json_object_get(res, "total")) + nmerged;
    if (json_array_size(page) == 0 && offset > 0)
        total = total_past_end(s, &f, total, nmerged);
    json_decref(res);
    web_reply_json(r, 200,
                   json_pack("{s:o, s:I, s:I, s:I}", "calls", page, "total", total, "limit",
                             (json_int_t)limit, "offset", (json_int_t)offset));
}

/* ---- /api/calls/{call_id} */

void web_api_call(const web_sources_t *s, const char *call_id, const web_query_t *q, web_reply_t *r)
{
    static const char *const allowed[] = { "site", NULL };
    json_t *snap_call = NULL, *rec = NULL;
    enum site_scope scope;
    const char *site;

    if (check_allowed(q, allowed, r) || (scope = site_param(s, q, &site, r)) == SITE_BAD)
        return;
    if (scope == SITE_NOT_HERE) {
        not_here(s, "call", q, r);
        return;
    }
    if (strlen(call_id) > CALL_ID_MAX) {
        web_reply_error(r, 404, "no call with that Call-ID (longer than %d bytes)", CALL_ID_MAX);
        return;
    }
    if (!s->db && !s->status) {
        web_reply_error(r, 503, "neither the call database nor the probe's status is available");
        return;
    }
    if (s->status) {
        json_t *snap = status_get(s->status), *c;
        size_t i;

        json_array_foreach(json_object_get(snap, "active_calls"), i, c)
        {
            const char *id = json_string_value(json_object_get(c, "call_id"));

            if (id && strcmp(id, call_id) == 0) {
                snap_call = json_incref(c);
                break;
            }
        }
        json_decref(snap);
    }
    if (s->db)
        rec = calldb_get_site(s->db, call_id, site);
    if (snap_call && rec && !same_call(snap_call, rec)) {
        /* The database has an older call with the same Call-ID. */
        json_decref(rec);
        rec = NULL;
    }
    if (!rec && snap_call) {
        rec = snap_call;
        snap_call = NULL;
        if (!json_object_get(rec, "messages"))
            json_object_set_new(rec, "messages", json_array());
    }
    json_decref(snap_call);
    if (!rec) {
        web_reply_error(r, 404, "no call with Call-ID \"%.200s\"", call_id);
        return;
    }
    if (!json_object_get(rec, "streams"))
        json_object_set_new(rec, "streams", json_array());
    web_reply_json(r, 200, rec);
}

/* ---- /api/incidents */

static bool overlaps(const json_t *inc, double from, double to)
{
    double start = json_number_value(json_object_get(inc, "start"));
    const json_t *e = json_object_get(inc, "end");
    double end = json_is_number(e) && json_number_value(e) > 0 ? json_number_value(e) : 1e18;

    return (from <= 0 || end >= from) && (to <= 0 || start <= to);
}

/* Incidents overlapping [from, to] (0: open), from the database and the
 * snapshot's open ones, oldest first; NULL with r filled on failure. */
static json_t *incidents(const web_sources_t *s, double from, double to, const char *site,
                         web_reply_t *r)
{
    json_t *all, *open = NULL, *inc;
    char err[512];
    size_t i;

    if (!s->db) {
        web_reply_error(r, 503, "the call database (which keeps incidents) is not available");
        return NULL;
    }
    all = calldb_incidents_site(s->db, from, to, site, err, sizeof(err));
    if (!all) {
        web_reply_error(r, 500, "call database: %s", err);
        return NULL;
    }
    json_array_foreach(all, i, inc)
    {
        const json_t *e = json_object_get(inc, "end");

        json_object_set_new(inc, "open",
                            json_boolean(!json_is_number(e) || json_number_value(e) <= 0));
    }
    if (s->status) {
        json_t *snap = status_get(s->status);

        open = json_incref(json_object_get(snap, "open_incidents"));
        json_decref(snap);
    }
    json_array_foreach(open, i, inc)
    {
        json_int_t id = json_integer_value(json_object_get(inc, "id"));
        size_t j, at;
        json_t *o;

        if (!json_is_object(inc) || !overlaps(inc, from, to))
            continue;
        json_array_foreach(all, j, o)
        {
            if (json_integer_value(json_object_get(o, "id")) == id) {
                json_array_remove(all, j);
                break;
            }
        }
        at = json_array_size(all);
        /* Keep the order by start time. */
        json_array_foreach(all, j, o)
        {
            if (json_number_value(json_object_get(o, "start")) >
                json_number_value(json_object_get(inc, "start"))) {
                at = j;
                break;
            }
        }
        o = json_deep_copy(inc);
        json_object_set_new(o, "open", json_true());
        json_array_insert_new(all, at, o);
    }
    json_decref(open);
    return all;
}

void web_api_incidents(const web_sources_t *s, const web_query_t *q, web_reply_t *r)
{
    static const char *const allowed[] = { "from", "to", "site", NULL };
    double from = 0, to = 0;
    bool has_from, has_to;
    json_t *list;
    size_t nopen = 0, i;
    json_t *inc;
    enum site_scope scope;
    const char *site;

    if (check_allowed(q, allowed, r) || time_param(q, "from", &from, &has_from, r) ||
        time_param(q, "to", &to, &has_to, r) || (scope = site_param(s, q, &site, r)) == SITE_BAD)
        return;
    if (scope == SITE_NOT_HERE) {
        web_reply_json(r, 200, json_pack("{s:[], s:i}", "incidents", "open", 0));
        return;
    }
    if (has_from && has_to && from > to) {
        web_reply_error(r, 400, "from: must not come after to");
        return;
    }
    if (!(list = incidents(s, from, to, site, r)))
        return;
    json_array_foreach(list, i, inc) nopen += json_is_true(json_object_get(inc, "open"));
    web_reply_json(r, 200, json_pack("{s:o, s:I}", "incidents", list, "open", (json_int_t)nopen));
}

/* ---- /api/series */

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *time_json(double t)
{
    return t == floor(t) ? json_integer((json_int_t)t) : json_real(t);
}

/* The in-memory history of a series, when no RRD store is wired. */
static int memory_series(const web_sources_t *s, const char *metric, double start, double end,
                         json_t **out, char *err, size_t errlen)
{
    cw_ns_t t, *ts;
    double v, *vals, step = 0;
    size_t n;
    json_t *points;

    if (!metrics_latest(s->metrics, metric, &t, &v)) {
        snprintf(err, errlen, "no series named \"%s\"", metric);
        return -ENOENT;
    }
    ts = cw_calloc(METRICS_HISTORY, sizeof(*ts));
    vals = cw_calloc(METRICS_HISTORY, sizeof(*vals));
    n = metrics_range(s->metrics, metric, (cw_ns_t)(start * 1e9), (cw_ns_t)(end * 1e9), ts, vals,
                      METRICS_HISTORY);
    points = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            points, json_pack("[o, o]", time_json(cw_ns_to_sec(ts[i])), num_or_null(vals[i])));
    if (s->status) {
        json_t *snap = status_get(s->status);

        step = json_number_value(json_object_get(snap, "step"));
        json_decref(snap);
    }
    if (step <= 0 && n >= 2)
        step = cw_ns_to_sec(ts[1] - ts[0]);
    *out =
        json_pack("{s:s, s:o, s:o, s:s}", "metric", metric, "step",
                  time_json(step > 0 ? step : CW_DEF_STEP_S), "points", points, "source", "memory");
    free(ts);
    free(vals);
    return 0;
}

static int status_for(int rc)
{
    return rc == -ENOENT ? 404 : rc == -EINVAL ? 400 : 500;
}

void web_api_series(const web_sources_t *s, const web_query_t *q, web_reply_t *r)
{
    static const char *const allowed[] = { "metric", "start", "end", "site", NULL };
    const char *metric = web_query_get(q, "metric"), *site;
    double start, end;
    json_t *out = NULL;
    char err[512] = "";
    enum site_scope scope;
    int rc;

    if (check_allowed(q, allowed, r) || (scope = site_param(s, q, &site, r)) == SITE_BAD)
        return;
    if (scope == SITE_NOT_HERE) {
        not_here(s, "series", q, r);
        return;
    }
    if (!metric || !*metric) {
        web_reply_error(r, 400, "metric: missing (e.g. metric=calls.active)");
        return;
    }
    if (!metrics_name_valid(metric)) {
        web_reply_error(r, 400, "metric: \"%.100s\" is not a metric name ([A-Za-z0-9_.-])", metric);
        return;
    }
    if (range_params(s, q, "start", "end", &start, &end, r))
        return;
    if (s->sites && !site) {
        web_reply_error(r, 400, "site: missing: the central dashboard keeps every site's series");
        return;
    }
    if (s->sites && s->site_series)
        rc = s->site_series(s->ud, site, metric, (time_t)floor(start), (time_t)ceil(end), &out, err,
                            sizeof(err));
    else if (s->sites)
        rc = -ENOENT, snprintf(err, sizeof(err), "no RRD store ([rrd] daemon or -d)");
    else if (s->series)
        rc = s->series(s->ud, metric, (time_t)floor(start), (time_t)ceil(end), &out, err,
                       sizeof(err));
    else if (s->metrics)
        rc = memory_series(s, metric, start, end, &out, err, sizeof(err));
    else {
        web_reply_error(r, 503, "series need the RRD store, which is not available");
        return;
    }
    if (rc != 0 || !out) {
        json_decref(out);
        web_reply_error(r, rc ? status_for(rc) : 500, "%s: %s", metric,
                        err[0] ? err : "cannot read the series");
        return;
    }
    web_reply_json(r, 200, out);
}

/* ---- /graph/NAME.png */

void web_api_graph(const web_sources_t *s, const char *name, const web_query_t *q, web_reply_t *r)
{
    static const char *const allowed[] = { "start", "end", "width", "height", "site", NULL };
    long width = GRAPH_W_DEF, height = GRAPH_H_DEF;
    double start, end;
    web_window_t *shade = NULL;
    size_t nshade = 0;
    unsigned char *png = NULL;
    size_t len = 0;
    char err[512] = "";
    enum site_scope scope;
    const char *site;
    int rc;

    if (check_allowed(q, allowed, r) || (scope = site_param(s, q, &site, r)) == SITE_BAD)
        return;
    if (scope == SITE_NOT_HERE) {
        not_here(s, "graph", q, r);
        return;
    }
    if (!metrics_name_valid(name)) {
        web_reply_error(r, 404, "no graph named \"%.100s\"", name);
        return;
    }
    if (long_param(q, "width", 100, 4000, &width, r) ||
        long_param(q, "height", 50, 2000, &height, r) ||
        range_params(s, q, "start", "end", &start, &end, r))
        return;
    if (s->sites && !site) {
        web_reply_error(r, 400, "site: missing: the central dashboard keeps every site's graphs");
        return;
    }
    if (s->sites ? !s->site_graph : !s->graph) {
        web_reply_error(r, 503, "graphs need the RRD store, which is not available");
        return;
    }
    if (s->db) {
        /* Incidents in the window are shaded. */
        web_reply_t tmp = { 0 };
        json_t *list = incidents(s, start, end, site, &tmp), *inc;
        size_t i;

        free(tmp.body);
        if (list && json_array_size(list)) {
            shade = cw_calloc(json_array_size(list), sizeof(*shade));
            json_array_foreach(list, i, inc)
            {
                const json_t *e = json_object_get(inc, "end");

                shade[nshade].start = (time_t)json_number_value(json_object_get(inc, "start"));
                shade[nshade].end = json_is_number(e) && json_number_value(e) > 0
                                        ? (time_t)ceil(json_number_value(e))
                                        : (time_t)ceil(end);
                nshade++;
            }
        }
        json_decref(list);
    }
    if (s->sites)
        rc = s->site_graph(s->ud, site, name, (time_t)floor(start), (time_t)ceil(end), (int)width,
                           (int)height, shade, nshade, &png, &len, err, sizeof(err));
    else
        rc = s->graph(s->ud, name, (time_t)floor(start), (time_t)ceil(end), (int)width, (int)height,
                      shade, nshade, &png, &len, err, sizeof(err));
    free(shade);
    if (rc != 0 || !png) {
        free(png);
        web_reply_error(r, rc ? status_for(rc) : 500, "%s: %s", name,
                        err[0] ? err : "cannot draw the graph");
        return;
    }
    free(r->body);
    r->status = 200;
    r->body = (char *)png;
    r->len = len;
    r->ctype = "image/png";
    r->cache = NULL;
}

/* ---- /api/status */

static void add_latest(void *ud, const char *name, cw_ns_t t, double value)
{
    json_object_set_new(ud, name,
                        json_pack("[o, o]", time_json(cw_ns_to_sec(t)), num_or_null(value)));
}

/* The central dashboard's status: every site side by side. */
static void central_status(const web_sources_t *s, const web_info_t *info, const web_query_t *q,
                           const char *site, web_reply_t *r)
{
    double from = 0, to = 0, now = 0;
    bool has_from, has_to;
    json_t *list, *o, *one = json_array(), *st;
    char err[512] = "";
    size_t i;

    if (time_param(q, "from", &from, &has_from, r) || time_param(q, "to", &to, &has_to, r)) {
        json_decref(one);
        return;
    }
    if (!(list = s->sites(s->ud, from, to, err, sizeof(err)))) {
        json_decref(one);
        web_reply_error(r, 500, "sites: %s", err);
        return;
    }
    json_array_foreach(list, i, st)
    {
        double last = json_number_value(json_object_get(st, "last"));
        json_int_t answered = json_integer_value(json_object_get(st, "answered"));

        if (last > now)
            now = last;
        json_object_set_new(
            st, "drop_rate_pct",
            answered > 0
                ? json_real(100.0 * (double)json_integer_value(json_object_get(st, "dropped")) /
                            (double)answered)
                : json_null());
        if (site && strcmp(json_string_value(json_object_get(st, "site")), site) == 0)
            json_array_append(one, st);
    }
    if (site && json_array_size(one) == 0) {
        json_decref(one);
        json_decref(list);
        web_reply_error(r, 404, "no site \"%.64s\" in the database or the RRD store", site);
        return;
    }
    o = json_pack("{s:s, s:s, s:s?, s:f, s:o}", "version", PACKAGE_VERSION, "mode", "central",
                  "site", s->site, "now", now > 0 ? now : cw_ns_to_sec(cw_wall_now()), "sites",
                  site ? one : list);
    json_decref(site ? list : one);
    json_object_set_new(o, "database", s->db ? calldb_state_json(s->db) : json_null());
    json_object_set_new(o, "open_incidents", json_array());
    json_object_set_new(o, "targets", json_null());
    json_object_set_new(o, "web",
                        json_pack("{s:b, s:b, s:b, s:b}", "auth", info->auth, "tls", info->tls,
                                  "series", s->site_series != NULL, "graphs",
                                  s->site_graph != NULL));
    web_reply_json(r, 200, o);
}

void web_api_status(const web_sources_t *s, const web_info_t *info, const web_query_t *q,
                    web_reply_t *r)
{
    static const char *const allowed[] = { "site", NULL };
    static const char *const central_allowed[] = { "site", "from", "to", NULL };
    json_t *o, *latest, *db;
    enum site_scope scope;
    const char *site;

    if (check_allowed(q, s->sites ? central_allowed : allowed, r) ||
        (scope = site_param(s, q, &site, r)) == SITE_BAD)
        return;
    if (scope == SITE_NOT_HERE) {
        not_here(s, "status", q, r);
        return;
    }
    if (s->sites) {
        central_status(s, info, q, site, r);
        return;
    }
    if (!s->status) {
        web_reply_error(r, 503, "the probe's status is not available");
        return;
    }
    o = status_get(s->status);
    /* The calls themselves are at /api/calls. */
    json_object_del(o, "active_calls");
    if (!json_is_array(json_object_get(o, "open_incidents")))
        json_object_set_new(o, "open_incidents", json_array());
    json_object_set_new(o, "version", json_string(PACKAGE_VERSION));
    if (s->db) {
        db = calldb_state_json(s->db);
        json_object_set_new(db, "calls", json_integer((json_int_t)calldb_count(s->db)));
    }
    json_object_set_new(o, "database", s->db ? db : json_null());
    latest = json_object();
    if (s->metrics)
        metrics_foreach_latest(s->metrics, add_latest, latest);
    json_object_set_new(o, "latest", latest);
    json_object_set_new(o, "targets", s->targets ? s->targets(s->ud) : json_null());
    if (!json_object_get(o, "targets"))
        json_object_set_new(o, "targets", json_null());
    json_object_set_new(o, "web",
                        json_pack("{s:b, s:b, s:b, s:b}", "auth", info->auth, "tls", info->tls,
                                  "series", s->series || s->metrics, "graphs", s->graph != NULL));
    web_reply_json(r, 200, o);
}
