/* libFuzzer target: a whole capture file (pcap or pcapng) read through the
 * capture reader and the engine.  The file is read twice, by callwatch's
 * own pcap reader and by libpcap alone, and the two must hand out the same
 * packets and end the same way. */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "common/config.h"
#include "engine/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_capture: the two readers differ: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    FILE *f;
    capture_t *c, *ref;
    capture_pkt_t pkt, rpkt;
    cw_config_t cfg;
    engine_t *e;
    int n = 0, rc, rrc;

    if (size == 0)
        return 0;
    c = capture_open_memory(data, size, "fuzz", err, sizeof(err));
    f = fmemopen((void *)data, size, "rb");
    if (!f) {
        capture_close(c);
        return 0;
    }
    ref = capture_open_stream(f, "fuzz", err, sizeof(err));
    must((c != NULL) == (ref != NULL), "one opened the file, the other did not");
    if (!c)
        return 0;
    config_init(&cfg);
    e = engine_new(&cfg, NULL);
    do {
        rc = capture_next(c, &pkt);
        rrc = capture_next(ref, &rpkt);
        must(rc == rrc, "result");
        if (rc != CAPTURE_PACKET)
            break;
        must(pkt.ts == rpkt.ts, "time");
        must(pkt.caplen == rpkt.caplen && pkt.wirelen == rpkt.wirelen, "lengths");
        must(memcmp(pkt.data, rpkt.data, pkt.caplen) == 0, "data");
        engine_packet(e, capture_dlt(c), &pkt);
    } while (++n < 100000);
    if (rc == CAPTURE_ERROR) {
        must(strcmp(capture_error(c), capture_error(ref)) == 0, "error message");
        must(capture_offset(c) == capture_offset(ref), "offset");
    }
    engine_finish(e);
    engine_free(e);
    config_free(&cfg);
    capture_close(c);
    capture_close(ref);
    return 0;
}
