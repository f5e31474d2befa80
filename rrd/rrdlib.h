/* rrdlib: librrd's process-wide state: the library, loaded the first time
 * it is needed (see common/dl.h), the one lock around its calls, and the
 * rrdcached connection its rrdc_* calls share.
 *
 * librrd brings cairo, pango, glib and some forty further libraries for
 * its graphs; loading them costs every run tens of milliseconds, also the
 * many that never touch an RRD file.  The modules that use librrd call it
 * through the table rrdlib, as rrdlib.rrd_update_r(...), after a
 * successful rrdlib_load(): rrdstore_open() and the readers of rrd/rrdread.h
 * load it, and everything else reaches librrd through what they opened.
 *
 * librrd keeps global state (the rrdcached connection of the rrdc_* calls,
 * option parsing in rrd_graph and rrd_xport, fontconfig and pango caches)
 * that is not safe to use from several threads at once.  Every caller of
 * librrd in callwatch (the store's writer and readers, graph rendering, NMS
 * imports) holds rrdlib_lock() around each librrd call, and keeps the calls
 * short so that the others wait little. */
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
    X(rrd_list)                                                                                    \
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

/* Not recursive: never call rrdlib_lock() while holding it. */
void rrdlib_lock(void);
void rrdlib_unlock(void);

/* msg, or a placeholder when librrd failed without saying why. */
const char *rrdlib_error_text(const char *msg);

/* librrd's message for its last failure, through rrdlib_error_text(). */
const char *rrdlib_error(void);

/* Whether addr has the form of an rrdcached address: "unix:/path", "/path"
 * or host[:port]. */
bool rrdlib_daemon_valid(const char *addr);

/* Whether the rrdcached at addr is local ("unix:/path" or "/path"): it
 * writes files that callwatch can also read directly. */
bool rrdlib_daemon_is_local(const char *addr);

/* Points the rrdc_* calls at the rrdcached at addr, after clearing librrd's
 * error; returns rrdc_connect()'s result.  Must hold the lock.  The
 * connection is global and another user of librrd may have pointed it
 * elsewhere, so every series of rrdc_* calls starts here (a no-op when it
 * is already there). */
int rrdlib_connect(const char *addr);

#endif
