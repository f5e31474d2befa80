/* rrdlib: librrd, loaded the first time it is needed.
 *
 * librrd brings cairo, pango, glib and some forty further libraries for
 * its graphs; loading them costs every run tens of milliseconds, also the
 * many that never touch an RRD file (an offline --report, --help).  The
 * modules that use librrd include this header instead of <rrd.h>: each
 * librrd function they call goes through a table filled by dlopen on first
 * use.  Call rrdlib_load() where an RRD is first needed, to report a
 * missing library cleanly; a call before it loads the library then. */
#ifndef CW_RRDLIB_H
#define CW_RRDLIB_H

#include <rrd.h>
#include <rrd_client.h>
#include <stdbool.h>
#include <stddef.h>

struct rrdlib {
    __typeof__(rrd_create_r2) *create_r2;
    __typeof__(rrd_update_r) *update_r;
    __typeof__(rrd_fetch_r) *fetch_r;
    __typeof__(rrd_last_r) *last_r;
    __typeof__(rrd_lastupdate_r) *lastupdate_r;
    __typeof__(rrd_graph_v) *graph_v;
    __typeof__(rrd_info_free) *info_free;
    __typeof__(rrd_clear_error) *clear_error;
    __typeof__(rrd_get_error) *get_error;
    __typeof__(rrdc_connect) *c_connect;
    __typeof__(rrdc_disconnect) *c_disconnect;
    __typeof__(rrdc_create_r2) *c_create_r2;
    __typeof__(rrdc_update) *c_update;
    __typeof__(rrdc_fetch) *c_fetch;
    __typeof__(rrdc_flush) *c_flush;
    __typeof__(rrdc_last) *c_last;
};

/* Loads librrd once; false with a message naming the library if it
 * cannot be loaded.  Thread-safe. */
bool rrdlib_load(char *err, size_t errlen);

/* The table, loading the library if needed (exits with a message when it
 * cannot: rrdlib_load() is the place to find that out gracefully). */
const struct rrdlib *rrdlib(void);

#ifndef CW_RRDLIB_IMPL
#define rrd_create_r2    (*rrdlib()->create_r2)
#define rrd_update_r     (*rrdlib()->update_r)
#define rrd_fetch_r      (*rrdlib()->fetch_r)
#define rrd_last_r       (*rrdlib()->last_r)
#define rrd_lastupdate_r (*rrdlib()->lastupdate_r)
#define rrd_graph_v      (*rrdlib()->graph_v)
#define rrd_info_free    (*rrdlib()->info_free)
#define rrd_clear_error  (*rrdlib()->clear_error)
#define rrd_get_error    (*rrdlib()->get_error)
#define rrdc_connect     (*rrdlib()->c_connect)
#define rrdc_disconnect  (*rrdlib()->c_disconnect)
#define rrdc_create_r2   (*rrdlib()->c_create_r2)
#define rrdc_update      (*rrdlib()->c_update)
#define rrdc_fetch       (*rrdlib()->c_fetch)
#define rrdc_flush       (*rrdlib()->c_flush)
#define rrdc_last        (*rrdlib()->c_last)
#endif

#endif
