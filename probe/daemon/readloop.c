#include "autoconf.h"

#include "daemon/readloop.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "capture/capture.h"
#include "capture/mirror.h"
#include "capture/reader.h"

struct readloop {
    const readloop_cfg_t *cfg;
    engine_t *e;
    volatile sig_atomic_t stop;
    capture_t *volatile live; /* broken out of by readloop_stop() */
    capture_t *opened;        /* live: opened by readloop_open(), not yet read */
    mirror_t *mirror;         /* live from a udp: source, opened by readloop_open() */
    int mirror_link;          /* what its datagrams carry (DECODE_LINK_TZSP, _VXLAN) */
    capture_t **caps;         /* offline: the files opened, cfg->nfiles of them */
    cw_ns_t first_ts, wall0;  /* --replay-speed: where pacing started */
    cw_ns_t next_tick;        /* monotonic */
    unsigned tick_count;      /* packets until the clock is looked at */
};

#define TICK_NS      (100 * CW_NS_PER_MS)
#define TICK_PACKETS 64

static cw_ns_t mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (cw_ns_t)ts.tv_sec * CW_NS_PER_SEC + ts.tv_nsec;
}

/* The tick hook, when 100 ms have passed since it last ran. */
static void tick(readloop_t *rl)
{
    cw_ns_t now;

    if (!rl->cfg->tick)
        return;
    now = mono_now();
    if (now < rl->next_tick)
        return;
    rl->next_tick = now + TICK_NS;
    rl->cfg->tick(rl->cfg->tick_ud);
}

/* On the packet path: the clock is read once every TICK_PACKETS packets. */
static inline void tick_packet(readloop_t *rl)
{
    if (++rl->tick_count < TICK_PACKETS)
        return;
    rl->tick_count = 0;
    tick(rl);
}

readloop_t *readloop_new(const readloop_cfg_t *cfg, engine_t *e)
{
    readloop_t *rl = cw_calloc(1, sizeof(*rl));

    rl->cfg = cfg;
    rl->e = e;
    return rl;
}

static void close_files(readloop_t *rl)
{
    if (!rl->caps)
        return;
    for (size_t i = 0; i < rl->cfg->nfiles; i++)
        capture_close(rl->caps[i]);
    free(rl->caps);
    rl->caps = NULL;
}

void readloop_free(readloop_t *rl)
{
    if (!rl)
        return;
    close_files(rl);
    capture_close(rl->opened);
    mirror_close(rl->mirror);
    free(rl);
}

void readloop_stop(readloop_t *rl)
{
    capture_t *c = rl->live;

    rl->stop = 1;
    if (c)
        capture_breakloop(c);
}

bool readloop_stopped(const readloop_t *rl)
{
    return rl->stop != 0;
}

/* Sleeps so that packet time ts plays at replay_speed times real time. */
static void pace(readloop_t *rl, cw_ns_t ts)
{
    cw_ns_t due, now;

    if (rl->first_ts == 0) {
        rl->first_ts = ts;
        rl->wall0 = cw_wall_now();
        return;
    }
    if (ts <= rl->first_ts)
        return;
    due = rl->wall0 + (cw_ns_t)((double)(ts - rl->first_ts) / rl->cfg->replay_speed);
    while (!rl->stop && (now = cw_wall_now()) < due) {
        cw_ns_t wait = due - now;
        struct timespec req;

        if (wait > 200 * CW_NS_PER_MS)
            wait = 200 * CW_NS_PER_MS; /* stay responsive to signals */
        req.tv_sec = (time_t)(wait / CW_NS_PER_SEC);
        req.tv_nsec = (long)(wait % CW_NS_PER_SEC);
        nanosleep(&req, NULL);
        tick(rl);
    }
}

/* A packet of the files read, paced with --replay-speed. */
static inline void file_packet(readloop_t *rl, int dlt, const capture_pkt_t *pkt)
{
    if (rl->cfg->replay_speed > 0)
        pace(rl, pkt->ts);
    engine_packet(rl->e, dlt, pkt);
    tick_packet(rl);
}

/* One item of the files read: a packet, a file's start or its end cut
 * short. */
static void file_item(readloop_t *rl, reader_item_t *it)
{
    char msg[1024];

    switch (it->kind) {
    case READER_FILE:
        engine_add_source(rl->e, it->name);
        break;
    case READER_TRUNCATED:
        snprintf(msg, sizeof(msg),
                 "%s: capture is cut short at byte offset %ld (%s); analysed up to there", it->name,
                 it->offset, it->error);
        cw_log(CW_LOG_WARN, "%s", msg);
        engine_add_warning(rl->e, msg);
        break;
    case READER_PACKET:
        file_packet(rl, it->dlt, &it->pkt);
        break;
    default:
        break;
    }
}

/* pcap and pcapng files, read directly: reading costs next to nothing, so
 * this thread reads them itself. */
static void read_direct(readloop_t *rl, capture_t **caps)
{
    for (size_t i = 0; i < rl->cfg->nfiles && !rl->stop; i++) {
        reader_item_t it = { .kind = READER_FILE, .name = capture_name(caps[i]) };
        int rc = CAPTURE_EOF;

        file_item(rl, &it);
        it.dlt = capture_dlt(caps[i]);
        while (!rl->stop && (rc = capture_next(caps[i], &it.pkt)) == CAPTURE_PACKET)
            file_packet(rl, it.dlt, &it.pkt);
        if (!rl->stop && rc == CAPTURE_ERROR) {
            it.kind = READER_TRUNCATED;
            it.error = capture_error(caps[i]);
            it.offset = capture_offset(caps[i]);
            file_item(rl, &it);
        }
    }
}

/* The files libpcap reads: a thread reads them while this one analyses,
 * the two on two cores, in packet order. */
static int read_threaded(readloop_t *rl, capture_t **caps, char *err, size_t errlen)
{
    reader_t *rd = reader_start(caps, rl->cfg->nfiles, &rl->stop);

    if (!rd) {
        snprintf(err, errlen, "cannot start the capture reader thread");
        return -EAGAIN;
    }
    for (;;) {
        reader_item_t it;

        if (rl->stop)
            break; /* the reader thread sees the flag too */
        reader_next(rd, &it);
        if (it.kind == READER_END)
            break;
        file_item(rl, &it);
    }
    reader_free(rd);
    return 0;
}

static int open_files(readloop_t *rl, char *err, size_t errlen)
{
    const readloop_cfg_t *cfg = rl->cfg;

    rl->caps = cw_calloc(cfg->nfiles ? cfg->nfiles : 1, sizeof(*rl->caps));
    for (size_t i = 0; i < cfg->nfiles; i++) {
        rl->caps[i] = capture_open_file(cfg->files[i], err, errlen);
        if (!rl->caps[i] ||
            (cfg->filter && capture_set_filter(rl->caps[i], cfg->filter, err, errlen) != 0)) {
            close_files(rl);
            return -EINVAL;
        }
    }
    return 0;
}

/* A mirror source's link type: what its port's datagrams carry. */
static int mirror_link(const readloop_cfg_t *cfg, char *err, size_t errlen)
{
    uint16_t port;

    if (mirror_parse(cfg->interface, &port, err, errlen) != 0)
        return -EINVAL;
    if (cfg->filter) {
        snprintf(err, errlen,
                 "%s: a mirror source takes no capture filter (-f, filter =): the socket "
                 "receives only what is sent to it",
                 cfg->interface);
        return -EINVAL;
    }
    if (cfg->config && config_encap_port(cfg->config, CW_ENCAP_TZSP, port))
        return DECODE_LINK_TZSP;
    if (cfg->config && config_encap_port(cfg->config, CW_ENCAP_VXLAN, port))
        return DECODE_LINK_VXLAN;
    snprintf(err, errlen,
             "%s: port %u is in neither tzsp_ports nor vxlan_ports ([probe]; by default TZSP "
             "on %d, VXLAN on %d): say which the mirror sends",
             cfg->interface, port, CW_DEF_TZSP_PORT, CW_DEF_VXLAN_PORT);
    return -EINVAL;
}

static int open_live(readloop_t *rl, char *err, size_t errlen)
{
    const readloop_cfg_t *cfg = rl->cfg;
    capture_t *c;

    if (mirror_is_spec(cfg->interface)) {
        if ((rl->mirror_link = mirror_link(cfg, err, errlen)) < 0)
            return rl->mirror_link;
        if (!(rl->mirror =
                  mirror_open(cfg->interface, cfg->snaplen, cfg->buffer_bytes, err, errlen)))
            return -EIO;
        return 0;
    }

    c = capture_open_live(cfg->interface, cfg->snaplen, cfg->buffer_bytes, cfg->promisc, err,
                          errlen);
    if (!c)
        return -EIO;
    if (cfg->filter && capture_set_filter(c, cfg->filter, err, errlen) != 0) {
        capture_close(c);
        return -EINVAL;
    }
    rl->opened = c;
    return 0;
}

int readloop_open(readloop_t *rl, char *err, size_t errlen)
{
    if (rl->caps || rl->opened || rl->mirror)
        return 0;
    return rl->cfg->nfiles ? open_files(rl, err, errlen) : open_live(rl, err, errlen);
}

int readloop_files(readloop_t *rl, char *err, size_t errlen)
{
    bool direct = true;
    int rc;

    if ((rc = readloop_open(rl, err, errlen)) != 0)
        return rc;
    for (size_t i = 0; i < rl->cfg->nfiles; i++)
        direct = direct && capture_is_direct(rl->caps[i]);
    if (direct)
        read_direct(rl, rl->caps);
    else
        rc = read_threaded(rl, rl->caps, err, errlen);
    close_files(rl);
    return rc;
}

/* Receives mirrored packets from a UDP socket until readloop_stop(), as
 * readloop_live() captures. */
static int read_mirror(readloop_t *rl, char *err, size_t errlen)
{
    const readloop_cfg_t *cfg = rl->cfg;
    int link = rl->mirror_link, rc = 0;
    cw_ns_t next_stats = 0;
    capture_stats_t st;
    capture_pkt_t pkt;
    mirror_t *m = rl->mirror;
    engine_add_source(rl->e, cfg->interface);
    engine_set_mirror(rl->e);
    cw_log(CW_LOG_INFO, "receiving %s on %s", link == DECODE_LINK_TZSP ? "TZSP" : "VXLAN",
           cfg->interface);
    while (!rl->stop) {
        int r = mirror_next(m, &pkt);
        cw_ns_t now;

        if (r == CAPTURE_PACKET) {
            engine_packet(rl->e, link, &pkt);
            tick_packet(rl);
            continue;
        }
        if (r == CAPTURE_ERROR) {
            snprintf(err, errlen, "%s: %s", cfg->interface, mirror_error(m));
            rc = -EIO;
            break;
        }
        now = cw_wall_now();
        engine_idle(rl->e, now);
        if (now >= next_stats) {
            mirror_stats(m, &st);
            engine_kernel_stats(rl->e, &st);
            next_stats = now + CW_NS_PER_SEC;
        }
        tick(rl);
    }
    mirror_stats(m, &st);
    engine_kernel_stats(rl->e, &st);
    mirror_close(m);
    rl->mirror = NULL;
    return rc;
}

int readloop_live(readloop_t *rl, char *err, size_t errlen)
{
    const readloop_cfg_t *cfg = rl->cfg;
    capture_pkt_t pkt;
    capture_stats_t st;
    cw_ns_t next_stats = 0;
    capture_t *c;
    int rc = 0;

    if ((rc = readloop_open(rl, err, errlen)) != 0)
        return rc;
    if (rl->mirror)
        return read_mirror(rl, err, errlen);
    c = rl->opened;
    rl->opened = NULL;
    engine_add_source(rl->e, cfg->interface);
    rl->live = c;
    if (rl->stop) /* a signal before rl->live was set */
        capture_breakloop(c);
    cw_log(CW_LOG_INFO, "capturing on %s", cfg->interface);
    while (!rl->stop) {
        int r = capture_next(c, &pkt);
        cw_ns_t now;

        if (r == CAPTURE_PACKET) {
            engine_packet(rl->e, capture_dlt(c), &pkt);
            tick_packet(rl);
            continue;
        }
        if (r == CAPTURE_ERROR) {
            snprintf(err, errlen, "%s: %s", cfg->interface, capture_error(c));
            rc = -EIO;
            break;
        }
        now = cw_wall_now();
        engine_idle(rl->e, now);
        if (now >= next_stats && capture_stats(c, &st) == 0) {
            engine_kernel_stats(rl->e, &st);
            next_stats = now + CW_NS_PER_SEC;
        }
        tick(rl);
    }
    if (rc == 0 && capture_stats(c, &st) == 0)
        engine_kernel_stats(rl->e, &st);
    rl->live = NULL;
    capture_close(c);
    return rc;
}

bool readloop_span(readloop_t *rl, cw_ns_t *from, cw_ns_t *to)
{
    char err[1024];

    *from = *to = 0;
    for (size_t i = 0; i < rl->cfg->nfiles && !rl->stop; i++) {
        capture_t *c = capture_open_file(rl->cfg->files[i], err, sizeof(err));
        capture_pkt_t pkt;

        if (!c)
            continue;
        while (!rl->stop && capture_next(c, &pkt) == CAPTURE_PACKET) {
            if (*from == 0 || pkt.ts < *from)
                *from = pkt.ts;
            if (pkt.ts > *to)
                *to = pkt.ts;
        }
        capture_close(c);
    }
    return *from != 0 && !rl->stop;
}
