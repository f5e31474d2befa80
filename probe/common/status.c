#include "autoconf.h"

#include "common/status.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/util.h"

struct status {
    pthread_mutex_t lock;
    json_t *snap;
};

status_t *status_new(void)
{
    status_t *s = cw_calloc(1, sizeof(*s));

    pthread_mutex_init(&s->lock, NULL);
    s->snap = json_object();
    return s;
}

void status_free(status_t *s)
{
    if (!s)
        return;
    json_decref(s->snap);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void status_publish(status_t *s, json_t *snap)
{
    json_t *old;

    pthread_mutex_lock(&s->lock);
    old = s->snap;
    s->snap = snap;
    pthread_mutex_unlock(&s->lock);
    json_decref(old);
}

json_t *status_get(status_t *s)
{
    json_t *copy;

    /* A deep copy under the lock: nothing is shared between threads. */
    pthread_mutex_lock(&s->lock);
    copy = json_deep_copy(s->snap);
    pthread_mutex_unlock(&s->lock);
    return copy ? copy : json_object();
}
