#include "autoconf.h"

#include "web/webutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* ---- times */

static bool digits(const char *s, int n, long *out)
{
    long v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static long days_from_civil(long y, long m, long d)
{
    long era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(long y, long m)
{
    static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dm[m - 1];
}

static int parse_iso(const char *s, double *out)
{
    long y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0;
    double frac = 0, t;
    int sign = 0;
    const char *p = s;

    if (!digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) || p[7] != '-' ||
        !digits(p + 8, 2, &d))
        return -EINVAL;
    p += 10;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -EINVAL;
    if (*p == 'T' || *p == 't' || (*p == ' ' && p[1] >= '0' && p[1] <= '9')) {
        p++;
        if (!digits(p, 2, &h) || p[2] != ':' || !digits(p + 3, 2, &mi))
            return -EINVAL;
        p += 5;
        if (*p == ':') {
            if (!digits(p + 1, 2, &sec))
                return -EINVAL;
            p += 3;
            if (*p == '.' || *p == ',') {
                double scale = 0.1;

                p++;
                if (*p < '0' || *p > '9')
                    return -EINVAL;
                for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
                    frac += (*p - '0') * scale;
            }
        }
        if (h > 23 || mi > 59 || sec > 60)
            return -EINVAL;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-' || *p == ' ') {
            sign = *p == '-' ? -1 : 1;
            p++;
            if (!digits(p, 2, &oh))
                return -EINVAL;
            p += 2;
            if (*p == ':')
                p++;
            if (*p) {
                if (!digits(p, 2, &om))
                    return -EINVAL;
                p += 2;
            }
            if (oh > 23 || om > 59)
                return -EINVAL;
        }
    }
    if (*p)
        return -EINVAL;
    t = (double)days_from_civil(y, mo, d) * 86400.0 + (double)(h * 3600 + mi * 60 + sec) + frac;
    t -= sign * (double)(oh * 3600 + om * 60);
    if (t < 0)
        return -EINVAL;
    *out = t;
    return 0;
}

int web_parse_time(const char *s, double *out)
{
    const char *p = s;
    bool dot = false;

    if (!s || !*s)
        return -EINVAL;
    for (; *p; p++) {
        if (*p == '.' && !dot && p != s && p[1])
            dot = true;
        else if (*p < '0' || *p > '9')
            break;
    }
    if (!*p) {
        /* Unix seconds, up to the year 9999. */
        if (p - s > 20 || cw_parse_double(s, 0, 253402300799.0, out) != 0)
            return -EINVAL;
        return 0;
    }
    return parse_iso(s, out);
}

/* ---- percent-decoding and query strings */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int web_pct_decode(const char *in, size_t len, bool plus_space, char **out)
{
    char *o = cw_calloc(len + 1, 1);
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        char c = in[i];

        if (c == '%') {
            int hi, lo;

            if (i + 2 >= len) {
                free(o);
                return -EINVAL;
            }
            hi = hexval(in[i + 1]);
            lo = hi < 0 ? -1 : hexval(in[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(o);
                return -EINVAL;
            }
            o[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '\0') {
            free(o);
            return -EINVAL;
        } else {
            o[n++] = plus_space && c == '+' ? ' ' : c;
        }
    }
    o[n] = '\0';
    *out = o;
    return 0;
}

void web_query_free(web_query_t *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->key[i]);
        free(q->val[i]);
    }
    q->n = 0;
}

int web_query_parse(const char *raw, web_query_t *q, char *err, size_t errlen)
{
    const char *p = raw;

    memset(q, 0, sizeof(*q));
    while (p && *p) {
        const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *kend = eq ? eq : end;
        char *k = NULL, *v = NULL;

        if (end == p) {
            p = amp ? amp + 1 : NULL; /* "a=1&&b=2" */
            continue;
        }
        if (web_pct_decode(p, (size_t)(kend - p), true, &k) != 0) {
            snprintf(err, errlen, "malformed query string: bad %%-escape or NUL in a name");
            goto fail;
        }
        if (web_pct_decode(eq ? eq + 1 : end, eq ? (size_t)(end - eq - 1) : 0, true, &v) != 0) {
            snprintf(err, errlen, "%s: bad %%-escape or NUL in the value", k);
            free(k);
            goto fail;
        }
        if (web_query_get(q, k)) {
            snprintf(err, errlen, "%s: given more than once", k);
            free(k);
            free(v);
            goto fail;
        }
        if (q->n == WEB_QUERY_MAX) {
            snprintf(err, errlen, "too many query parameters (at most %d)", WEB_QUERY_MAX);
            free(k);
            free(v);
            goto fail;
        }
        q->key[q->n] = k;
        q->val[q->n++] = v;
        p = amp ? amp + 1 : NULL;
    }
    return 0;
fail:
    web_query_free(q);
    return -EINVAL;
}

const char *web_query_get(const web_query_t *q, const char *key)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->key[i], key) == 0)
            return q->val[i];
    return NULL;
}

int web_query_allowed(const web_query_t *q, const char *const *allowed, char *err, size_t errlen)
{
    for (size_t i = 0; i < q->n; i++) {
        bool ok = false;

        for (size_t k = 0; allowed[k] && !ok; k++)
            ok = strcmp(q->key[i], allowed[k]) == 0;
        if (!ok) {
            web_buf_t b = { 0 };

            for (size_t k = 0; allowed[k]; k++)
                web_buf_printf(&b, "%s%s", k ? ", " : "", allowed[k]);
            snprintf(err, errlen, "%s: unknown parameter (known: %s)", q->key[i],
                     b.p ? b.p : "none");
            free(b.p);
            return -EINVAL;
        }
    }
    return 0;
}

/* ---- base64, comparison, hashing */

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int web_base64_decode(const char *in, unsigned char *out, size_t cap, size_t *outlen)
{
    size_t len = strlen(in), n = 0;

    if (len % 4 != 0)
        return -EINVAL;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;

        for (int k = 0; k < 4; k++) {
            if (in[i + k] == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
            } else {
                if (pad)
                    return -EINVAL; /* data after padding */
                v[k] = b64val(in[i + k]);
                if (v[k] < 0)
                    return -EINVAL;
            }
        }
        if (n + 3 - (size_t)pad > cap)
            return -EINVAL;
        out[n++] = (unsigned char)((v[0] << 2) | (v[1] >> 4));
        if (pad < 2)
            out[n++] = (unsigned char)(((v[1] & 15) << 4) | (v[2] >> 2));
        if (pad < 1)
            out[n++] = (unsigned char)(((v[2] & 3) << 6) | v[3]);
    }
    *outlen = n;
    return 0;
}

bool web_secure_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = 0;

    /* Every byte of a is looked at whatever b holds. */
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)((unsigned char)a[i] ^ (unsigned char)(i < lb ? b[i] : 0));
    return diff == 0 && la == lb;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = ROTL(v[1], 13);
    v[1] ^= v[0];
    v[0] = ROTL(v[0], 32);
    v[2] += v[3];
    v[3] = ROTL(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = ROTL(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = ROTL(v[1], 17);
    v[1] ^= v[2];
    v[2] = ROTL(v[2], 32);
}

uint64_t web_siphash(const uint8_t key[16], const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t k0 = le64(key), k1 = le64(key + 8), last = (uint64_t)len << 56;
    uint64_t v[4] = { 0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1,
                      0x6c7967656e657261ULL ^ k0, 0x7465646279746573ULL ^ k1 };
    size_t full = len - len % 8;

    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = le64(p + i);

        v[3] ^= m;
        sipround(v);
        sipround(v);
        v[0] ^= m;
    }
    for (size_t i = 0; i < len % 8; i++)
        last |= (uint64_t)p[full + i] << (8 * i);
    v[3] ^= last;
    sipround(v);
    sipround(v);
    v[0] ^= last;
    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++)
        sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ---- string buffer */

static void reserve(web_buf_t *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    while (b->len + more + 1 > b->cap)
        b->cap = b->cap ? b->cap * 2 : 256;
    b->p = cw_realloc(b->p, b->cap);
}

void web_buf_add(web_buf_t *b, const char *s, size_t n)
{
    reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void web_buf_puts(web_buf_t *b, const char *s)
{
    web_buf_add(b, s, strlen(s));
}

void web_buf_printf(web_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void web_buf_prom_label(web_buf_t *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            web_buf_add(b, "\\\\", 2);
        else if (*s == '"')
            web_buf_add(b, "\\\"", 2);
        else if (*s == '\n')
            web_buf_add(b, "\\n", 2);
        else
            web_buf_add(b, s, 1);
    }
}

void web_buf_prom_value(web_buf_t *b, double v)
{
    if (isnan(v))
        web_buf_puts(b, "NaN");
    else if (isinf(v))
        web_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        web_buf_printf(b, "%.0f", v);
    else
        web_buf_printf(b, "%.17g", v);
}
