#include "autoconf.h"

#include "calldb/calldb_sql.h"

#include <stdio.h>
#include <string.h>

static void text_of(calldb_value_t *v, const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    v->type = s ? CALLDB_TEXT : CALLDB_NULL;
    v->s = s;
}

static void num_of(calldb_value_t *v, const json_t *o, const char *key)
{
    const json_t *j = json_object_get(o, key);

    v->type = json_is_integer(j) ? CALLDB_INT : json_is_real(j) ? CALLDB_REAL : CALLDB_NULL;
    v->i = json_integer_value(j);
    v->d = json_real_value(j);
}

static void real(calldb_value_t *v, double d)
{
    v->type = CALLDB_REAL;
    v->d = d;
}

static void quality(const json_t *rec, calldb_value_t *v)
{
    const json_t *streams = json_object_get(rec, "streams"), *s;
    double mos = 0, mos_min = 0, loss = 0, jit = 0;
    size_t i, n = 0;

    json_array_foreach(streams, i, s)
    {
        double m = json_number_value(json_object_get(s, "mos"));
        double mm = json_number_value(json_object_get(s, "mos_min"));

        if (!json_is_number(json_object_get(s, "mos")))
            continue;
        if (n == 0 || m < mos)
            mos = m;
        if (n == 0 || mm < mos_min)
            mos_min = mm;
        loss += json_number_value(json_object_get(s, "loss_pct"));
        jit += json_number_value(json_object_get(s, "jitter_mean_ms"));
        n++;
    }
    for (int k = 0; k < 4; k++)
        v[k].type = CALLDB_NULL;
    if (n) {
        real(&v[0], mos);
        real(&v[1], mos_min);
        real(&v[2], loss / (double)n);
        real(&v[3], jit / (double)n);
    }
}

void calldb_sql_call_values(const json_t *rec, const char *site, calldb_value_t v[CALLDB_NCOLS])
{
    memset(v, 0, CALLDB_NCOLS * sizeof(*v));
    text_of(&v[0], rec, "site");
    if (v[0].type == CALLDB_NULL && site) {
        v[0].type = CALLDB_TEXT;
        v[0].s = site;
    }
    text_of(&v[1], rec, "call_id");
    real(&v[2], json_number_value(json_object_get(rec, "start")));
    num_of(&v[3], rec, "answered");
    num_of(&v[4], rec, "end");
    text_of(&v[5], rec, "outcome");
    num_of(&v[6], rec, "sip_code");
    text_of(&v[7], rec, "end_reason");
    num_of(&v[8], rec, "setup_ms");
    text_of(&v[9], rec, "from");
    text_of(&v[10], rec, "to");
    text_of(&v[11], rec, "from_display");
    text_of(&v[12], rec, "to_display");
    text_of(&v[13], rec, "caller");
    text_of(&v[14], rec, "callee");
    text_of(&v[15], rec, "codec");
    quality(rec, &v[16]);
}

const char *calldb_sql_text(const calldb_value_t *v, char *buf, size_t len)
{
    switch (v->type) {
    case CALLDB_INT:
        snprintf(buf, len, "%lld", v->i);
        return buf;
    case CALLDB_REAL:
        snprintf(buf, len, "%.17g", v->d);
        return buf;
    case CALLDB_TEXT:
        return v->s;
    default:
        return NULL;
    }
}

static int param(calldb_sql_query_t *q, calldb_value_t v)
{
    q->params[q->nparams] = v;
    return ++q->nparams;
}

/* Adds " AND " and fmt, which names parameter n (as %1$d, maybe several
 * times). */
static void add(calldb_sql_query_t *q, const char *fmt, int n)
{
    size_t len = strlen(q->where);
    char buf[480];

    snprintf(buf, sizeof(buf), fmt, n);
    snprintf(q->where + len, sizeof(q->where) - len, " AND %s", buf);
}

void calldb_sql_query(const calldb_filter_t *f, enum calldb_sql_style style, calldb_sql_query_t *q)
{
    static const char *const sorts[] = { "start", "setup_ms", "mos", "outcome", "end", NULL };
    bool pg = style == CALLDB_SQL_PG;
    const char *sort = "start", *p = pg ? "$" : "?";
    char fmt[400];
    int n;

    memset(q, 0, sizeof(*q));
    strcpy(q->where, "1=1");
    for (int k = 0; f->sort && sorts[k]; k++)
        if (strcmp(f->sort, sorts[k]) == 0)
            sort = sorts[k];
    if (f->from > 0) {
        n = param(q, (calldb_value_t){ .type = CALLDB_REAL, .d = f->from });
        snprintf(fmt, sizeof(fmt), "start >= %s%%1$d", p);
        add(q, fmt, n);
    }
    if (f->to > 0) {
        n = param(q, (calldb_value_t){ .type = CALLDB_REAL, .d = f->to });
        snprintf(fmt, sizeof(fmt), "start <= %s%%1$d", p);
        add(q, fmt, n);
    }
    if (f->site) {
        n = param(q, (calldb_value_t){ .type = CALLDB_TEXT, .s = f->site });
        /* A SQLite file's rows without a site predate sites: its own. */
        snprintf(fmt, sizeof(fmt), pg ? "site = %s%%1$d" : "(site IS NULL OR site = %s%%1$d)", p);
        add(q, fmt, n);
    }
    if (f->outcome) {
        n = param(q, (calldb_value_t){ .type = CALLDB_TEXT, .s = f->outcome });
        snprintf(fmt, sizeof(fmt), "outcome = %s%%1$d", p);
        add(q, fmt, n);
    }
    if (f->state && strcmp(f->state, "active") == 0)
        strcat(q->where, " AND outcome = 'active'");
    else if (f->state && strcmp(f->state, "ended") == 0)
        strcat(q->where, " AND outcome <> 'active'");
    if (f->party) {
        const char *in = pg ? "strpos(%s, %s%%1$d) > 0" : "instr(%s, %s%%1$d) > 0";
        char a[80], b[80], c[80], d[80];

        n = param(q, (calldb_value_t){ .type = CALLDB_TEXT, .s = f->party });
        snprintf(a, sizeof(a), in, "from_uri", p);
        snprintf(b, sizeof(b), in, "to_uri", p);
        snprintf(c, sizeof(c), in, "from_display", p);
        snprintf(d, sizeof(d), in, "to_display", p);
        snprintf(fmt, sizeof(fmt), "(%s OR %s OR %s OR %s)", a, b, c, d);
        add(q, fmt, n);
    }
    if (f->addr) {
        const char *in = pg ? "strpos(%s, %s%%1$d) > 0" : "instr(%s, %s%%1$d) > 0";
        char a[80], b[80];

        n = param(q, (calldb_value_t){ .type = CALLDB_TEXT, .s = f->addr });
        snprintf(a, sizeof(a), in, "caller", p);
        snprintf(b, sizeof(b), in, "callee", p);
        snprintf(fmt, sizeof(fmt), "(%s OR %s)", a, b);
        add(q, fmt, n);
    }
    /* The order SQLite gives (NULL first ascending, text bytewise), which
     * the API's merge of live calls relies on, asked of PostgreSQL too. */
    snprintf(q->order, sizeof(q->order), "\"%s\"%s %s%s, id", sort,
             pg && strcmp(sort, "outcome") == 0 ? " COLLATE \"C\"" : "",
             f->descending ? "DESC" : "ASC",
             pg ? (f->descending ? " NULLS LAST" : " NULLS FIRST") : "");
}

json_t *calldb_sql_record(const char *text, bool summary)
{
    json_t *rec = text ? json_loads(text, 0, NULL) : NULL;

    if (rec && summary)
        json_object_del(rec, "messages");
    return rec;
}
