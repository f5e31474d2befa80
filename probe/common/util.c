#include "autoconf.h"

#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

static enum cw_log_level log_level = CW_LOG_INFO;

cw_ns_t cw_wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (cw_ns_t)ts.tv_sec * CW_NS_PER_SEC + ts.tv_nsec;
}

const char *cw_addr_str(const cw_addr_t *a, char *buf, size_t len)
{
    if (a->family == 4) {
        if (!inet_ntop(AF_INET, a->bytes, buf, (socklen_t)len))
            cw_strlcpy(buf, "?", len);
    } else if (a->family == 6) {
        if (!inet_ntop(AF_INET6, a->bytes, buf, (socklen_t)len))
            cw_strlcpy(buf, "?", len);
    } else {
        cw_strlcpy(buf, "-", len);
    }
    return buf;
}

const char *cw_endpoint_str(const cw_addr_t *a, uint16_t port, char *buf, size_t len)
{
    char ip[CW_ADDR_STRLEN];

    cw_addr_str(a, ip, sizeof(ip));
    if (a->family == 6)
        snprintf(buf, len, "[%s]:%u", ip, port);
    else
        snprintf(buf, len, "%s:%u", ip, port);
    return buf;
}

int cw_addr_parse(const char *s, cw_addr_t *out)
{
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, s, out->bytes) == 1) {
        out->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, s, out->bytes) == 1) {
        out->family = 6;
        return 0;
    }
    return -EINVAL;
}

void cw_log_set_level(enum cw_log_level level)
{
    log_level = level;
}

enum cw_log_level cw_log_get_level(void)
{
    return log_level;
}

/* Whether stderr is the journal: systemd says so in JOURNAL_STREAM, the
 * device and inode of the stream it connected ("DEV:INO"), which a
 * redirection by hand no longer matches. */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
           (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* Whether lines carry their syslog priority, for journald to file them:
 * decided once, at the first line (a benign race: every thread finds the
 * same answer).  A terminal, a pipe or a file by hand get plain lines. */
static bool log_priorities(void)
{
    static int decided = -1;

    if (decided < 0)
        decided = stderr_is_journal();
    return decided;
}

void cw_vlog(enum cw_log_level level, const char *fmt, va_list ap)
{
    static const char *const prefix[] = { "error: ", "warning: ", "", "", "debug: " };
    static const char *const prio[] = { "<3>", "<4>", "<5>", "<6>", "<7>" };
    char line[1024];

    if (level > log_level)
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    /* One write per line so concurrent threads do not interleave. */
    fprintf(stderr, "%scallwatch: %s%s\n", log_priorities() ? prio[level] : "", prefix[level],
            line);
}

void cw_log(enum cw_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cw_vlog(level, fmt, ap);
    va_end(ap);
}

static void oom(void)
{
    fputs(log_priorities() ? "<2>callwatch: error: out of memory\n"
                           : "callwatch: error: out of memory\n",
          stderr);
    abort();
}

void *cw_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p)
        oom();
    return p;
}

void *cw_realloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);

    if (!q)
        oom();
    return q;
}

#if defined(__SANITIZE_ADDRESS__)
#define POOL_PASSTHROUGH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_PASSTHROUGH 1
#endif
#endif

/* A slab's header: the link to the previous slab, padded so that the
 * objects after it are aligned as malloc's are. */
#define SLAB_HEADER 16

void cw_pool_init(cw_pool_t *p, size_t size, size_t per_slab)
{
    memset(p, 0, sizeof(*p));
    p->size = size < sizeof(void *) ? sizeof(void *) : (size + 7) & ~(size_t)7;
    p->per_slab = per_slab ? per_slab : 1;
}

#ifdef POOL_PASSTHROUGH
void *cw_pool_alloc(cw_pool_t *p)
{
    return cw_calloc(1, p->size);
}

void cw_pool_free(cw_pool_t *p, void *obj)
{
    (void)p;
    free(obj);
}
#else
void *cw_pool_alloc(cw_pool_t *p)
{
    void *o;

    if (p->free) {
        o = p->free;
        memcpy(&p->free, o, sizeof(void *));
        memset(o, 0, p->size);
        return o;
    }
    if (!p->left) {
        char *slab = cw_calloc(1, SLAB_HEADER + p->size * p->per_slab);

        memcpy(slab, &p->slabs, sizeof(void *));
        p->slabs = slab;
        p->next = slab + SLAB_HEADER;
        p->left = p->per_slab;
    }
    o = p->next; /* zero since the slab was allocated */
    p->next += p->size;
    p->left--;
    return o;
}

void cw_pool_free(cw_pool_t *p, void *obj)
{
    if (!obj)
        return;
    memcpy(obj, &p->free, sizeof(void *));
    p->free = obj;
}
#endif

void cw_pool_destroy(cw_pool_t *p)
{
    void *slab = p->slabs, *prev;

    while (slab) {
        memcpy(&prev, slab, sizeof(void *));
        free(slab);
        slab = prev;
    }
    memset(p, 0, sizeof(*p));
}

char *cw_strdup(const char *s)
{
    char *d;

    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        oom();
    return d;
}

int cw_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end != '\0')
        return -EINVAL;
    if (errno == ERANGE || v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int cw_parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    double v;

    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (*end != '\0' || isnan(v))
        return -EINVAL;
    if (errno == ERANGE || v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int cw_parse_bitrate(const char *s, uint64_t *out_bps)
{
    char *end;
    double v, mult = 1;

    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || errno == ERANGE || isnan(v) || v <= 0)
        return -EINVAL;
    switch (*end) {
    case '\0':
        break;
    case 'k':
    case 'K':
        mult = 1e3;
        end++;
        break;
    case 'm':
    case 'M':
        mult = 1e6;
        end++;
        break;
    case 'g':
    case 'G':
        mult = 1e9;
        end++;
        break;
    case 't':
    case 'T':
        mult = 1e12;
        end++;
        break;
    default:
        return -EINVAL;
    }
    /* Accept an optional "bps" or "bit/s" suffix for readability. */
    if (*end && strcmp(end, "bps") != 0 && strcmp(end, "bit/s") != 0 && strcmp(end, "b") != 0)
        return -EINVAL;
    v *= mult;
    if (v < 1 || v > 1e15)
        return -ERANGE;
    *out_bps = (uint64_t)v;
    return 0;
}

double cw_round_to(double v, double q)
{
    return isfinite(v) ? round(v / q) * q : v;
}

void cw_strlcpy(char *dst, const char *src, size_t len)
{
    size_t n;

    if (!len)
        return;
    n = strlen(src);
    if (n >= len)
        n = len - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}
