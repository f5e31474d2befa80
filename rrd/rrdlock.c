#include "autoconf.h"

#include "rrd/rrdlock.h"

#include <pthread.h>

static pthread_mutex_t rrd_mutex = PTHREAD_MUTEX_INITIALIZER;

void rrdlock_lock(void)
{
    pthread_mutex_lock(&rrd_mutex);
}

void rrdlock_unlock(void)
{
    pthread_mutex_unlock(&rrd_mutex);
}
