/* gl_home.c - see gl_home.h. Every step is relative to a descriptor of the
 * home root (mkdirat, openat with O_NOFOLLOW, fchown, fchmod on the opened
 * directory): a symlink or a file planted under the root's name for the home
 * is never followed, and the directory changed is the one just checked. */
#include "gl_home.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int gl_home_is_customer(const char *name)
{
	if (!name || strnlen(name, 43) != 42 || name[0] != '0' || name[1] != 'x')
		return 0;
	for (int i = 2; i < 42; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return 1;
}

static int is_empty_dir(int fd)
{
	int dup_fd = dup(fd);
	if (dup_fd < 0)
		return 0;
	DIR *d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return 0;
	}
	struct dirent *e;
	int empty = 1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

int gl_home_ensure(const char *root, const char *name, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (!gl_home_is_customer(name)) {
		snprintf(err, errlen, "'%.64s' is not a customer's login (0x and 40 lower-case hex digits): no home made", name ? name : "");
		return -1;
	}
	if (uid == 0 || gid == 0) {
		snprintf(err, errlen, "%s has uid %u gid %u: no home is made for root", name, (unsigned)uid, (unsigned)gid);
		return -1;
	}
	if (!root || root[0] != '/') {
		snprintf(err, errlen, "home root '%s' is not an absolute path", root ? root : "");
		return -1;
	}
	int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0) {
		snprintf(err, errlen, "cannot open the home root %s: %s", root, strerror(errno));
		return -1;
	}
	struct stat st;
	int rc = -1, fd = -1;
	if (fstat(rfd, &st) != 0) {
		snprintf(err, errlen, "cannot stat the home root %s: %s", root, strerror(errno));
		goto out;
	}
	if (st.st_uid != 0 || ((st.st_mode & (S_IWOTH | S_IWGRP)) && !(st.st_mode & S_ISVTX))) {
		snprintf(err, errlen, "the home root %s must be owned by root and writable by root only, or sticky (it is uid %u, mode %o): a user could plant links in it",
			 root, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	int made = 0;
	if (mkdirat(rfd, name, 0700) == 0) {
		made = 1;
	} else if (errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s/%s: %s%s", root, name, strerror(errno),
			 errno == EACCES || errno == EPERM ? " (on NFS, export the home root with no_root_squash to this node)" : "");
		goto out;
	}
	fd = openat(rfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s/%s is not a directory (%s): a symlink or a file there is never followed; move it away", root, name,
			 errno == ELOOP ? "a symlink" : strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot stat %s/%s: %s", root, name, strerror(errno));
		goto out;
	}
	if (st.st_uid == uid && !made) {
		rc = 1; /* the customer's own: left as they keep it */
		goto out;
	}
	if (st.st_uid != 0 || (!made && !is_empty_dir(fd))) {
		snprintf(err, errlen, "%s/%s belongs to uid %u, not the customer's %u: left as it is (someone's data)", root, name, (unsigned)st.st_uid,
			 (unsigned)uid);
		goto out;
	}
	/* made now, or made by a run that stopped before the chown (root's and empty) */
	if (fchown(fd, uid, gid) != 0 || fchmod(fd, 0700) != 0) {
		snprintf(err, errlen, "cannot give %s/%s to uid %u: %s", root, name, (unsigned)uid, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	close(rfd);
	return rc;
}
