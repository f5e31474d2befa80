/* readloop: the analysing thread's loops, from capture files or a live
 * interface into the engine.
 *
 * Files are opened first, so that a bad one is bad input found before any
 * work; pcap and pcapng files are then read by this thread itself, the
 * rest (pipes, old pcap versions) by the reader thread (capture/reader.h).
 * A live capture is read until readloop_stop(), moving the engine's clock
 * with the wall clock while no packet comes and handing it the kernel's
 * capture counters once a second. */
#ifndef CW_READLOOP_H
#define CW_READLOOP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"
#include "engine/engine.h"

typedef struct readloop readloop_t;

typedef struct readloop_cfg {
    /* Offline: the files, read in this order as one capture. */
    const char *const *files;
    size_t nfiles;
    double replay_speed; /* > 0: pace packets at this many times real time */
    /* Live. */
    const char *interface;
    int snaplen;
    int buffer_bytes;
    bool promisc;
    /* Live from a mirror socket (interface "udp:ADDR:PORT"): its port says
     * TZSP or VXLAN, by config's tzsp_ports and vxlan_ports. */
    const cw_config_t *config;
    /* Both: a BPF filter, or NULL. */
    const char *filter;
    /* Called from the loop, in this thread, at least every 100 ms of wall
     * time while the loop turns (on idle reads, every 64 packets, between
     * paced packets), and not more often: the service's watchdog and
     * reload hook.  NULL: none. */
    void (*tick)(void *ud);
    void *tick_ud;
} readloop_cfg_t;

/* cfg and what it points to are read, not copied: they must outlive rl. */
readloop_t *readloop_new(const readloop_cfg_t *cfg, engine_t *e);
void readloop_free(readloop_t *rl);

/* Opens cfg's files, or its interface, with the filter, without reading a
 * packet: what needs privileges is done before they are given up.  The
 * errors are those of readloop_files() and readloop_live(); calling it is
 * optional (they open what is not open yet). */
int readloop_open(readloop_t *rl, char *err, size_t errlen);

/* Reads cfg's files into the engine.  0 at their end or when stopped;
 * -EINVAL when a file cannot be opened or the filter is refused (err says
 * which), another negative errno when reading cannot start.  A file cut
 * short is a warning in the report, not an error. */
int readloop_files(readloop_t *rl, char *err, size_t errlen);

/* Captures from cfg's interface until readloop_stop().  0 when stopped;
 * -EINVAL for a filter refused, or a mirror source whose port is neither
 * TZSP's nor VXLAN's or that takes a filter; another negative errno when
 * the interface or socket cannot be opened or fails (err says why). */
int readloop_live(readloop_t *rl, char *err, size_t errlen);

/* Asks the loop to end soon.  Async-signal-safe: meant for SIGINT and
 * SIGTERM handlers. */
void readloop_stop(readloop_t *rl);
bool readloop_stopped(const readloop_t *rl);

/* The first and last packet times of the files (a pass that reads only
 * timestamps); false when there is none or the loop was stopped.  Files
 * that cannot be opened are skipped: readloop_files() reports them. */
bool readloop_span(readloop_t *rl, cw_ns_t *from, cw_ns_t *to);

#endif
