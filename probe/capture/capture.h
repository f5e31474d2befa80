/* capture: libpcap sources, live or from pcap/pcapng files. */
#ifndef CW_CAPTURE_H
#define CW_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/util.h"

typedef struct capture capture_t;

typedef struct capture_pkt {
    cw_ns_t ts;          /* nanosecond timestamp */
    uint32_t caplen;     /* bytes captured */
    uint32_t wirelen;    /* bytes on the wire */
    const uint8_t *data; /* valid until the next capture_next() */
} capture_pkt_t;

typedef struct capture_stats {
    uint64_t received;  /* packets the kernel saw (a mirror source: datagrams received) */
    uint64_t dropped;   /* dropped for lack of buffer space */
    uint64_t ifdropped; /* dropped by the interface or driver */
    uint64_t truncated; /* mirror sources: datagrams longer than the snap length */
    uint64_t errors;    /* mirror sources: receive errors */
} capture_stats_t;

enum capture_result {
    CAPTURE_PACKET = 1,
    CAPTURE_IDLE = 0, /* live: read timeout, no packet */
    CAPTURE_EOF = -1,
    CAPTURE_ERROR = -2, /* see capture_error(); for files, a truncated capture */
};

/* Opens a pcap or pcapng file with nanosecond timestamps.  The file is
 * read without libpcap (see capture_is_direct()) until a record that is cut
 * short or exceeds the snapshot length, or (pcapng) a second interface or
 * section; libpcap reads the rest, so that errors and offsets are its own.  On failure returns NULL
 * and writes a message naming the file into err. */
capture_t *capture_open_file(const char *path, char *err, size_t errlen);

/* Reads a capture from an open stream (used by the fuzz target); takes
 * ownership of f. */
capture_t *capture_open_stream(FILE *f, const char *name, char *err, size_t errlen);

/* Reads a capture held in memory (size bytes at data, kept by the caller
 * until capture_close()); as capture_open_file() reads a regular file. */
capture_t *capture_open_memory(const uint8_t *data, size_t size, const char *name, char *err,
                               size_t errlen);

/* True while a pcap or pcapng file is read by callwatch's own reader
 * (large reads, each packet handed out in place) rather than by libpcap. */
bool capture_is_direct(const capture_t *c);

/* Opens a live capture.  snaplen 0 means 262144; buffer_bytes 0 keeps the
 * libpcap default.  On failure returns NULL with a message in err. */
capture_t *capture_open_live(const char *iface, int snaplen, int buffer_bytes, bool promisc,
                             char *err, size_t errlen);

/* Compiles and installs a BPF filter; returns 0 or -EINVAL with err set. */
int capture_set_filter(capture_t *c, const char *bpf, char *err, size_t errlen);

/* The libpcap DLT_ value of the source. */
int capture_dlt(const capture_t *c);

/* True when the link type is one the decoder understands. */
bool capture_dlt_supported(int dlt);

const char *capture_name(const capture_t *c);
bool capture_is_live(const capture_t *c);

/* Reads the next packet.  Returns a capture_result. */
int capture_next(capture_t *c, capture_pkt_t *out);

/* The last error message, and for files the byte offset reached. */
const char *capture_error(const capture_t *c);
long capture_offset(const capture_t *c);

/* Kernel statistics of a live capture; returns 0 or -ENOTSUP for files. */
int capture_stats(capture_t *c, capture_stats_t *out);

/* Makes a blocked capture_next() return soon; safe from a signal handler. */
void capture_breakloop(capture_t *c);

void capture_close(capture_t *c);

#endif
