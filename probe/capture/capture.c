#include "autoconf.h"

#include "capture/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Classic pcap (version 2.4) and pcapng files are read by callwatch
 * itself: a megabyte at a time into one buffer, and each packet handed out
 * where it lies there, with no copy and no library call per packet.
 * libpcap still opens the file (its header, first interface, link type and
 * filters), and reads everything else: older versions, pipes, and the rest
 * of a file from its first record that is cut short, larger than the
 * snapshot length or (pcapng) from an interface or section after the
 * first, so that errors and offsets are exactly libpcap's. */
struct fast {
    uint8_t *buf;       /* the file read ahead, or NULL when in memory */
    const uint8_t *win; /* buf, or the whole file in memory */
    uint64_t win_off;   /* file offset of win[0] */
    size_t win_len;
    uint64_t pos;  /* file offset of the next record */
    uint64_t size; /* file size as last seen */
    int fd;        /* -1: win is the caller's memory */
    uint32_t snapshot;
    bool swapped;
    bool ng;           /* pcapng, else classic pcap */
    uint32_t ts_units; /* pcapng: the interface's time units a second */
    uint32_t ts_scale; /* nanoseconds a unit of the file's fractions */
};

struct capture {
    pcap_t *pcap;
    char *name;
    bool live;
    int live_fd;  /* live: polled while no packet comes, or -1 */
    bool fast_on; /* the next record is read by the fast path */
    int dlt;
    char *iobuf; /* the stdio buffer of an offline file */
    struct fast fast;
    struct bpf_program prog; /* the filter, when the fast path applies it */
    bool has_prog;
    char err[PCAP_ERRBUF_SIZE + 256];
};

/* Four times the largest record (16 + 262144 bytes), and small enough to
 * stay in the cache while its packets are analysed. */
#define BUFFER (1u << 20)

/* libpcap reads a file through stdio, two calls a packet; a buffer of
 * st_blksize (4 KiB) would cost a read system call every 15 packets. */
#define FILE_BUFFER (64u << 10)

/* Live: the longest wait for a packet before capture_next() says idle. */
#define LIVE_IDLE_MS 100

bool capture_dlt_supported(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
#endif
    case DLT_RAW:
#ifdef DLT_IPV4
    case DLT_IPV4:
#endif
#ifdef DLT_IPV6
    case DLT_IPV6:
#endif
    case DLT_NULL:
    case DLT_LOOP:
        return true;
    default:
        return false;
    }
}

static const char *dlt_label(int dlt)
{
    const char *name = pcap_datalink_val_to_name(dlt);

    return name ? name : "unknown";
}

/* The packet's time in nanoseconds, from libpcap's seconds and (opened
 * with nanosecond precision) nanoseconds.  A file may claim any time at
 * all: keep it within 0 .. 2^33 s (the year 2242) so that time arithmetic
 * cannot overflow. */
static cw_ns_t packet_time(long long sec, long long nsec)
{
    if (sec < 0)
        return 0;
    if (sec >= (1LL << 33))
        return (cw_ns_t)((1LL << 33) - 1) * CW_NS_PER_SEC;
    return (cw_ns_t)sec * CW_NS_PER_SEC + (nsec < CW_NS_PER_SEC ? (cw_ns_t)nsec : 0);
}

static uint32_t get32(const uint8_t *p, bool swapped)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return swapped ? __builtin_bswap32(v) : v;
}

static uint16_t get16(const uint8_t *p, bool swapped)
{
    uint16_t v;

    memcpy(&v, p, sizeof(v));
    return swapped ? __builtin_bswap16(v) : v;
}

/* Takes the rest of the file over by libpcap, from the next record on. */
static void fast_stop(capture_t *c)
{
    struct fast *f = &c->fast;

    free(f->buf);
    f->buf = NULL;
    if (c->fast_on)
        fseek(pcap_file(c->pcap), (long)f->pos, SEEK_SET);
    c->fast_on = false;
}

/* Reads len bytes at off of the file (fd, or mem when in memory). */
static bool read_at(int fd, const uint8_t *mem, uint64_t size, uint64_t off, void *out, size_t len)
{
    if (off > size || len > size - off)
        return false;
    if (mem) {
        memcpy(out, mem + off, len);
        return true;
    }
    return pread(fd, out, len, (off_t)off) == (ssize_t)len;
}

/* A classic pcap file, version 2.4, either byte order, micro- or
 * nanoseconds: its records start after the 24-byte header. */
static bool pcap_header(struct fast *f, const uint8_t h[24])
{
    uint32_t magic;

    memcpy(&magic, h, sizeof(magic));
    switch (magic) {
    case 0xa1b2c3d4u:
    case 0xa1b23c4du:
        f->swapped = false;
        break;
    case 0xd4c3b2a1u:
    case 0x4d3cb2a1u:
        f->swapped = true;
        magic = __builtin_bswap32(magic);
        break;
    default:
        return false; /* pcapng, or a variant libpcap knows */
    }
    f->ts_scale = magic == 0xa1b23c4du ? 1 : 1000;
    f->pos = 24;
    return get16(h + 4, f->swapped) == 2 && get16(h + 6, f->swapped) == 4;
}

/* A pcapng file: libpcap has read its Section Header Block and first
 * Interface Description Block, and stopped at start.  That interface's
 * time resolution (a power of ten, with no offset) is all the packets
 * read here need: any other block that changes what libpcap knows (an
 * interface, a section) hands the file back to it. */
static bool pcapng_header(struct fast *f, int fd, const uint8_t *mem, uint64_t size, long start)
{
    uint8_t h[12], *idb;
    uint32_t len;
    size_t o;
    bool ok = true;

    if (!read_at(fd, mem, size, 0, h, sizeof(h)) || get32(h, false) != 0x0a0d0d0au)
        return false;
    if (get32(h + 8, false) == 0x1a2b3c4du)
        f->swapped = false;
    else if (get32(h + 8, true) == 0x1a2b3c4du)
        f->swapped = true;
    else
        return false;
    /* The interface block ends at start: its length is the last word. */
    if (start < 32 || !read_at(fd, mem, size, (uint64_t)start - 4, h, 4))
        return false;
    len = get32(h, f->swapped);
    if (len < 20 || len > 65536 || len % 4 || (uint64_t)len > (uint64_t)start)
        return false;
    idb = cw_calloc(1, len);
    if (!read_at(fd, mem, size, (uint64_t)start - len, idb, len) || get32(idb, f->swapped) != 1 ||
        get32(idb + 4, f->swapped) != len) {
        free(idb);
        return false;
    }
    f->ts_units = 1000000;
    f->ts_scale = 1000;
    /* Options after the 16 fixed bytes, up to the trailing length. */
    for (o = 16; o + 4 <= len - 4;) {
        uint16_t code = get16(idb + o, f->swapped), olen = get16(idb + o + 2, f->swapped);

        if (code == 0)
            break;
        if (o + 4 + olen > len - 4) {
            ok = false;
            break;
        }
        if (code == 9) { /* if_tsresol */
            uint8_t r = olen >= 1 ? idb[o + 4] : 0;

            ok = ok && olen >= 1 && !(r & 0x80) && r <= 9;
            f->ts_units = 1;
            for (uint8_t i = 0; ok && i < r; i++)
                f->ts_units *= 10;
            f->ts_scale = ok ? 1000000000u / f->ts_units : 0;
        } else if (code == 14) { /* if_tsoffset */
            ok = false;
        }
        o += 4 + (size_t)((olen + 3u) & ~3u);
    }
    free(idb);
    f->ng = true;
    f->pos = (uint64_t)start;
    return ok;
}

/* Starts the fast path if the file is one it reads (see pcap_header() and
 * pcapng_header()).  mem is the whole file when it is in memory, else NULL
 * and the file is fd. */
static void fast_open(capture_t *c, int fd, const uint8_t *mem, uint64_t size)
{
    struct fast *f = &c->fast;
    uint8_t h[24];
    long start = ftell(pcap_file(c->pcap));

    if (!read_at(fd, mem, size, 0, h, sizeof(h)) || pcap_snapshot(c->pcap) <= 0)
        return;
    if (!pcap_header(f, h) && !pcapng_header(f, fd, mem, size, start))
        return;
    f->snapshot = (uint32_t)pcap_snapshot(c->pcap);
    f->fd = mem ? -1 : fd;
    if (mem) {
        f->win = mem;
        f->win_len = (size_t)size;
        f->win_off = 0;
    } else {
        f->buf = cw_calloc(1, BUFFER);
        f->win = f->buf;
        f->win_len = 0;
        f->win_off = f->pos;
    }
    f->size = size;
    c->fast_on = true;
}

/* Refills the buffer from the next record on.  Returns false when the
 * file gives less than it did a moment ago (it shrank). */
static bool fast_fill(struct fast *f)
{
    size_t keep = (size_t)(f->win_off + f->win_len - f->pos);

    if (f->fd < 0)
        return false;
    memmove(f->buf, f->buf + (f->pos - f->win_off), keep);
    f->win_off = f->pos;
    f->win_len = keep;
    while (f->win_len < BUFFER && f->win_off + f->win_len < f->size) {
        ssize_t n = pread(f->fd, f->buf + f->win_len, BUFFER - f->win_len,
                          (off_t)(f->win_off + f->win_len));

        if (n <= 0)
            return false;
        f->win_len += (size_t)n;
    }
    return true;
}

/* The next need bytes of the file, from the next record; NULL when the
 * file is shorter or they cannot be read. */
static const uint8_t *fast_at(struct fast *f, size_t need)
{
    if (need > f->size - f->pos || need > BUFFER)
        return NULL;
    if (f->pos + need > f->win_off + f->win_len && !fast_fill(f))
        return NULL;
    return f->win + (f->pos - f->win_off);
}

/* Bytes left from the next record; at the end, a file still being written
 * may have grown. */
static uint64_t fast_avail(struct fast *f)
{
    struct stat st;

    if (f->pos == f->size && f->fd >= 0 && fstat(f->fd, &st) == 0 && (uint64_t)st.st_size > f->size)
        f->size = (uint64_t)st.st_size;
    return f->size - f->pos;
}

/* The next packet record of a classic pcap file: CAPTURE_PACKET, or
 * CAPTURE_IDLE when libpcap must take over from it. */
static int pcap_record(struct fast *f, struct pcap_pkthdr *ph, const uint8_t **data)
{
    uint64_t avail = fast_avail(f);
    const uint8_t *r;

    if (avail < 16 || !(r = fast_at(f, 16)))
        return CAPTURE_IDLE;
    ph->caplen = get32(r + 8, f->swapped);
    if (ph->caplen > f->snapshot || !(r = fast_at(f, 16 + (size_t)ph->caplen)))
        return CAPTURE_IDLE;
    ph->len = get32(r + 12, f->swapped);
    /* As libpcap takes them: signed 32-bit seconds and fractions, but
     * unsigned when it swapped their bytes. */
    if (f->swapped) {
        ph->ts.tv_sec = (time_t)get32(r, true);
        ph->ts.tv_usec = (suseconds_t)get32(r + 4, true) * f->ts_scale;
    } else {
        ph->ts.tv_sec = (int32_t)get32(r, false);
        ph->ts.tv_usec = (suseconds_t)(int32_t)get32(r + 4, false) * f->ts_scale;
    }
    *data = r + 16;
    f->pos += 16 + ph->caplen;
    return CAPTURE_PACKET;
}

#define BT_SHB 0x0a0d0d0au
#define BT_IDB 1u
#define BT_PB  2u
#define BT_SPB 3u
#define BT_EPB 6u

/* The next Enhanced Packet Block of a pcapng file, past blocks that
 * libpcap skips too: CAPTURE_PACKET, or CAPTURE_IDLE when libpcap must
 * take over from the block. */
static int pcapng_record(struct fast *f, struct pcap_pkthdr *ph, const uint8_t **data)
{
    for (;;) {
        uint64_t avail = fast_avail(f), t;
        const uint8_t *r;
        uint32_t type, len;

        if (avail < 12 || !(r = fast_at(f, 8)))
            return CAPTURE_IDLE;
        type = get32(r, f->swapped);
        len = get32(r + 4, f->swapped);
        if (len < 12 || len % 4 || len > avail || !(r = fast_at(f, len)) ||
            get32(r + len - 4, f->swapped) != len)
            return CAPTURE_IDLE;
        if (type != BT_EPB) {
            if (type == BT_SHB || type == BT_IDB || type == BT_PB || type == BT_SPB)
                return CAPTURE_IDLE;
            f->pos += len; /* statistics, name resolution, custom: nothing to read */
            continue;
        }
        ph->caplen = get32(r + 20, f->swapped);
        if (len < 32 || get32(r + 8, f->swapped) != 0 || ph->caplen > f->snapshot ||
            ph->caplen > len - 32)
            return CAPTURE_IDLE;
        ph->len = get32(r + 24, f->swapped);
        t = (uint64_t)get32(r + 12, f->swapped) << 32 | get32(r + 16, f->swapped);
        ph->ts.tv_sec = (time_t)(t / f->ts_units);
        ph->ts.tv_usec = (int)(t % f->ts_units * f->ts_scale);
        *data = r + 28;
        f->pos += len;
        return CAPTURE_PACKET;
    }
}

/* The next packet by the fast path: CAPTURE_PACKET, CAPTURE_EOF, or
 * CAPTURE_IDLE when libpcap must take over from this record. */
static int fast_next(capture_t *c, capture_pkt_t *out)
{
    struct fast *f = &c->fast;

    for (;;) {
        struct pcap_pkthdr ph;
        const uint8_t *data;
        int rc;

        if (fast_avail(f) == 0)
            return CAPTURE_EOF;
        rc = f->ng ? pcapng_record(f, &ph, &data) : pcap_record(f, &ph, &data);
        if (rc != CAPTURE_PACKET)
            return rc;
        if (c->has_prog && !pcap_offline_filter(&c->prog, &ph, data))
            continue;
        out->ts = packet_time(ph.ts.tv_sec, ph.ts.tv_usec);
        out->caplen = ph.caplen;
        out->wirelen = ph.len;
        out->data = data;
        return CAPTURE_PACKET;
    }
}

capture_t *capture_open_file(const char *path, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    struct stat st;
    capture_t *c;
    char *iobuf;
    pcap_t *p;
    FILE *f;

    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory, not a capture file", path);
        return NULL;
    }
    if (!(f = fopen(path, "rb"))) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    iobuf = cw_calloc(1, FILE_BUFFER);
    setvbuf(f, iobuf, _IOFBF, FILE_BUFFER);
    /* One thread reads it (libpcap, twice a packet): no lock per read. */
    __fsetlocking(f, FSETLOCKING_BYCALLER);
    posix_fadvise(fileno(f), 0, 0, POSIX_FADV_SEQUENTIAL);
    p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, perr);
    if (!p) {
        fclose(f);
        free(iobuf);
        if (strstr(perr, "unknown file format") || strstr(perr, "truncated dump file") ||
            strstr(perr, "bad dump file format") || st.st_size < 24)
            snprintf(err, errlen, "%s: not a pcap or pcapng capture file (%s)", path, perr);
        else
            snprintf(err, errlen, "%s: %s", path, perr);
        return NULL;
    }
    if (!capture_dlt_supported(pcap_datalink(p))) {
        snprintf(err, errlen, "%s: link type %d (%s) is not supported", path, pcap_datalink(p),
                 dlt_label(pcap_datalink(p)));
        pcap_close(p);
        free(iobuf);
        return NULL;
    }
    c = cw_calloc(1, sizeof(*c));
    c->pcap = p;
    c->iobuf = iobuf;
    c->name = cw_strdup(path);
    c->dlt = pcap_datalink(p);
    c->fast.fd = -1;
    if (S_ISREG(st.st_mode))
        fast_open(c, fileno(f), NULL, (uint64_t)st.st_size);
    return c;
}

capture_t *capture_open_stream(FILE *f, const char *name, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    capture_t *c;
    pcap_t *p;

    p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, perr);
    if (!p) {
        snprintf(err, errlen, "%s: not a pcap or pcapng capture file (%s)", name, perr);
        fclose(f);
        return NULL;
    }
    if (!capture_dlt_supported(pcap_datalink(p))) {
        snprintf(err, errlen, "%s: link type %d (%s) is not supported", name, pcap_datalink(p),
                 dlt_label(pcap_datalink(p)));
        pcap_close(p);
        return NULL;
    }
    c = cw_calloc(1, sizeof(*c));
    c->pcap = p;
    c->name = cw_strdup(name);
    c->dlt = pcap_datalink(p);
    c->fast.fd = -1;
    return c;
}

capture_t *capture_open_memory(const uint8_t *data, size_t size, const char *name, char *err,
                               size_t errlen)
{
    FILE *f = size ? fmemopen((void *)data, size, "rb") : NULL;
    capture_t *c;

    if (!f) {
        snprintf(err, errlen, "%s: not a pcap or pcapng capture file (%zu bytes)", name, size);
        return NULL;
    }
    c = capture_open_stream(f, name, err, errlen);
    if (c)
        fast_open(c, -1, data, size);
    return c;
}

capture_t *capture_open_live(const char *iface, int snaplen, int buffer_bytes, bool promisc,
                             char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    capture_t *c;
    pcap_t *p;
    int rc;

    p = pcap_create(iface, perr);
    if (!p) {
        snprintf(err, errlen, "interface %s: %s", iface, perr);
        return NULL;
    }
    pcap_set_snaplen(p, snaplen > 0 ? snaplen : 262144);
    pcap_set_promisc(p, promisc ? 1 : 0);
    /* A short timeout lets the main loop run the idle clock tick. */
    pcap_set_timeout(p, 100);
    if (buffer_bytes > 0)
        pcap_set_buffer_size(p, buffer_bytes);
    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
    rc = pcap_activate(p);
    if (rc < 0) {
        snprintf(err, errlen, "interface %s: %s", iface, pcap_geterr(p));
        pcap_close(p);
        return NULL;
    }
    if (rc > 0)
        cw_log(CW_LOG_WARN, "interface %s: %s", iface,
               rc == PCAP_WARNING_PROMISC_NOTSUP ? "promiscuous mode not supported"
                                                 : pcap_geterr(p));
    if (!capture_dlt_supported(pcap_datalink(p))) {
        snprintf(err, errlen, "interface %s: link type %d (%s) is not supported", iface,
                 pcap_datalink(p), dlt_label(pcap_datalink(p)));
        pcap_close(p);
        return NULL;
    }
    c = cw_calloc(1, sizeof(*c));
    c->pcap = p;
    c->name = cw_strdup(iface);
    c->live = true;
    /* With TPACKET_V3 libpcap waits in poll() without a timeout and the
     * kernel retires no empty block: on a quiet interface a blocking read
     * would never come back.  Non-blocking reads and a poll() of our own
     * give the loop its idle tick every 100 ms. */
    c->live_fd = -1;
    if (pcap_setnonblock(p, 1, perr) == 0)
        c->live_fd = pcap_get_selectable_fd(p);
    c->dlt = pcap_datalink(p);
    c->fast.fd = -1;
    return c;
}

int capture_set_filter(capture_t *c, const char *bpf, char *err, size_t errlen)
{
    struct bpf_program prog;

    if (pcap_compile(c->pcap, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "filter \"%s\": %s", bpf, pcap_geterr(c->pcap));
        return -EINVAL;
    }
    if (pcap_setfilter(c->pcap, &prog) != 0) {
        snprintf(err, errlen, "filter \"%s\": %s", bpf, pcap_geterr(c->pcap));
        pcap_freecode(&prog);
        return -EINVAL;
    }
    if (c->live) {
        pcap_freecode(&prog);
        return 0;
    }
    /* The fast path applies the filter itself. */
    if (c->has_prog)
        pcap_freecode(&c->prog);
    c->prog = prog;
    c->has_prog = true;
    return 0;
}

int capture_dlt(const capture_t *c)
{
    return c->dlt;
}

const char *capture_name(const capture_t *c)
{
    return c->name;
}

bool capture_is_direct(const capture_t *c)
{
    return c->fast_on;
}

bool capture_is_live(const capture_t *c)
{
    return c->live;
}

int capture_next(capture_t *c, capture_pkt_t *out)
{
    struct pcap_pkthdr *hdr;
    const u_char *data;
    int rc;

    if (c->fast_on) {
        rc = fast_next(c, out);
        if (rc != CAPTURE_IDLE)
            return rc;
        fast_stop(c);
    }
    rc = pcap_next_ex(c->pcap, &hdr, &data);
    switch (rc) {
    case 1:
        /* Opened with nanosecond precision: tv_usec holds nanoseconds. */
        out->ts = packet_time(hdr->ts.tv_sec, hdr->ts.tv_usec);
        out->caplen = hdr->caplen;
        out->wirelen = hdr->len;
        out->data = data;
        return CAPTURE_PACKET;
    case 0:
        if (c->live && c->live_fd >= 0) {
            struct pollfd pfd = { .fd = c->live_fd, .events = POLLIN };

            poll(&pfd, 1, LIVE_IDLE_MS);
        }
        return CAPTURE_IDLE;
    case PCAP_ERROR_BREAK:
        return c->live ? CAPTURE_IDLE : CAPTURE_EOF;
    default:
        snprintf(c->err, sizeof(c->err), "%s", pcap_geterr(c->pcap));
        return CAPTURE_ERROR;
    }
}

const char *capture_error(const capture_t *c)
{
    return c->err;
}

long capture_offset(const capture_t *c)
{
    FILE *f;

    if (c->live)
        return -1;
    if (c->fast_on)
        return (long)c->fast.pos;
    f = pcap_file(c->pcap);
    return f ? ftell(f) : -1;
}

int capture_stats(capture_t *c, capture_stats_t *out)
{
    struct pcap_stat ps;

    if (!c->live)
        return -ENOTSUP;
    if (pcap_stats(c->pcap, &ps) != 0)
        return -EIO;
    out->received = ps.ps_recv;
    out->dropped = ps.ps_drop;
    out->ifdropped = ps.ps_ifdrop;
    return 0;
}

void capture_breakloop(capture_t *c)
{
    if (c)
        pcap_breakloop(c->pcap);
}

void capture_close(capture_t *c)
{
    if (!c)
        return;
    fast_stop(c);
    if (c->has_prog)
        pcap_freecode(&c->prog);
    pcap_close(c->pcap);
    free(c->iobuf);
    free(c->name);
    free(c);
}
