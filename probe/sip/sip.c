#include "autoconf.h"

#include "sip/sip.h"

#include <errno.h>
#include <stdarg.h>
#include <osipparser2/osip_parser.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_once_t parser_once = PTHREAD_ONCE_INIT;

/* libosip2 would print its complaints on stdout, into the report; a
 * malformed message is counted instead. */
static void quiet_trace(const char *fi, int li, osip_trace_level_t level, const char *chfr,
                        va_list ap)
{
    (void)fi;
    (void)li;
    (void)level;
    (void)chfr;
    (void)ap;
}

/* Under AddressSanitizer libosip2 keeps the C library's allocator, so that
 * the fuzz targets and sanitizer builds still check its every block. */
#if defined(__SANITIZE_ADDRESS__)
#define CW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CW_ASAN 1
#endif
#endif

#ifndef CW_ASAN
/* libosip2 allocates every header, URI and parameter of a message, and the
 * message is freed as soon as callwatch has copied what it needs.  While
 * sip_parse() runs, those allocations come from a per-thread arena that is
 * simply rewound afterwards: no malloc/free per field on the packet path.
 * Outside sip_parse() (or past the arena's end) the C library serves. */
#define ARENA_SIZE (1u << 20)

struct arena {
    uint8_t *base;
    size_t used;
};

static _Thread_local struct arena *arena_on; /* set only inside sip_parse() */
static _Thread_local struct arena arena_mem;

static bool in_arena(const struct arena *a, const void *p)
{
    return a && (const uint8_t *)p >= a->base && (const uint8_t *)p < a->base + ARENA_SIZE;
}

static void *arena_malloc(size_t size)
{
    struct arena *a = arena_on;
    size_t need = (size + 16 + 15) & ~(size_t)15; /* a 16-byte header holds the size */
    uint8_t *p;

    if (!a || need > ARENA_SIZE - a->used)
        return malloc(size);
    p = a->base + a->used;
    a->used += need;
    memcpy(p, &size, sizeof(size));
    return p + 16;
}

static void arena_free(void *p)
{
    if (p && !in_arena(arena_on, p))
        free(p);
}

static void *arena_realloc(void *p, size_t size)
{
    size_t old;
    void *q;

    if (!p || !in_arena(arena_on, p))
        return p ? realloc(p, size) : arena_malloc(size);
    memcpy(&old, (uint8_t *)p - 16, sizeof(old));
    q = arena_malloc(size);
    if (q)
        memcpy(q, p, old < size ? old : size);
    return q;
}

static void arena_begin(void)
{
    if (!arena_mem.base)
        arena_mem.base = cw_calloc(1, ARENA_SIZE);
    arena_mem.used = 0;
    arena_on = &arena_mem;
}

static void arena_end(void)
{
    arena_on = NULL;
}
#else
static void arena_begin(void) {}

static void arena_end(void) {}
#endif

static void do_init(void)
{
    parser_init();
#ifndef CW_ASAN
    osip_set_allocators(arena_malloc, arena_realloc, arena_free);
#endif
    osip_trace_initialize_func(END_TRACE_LEVEL, quiet_trace);
    for (int l = TRACE_LEVEL0; l < END_TRACE_LEVEL; l++)
        osip_trace_disable_level((osip_trace_level_t)l);
}

void sip_init(void)
{
    pthread_once(&parser_once, do_init);
}

static const char *const method_names[] = {
    [SIP_OTHER] = "",
    [SIP_INVITE] = "INVITE",
    [SIP_ACK] = "ACK",
    [SIP_BYE] = "BYE",
    [SIP_CANCEL] = "CANCEL",
    [SIP_OPTIONS] = "OPTIONS",
    [SIP_REGISTER] = "REGISTER",
    [SIP_PRACK] = "PRACK",
    [SIP_UPDATE] = "UPDATE",
    [SIP_INFO] = "INFO",
    [SIP_REFER] = "REFER",
    [SIP_NOTIFY] = "NOTIFY",
    [SIP_SUBSCRIBE] = "SUBSCRIBE",
    [SIP_MESSAGE] = "MESSAGE",
    [SIP_PUBLISH] = "PUBLISH",
};

enum sip_method sip_method_from_name(const char *name)
{
    if (!name)
        return SIP_OTHER;
    for (size_t i = 1; i < sizeof(method_names) / sizeof(method_names[0]); i++)
        if (strcmp(name, method_names[i]) == 0)
            return (enum sip_method)i;
    return SIP_OTHER;
}

const char *sip_method_name(enum sip_method m)
{
    return (size_t)m < sizeof(method_names) / sizeof(method_names[0]) ? method_names[m] : "";
}

static bool is_token_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '!' || c == '%' || c == '*' || c == '_' || c == '+' || c == '`' ||
           c == '\'' || c == '~';
}

bool sip_looks_like(const uint8_t *buf, size_t len)
{
    size_t i, eol;

    /* Both kinds start with a token character: RTP, for one, does not. */
    if (len < 12 || !is_token_char(buf[0]))
        return false;
    if (memcmp(buf, "SIP/2.0 ", 8) == 0)
        return buf[8] >= '1' && buf[8] <= '6' && buf[9] >= '0' && buf[9] <= '9' && buf[10] >= '0' &&
               buf[10] <= '9';
    /* Request line: token SP Request-URI SP "SIP/2.0" CRLF */
    for (i = 0; i < len && i < 32 && is_token_char(buf[i]); i++)
        ;
    if (i == 0 || i >= len || buf[i] != ' ')
        return false;
    for (eol = i; eol < len && eol < 2048 && buf[eol] != '\r' && buf[eol] != '\n'; eol++)
        ;
    if (eol >= len || eol < i + 9)
        return false;
    return memcmp(buf + eol - 8, " SIP/2.0", 8) == 0;
}

void sip_reason_parse(const char *value, int *q850, int *sip)
{
    /* Several values may be comma-separated: Q.850;cause=16, SIP;cause=200 */
    const char *p = value;

    *q850 = -1;
    *sip = -1;
    while (p && *p) {
        const char *comma = strchr(p, ','), *cause;
        size_t seg = comma ? (size_t)(comma - p) : strlen(p);
        int *slot = NULL;

        while (*p == ' ' || *p == '\t') {
            p++;
            seg--;
        }
        if (seg >= 5 && strncasecmp(p, "Q.850", 5) == 0)
            slot = q850;
        else if (seg >= 3 && strncasecmp(p, "SIP", 3) == 0)
            slot = sip;
        cause = strcasestr(p, "cause=");
        if (slot && cause && (size_t)(cause - p) < seg) {
            long v = strtol(cause + 6, NULL, 10);

            if (v >= 0 && v <= 999)
                *slot = (int)v;
        }
        p = comma ? comma + 1 : NULL;
    }
}

static void copy(char *dst, size_t len, const char *src)
{
    cw_strlcpy(dst, src ? src : "", len);
}

/* Appends src to dst (at *n, capacity len), always terminated. */
static void cat(char *dst, size_t len, size_t *n, const char *src)
{
    while (*src && *n + 1 < len)
        dst[(*n)++] = *src++;
    dst[*n] = '\0';
}

/* "sip:user@host:port" without parameters or display name; built by hand
 * because this runs for every message. */
static void uri_str(const osip_uri_t *u, char *dst, size_t len)
{
    size_t n = 0;

    dst[0] = '\0';
    if (!u)
        return;
    if (u->string) { /* an absolute URI libosip2 did not split */
        cat(dst, len, &n, u->string);
        return;
    }
    cat(dst, len, &n, u->scheme ? u->scheme : "sip");
    cat(dst, len, &n, ":");
    if (u->username) {
        cat(dst, len, &n, u->username);
        cat(dst, len, &n, "@");
    }
    if (u->host)
        cat(dst, len, &n, u->host);
    if (u->port) {
        cat(dst, len, &n, ":");
        cat(dst, len, &n, u->port);
    }
}

static void tag_of(osip_from_t *f, char *dst, size_t len)
{
    osip_generic_param_t *tag = NULL;

    if (f && osip_from_get_tag(f, &tag) == 0 && tag && tag->gvalue)
        copy(dst, len, tag->gvalue);
    else
        copy(dst, len, "");
}

/* Display names arrive quoted; keep what is between the quotes. */
static void display_of(osip_from_t *f, char *dst, size_t len)
{
    const char *d = f ? f->displayname : NULL;
    size_t n;

    if (!d) {
        copy(dst, len, "");
        return;
    }
    n = strlen(d);
    if (n >= 2 && d[0] == '"' && d[n - 1] == '"') {
        n -= 2;
        if (n >= len)
            n = len - 1;
        memcpy(dst, d + 1, n);
        dst[n] = '\0';
    } else {
        copy(dst, len, d);
    }
}

static void header_value(osip_message_t *m, const char *name, char *dst, size_t len)
{
    osip_header_t *h = NULL;

    if (osip_message_header_get_byname(m, name, 0, &h) >= 0 && h && h->hvalue)
        copy(dst, len, h->hvalue);
    else
        copy(dst, len, "");
}

static bool is_sdp(const osip_content_type_t *ct)
{
    return ct && ct->type && ct->subtype && !strcasecmp(ct->type, "application") &&
           !strcasecmp(ct->subtype, "sdp");
}

int sip_parse(const uint8_t *buf, size_t len, sip_msg_t *out)
{
    osip_message_t *m = NULL;
    int rc = -EINVAL;

    memset(out, 0, offsetof(sip_msg_t, sdp));
    out->reason_q850 = out->reason_sip = -1;
    arena_begin();
    if (len == 0 || osip_message_init(&m) != 0) {
        arena_end();
        return -EINVAL;
    }
    if (osip_message_parse(m, (const char *)buf, len) != 0)
        goto out;
    if (!m->call_id || !m->from || !m->to || !m->cseq || !m->cseq->number || !m->cseq->method)
        goto out;

    out->is_request = MSG_IS_REQUEST(m);
    if (out->is_request) {
        copy(out->method_name, sizeof(out->method_name), m->sip_method);
        out->method = sip_method_from_name(m->sip_method);
        uri_str(m->req_uri, out->request_uri, sizeof(out->request_uri));
    } else {
        out->status = m->status_code;
        copy(out->reason_phrase, sizeof(out->reason_phrase), m->reason_phrase);
    }
    if (m->call_id->host)
        snprintf(out->call_id, sizeof(out->call_id), "%s@%s",
                 m->call_id->number ? m->call_id->number : "", m->call_id->host);
    else
        copy(out->call_id, sizeof(out->call_id), m->call_id->number);
    if (!out->call_id[0])
        goto out;
    uri_str(m->from->url, out->from_uri, sizeof(out->from_uri));
    tag_of(m->from, out->from_tag, sizeof(out->from_tag));
    display_of(m->from, out->from_display, sizeof(out->from_display));
    uri_str(m->to->url, out->to_uri, sizeof(out->to_uri));
    tag_of(m->to, out->to_tag, sizeof(out->to_tag));
    display_of(m->to, out->to_display, sizeof(out->to_display));
    {
        char *end;
        unsigned long n = strtoul(m->cseq->number, &end, 10);

        if (end == m->cseq->number || *end || n > 0xffffffffUL)
            goto out;
        out->cseq = (uint32_t)n;
    }
    copy(out->cseq_method_name, sizeof(out->cseq_method_name), m->cseq->method);
    out->cseq_method = sip_method_from_name(m->cseq->method);
    header_value(m, "user-agent", out->user_agent, sizeof(out->user_agent));
    if (!out->user_agent[0] && !out->is_request)
        header_value(m, "server", out->user_agent, sizeof(out->user_agent));
    header_value(m, "reason", out->reason_hdr, sizeof(out->reason_hdr));
    if (out->reason_hdr[0])
        sip_reason_parse(out->reason_hdr, &out->reason_q850, &out->reason_sip);

    if (is_sdp(m->content_type)) {
        osip_body_t *body = osip_list_get(&m->bodies, 0);

        if (body && body->body && body->length)
            out->has_sdp = sdp_parse(body->body, body->length, &out->sdp) == 0;
    }
    rc = 0;
out:
    osip_message_free(m);
    arena_end();
    return rc;
}

json_t *sip_json_string(const char *s)
{
    json_t *j = json_string(s);
    char buf[512];
    size_t i;

    if (j)
        return j;
    for (i = 0; s[i] && i < sizeof(buf) - 1; i++)
        buf[i] = (s[i] & 0x80) ? '?' : s[i];
    buf[i] = '\0';
    return json_string(buf);
}
