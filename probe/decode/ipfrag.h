/* ipfrag: IPv4 and IPv6 fragment reassembly with bounded memory.
 *
 * Datagrams are keyed by family, addresses, protocol and identification.
 * Memory held by incomplete datagrams never exceeds the limit given to
 * ipfrag_new(): the oldest datagrams are evicted first.  Timeouts run on
 * packet time, so offline results do not depend on read speed. */
#ifndef CW_IPFRAG_H
#define CW_IPFRAG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"

typedef struct ipfrag ipfrag_t;

typedef struct ipfrag_key {
    cw_addr_t src, dst;
    uint32_t id;   /* IPv4: 16-bit identification; IPv6: 32-bit */
    uint8_t proto; /* IPv4: protocol; IPv6: next header after the fragment header */
} ipfrag_key_t;

typedef struct ipfrag_stats {
    uint64_t fragments;   /* fragments accepted */
    uint64_t reassembled; /* datagrams completed */
    uint64_t duplicates;  /* fragments that repeated bytes already held */
    uint64_t overlaps;    /* datagrams dropped for conflicting overlaps */
    uint64_t too_big;     /* fragments reaching past 65535 bytes */
    uint64_t bad;         /* non-final fragments whose length is not a multiple of 8 */
    uint64_t timeouts;    /* datagrams expired incomplete */
    uint64_t evicted;     /* datagrams dropped to stay within the memory limit */
    uint64_t held;        /* datagrams held now */
    uint64_t bytes_held;  /* bytes held now */
} ipfrag_stats_t;

enum ipfrag_result {
    IPFRAG_DONE = 1,     /* datagram complete: *out and *outlen set */
    IPFRAG_HELD = 0,     /* stored, waiting for more */
    IPFRAG_DUP = -1,     /* repeated bytes, ignored */
    IPFRAG_OVERLAP = -2, /* conflicting overlap: datagram dropped */
    IPFRAG_TOO_BIG = -3,
    IPFRAG_BAD = -4,
    IPFRAG_LIMIT = -5, /* the datagram alone exceeds the memory limit: dropped */
};

/* mem_limit in bytes (0: 4 MiB); timeout per datagram from its first
 * fragment (0: 30 s). */
ipfrag_t *ipfrag_new(size_t mem_limit, cw_ns_t timeout);
void ipfrag_free(ipfrag_t *f);

/* Adds a fragment: data holds the bytes after the IP header (and, for
 * IPv6, after the fragment header) at byte offset `offset`; `more` is the
 * more-fragments flag.  The buffer returned with IPFRAG_DONE is owned by
 * ipfrag and valid until the next call. */
int ipfrag_add(ipfrag_t *f, cw_ns_t now, const ipfrag_key_t *key, uint32_t offset,
               const uint8_t *data, uint32_t len, bool more, const uint8_t **out, uint32_t *outlen);

/* Drops datagrams older than the timeout; returns how many expired. */
unsigned ipfrag_expire(ipfrag_t *f, cw_ns_t now);

void ipfrag_get_stats(const ipfrag_t *f, ipfrag_stats_t *out);

#endif
