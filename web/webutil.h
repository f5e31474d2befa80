/* webutil: the web server's parsing helpers, pure functions with no I/O
 * (time parameters, percent-decoding, query strings, base64, the
 * Prometheus label escape) and a small growing string buffer. */
#ifndef CW_WEBUTIL_H
#define CW_WEBUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses a time parameter into Unix seconds: "1700000000", "1700000000.5",
 * or ISO 8601 "2026-11-26", "2026-11-26T14:00", "2026-11-26T14:00:00Z",
 * "2026-11-26T14:00:00.250+01:00", "...-0500" (a space may stand for the T,
 * and for the + of an offset, as a query string turns + into a space).
 * Without an offset the time is UTC.  Returns 0 or -EINVAL. */
int web_parse_time(const char *s, double *out);

/* Decodes len bytes of %XX escapes (and + as a space when plus_space) into
 * a new NUL-terminated string in *out.  A malformed escape or a decoded NUL
 * is refused with -EINVAL.  The result is decoded once: "%252e" gives
 * "%2e". */
int web_pct_decode(const char *in, size_t len, bool plus_space, char **out);

#define WEB_QUERY_MAX 32

/* A decoded query string. */
typedef struct web_query {
    size_t n;
    char *key[WEB_QUERY_MAX];
    char *val[WEB_QUERY_MAX];
} web_query_t;

/* Parses "a=1&b=x%20y" (without the '?'; NULL or "" is empty).  Refuses
 * malformed escapes, NUL, a parameter given twice and more than
 * WEB_QUERY_MAX parameters, with a message naming the parameter in err.
 * On failure q holds nothing that needs freeing. */
int web_query_parse(const char *raw, web_query_t *q, char *err, size_t errlen);
void web_query_free(web_query_t *q);

/* The value of key, or NULL. */
const char *web_query_get(const web_query_t *q, const char *key);

/* Refuses a parameter not in the NULL-terminated allowed list. */
int web_query_allowed(const web_query_t *q, const char *const *allowed, char *err, size_t errlen);

/* Decodes standard base64 (with padding) into out; returns 0 or -EINVAL. */
int web_base64_decode(const char *in, unsigned char *out, size_t cap, size_t *outlen);

/* Compares two strings in time that depends only on their lengths. */
bool web_secure_equal(const char *a, const char *b);

/* SipHash-2-4 of data under a 16-byte key: a keyed hash, so that the
 * server can remember credentials it has checked without keeping them. */
uint64_t web_siphash(const uint8_t key[16], const void *data, size_t len);

/* A growing NUL-terminated string. */
typedef struct web_buf {
    char *p;
    size_t len, cap;
} web_buf_t;

void web_buf_add(web_buf_t *b, const char *s, size_t n);
void web_buf_puts(web_buf_t *b, const char *s);
void web_buf_printf(web_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends s as a Prometheus label value (without the quotes): backslash,
 * double quote and newline escaped. */
void web_buf_prom_label(web_buf_t *b, const char *s);

/* Appends a number in the Prometheus text format (NaN, +Inf, -Inf). */
void web_buf_prom_value(web_buf_t *b, double v);

#endif
