/* gl_spool_meta.c - create, map and lock spool.meta. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gl_spool_meta.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gl_spool.h"

static int mkdir_p(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof(path)) {
		snprintf(err, errlen, "spool dir '%s' is empty or too long", dir);
		return GL_ERR_IO;
	}
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0755) && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(path, 0700) && errno != EEXIST)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen,
		 "cannot create spool dir '%s' (at '%s': %s): create it, owned by the daemon's user (SlurmUser for slurmctld, root for slurmd), or set another spool dir",
		 dir, path, strerror(errno));
	return GL_ERR_IO;
}

void gl_segment_path(char *buf, size_t cap, const char *dir, uint64_t seg)
{
	snprintf(buf, cap, "%s/%016" PRIx64 ".seg", dir, seg);
}

uint64_t gl_segments_scan(const char *dir, uint64_t *lo, uint64_t *hi,
			  uint64_t *bytes)
{
	uint64_t count = 0;
	*lo = *hi = 0;
	if (bytes)
		*bytes = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		if (strlen(e->d_name) != 20 || strcmp(e->d_name + 16, ".seg"))
			continue;
		uint64_t s = strtoull(e->d_name, &end, 16);
		if (end != e->d_name + 16)
			continue;
		if (!count || s < *lo)
			*lo = s;
		if (!count || s > *hi)
			*hi = s;
		count++;
		if (bytes) {
			struct stat st;
			if (!fstatat(dirfd(d), e->d_name, &st, 0))
				*bytes += (uint64_t)st.st_size;
		}
	}
	closedir(d);
	return count;
}

int gl_meta_lock(gl_meta_handle_t *h)
{
	while (flock(h->fd, LOCK_EX)) {
		if (errno != EINTR)
			return GL_ERR_IO;
	}
	return 0;
}

void gl_meta_unlock(gl_meta_handle_t *h)
{
	flock(h->fd, LOCK_UN);
}

static int meta_init(const char *dir, gl_meta_handle_t *h, char *err, size_t errlen)
{
	struct gl_spool_meta m;
	memset(&m, 0, sizeof(m));
	m.magic = GL_META_MAGIC;
	m.version = GL_META_VERSION;
	if (getrandom(m.spool_id, sizeof(m.spool_id), 0) != sizeof(m.spool_id)) {
		snprintf(err, errlen, "getrandom failed: %s", strerror(errno));
		return GL_ERR_IO;
	}
	/* A lost meta next to surviving segments: append after them and read
	 * from the oldest, so nothing is overwritten or forgotten. */
	uint64_t lo, hi;
	if (gl_segments_scan(dir, &lo, &hi, NULL)) {
		m.cur_segment = hi + 1;
		m.ack_segment = lo;
	}
	if (ftruncate(h->fd, GL_META_SIZE) || pwrite(h->fd, &m, sizeof(m), 0) != (ssize_t)sizeof(m) ||
	    fsync(h->fd)) {
		snprintf(err, errlen, "cannot initialise %s/" GL_META_FILE ": %s", dir,
			 strerror(errno));
		return GL_ERR_IO;
	}
	return 0;
}

int gl_meta_open(const char *dir, int create, gl_meta_handle_t *h, char *err,
		 size_t errlen)
{
	char path[4200];
	int rc;
	h->fd = -1;
	h->m = NULL;
	if (create && (rc = mkdir_p(dir, err, errlen)))
		return rc;
	snprintf(path, sizeof(path), "%s/" GL_META_FILE, dir);
	h->fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
	if (h->fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s%s", path, strerror(errno),
			 create ? "; check that the spool dir is writable by the daemon's user"
				: "; is this a gridlink spool dir?");
		return GL_ERR_IO;
	}
	if (gl_meta_lock(h)) {
		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
		goto fail;
	}
	struct stat st;
	if (fstat(h->fd, &st)) {
		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto fail_locked;
	}
	if (st.st_size < (off_t)sizeof(struct gl_spool_meta)) {
		if (!create || st.st_size != 0) {
			snprintf(err, errlen,
				 "%s is truncated (%lld bytes): not a gridlink spool, or damaged; move it away to start a new spool",
				 path, (long long)st.st_size);
			rc = GL_ERR_CORRUPT;
			goto fail_locked_rc;
		}
		if ((rc = meta_init(dir, h, err, errlen)))
			goto fail_locked_rc;
	}
	h->m = mmap(NULL, GL_META_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, h->fd, 0);
	if (h->m == MAP_FAILED) {
		h->m = NULL;
		snprintf(err, errlen, "cannot mmap %s: %s", path, strerror(errno));
		goto fail_locked;
	}
	if (h->m->magic != GL_META_MAGIC || h->m->version != GL_META_VERSION) {
		snprintf(err, errlen,
			 "%s is not a version-%u gridlink spool meta file; move it away to start a new spool",
			 path, GL_META_VERSION);
		rc = GL_ERR_CORRUPT;
		goto fail_locked_rc;
	}
	gl_meta_unlock(h);
	return 0;
fail_locked:
	rc = GL_ERR_IO;
fail_locked_rc:
	gl_meta_unlock(h);
	gl_meta_close(h);
	return rc;
fail:
	gl_meta_close(h);
	return GL_ERR_IO;
}

void gl_meta_close(gl_meta_handle_t *h)
{
	if (h->m)
		munmap(h->m, GL_META_SIZE);
	if (h->fd >= 0)
		close(h->fd);
	h->m = NULL;
	h->fd = -1;
}
