/* central: what the central dashboard (callwatch --central) serves: every
 * site's call records and incidents from the shared PostgreSQL database
 * ([calldb] url, read only) and every site's series from the shared RRD
 * store, one folder per site: read through rrdcached ([rrd] daemon, FETCH
 * and LIST) or, without a daemon, from the local base directory (the
 * data directory).  It captures nothing (docs/sites.md). */
#ifndef CW_CENTRAL_H
#define CW_CENTRAL_H

#include <stddef.h>

#include "calldb/calldb.h"
#include "common/config.h"
#include "web/web.h"

typedef struct central central_t;

/* Opens the database and the store cfg names (cfg must outlive it).  NULL
 * with err naming the key, server or directory at fault; *usage is set
 * when the configuration lacks what is needed (exit 2). */
central_t *central_open(const cw_config_t *cfg, bool *usage, char *err, size_t errlen);

/* Fills src for the web server (c must outlive it). */
void central_sources(central_t *c, web_sources_t *src);

/* Accepts NULL. */
void central_close(central_t *c);

#endif
