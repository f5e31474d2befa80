#include "autoconf.h"

#include "common/fs.h"

#include <errno.h>
#include <stdbool.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"

int cw_mkdir_p(const char *dir, mode_t mode, char *failed, size_t failedlen)
{
    char *p = cw_strdup(dir);
    int rc = 0;

    for (char *q = p + 1;; q++) {
        bool end = *q == '\0';

        if (*q != '/' && !end)
            continue;
        *q = '\0';
        if (mkdir(p, mode) != 0 && errno != EEXIST) {
            rc = -errno;
            if (failed)
                cw_strlcpy(failed, p, failedlen);
            break;
        }
        if (end)
            break;
        *q = '/';
    }
    free(p);
    return rc;
}

char *cw_mkdtemp(const char *prefix)
{
    const char *tmp = getenv("TMPDIR");
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    if (!mkdtemp(path))
        return NULL;
    return cw_strdup(path);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void cw_rmtree(const char *dir)
{
    if (dir)
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
