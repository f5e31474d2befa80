#include "autoconf.h"

#include "daemon/websources.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "rrd/rrdgraph.h"
#include "rrd/rrdread.h"

static int series(void *ud, const char *metric, time_t start, time_t end, json_t **out, char *err,
                  size_t errlen)
{
    const websources_t *ws = ud;

    *out = rrdread_series(ws->store, metric, start, end, err, errlen);
    if (*out)
        return 0;
    return errno == ENOENT ? -ENOENT : errno == EINVAL ? -EINVAL : -EIO;
}

static int graph(void *ud, const char *name, time_t start, time_t end, int width, int height,
                 const web_window_t *shade, size_t nshade, unsigned char **png, size_t *len,
                 char *err, size_t errlen)
{
    const websources_t *ws = ud;
    rrdgraph_window_t win[RRDGRAPH_MAX_WINDOWS];
    rrdgraph_req_t req = {
        .name = name, .start = start, .end = end, .width = width, .height = height, .windows = win
    };

    for (size_t i = 0; i < nshade && i < RRDGRAPH_MAX_WINDOWS; i++) {
        win[i].start = shade[i].start;
        win[i].end = shade[i].end;
        req.nwindows++;
    }
    return rrdgraph_png(ws->store, &req, png, len, err, errlen);
}

/* Held while a request reads the collectors and while a reload swaps
 * them, so that a reload frees collectors nobody reads. */
static pthread_mutex_t col_lock = PTHREAD_MUTEX_INITIALIZER;

static json_t *targets(void *ud)
{
    const websources_t *ws = ud;
    json_t *arr;

    pthread_mutex_lock(&col_lock);
    arr = ws->col ? collectors_targets_json(ws->col) : json_array();
    pthread_mutex_unlock(&col_lock);
    return arr;
}

const collectors_t *websources_set_collectors(websources_t *ws, const collectors_t *col)
{
    const collectors_t *old;

    pthread_mutex_lock(&col_lock);
    old = ws->col;
    ws->col = col;
    pthread_mutex_unlock(&col_lock);
    return old;
}

void websources_fill(const websources_t *ws, web_sources_t *src)
{
    memset(src, 0, sizeof(*src));
    src->status = ws->status;
    src->db = ws->db;
    src->metrics = ws->metrics;
    if (ws->store) {
        src->series = series;
        src->graph = graph;
    }
    src->targets = targets;
    src->site = ws->site;
    src->ud = (void *)ws;
}
