/* util: time, addresses and logging shared by every callwatch module. */
#ifndef CW_UTIL_H
#define CW_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Time is nanoseconds since the Unix epoch.  In offline mode it is packet
 * time; in live mode packet time with a wall-clock tick when idle. */
typedef int64_t cw_ns_t;

#define CW_NS_PER_SEC 1000000000LL
#define CW_NS_PER_MS  1000000LL
#define CW_SEC(s)     ((cw_ns_t)(s)*CW_NS_PER_SEC)

static inline double cw_ns_to_sec(cw_ns_t t)
{
    return (double)(t / CW_NS_PER_SEC) + (double)(t % CW_NS_PER_SEC) / 1e9;
}

/* Wall-clock time now. */
cw_ns_t cw_wall_now(void);

/* An IPv4 or IPv6 address.  family is 4 or 6; an IPv4 address uses the first
 * four bytes and leaves the rest zero, so structs compare with memcmp. */
typedef struct cw_addr {
    uint8_t family;
    uint8_t bytes[16];
} cw_addr_t;

#define CW_ADDR_STRLEN     48 /* enough for "[v6]:port" too */
#define CW_ENDPOINT_STRLEN 56

/* Inline: these run several times for every packet. */
static inline bool cw_addr_equal(const cw_addr_t *a, const cw_addr_t *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

/* Mixes 32-bit values into a well-spread hash (for keys built from address
 * hashes and ports). */
static inline uint32_t cw_mix32(uint32_t a, uint32_t b)
{
    uint64_t h = ((uint64_t)a << 32 | b) * 0xff51afd7ed558ccdULL;

    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;
    return (uint32_t)h;
}

/* A hash of an address; seed separates uses. */
static inline uint32_t cw_addr_hash(const cw_addr_t *a, uint32_t seed)
{
    /* Word-wise multiply and a 64-bit finaliser. */
    uint32_t w[4];
    uint64_t h = ((uint64_t)seed << 8 | a->family) * 0x9e3779b97f4a7c15ULL;

    memcpy(w, a->bytes, sizeof(w));
    h ^= w[0] * 0xff51afd7ed558ccdULL;
    if (a->family == 6) {
        h = (h ^ (h >> 29)) * 0xc4ceb9fe1a85ec53ULL;
        h ^= ((uint64_t)w[1] << 32 | w[2]) * 0xff51afd7ed558ccdULL;
        h ^= w[3] * 0xc4ceb9fe1a85ec53ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (uint32_t)h;
}

/* Formats the address into buf (at least CW_ADDR_STRLEN); returns buf. */
const char *cw_addr_str(const cw_addr_t *a, char *buf, size_t len);

/* "ip:port", IPv6 as "[addr]:port"; returns buf. */
const char *cw_endpoint_str(const cw_addr_t *a, uint16_t port, char *buf, size_t len);

/* Parses a textual IPv4 or IPv6 address; returns 0 or -EINVAL. */
int cw_addr_parse(const char *s, cw_addr_t *out);

/* Logging to stderr, prefixed "callwatch: ".  Never call on the per-packet
 * path: count instead.  When stderr is not a terminal (a pipe, a file,
 * journald's stream: JOURNAL_STREAM is set) each line starts with its
 * syslog priority as sd-daemon(3) describes, "<3>" for errors, "<4>"
 * warnings, "<5>" notices, "<6>" information, "<7>" debug, so that journald
 * files it right.  NOTICE is shown by default: what a person running the
 * daemon should see once (the user it runs as, a reload). */
enum cw_log_level { CW_LOG_ERR = 0, CW_LOG_WARN, CW_LOG_NOTICE, CW_LOG_INFO, CW_LOG_DEBUG };

void cw_log_set_level(enum cw_log_level level);
enum cw_log_level cw_log_get_level(void);
void cw_log(enum cw_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cw_vlog(enum cw_log_level level, const char *fmt, va_list ap);

/* Allocation helpers that abort with a message on out-of-memory: callwatch
 * cannot do anything useful once malloc fails. */
void *cw_calloc(size_t n, size_t size);
void *cw_realloc(void *p, size_t size);
char *cw_strdup(const char *s);

/* A pool of objects of one size, carved from slabs of many so that each
 * costs its size and no allocator header; a freed one is reused by the
 * next cw_pool_alloc().  Slabs go back only with cw_pool_destroy().  In
 * AddressSanitizer builds each object is its own allocation, so that
 * misuse is still caught.  Not thread-safe. */
typedef struct cw_pool {
    size_t size;     /* of an object, rounded up to 8 */
    size_t per_slab; /* objects in a slab */
    size_t left;     /* never used ones left in the newest slab */
    char *next;      /* the first of them */
    void *free;      /* freed objects, linked through their first word */
    void *slabs;     /* linked through their first word */
} cw_pool_t;

void cw_pool_init(cw_pool_t *p, size_t size, size_t per_slab);
void *cw_pool_alloc(cw_pool_t *p); /* zeroed */
void cw_pool_free(cw_pool_t *p, void *obj);
void cw_pool_destroy(cw_pool_t *p);

/* Strict number parsing: the whole string must be a number in range.
 * Return 0 or -EINVAL / -ERANGE. */
int cw_parse_long(const char *s, long min, long max, long *out);
int cw_parse_double(const char *s, double min, double max, double *out);

/* Parses "100M", "1G", "512k", "2000000" (bits per second, SI multipliers). */
int cw_parse_bitrate(const char *s, uint64_t *out_bps);

/* v rounded to a multiple of q (0.01: two decimals); NAN and infinities
 * as they are.  For figures in reports. */
double cw_round_to(double v, double q);

/* Copies at most len-1 bytes and always terminates. */
void cw_strlcpy(char *dst, const char *src, size_t len);

/* Big-endian (network order) reads; the caller has checked the length. */
static inline uint16_t cw_rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t cw_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* FNV-1a, 32 bits: the hash of names and Call-IDs in callwatch's tables.
 * CW_HASH32_INIT starts one; cw_hash32_add() feeds it a value. */
#define CW_HASH32_INIT 2166136261u

static inline uint32_t cw_hash32_add(uint32_t h, uint32_t v)
{
    return (h ^ v) * 16777619u;
}

static inline uint32_t cw_hash32(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t h = CW_HASH32_INIT;

    while (len--)
        h = cw_hash32_add(h, *p++);
    return h;
}

static inline uint32_t cw_hash32_str(const char *s)
{
    uint32_t h = CW_HASH32_INIT;

    while (*s)
        h = cw_hash32_add(h, (uint8_t)*s++);
    return h;
}

/* FNV-1a, 64 bits, its offset basis xored with seed (0: plain FNV-1a). */
static inline uint64_t cw_hash64(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t h = 1469598103934665603ULL ^ seed;

    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

#endif
