/* fs: directories callwatch creates and removes. */
#ifndef CW_FS_H
#define CW_FS_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p: creates dir and its missing parents with mode.  0, or a
 * negative errno with the path that failed in failed (when not NULL). */
int cw_mkdir_p(const char *dir, mode_t mode, char *failed, size_t failedlen);

/* A new private directory $TMPDIR/PREFIX-XXXXXX (/tmp without TMPDIR);
 * the caller frees the name.  NULL with errno set when it cannot. */
char *cw_mkdtemp(const char *prefix);

/* rm -rf: removes dir and everything under it, without following
 * symbolic links; NULL is a no-op. */
void cw_rmtree(const char *dir);

#endif
