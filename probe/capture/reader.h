/* reader: reads capture files in a thread of its own and hands the packets
 * to the engine's thread through a ring buffer, so that reading (libpcap)
 * and analysis run on two cores at once.  For the files libpcap reads
 * (pipes, old pcap versions): pcap and pcapng files cost next to nothing to
 * read with callwatch's own reader, which the engine's thread runs itself.
 * Offline only: a live capture has the kernel's buffer.  The order of
 * packets is kept exactly. */
#ifndef CW_READER_H
#define CW_READER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "capture/capture.h"

typedef struct reader reader_t;

enum reader_kind {
    READER_PACKET = 0, /* a packet of the current file */
    READER_FILE,       /* the next file begins (name) */
    READER_TRUNCATED,  /* the current file ended early (name, error, offset) */
    READER_END,        /* every file has been read, or stop was requested */
};

typedef struct reader_item {
    enum reader_kind kind;
    int dlt;
    capture_pkt_t pkt;
    const char *name;  /* READER_FILE, READER_TRUNCATED */
    const char *error; /* READER_TRUNCATED */
    long offset;       /* READER_TRUNCATED */
} reader_item_t;

/* Starts reading caps[0..n) in order (the caller keeps them open until
 * reader_free()).  *stop set to non-zero ends the reading early. */
reader_t *reader_start(capture_t *const *caps, size_t n, volatile sig_atomic_t *stop);

/* The next item; what it points to stays valid until the next call.
 * Blocks until one is ready. */
void reader_next(reader_t *r, reader_item_t *out);

/* Joins the thread.  Accepts NULL. */
void reader_free(reader_t *r);

#endif
