#include "config.h"

#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct capture {
    pcap_t *pcap;
    char *name;
    bool live;
    int dlt;
    char *iobuf; /* the stdio buffer of an offline file */
    char err[PCAP_ERRBUF_SIZE + 256];
};

/* libpcap reads a file through stdio, two calls a packet; a buffer of
 * st_blksize (4 KiB) would cost a read system call every 15 packets. */
#define FILE_BUFFER (64u << 10)

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
    c->dlt = pcap_datalink(p);
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
    pcap_freecode(&prog);
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

bool capture_is_live(const capture_t *c)
{
    return c->live;
}

int capture_next(capture_t *c, capture_pkt_t *out)
{
    struct pcap_pkthdr *hdr;
    const u_char *data;
    int rc = pcap_next_ex(c->pcap, &hdr, &data);

    switch (rc) {
    case 1:
        /* Opened with nanosecond precision: tv_usec holds nanoseconds.  A
         * file may claim any time at all: keep it within 0 .. 2^33 s (the
         * year 2242) so that time arithmetic cannot overflow. */
        if (hdr->ts.tv_sec < 0)
            out->ts = 0;
        else if (hdr->ts.tv_sec >= (1LL << 33))
            out->ts = (cw_ns_t)((1LL << 33) - 1) * CW_NS_PER_SEC;
        else
            out->ts = (cw_ns_t)hdr->ts.tv_sec * CW_NS_PER_SEC +
                      (hdr->ts.tv_usec < CW_NS_PER_SEC ? (cw_ns_t)hdr->ts.tv_usec : 0);
        out->caplen = hdr->caplen;
        out->wirelen = hdr->len;
        out->data = data;
        return CAPTURE_PACKET;
    case 0:
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
    pcap_close(c->pcap);
    free(c->iobuf);
    free(c->name);
    free(c);
}
