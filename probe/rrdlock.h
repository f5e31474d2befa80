/* rrdlock: one process-wide lock around librrd calls.
 *
 * librrd keeps global state (its error buffer, the rrdcached client, option
 * parsing) in places that are not thread-safe; every module that calls
 * librrd takes this lock around the call and the reading of its results. */
#ifndef CW_RRDLOCK_H
#define CW_RRDLOCK_H

void rrdlock_lock(void);
void rrdlock_unlock(void);

#endif
