#include "autoconf.h"

#include "calldb/calldb_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

struct calldb_spool {
    char *path;
    FILE *f;
    uint64_t max_bytes;
    uint64_t size;     /* bytes in the file */
    uint64_t sent;     /* bytes already forwarded */
    uint64_t read_end; /* the end of what calldb_spool_read() handed out */
    uint64_t read_n;
    uint64_t count; /* records after sent */
    uint64_t dropped;
    bool full_said;
};

/* Counts the whole lines of the file and cuts a partial last one. */
static int scan(calldb_spool_t *s)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t good = 0;

    rewind(s->f);
    while ((n = getline(&line, &cap, s->f)) > 0) {
        if (line[n - 1] != '\n')
            break;
        good += (uint64_t)n;
        s->count++;
    }
    free(line);
    if (ftruncate(fileno(s->f), (off_t)good) != 0)
        return -errno;
    s->size = good;
    return fseeko(s->f, 0, SEEK_END) == 0 ? 0 : -errno;
}

calldb_spool_t *calldb_spool_open(const char *path, uint64_t max_bytes, char *err, size_t errlen)
{
    calldb_spool_t *s = cw_calloc(1, sizeof(*s));
    int fd, rc;

    s->path = cw_strdup(path);
    s->max_bytes = max_bytes;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || !(s->f = fdopen(fd, "r+"))) {
        snprintf(err, errlen, "spool %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto fail;
    }
    if ((rc = scan(s)) != 0) {
        snprintf(err, errlen, "spool %s: %s", path, strerror(-rc));
        goto fail;
    }
    return s;
fail:
    calldb_spool_close(s);
    return NULL;
}

long calldb_spool_append(calldb_spool_t *s, const calldb_item_t *items)
{
    long dropped = 0;

    if (fseeko(s->f, 0, SEEK_END) != 0)
        return -EIO;
    for (const calldb_item_t *q = items; q; q = q->next) {
        char *text = json_dumps(q->rec, JSON_COMPACT);
        size_t len = text ? strlen(text) + 3 : 0;

        if (!text || s->size + len > s->max_bytes) {
            dropped++;
            free(text);
            continue;
        }
        if (fprintf(s->f, "%c %s\n", q->incident ? 'I' : 'C', text) < 0) {
            free(text);
            return -EIO;
        }
        s->size += len;
        s->count++;
        free(text);
    }
    if (fflush(s->f) != 0 || fdatasync(fileno(s->f)) != 0)
        return -EIO;
    s->dropped += (uint64_t)dropped;
    if (dropped && !s->full_said) {
        cw_log(CW_LOG_ERR,
               "spool %s is full (%llu bytes, [calldb] spool_mb): records are dropped until the "
               "database is back",
               s->path, (unsigned long long)s->max_bytes);
        s->full_said = true;
    }
    return dropped;
}

void calldb_spool_items_free(calldb_item_t *items)
{
    while (items) {
        calldb_item_t *q = items;

        items = q->next;
        json_decref(q->rec);
        free(q);
    }
}

int calldb_spool_read(calldb_spool_t *s, size_t max, calldb_item_t **items, size_t *n)
{
    calldb_item_t *head = NULL, **tail = &head;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t off = s->sent;

    *items = NULL;
    *n = 0;
    if (fseeko(s->f, (off_t)s->sent, SEEK_SET) != 0)
        return -EIO;
    while (*n < max && off < s->size && (len = getline(&line, &cap, s->f)) > 0) {
        json_t *rec;

        if (line[len - 1] != '\n')
            break;
        off += (uint64_t)len;
        rec = len > 3 ? json_loadb(line + 2, (size_t)len - 3, 0, NULL) : NULL;
        if (rec) { /* a line that is not JSON cannot be sent: skipped */
            calldb_item_t *q = cw_calloc(1, sizeof(*q));

            q->rec = rec;
            q->incident = line[0] == 'I';
            *tail = q;
            tail = &q->next;
        }
        (*n)++;
    }
    free(line);
    s->read_end = off;
    s->read_n = *n;
    *items = head;
    return 0;
}

void calldb_spool_sent(calldb_spool_t *s)
{
    s->sent = s->read_end;
    s->count -= s->read_n < s->count ? s->read_n : s->count;
    s->read_n = 0;
    if (s->sent >= s->size) {
        if (ftruncate(fileno(s->f), 0) == 0)
            fdatasync(fileno(s->f));
        s->size = s->sent = s->read_end = 0;
        s->count = 0;
        s->full_said = false;
    }
}

uint64_t calldb_spool_count(const calldb_spool_t *s)
{
    return s->count;
}

uint64_t calldb_spool_bytes(const calldb_spool_t *s)
{
    return s->size;
}

uint64_t calldb_spool_dropped(const calldb_spool_t *s)
{
    return s->dropped;
}

const char *calldb_spool_path(const calldb_spool_t *s)
{
    return s->path;
}

void calldb_spool_close(calldb_spool_t *s)
{
    if (!s)
        return;
    if (s->f)
        fclose(s->f);
    free(s->path);
    free(s);
}
