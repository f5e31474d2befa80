/* websources: what the web server reads, taken from the probe's parts.
 *
 * The server knows only the callbacks of web_sources_t (web/web.h); these
 * adapters answer them from the RRD store (/api/series, /graph), the
 * collectors (the SNMP targets of /api/status) and the status, call
 * database and metrics the engine fills. */
#ifndef CW_WEBSOURCES_H
#define CW_WEBSOURCES_H

#include "calldb/calldb.h"
#include "common/metrics.h"
#include "common/status.h"
#include "daemon/collectors.h"
#include "rrd/rrdstore.h"
#include "web/web.h"

typedef struct websources {
    status_t *status;
    calldb_t *db;
    metrics_t *metrics;
    rrdstore_t *store;       /* NULL: no /api/series from RRD files, no graphs */
    const collectors_t *col; /* NULL: no targets */
    const char *site;        /* the probe's site ([probe] site) */
} websources_t;

/* Fills src with ws's parts and the adapters over them; ws is read by the
 * server's threads and must outlive it. */
void websources_fill(const websources_t *ws, web_sources_t *src);

/* Makes the server read col from now on (a reload's new collectors) and
 * returns the ones it read before: no request reads those any more when
 * this returns, so the caller may free them. */
const collectors_t *websources_set_collectors(websources_t *ws, const collectors_t *col);

#endif
