/* privdrop: giving up root once the privileged work is done.
 *
 * Started as root with a user to run as, callwatch opens what needs
 * privileges (the capture, the listening socket, the data directory) and
 * then becomes that user for good: no supplementary groups, real, effective
 * and saved group and user ids all the user's, no new privileges through
 * exec, and a check that root cannot be had back.  Started as that user by
 * a service manager with the capture capabilities instead, it clears those
 * capabilities once the capture is open. */
#ifndef CW_PRIVDROP_H
#define CW_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct privdrop_user {
    char name[64];
    uid_t uid;
    gid_t gid;
} privdrop_user_t;

/* Looks the user up in the password database.  0, or -ENOENT / another
 * negative errno with err naming the user. */
int privdrop_lookup(const char *name, privdrop_user_t *out, char *err, size_t errlen);

/* Sets PR_SET_NO_NEW_PRIVS for the calling thread and the threads it
 * starts from now on: called early, before any thread exists, so that a
 * program the alert thread runs can never gain privileges either. */
int privdrop_no_new_privs(char *err, size_t errlen);

/* Gives the tree under dir (dir included, symbolic links not followed,
 * other file systems not entered) to the user, so that files created as
 * root stay usable after the drop.  0 or a negative errno with err naming
 * the path. */
int privdrop_chown_tree(const char *dir, const privdrop_user_t *u, char *err, size_t errlen);

/* Becomes u in every thread of the process: setgroups(0), then the group
 * ids, then the user ids, then PR_SET_NO_NEW_PRIVS; checks that every id
 * is u's and that setuid(0) and setgid(0) fail.  0, or a negative errno
 * with err saying which step failed (the caller must then stop). */
int privdrop_to(const privdrop_user_t *u, char *err, size_t errlen);

/* Not root but holding capabilities (a service manager's ambient ones):
 * clears the calling thread's effective, permitted, inheritable and
 * ambient sets.  Threads started afterwards inherit the empty sets. */
int privdrop_clear_caps(char *err, size_t errlen);

/* Whether the calling thread holds any effective capability. */
bool privdrop_has_caps(void);

#endif
