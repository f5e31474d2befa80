/* server: libmicrohttpd set-up, routing, security headers, basic
 * authentication, TLS and the embedded static files. */
#include "autoconf.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/dl.h"
#include "common/util.h"
#include "web/webint.h"

/* libmicrohttpd, loaded when the server starts: with its TLS library it
 * brings ten more libraries, which an offline analysis does not need.  The
 * calls below go through this table. */
#define MHDLIB_FUNCS(X)                                                                            \
    X(MHD_start_daemon)                                                                            \
    X(MHD_stop_daemon)                                                                             \
    X(MHD_is_feature_supported)                                                                    \
    X(MHD_lookup_connection_value)                                                                 \
    X(MHD_create_response_from_buffer)                                                             \
    X(MHD_add_response_header)                                                                     \
    X(MHD_queue_response)                                                                          \
    X(MHD_destroy_response)

static struct mhdlib_fns {
    MHDLIB_FUNCS(CW_DL_FIELD)
} mhdlib;

#define MHDLIB_SYM(f) CW_DL_SYM(struct mhdlib_fns, f)
static const cw_dlsym_t mhdlib_syms[] = { MHDLIB_FUNCS(MHDLIB_SYM) };
#undef MHDLIB_SYM
static cw_dllib_t mhd_lib = CW_DLLIB(MHD_SONAME, "libmicrohttpd12", mhdlib, mhdlib_syms);

/* Limits (documented in docs/http.md, "Security"). */
#define WEB_THREADS         4     /* request threads */
#define WEB_MAX_CONN        512   /* open connections in all */
#define WEB_MAX_CONN_PER_IP 128   /* from one client address */
#define WEB_TIMEOUT_S       30    /* a connection idle this long is closed */
#define WEB_MEMORY_LIMIT    32768 /* per connection: request line and headers must fit */
#define WEB_LISTEN_BACKLOG  128
#define WEB_USERS_MAX       1000
#define WEB_PEM_MAX         (1024 * 1024)
#define WEB_AUTH_MAX        1024 /* decoded "user:password" */
#define WEB_AUTH_CACHE      32   /* credentials remembered after a good check */
#define WEB_AUTH_CACHE_S    300  /* for this long */

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self'; connect-src 'self'; object-src 'none'; "
                          "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

struct web_user {
    char *name;
    char *hash;
};

/* A good check remembered as a keyed hash of the Authorization header:
 * crypt(3) hashes are slow on purpose, and a page makes many requests. */
struct web_auth_seen {
    uint64_t h[2];
    time_t until;
};

struct web {
    struct MHD_Daemon *d;
    web_sources_t src;
    web_info_t info;
    struct web_user *users;
    size_t nusers;
    uint8_t auth_key[2][16]; /* random, per run */
    struct web_auth_seen seen[WEB_AUTH_CACHE];
    pthread_mutex_t seen_lock;
    pthread_rwlock_t users_lock; /* users and nusers: web_set_users() swaps them */
    char *cert, *key;            /* PEM, kept until the daemon stops */
    size_t key_len;
    char (*etags)[24]; /* one per asset */
    uint16_t port;
    bool loopback;
    char url[160];
};

/* What one request carries between the callbacks. */
struct web_req {
    char *raw_uri; /* as the client sent it, before any decoding */
    bool seen;     /* the handler was called once */
    bool answered; /* a reply is queued */
};

/* ---- static files */

const web_asset_t *web_asset_find(const char *name)
{
    for (size_t i = 0; i < web_nassets; i++)
        if (strcmp(web_assets[i].name, name) == 0)
            return &web_assets[i];
    return NULL;
}

const char *web_mime_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        { ".html", "text/html; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".svg", "image/svg+xml" },
        { ".png", "image/png" },
        { ".json", "application/json; charset=utf-8" },
        { ".txt", "text/plain; charset=utf-8" },
    };
    size_t n = strlen(name);

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t e = strlen(types[i].ext);

        if (n > e && strcmp(name + n - e, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

static void reply_asset(web_t *w, const web_asset_t *a, struct MHD_Connection *c, web_reply_t *r)
{
    const char *inm =
        mhdlib.MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    size_t i = (size_t)(a - web_assets);

    r->ctype = web_mime_type(a->name);
    r->cache = "no-cache"; /* revalidate: the ETag makes that cheap */
    snprintf(r->etag, sizeof(r->etag), "%s", w->etags[i]);
    if (inm && strstr(inm, w->etags[i])) {
        r->status = 304;
        r->static_body = "";
        r->len = 0;
        return;
    }
    r->status = 200;
    r->static_body = a->data;
    r->len = a->len;
}

/* ---- authentication */

static void free_users(web_t *w)
{
    for (size_t i = 0; i < w->nusers; i++) {
        free(w->users[i].name);
        free(w->users[i].hash);
    }
    free(w->users);
    w->users = NULL;
    w->nusers = 0;
}

static bool hash_chars_ok(const char *h)
{
    if (h[0] != '$')
        return false;
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '/' || *p == '$' || *p == '=' || *p == '-' || *p == ','))
            return false;
    return true;
}

/* Reads "name:hash" lines (blank lines and # comments skipped). */
static int load_users(web_t *w, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[1100];
    struct crypt_data *cd;
    int lineno = 0, rc = 0;

    if (!f) {
        snprintf(err, errlen, "users file %s: %s", path, strerror(errno));
        return -EINVAL;
    }
    cd = cw_calloc(1, sizeof(*cd));
    while (fgets(line, sizeof(line), f)) {
        size_t n = strlen(line);
        char *p = line, *colon;
        const char *check;

        lineno++;
        if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            rc = -EINVAL;
            break;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                         line[n - 1] == '\t'))
            line[--n] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        colon = strchr(p, ':');
        if (!colon || colon == p) {
            snprintf(err, errlen, "%s:%d: expected name:hash (a crypt(3) hash, e.g. from mkpasswd)",
                     path, lineno);
            rc = -EINVAL;
            break;
        }
        *colon = '\0';
        if (strlen(p) > 64 || strpbrk(p, " \t")) {
            snprintf(err, errlen, "%s:%d: user name \"%.64s\" is longer than 64 or has blanks",
                     path, lineno, p);
            rc = -EINVAL;
            break;
        }
        for (size_t i = 0; i < w->nusers; i++) {
            if (strcmp(w->users[i].name, p) == 0) {
                snprintf(err, errlen, "%s:%d: user \"%s\" appears twice", path, lineno, p);
                rc = -EINVAL;
                break;
            }
        }
        if (rc)
            break;
        check = hash_chars_ok(colon + 1) ? crypt_r("check", colon + 1, cd) : NULL;
        if (!check || check[0] == '*') {
            snprintf(err, errlen,
                     "%s:%d: user \"%s\": not a crypt(3) hash this system supports (make one with "
                     "mkpasswd -m yescrypt)",
                     path, lineno, p);
            rc = -EINVAL;
            break;
        }
        if (w->nusers == WEB_USERS_MAX) {
            snprintf(err, errlen, "%s:%d: more than %d users", path, lineno, WEB_USERS_MAX);
            rc = -EINVAL;
            break;
        }
        w->users = cw_realloc(w->users, (w->nusers + 1) * sizeof(*w->users));
        w->users[w->nusers].name = cw_strdup(p);
        w->users[w->nusers].hash = cw_strdup(colon + 1);
        w->nusers++;
    }
    if (!rc && ferror(f)) {
        snprintf(err, errlen, "users file %s: cannot be read", path);
        rc = -EINVAL;
    }
    if (!rc && w->nusers == 0) {
        snprintf(err, errlen, "users file %s: no users in it (lines name:hash)", path);
        rc = -EINVAL;
    }
    fclose(f);
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    if (rc)
        free_users(w);
    return rc;
}

static bool seen_before(web_t *w, const uint64_t h[2], time_t now)
{
    bool ok = false;

    pthread_mutex_lock(&w->seen_lock);
    for (size_t i = 0; i < WEB_AUTH_CACHE; i++) {
        uint64_t d = (w->seen[i].h[0] ^ h[0]) | (w->seen[i].h[1] ^ h[1]);

        ok |= d == 0 && w->seen[i].until > now;
    }
    pthread_mutex_unlock(&w->seen_lock);
    return ok;
}

static void remember(web_t *w, const uint64_t h[2], time_t now)
{
    size_t oldest = 0;

    pthread_mutex_lock(&w->seen_lock);
    for (size_t i = 1; i < WEB_AUTH_CACHE; i++)
        if (w->seen[i].until < w->seen[oldest].until)
            oldest = i;
    w->seen[oldest].h[0] = h[0];
    w->seen[oldest].h[1] = h[1];
    w->seen[oldest].until = now + WEB_AUTH_CACHE_S;
    pthread_mutex_unlock(&w->seen_lock);
}

/* Checks "Authorization: Basic ..." against the users file; the caller
 * holds users_lock for reading. */
static bool authorized_locked(web_t *w, struct MHD_Connection *c)
{
    const char *h =
        mhdlib.MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    unsigned char dec[WEB_AUTH_MAX + 1];
    size_t n = 0;
    char *colon;
    const struct web_user *u = NULL;
    struct crypt_data *cd;
    const char *out;
    uint64_t key[2];
    time_t now = time(NULL);
    bool ok;

    if (w->nusers == 0)
        return true;
    if (!h || strncasecmp(h, "Basic ", 6) != 0)
        return false;
    h += 6;
    while (*h == ' ')
        h++;
    if (strlen(h) > (WEB_AUTH_MAX / 3 + 1) * 4)
        return false;
    key[0] = web_siphash(w->auth_key[0], h, strlen(h));
    key[1] = web_siphash(w->auth_key[1], h, strlen(h));
    if (seen_before(w, key, now))
        return true;
    if (web_base64_decode(h, dec, WEB_AUTH_MAX, &n) != 0)
        return false;
    dec[n] = '\0';
    if (memchr(dec, '\0', n) || !(colon = strchr((char *)dec, ':'))) {
        explicit_bzero(dec, sizeof(dec));
        return false;
    }
    *colon = '\0';
    for (size_t i = 0; i < w->nusers && !u; i++)
        if (strcmp(w->users[i].name, (char *)dec) == 0)
            u = &w->users[i];
    /* An unknown user costs one hash too, so timing does not tell names. */
    cd = cw_calloc(1, sizeof(*cd));
    out = crypt_r(colon + 1, u ? u->hash : w->users[0].hash, cd);
    ok = u && out && out[0] != '*' && web_secure_equal(out, u->hash);
    explicit_bzero(dec, sizeof(dec));
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    if (ok)
        remember(w, key, now);
    return ok;
}

static bool authorized(web_t *w, struct MHD_Connection *c)
{
    bool ok;

    pthread_rwlock_rdlock(&w->users_lock);
    ok = authorized_locked(w, c);
    pthread_rwlock_unlock(&w->users_lock);
    return ok;
}

int web_set_users(web_t *w, const char *users_file, char *err, size_t errlen)
{
    web_t *next = cw_calloc(1, sizeof(*next));
    struct web_user *users;
    size_t nusers;
    int rc = 0;

    if (users_file && (rc = load_users(next, users_file, err, errlen)) != 0)
        goto out;
    pthread_rwlock_wrlock(&w->users_lock);
    users = w->users;
    nusers = w->nusers;
    w->users = next->users;
    w->nusers = next->nusers;
    next->users = users;
    next->nusers = nusers;
    w->info.auth = w->nusers > 0;
    /* Credentials accepted before must be checked again against the new
     * list: a removed user is out at once. */
    pthread_mutex_lock(&w->seen_lock);
    memset(w->seen, 0, sizeof(w->seen));
    pthread_mutex_unlock(&w->seen_lock);
    pthread_rwlock_unlock(&w->users_lock);
out:
    free_users(next);
    free(next);
    return rc;
}

/* Behind a loopback address, a Host header naming anything else is a
 * browser tricked by DNS rebinding into reading the API for another site. */
static bool host_ok(web_t *w, struct MHD_Connection *c)
{
    const char *h = mhdlib.MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    char host[256];
    size_t n;

    if (!w->loopback || !h)
        return true;
    if (h[0] == '[') {
        const char *end = strchr(h, ']');

        if (!end)
            return false;
        n = (size_t)(end - h) + 1;
    } else {
        const char *colon = strchr(h, ':');

        n = colon ? (size_t)(colon - h) : strlen(h);
    }
    if (n >= sizeof(host))
        return false;
    memcpy(host, h, n);
    host[n] = '\0';
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
        return true;
    {
        struct in_addr a;

        return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
    }
}

/* ---- routing */

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int parse_query(const char *raw, web_query_t *q, web_reply_t *r)
{
    char err[512];

    if (web_query_parse(raw, q, err, sizeof(err)) != 0) {
        web_reply_error(r, 400, "%s", err);
        return -EINVAL;
    }
    return 0;
}

/* Fills r for the request; *extra_header/value may name one more header. */
static void route(web_t *w, struct MHD_Connection *c, const char *method, const char *raw_uri,
                  web_reply_t *r, const char **xh, const char **xv)
{
    const char *qmark = strchr(raw_uri, '?');
    size_t plen = qmark ? (size_t)(qmark - raw_uri) : strlen(raw_uri);
    char *path = cw_calloc(plen + 1, 1);
    const char *query = qmark ? qmark + 1 : "";
    web_query_t q = { 0 };

    memcpy(path, raw_uri, plen);
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        *xh = MHD_HTTP_HEADER_ALLOW;
        *xv = "GET, HEAD";
        web_reply_error(r, 405, "method %.32s not allowed: only GET and HEAD", method);
        goto out;
    }
    if (!host_ok(w, c)) {
        web_reply_error(r, 403, "this server answers only to localhost (Host header refused)");
        goto out;
    }
    if (!authorized(w, c)) {
        *xh = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
        *xv = "Basic realm=\"callwatch\", charset=\"UTF-8\"";
        web_reply_error(r, 401, "authentication required");
        goto out;
    }
    if (path[0] != '/' || strpbrk(path, "\\") || strstr(path, "%00")) {
        web_reply_error(r, 400, "malformed path");
        goto out;
    }
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
        reply_asset(w, web_asset_find("index.html"), c, r);
    } else if (starts(path, "/static/")) {
        const web_asset_t *a = web_asset_find(path + strlen("/static/"));

        if (a)
            reply_asset(w, a, c, r);
        else
            web_reply_error(r, 404, "no such file");
    } else if (strcmp(path, "/api/calls") == 0) {
        if (!parse_query(query, &q, r))
            web_api_calls(&w->src, &q, r);
    } else if (starts(path, "/api/calls/") && path[strlen("/api/calls/")]) {
        const char *raw_id = path + strlen("/api/calls/");
        char *id = NULL;

        if (web_pct_decode(raw_id, strlen(raw_id), false, &id) != 0)
            web_reply_error(r, 400, "malformed Call-ID in the path (bad %%-escape or NUL)");
        else if (!parse_query(query, &q, r))
            web_api_call(&w->src, id, &q, r);
        free(id);
    } else if (strcmp(path, "/api/incidents") == 0) {
        if (!parse_query(query, &q, r))
            web_api_incidents(&w->src, &q, r);
    } else if (strcmp(path, "/api/series") == 0) {
        if (!parse_query(query, &q, r))
            web_api_series(&w->src, &q, r);
    } else if (strcmp(path, "/api/status") == 0) {
        if (!parse_query(query, &q, r))
            web_api_status(&w->src, &w->info, &q, r);
    } else if (strcmp(path, "/metrics") == 0) {
        if (!parse_query(query, &q, r))
            web_prom_metrics(&w->src, &q, r);
    } else if (starts(path, "/graph/") && plen > strlen("/graph/") + 4 &&
               strcmp(path + plen - 4, ".png") == 0) {
        path[plen - 4] = '\0';
        if (!parse_query(query, &q, r))
            web_api_graph(&w->src, path + strlen("/graph/"), &q, r);
    } else {
        web_reply_error(r, 404, "no such path");
    }
out:
    web_query_free(&q);
    free(path);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, web_reply_t *r, const char *xh,
                                  const char *xv)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (r->static_body)
        resp = mhdlib.MHD_create_response_from_buffer(r->len, (void *)r->static_body,
                                                      MHD_RESPMEM_PERSISTENT);
    else
        resp = mhdlib.MHD_create_response_from_buffer(r->len, r->body ? r->body : (char *)"",
                                                      r->body ? MHD_RESPMEM_MUST_FREE
                                                              : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    r->body = NULL; /* MHD frees it */
    mhdlib.MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
    mhdlib.MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                   r->cache ? r->cache : "no-store");
    if (r->etag[0])
        mhdlib.MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
    mhdlib.MHD_add_response_header(resp, "Content-Security-Policy", csp);
    mhdlib.MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    mhdlib.MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    mhdlib.MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    mhdlib.MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    if (xh)
        mhdlib.MHD_add_response_header(resp, xh, xv);
    ret = mhdlib.MHD_queue_response(c, (unsigned)r->status, resp);
    mhdlib.MHD_destroy_response(resp);
    return ret;
}

static bool has_body(struct MHD_Connection *c)
{
    const char *cl =
        mhdlib.MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

    return (cl && strcmp(cl, "0") != 0) ||
           mhdlib.MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                              MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    web_t *w = cls;
    struct web_req *rq = *req_cls;
    web_reply_t r = { .status = 500 };
    const char *xh = NULL, *xv = NULL;
    bool bodyless =
        strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

    (void)version;
    (void)upload_data;
    if (!rq) {
        rq = cw_calloc(1, sizeof(*rq));
        rq->raw_uri = cw_strdup(url);
        *req_cls = rq;
    }
    if (rq->answered) {
        *upload_data_size = 0; /* a body is never read */
        return MHD_YES;
    }
    if (!rq->seen) {
        rq->seen = true;
        /* A GET is answered on the next call, once MHD has the whole
         * request, so the connection can be kept alive.  Anything with a
         * body is refused now, before the body is read. */
        if (bodyless && !has_body(c))
            return MHD_YES;
        rq->answered = true;
        if (bodyless)
            web_reply_error(&r, 400, "a request body is not accepted here");
        else
            route(w, c, method, rq->raw_uri, &r, &xh, &xv);
        cw_log(CW_LOG_DEBUG, "web: %s %.200s %d", method, rq->raw_uri, r.status);
        return send_reply(c, &r, xh, xv);
    }
    rq->answered = true;
    route(w, c, method, rq->raw_uri, &r, &xh, &xv);
    cw_log(CW_LOG_DEBUG, "web: %s %.200s %d", method, rq->raw_uri, r.status);
    return send_reply(c, &r, xh, xv);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct web_req *rq = cw_calloc(1, sizeof(*rq));

    (void)cls;
    (void)c;
    rq->raw_uri = cw_strdup(uri);
    return rq;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct web_req *rq = *req_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (rq) {
        free(rq->raw_uri);
        free(rq);
    }
    *req_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    cw_log(CW_LOG_INFO, "web: %s", msg);
}

/* ---- start and stop */

static int read_pem(const char *what, const char *path, char **out, size_t *len, char *err,
                    size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *buf;
    size_t n;

    if (!f) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
        return -EINVAL;
    }
    buf = cw_calloc(WEB_PEM_MAX + 1, 1);
    n = fread(buf, 1, WEB_PEM_MAX + 1, f);
    fclose(f);
    if (n == 0 || n > WEB_PEM_MAX || !strstr(buf, "-----BEGIN ")) {
        snprintf(err, errlen, "%s %s: not a PEM file (or larger than 1 MiB)", what, path);
        explicit_bzero(buf, WEB_PEM_MAX + 1);
        free(buf);
        return -EINVAL;
    }
    *out = buf;
    *len = n;
    return 0;
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* Binds "ADDR:PORT" / "[V6]:PORT"; returns the listening socket or a
 * negative errno with err set. */
static int open_listener(web_t *w, const char *listen_on, char *err, size_t errlen)
{
    char host[256], port[8];
    const char *colon;
    struct addrinfo hints, *res = NULL, *ai;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    long portnum;
    int fd = -1, e = 0, gai;

    if (listen_on[0] == '[') {
        const char *end = strchr(listen_on, ']');

        if (!end || end[1] != ':' || (size_t)(end - listen_on - 1) >= sizeof(host))
            goto bad;
        memcpy(host, listen_on + 1, (size_t)(end - listen_on - 1));
        host[end - listen_on - 1] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(listen_on, ':');
        if (!colon || colon == listen_on || (size_t)(colon - listen_on) >= sizeof(host) ||
            memchr(listen_on, ':', (size_t)(colon - listen_on)))
            goto bad;
        memcpy(host, listen_on, (size_t)(colon - listen_on));
        host[colon - listen_on] = '\0';
    }
    if (!host[0] || cw_parse_long(colon + 1, 0, 65535, &portnum) != 0)
        goto bad;
    snprintf(port, sizeof(port), "%ld", portnum);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
        snprintf(err, errlen, "web: cannot listen on %s: %s", listen_on, gai_strerror(gai));
        return -EINVAL;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        int one = 1;

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, WEB_LISTEN_BACKLOG) == 0)
            break;
        e = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "web: cannot listen on %s: %s", listen_on, strerror(e ? e : EINVAL));
        return -(e ? e : EINVAL);
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        char a[INET6_ADDRSTRLEN] = "?";

        if (ss.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a, sizeof(a));
            w->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        } else {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof(a));
            w->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        }
        w->loopback = is_loopback((struct sockaddr *)&ss);
        snprintf(w->url, sizeof(w->url), "%s://%s%s%s:%u/", w->info.tls ? "https" : "http",
                 ss.ss_family == AF_INET6 ? "[" : "", a, ss.ss_family == AF_INET6 ? "]" : "",
                 w->port);
    }
    return fd;
bad:
    snprintf(err, errlen, "web: listen address \"%s\" is not ADDR:PORT or [IPV6]:PORT", listen_on);
    return -EINVAL;
}

int web_start(const web_options_t *opt, const web_sources_t *src, web_t **out, char *err,
              size_t errlen)
{
    web_t *w = cw_calloc(1, sizeof(*w));
    struct MHD_OptionItem ops[16];
    size_t nops = 0, cert_len = 0;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    char why[512];
    int fd = -1, rc;

    *out = NULL;
    w->src = *src;
    pthread_mutex_init(&w->seen_lock, NULL);
    pthread_rwlock_init(&w->users_lock, NULL);
    if (!cw_dl_load(&mhd_lib, why, sizeof(why))) {
        snprintf(err, errlen, "web: %s", why);
        rc = -ENOENT;
        goto fail;
    }
    if (getrandom(w->auth_key, sizeof(w->auth_key), 0) != (ssize_t)sizeof(w->auth_key)) {
        snprintf(err, errlen, "web: no random bytes for the credential cache: %s", strerror(errno));
        rc = -EIO;
        goto fail;
    }
    if (opt->users_file && (rc = load_users(w, opt->users_file, err, errlen)) != 0)
        goto fail;
    if (!opt->tls_cert != !opt->tls_key) {
        snprintf(err, errlen, "web: tls_cert and tls_key go together: give both or neither");
        rc = -EINVAL;
        goto fail;
    }
    if (opt->tls_cert) {
        if (!mhdlib.MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            snprintf(err, errlen, "web: this libmicrohttpd has no TLS support");
            rc = -EINVAL;
            goto fail;
        }
        if ((rc = read_pem("tls_cert", opt->tls_cert, &w->cert, &cert_len, err, errlen)) ||
            (rc = read_pem("tls_key", opt->tls_key, &w->key, &w->key_len, err, errlen)))
            goto fail;
        w->info.tls = true;
        flags |= MHD_USE_TLS;
    }
    w->info.auth = w->nusers > 0;
    w->etags = cw_calloc(web_nassets ? web_nassets : 1, sizeof(*w->etags));
    for (size_t i = 0; i < web_nassets; i++)
        snprintf(w->etags[i], sizeof(w->etags[i]), "\"%016llx\"",
                 (unsigned long long)cw_hash64(web_assets[i].data, web_assets[i].len, 0));

    fd = open_listener(w, opt->listen ? opt->listen : CW_DEF_WEB_LISTEN, err, errlen);
    if (fd < 0) {
        rc = fd;
        goto fail;
    }
#define OPT(o, v, p) (ops[nops++] = (struct MHD_OptionItem){ (o), (intptr_t)(v), (p) })
    OPT(MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, w); /* first, to catch everything */
    OPT(MHD_OPTION_LISTEN_SOCKET, fd, NULL);
    OPT(MHD_OPTION_THREAD_POOL_SIZE, WEB_THREADS, NULL);
    OPT(MHD_OPTION_CONNECTION_LIMIT, WEB_MAX_CONN, NULL);
    OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, WEB_MAX_CONN_PER_IP, NULL);
    OPT(MHD_OPTION_CONNECTION_TIMEOUT, WEB_TIMEOUT_S, NULL);
    OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, WEB_MEMORY_LIMIT, NULL);
    OPT(MHD_OPTION_URI_LOG_CALLBACK, on_uri, w);
    OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, w);
    if (w->info.tls) {
        OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, w->cert);
        OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, w->key);
    }
    OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
    w->d = mhdlib.MHD_start_daemon(flags, 0, NULL, NULL, on_request, w, MHD_OPTION_ARRAY, ops,
                                   MHD_OPTION_END);
    if (!w->d) {
        if (w->info.tls)
            snprintf(err, errlen,
                     "web: cannot start HTTPS on %s: are tls_cert %s and tls_key %s "
                     "a matching PEM certificate and key?",
                     w->url, opt->tls_cert, opt->tls_key);
        else
            snprintf(err, errlen, "web: cannot start the HTTP server on %s", w->url);
        close(fd);
        rc = w->info.tls ? -EINVAL : -EIO;
        goto fail;
    }
    *out = w;
    return 0;
fail:
    free_users(w);
    pthread_mutex_destroy(&w->seen_lock);
    pthread_rwlock_destroy(&w->users_lock);
    if (w->key)
        explicit_bzero(w->key, w->key_len);
    free(w->key);
    free(w->cert);
    free(w->etags);
    free(w);
    return rc;
}

uint16_t web_port(const web_t *w)
{
    return w->port;
}

const char *web_url(const web_t *w)
{
    return w->url;
}

void web_stop(web_t *w)
{
    if (!w)
        return;
    mhdlib.MHD_stop_daemon(w->d);
    free_users(w);
    pthread_mutex_destroy(&w->seen_lock);
    pthread_rwlock_destroy(&w->users_lock);
    explicit_bzero(w->auth_key, sizeof(w->auth_key));
    if (w->key)
        explicit_bzero(w->key, w->key_len);
    free(w->key);
    free(w->cert);
    free(w->etags);
    free(w);
}
