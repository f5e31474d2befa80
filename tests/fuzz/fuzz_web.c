/* libFuzzer target: what the web server parses from a request: the query
 * string, time parameters, %-escapes, basic-auth base64, and the API
 * handlers that validate parameters (over an in-memory series and status,
 * with no database). */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "common/status.h"
#include "web/webint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static metrics_t *m;
    static status_t *st;
    char *s = malloc(size + 1), *dec = NULL, err[512];
    unsigned char b64[256];
    size_t n;
    double t;
    web_query_t q;

    if (!m) {
        m = metrics_new();
        st = status_new();
        for (int i = 0; i < 100; i++)
            metrics_put(m, "calls.active", CW_SEC(1800000000 + i * 10), i % 7);
        status_publish(st, json_pack("{s:f, s:i, s:{s:s}}", "now", 1800001000.0, "step", 10,
                                     "capture", "mode", "offline"));
    }
    memcpy(s, data, size);
    s[size] = '\0';
    web_parse_time(s, &t);
    if (web_pct_decode(s, size, size & 1, &dec) == 0)
        free(dec);
    web_base64_decode(s, b64, sizeof(b64), &n);
    if (web_query_parse(s, &q, err, sizeof(err)) == 0) {
        web_sources_t src = { .status = st, .metrics = m };
        web_reply_t r = { 0 };

        web_api_series(&src, &q, &r);
        free(r.body);
        memset(&r, 0, sizeof(r));
        web_api_calls(&src, &q, &r);
        free(r.body);
        memset(&r, 0, sizeof(r));
        web_api_incidents(&src, &q, &r);
        free(r.body);
        memset(&r, 0, sizeof(r));
        web_prom_metrics(&src, &q, &r);
        free(r.body);
        web_query_free(&q);
    }
    free(s);
    return 0;
}
