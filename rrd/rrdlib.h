/* rrdlib: librrd, loaded the first time it is needed (see common/dl.h).
 *
 * librrd brings cairo, pango, glib and some forty further libraries for
 * its graphs; loading them costs every run tens of milliseconds, also the
 * many that never touch an RRD file.  The modules that use librrd call it
 * through the table rrdlib, as rrdlib.rrd_update_r(...), after a
 * successful rrdlib_load(): rrdstore_open() and nmsrrd_new() load it, and
 * everything else reaches librrd through what they opened. */
#ifndef CW_RRDLIB_H
#define CW_RRDLIB_H

#include <rrd.h>
#include <rrd_client.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/dl.h"

#define RRDLIB_FUNCS(X)                                                                            \
    X(rrd_create_r2)                                                                               \
    X(rrd_update_r)                                                                                \
    X(rrd_fetch_r)                                                                                 \
    X(rrd_last_r)                                                                                  \
    X(rrd_lastupdate_r)                                                                            \
    X(rrd_graph_v)                                                                                 \
    X(rrd_info_free)                                                                               \
    X(rrd_clear_error)                                                                             \
    X(rrd_get_error)                                                                               \
    X(rrdc_connect)                                                                                \
    X(rrdc_disconnect)                                                                             \
    X(rrdc_create_r2)                                                                              \
    X(rrdc_update)                                                                                 \
    X(rrdc_fetch)                                                                                  \
    X(rrdc_flush)                                                                                  \
    X(rrdc_last)

struct rrdlib_fns {
    RRDLIB_FUNCS(CW_DL_FIELD)
};

/* Filled by rrdlib_load(); unusable before it succeeds. */
extern struct rrdlib_fns rrdlib;

/* Loads librrd once; false with a message naming the library and its
 * Debian package if it cannot be loaded.  Thread-safe. */
bool rrdlib_load(char *err, size_t errlen);

#endif
