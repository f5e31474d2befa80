/* bench_sip: SIP messages per second through callwatch's whole path
 * (decode, recognition, libosip2 parse, SDP, call state) against a
 * baseline of libosip2's parser alone on the same messages, in one run. */
#include "autoconf.h"

#include <osipparser2/osip_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "common/config.h"
#include "decode/decode.h"
#include "engine/engine.h"
#include "sip/sip.h"
#include "sipgen.h"

struct frame {
    cw_ns_t ts;
    uint32_t len;
    uint8_t *data;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int calls = argc > 1 ? atoi(argv[1]) : 20000;
    char path[64];
    sipgen_t *g = sipgen_new();
    capture_t *cap;
    capture_pkt_t pkt;
    char err[256];
    struct frame *frames = NULL;
    size_t nframes = 0, cap_frames = 0, nmsgs = 0;
    const uint8_t **payloads;
    size_t *plens;
    decoder_t *dec;
    double t0, base_s, full_s, parse_s;
    int reps = 3;

    /* A realistic mix: INVITE with SDP, 100, 180, 200 with SDP, ACK, BYE, 200. */
    for (int i = 0; i < calls; i++) {
        sg_call_t c;
        char id[48], a[32], b[32];
        double t = i * 0.01;

        snprintf(id, sizeof(id), "bench-%d@callwatch", i);
        snprintf(a, sizeof(a), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        snprintf(b, sizeof(b), "10.200.%d.%d", (i >> 8) & 255, i & 255);
        sg_call_init(&c, id, a, b, SG_UDP);
        sg_request(g, &c, t, "INVITE", 1, true, false, true, NULL);
        sg_response(g, &c, t + 0.001, 100, "Trying", 1, "INVITE", true, false, false, NULL);
        sg_response(g, &c, t + 0.002, 180, "Ringing", 1, "INVITE", true, true, false, NULL);
        sg_response(g, &c, t + 0.5, 200, "OK", 1, "INVITE", true, true, true, NULL);
        sg_request(g, &c, t + 0.501, "ACK", 1, true, true, false, NULL);
        sg_request(g, &c, t + 30, "BYE", 2, true, true, false, NULL);
        sg_response(g, &c, t + 30.001, 200, "OK", 2, "BYE", true, true, false, NULL);
    }
    snprintf(path, sizeof(path), "/tmp/cw-bench-sip-%d.pcap", (int)getpid());
    if (sipgen_write(g, path, false) != 0) {
        fprintf(stderr, "bench_sip: cannot write %s\n", path);
        return 1;
    }
    sipgen_free(g);

    /* Load every frame into memory: the bench measures processing, not I/O. */
    cap = capture_open_file(path, err, sizeof(err));
    if (!cap) {
        fprintf(stderr, "bench_sip: %s\n", err);
        return 1;
    }
    while (capture_next(cap, &pkt) == CAPTURE_PACKET) {
        if (nframes == cap_frames) {
            cap_frames = cap_frames ? cap_frames * 2 : 4096;
            frames = realloc(frames, cap_frames * sizeof(*frames));
        }
        frames[nframes].ts = pkt.ts;
        frames[nframes].len = pkt.caplen;
        frames[nframes].data = malloc(pkt.caplen);
        memcpy(frames[nframes].data, pkt.data, pkt.caplen);
        nframes++;
    }
    capture_close(cap);
    unlink(path);

    /* The SIP payloads, for the parser-only baseline. */
    payloads = calloc(nframes, sizeof(*payloads));
    plens = calloc(nframes, sizeof(*plens));
    dec = decoder_new(0, 0);
    for (size_t i = 0; i < nframes; i++) {
        decode_pkt_t dp;

        if (decode_frame(dec, 1, frames[i].ts, frames[i].data, frames[i].len, frames[i].len, &dp) ==
            DECODE_OK) {
            payloads[nmsgs] = dp.payload;
            plens[nmsgs] = dp.payload_len;
            nmsgs++;
        }
    }

    sip_init();
    base_s = 1e9;
    full_s = 1e9;
    parse_s = 1e9;
    for (int r = 0; r < reps; r++) {
        double b, f, ps;
        sip_msg_t *msg = calloc(1, sizeof(*msg));

        /* callwatch's parse (libosip2, SDP and the fields it keeps) alone. */
        t0 = now_s();
        for (size_t i = 0; i < nmsgs; i++)
            sip_parse(payloads[i], plens[i], msg);
        ps = now_s() - t0;
        free(msg);
        if (ps < parse_s)
            parse_s = ps;

        /* Baseline: osip_message_init + parse + free, nothing else. */
        t0 = now_s();
        for (size_t i = 0; i < nmsgs; i++) {
            osip_message_t *m;

            osip_message_init(&m);
            osip_message_parse(m, (const char *)payloads[i], plens[i]);
            osip_message_free(m);
        }
        b = now_s() - t0;

        /* The whole path, frame by frame through a fresh engine. */
        {
            cw_config_t cfg;
            engine_t *e;

            config_init(&cfg);
            e = engine_new(&cfg, NULL);
            t0 = now_s();
            for (size_t i = 0; i < nframes; i++) {
                capture_pkt_t p = { .ts = frames[i].ts,
                                    .caplen = frames[i].len,
                                    .wirelen = frames[i].len,
                                    .data = frames[i].data };

                engine_packet(e, 1, &p);
            }
            engine_finish(e);
            f = now_s() - t0;
            engine_free(e);
            config_free(&cfg);
        }
        if (b < base_s)
            base_s = b;
        if (f < full_s)
            full_s = f;
    }
    printf("bench_sip: %zu SIP messages (%d calls), best of %d runs\n", nmsgs, calls, reps);
    printf("  libosip2 parser alone:   %10.0f messages/s\n", (double)nmsgs / base_s);
    printf("  callwatch's parse alone: %10.0f messages/s\n", (double)nmsgs / parse_s);
    printf("  callwatch whole path:    %10.0f messages/s\n", (double)nmsgs / full_s);
    printf("  ratio whole/parser:      %10.2f  (target >= 0.50)\n", base_s / full_s);

    decoder_free(dec);
    for (size_t i = 0; i < nframes; i++)
        free(frames[i].data);
    free(frames);
    free(payloads);
    free(plens);
    return 0;
}
