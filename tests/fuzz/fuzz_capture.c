/* libFuzzer target: a whole capture file (pcap or pcapng) read through the
 * capture reader and the engine. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capture.h"
#include "cwconfig.h"
#include "engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    FILE *f;
    capture_t *c;
    capture_pkt_t pkt;
    cw_config_t cfg;
    engine_t *e;
    int n = 0;

    if (size == 0)
        return 0;
    f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    c = capture_open_stream(f, "fuzz", err, sizeof(err));
    if (!c)
        return 0;
    config_init(&cfg);
    e = engine_new(&cfg, NULL);
    while (n++ < 100000 && capture_next(c, &pkt) == CAPTURE_PACKET)
        engine_packet(e, capture_dlt(c), &pkt);
    engine_finish(e);
    engine_free(e);
    config_free(&cfg);
    capture_close(c);
    return 0;
}
