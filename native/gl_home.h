/* gl_home.h - a customer's home directory, made by root before the job's
 * first step on a node (the SPANK job prolog): <root>/<name>, mode 0700, owned
 * by the customer, never following a symlink planted in the home root. */
#ifndef GL_HOME_H
#define GL_HOME_H
#include <stddef.h>
#include <sys/types.h>
#ifdef __cplusplus
extern "C" {
#endif

/* 1 when name is a customer's login: "0x" + 40 lower-case hex digits. */
int gl_home_is_customer(const char *name);

/*
 * Makes <root>/<name> a directory of uid:gid, mode 0700, when it is missing.
 * root: absolute, a directory owned by root and not writable by others
 * (unless sticky: then only a name's owner can replace it); symlinks in root's own path are the operator's and are
 * followed. name: a customer's login. An existing <name> is accepted when it
 * is a directory (not a symlink: O_NOFOLLOW) owned by uid; one owned by root
 * and empty (a crash between mkdir and chown) is finished; anything else is
 * refused, never changed. Returns 0 (made), 1 (already there), -1 with a
 * message in err.
 */
int gl_home_ensure(const char *root, const char *name, uid_t uid, gid_t gid, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
