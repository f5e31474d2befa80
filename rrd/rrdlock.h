/* rrdlock: the one process-wide lock around librrd.
 *
 * librrd keeps global state (the rrdcached connection of the rrdc_* calls,
 * option parsing in rrd_graph and rrd_xport, fontconfig and pango caches) that
 * is not safe to use from several threads at once.  Every caller of librrd in
 * callwatch (the RRD store's writer, graph rendering, NMS imports) holds this
 * lock around each librrd call, and keeps the calls short so that the others
 * wait little.  Not recursive: never call rrdlock_lock() while holding it. */
#ifndef CW_RRDLOCK_H
#define CW_RRDLOCK_H

void rrdlock_lock(void);
void rrdlock_unlock(void);

#endif
