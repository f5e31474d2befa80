/* rrdquery: reads a callwatch data directory through the store's API, for
 * the shell tests (the web server will call the same functions).
 *
 *   rrdquery series DIR METRIC START END      the /api/series JSON
 *   rrdquery list DIR                         the metrics on disk, JSON
 *   rrdquery graph DIR NAME START END OUT.png [WSTART WEND]...
 *                                             a graph, incident windows shaded
 *   rrdquery put DIR STEP METRIC T V [METRIC T V]...
 *                                             writes samples (T: Unix seconds)
 *   rrdquery stats ADDR                       rrdcached's counters, "Name value"
 *
 * Goes through rrdcached when RRDCACHED_ADDRESS is set.  Exit status 0, 1
 * when the store says no (the message on stderr), 2 for bad usage. */
#include "autoconf.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rrd.h>
#include <rrd_client.h>

#include "rrd/rrdgraph.h"
#include "rrd/rrdread.h"
#include "rrd/rrdstore.h"

static int usage(void)
{
    fprintf(stderr, "usage: rrdquery series DIR METRIC START END | list DIR |\n"
                    "       graph DIR NAME START END OUT [WSTART WEND]... |\n"
                    "       put DIR STEP METRIC T V... | stats ADDR\n");
    return 2;
}

static int num(const char *s, long *out)
{
    return cw_parse_long(s, 0, 4102444800L, out);
}

int main(int argc, char **argv)
{
    rrdstore_t *s;
    char err[1024];
    long a, b, step = 10;
    int rc = 0;

    if (argc < 3)
        return usage();
    if (strcmp(argv[1], "stats") == 0 && argc == 3) {
        rrdc_stats_t *st = NULL;

        if (rrdc_connect(argv[2]) != 0 || rrdc_stats_get(&st) != 0) {
            fprintf(stderr, "rrdquery: %s: %s\n", argv[2], rrd_get_error());
            return 1;
        }
        for (rrdc_stats_t *p = st; p; p = p->next) {
            if (p->type == RRDC_STATS_TYPE_COUNTER)
                printf("%s %llu\n", p->name, (unsigned long long)p->value.counter);
            else
                printf("%s %g\n", p->name, p->value.gauge);
        }
        rrdc_stats_free(st);
        rrdc_disconnect();
        return 0;
    }
    if (strcmp(argv[1], "put") == 0 && (argc < 7 || (argc - 4) % 3 || num(argv[3], &step)))
        return usage();
    s = rrdstore_open(argv[2], step, NULL, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "rrdquery: %s\n", err);
        return 1;
    }
    if (strcmp(argv[1], "series") == 0 && argc == 6 && !num(argv[4], &a) && !num(argv[5], &b)) {
        json_t *j = rrdread_series(s, argv[3], a, b, err, sizeof(err));

        if (j) {
            json_dumpf(j, stdout, JSON_COMPACT);
            putchar('\n');
            json_decref(j);
        } else {
            fprintf(stderr, "rrdquery: %s\n", err);
            rc = 1;
        }
    } else if (strcmp(argv[1], "list") == 0 && argc == 3) {
        json_t *j = rrdread_metrics(s);

        json_dumpf(j, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(j);
    } else if (strcmp(argv[1], "graph") == 0 && argc >= 7 && argc % 2 == 1 && !num(argv[4], &a) &&
               !num(argv[5], &b)) {
        rrdgraph_window_t win[RRDGRAPH_MAX_WINDOWS];
        rrdgraph_req_t req = { .name = argv[3], .start = a, .end = b, .windows = win };
        unsigned char *png = NULL;
        size_t len = 0;
        FILE *f;

        for (int i = 7; i + 1 < argc && req.nwindows < RRDGRAPH_MAX_WINDOWS; i += 2) {
            if (num(argv[i], &a) || num(argv[i + 1], &b)) {
                rrdstore_close(s);
                return usage();
            }
            win[req.nwindows].start = a;
            win[req.nwindows++].end = b;
        }
        if (rrdgraph_png(s, &req, &png, &len, err, sizeof(err)) != 0) {
            fprintf(stderr, "rrdquery: %s\n", err);
            rc = 1;
        } else if (!(f = fopen(argv[6], "wb")) || fwrite(png, 1, len, f) != len || fclose(f) != 0) {
            fprintf(stderr, "rrdquery: %s: %s\n", argv[6], strerror(errno));
            rc = 1;
        }
        free(png);
    } else if (strcmp(argv[1], "put") == 0) {
        for (int i = 4; i + 2 < argc; i += 3) {
            double v;

            if (num(argv[i + 1], &a) || cw_parse_double(argv[i + 2], -1e300, 1e300, &v) ||
                rrdstore_update(s, argv[i], CW_SEC(a), v) != 0) {
                fprintf(stderr, "rrdquery: cannot put %s %s %s\n", argv[i], argv[i + 1],
                        argv[i + 2]);
                rc = 1;
            }
        }
        if (rrdstore_flush(s) != 0)
            rc = 1;
    } else {
        rc = usage();
    }
    rrdstore_close(s);
    return rc;
}
