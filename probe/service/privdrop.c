#include "autoconf.h"

#include "service/privdrop.h"

#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"

int privdrop_lookup(const char *name, privdrop_user_t *out, char *err, size_t errlen)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    int rc;

    memset(out, 0, sizeof(*out));
    if (!name || !*name || strlen(name) >= sizeof(out->name)) {
        snprintf(err, errlen, "user \"%s\": not a user name", name ? name : "");
        return -EINVAL;
    }
    rc = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "user \"%s\": %s", name,
                 rc ? strerror(rc) : "no such user in the password database");
        return rc ? -rc : -ENOENT;
    }
    cw_strlcpy(out->name, name, sizeof(out->name));
    out->uid = pw.pw_uid;
    out->gid = pw.pw_gid;
    return 0;
}

int privdrop_no_new_privs(char *err, size_t errlen)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
        return -errno;
    }
    return 0;
}

/* nftw() has no user data: the walk's state, one walk at a time (the
 * packet thread's, before any other thread could walk). */
static struct {
    const privdrop_user_t *u;
    dev_t dev;
    char *err;
    size_t errlen;
    int rc;
} walk;

static int chown_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    if (flag == FTW_NS || flag == FTW_DNR) {
        snprintf(walk.err, walk.errlen, "%s: cannot be read", path);
        walk.rc = -EACCES;
        return 1;
    }
    if (st->st_dev != walk.dev)
        return 0; /* a mount inside the data directory: not ours */
    if (st->st_uid == walk.u->uid && st->st_gid == walk.u->gid)
        return 0;
    if (lchown(path, walk.u->uid, walk.u->gid) != 0) {
        walk.rc = -errno;
        snprintf(walk.err, walk.errlen, "cannot give %s to user %s: %s", path, walk.u->name,
                 strerror(errno));
        return 1;
    }
    return 0;
}

int privdrop_chown_tree(const char *dir, const privdrop_user_t *u, char *err, size_t errlen)
{
    struct stat st;

    if (lstat(dir, &st) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -errno;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a directory", dir);
        return -ENOTDIR;
    }
    walk.u = u;
    walk.dev = st.st_dev;
    walk.err = err;
    walk.errlen = errlen;
    walk.rc = 0;
    if (nftw(dir, chown_entry, 16, FTW_PHYS | FTW_MOUNT) != 0 && walk.rc == 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        walk.rc = -errno;
    }
    return walk.rc;
}

static int fail_step(const char *step, const privdrop_user_t *u, char *err, size_t errlen)
{
    int e = errno ? errno : EPERM;

    snprintf(err, errlen, "cannot become user %s: %s: %s", u->name, step, strerror(e));
    return -e;
}

int privdrop_to(const privdrop_user_t *u, char *err, size_t errlen)
{
    uid_t r, e, s;
    gid_t rg, eg, sg;

    /* Order matters: groups while still root, then the gid, the uid last
     * (after it nothing else may be changed).  glibc applies each of these
     * to every thread of the process. */
    errno = 0;
    if (setgroups(0, NULL) != 0)
        return fail_step("setgroups(0)", u, err, errlen);
    if (setresgid(u->gid, u->gid, u->gid) != 0)
        return fail_step("setresgid", u, err, errlen);
    if (setresuid(u->uid, u->uid, u->uid) != 0)
        return fail_step("setresuid", u, err, errlen);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return fail_step("prctl(PR_SET_NO_NEW_PRIVS)", u, err, errlen);
    if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0 || r != u->uid || e != u->uid ||
        s != u->uid || rg != u->gid || eg != u->gid || sg != u->gid || getgroups(0, NULL) != 0) {
        errno = EPERM;
        return fail_step("ids left behind", u, err, errlen);
    }
    /* Root must be gone for good. */
    if (u->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        errno = EPERM;
        return fail_step("root could be regained", u, err, errlen);
    }
    if (u->gid != 0 && (setgid(0) == 0 || setegid(0) == 0)) {
        errno = EPERM;
        return fail_step("group 0 could be regained", u, err, errlen);
    }
    return 0;
}

static int capget_self(struct __user_cap_data_struct data[2])
{
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };

    memset(data, 0, 2 * sizeof(*data));
    return (int)syscall(SYS_capget, &hdr, data);
}

bool privdrop_has_caps(void)
{
    struct __user_cap_data_struct data[2];

    if (capget_self(data) != 0)
        return false;
    return data[0].effective || data[1].effective || data[0].permitted || data[1].permitted;
}

int privdrop_clear_caps(char *err, size_t errlen)
{
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];

    /* Ambient capabilities first: they cannot outlive the permitted ones,
     * but clearing them says what is meant. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
        snprintf(err, errlen, "prctl(PR_CAP_AMBIENT_CLEAR_ALL): %s", strerror(errno));
        return -errno;
    }
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capset, &hdr, data) != 0) {
        snprintf(err, errlen, "capset: %s", strerror(errno));
        return -errno;
    }
    return 0;
}
