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

/* spool.id keeps the spool's id apart from spool.meta (written once, never
 * rewritten), so segments stay readable if spool.meta is lost. */
static int load_or_make_id(const char *dir, uint8_t id[GL_SPOOL_ID_LEN], char *err, size_t errlen)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/" GL_ID_FILE, dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, id, GL_SPOOL_ID_LEN);
		close(fd);
		if (n == GL_SPOOL_ID_LEN)
			return 0;
	}
	if (getrandom(id, GL_SPOOL_ID_LEN, 0) != GL_SPOOL_ID_LEN) {
		snprintf(err, errlen, "getrandom failed: %s", strerror(errno));
		return GL_ERR_IO;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, id, GL_SPOOL_ID_LEN) != GL_SPOOL_ID_LEN || fsync(fd)) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return GL_ERR_IO;
	}
	close(fd);
	return 0;
}

/* Highest seq of a verified frame in segments lo..hi; -1 when none. Runs only
 * when spool.meta is rebuilt next to surviving segments. */
static int64_t max_seq_in(const char *dir, uint64_t lo, uint64_t hi, const uint8_t key[GL_SPOOL_ID_LEN],
			  uint64_t *bytes)
{
	int64_t max = -1;
	for (uint64_t s = lo; s <= hi; s++) {
		char path[4200];
		struct stat st;
		gl_segment_path(path, sizeof(path), dir, s);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) || st.st_size <= 0) {
			close(fd);
			continue;
		}
		uint8_t *buf = malloc((size_t)st.st_size);
		ssize_t n = buf ? pread(fd, buf, (size_t)st.st_size, 0) : -1;
		close(fd);
		if (n > 0) {
			*bytes += (uint64_t)n;
			for (size_t off = 0; off + GL_FRAME_HEADER <= (size_t)n;) {
				size_t flen;
				const uint8_t *payload;
				uint32_t plen;
				if (gl_frame_check(buf + off, (size_t)n - off, key, &flen, &payload, &plen) == GL_FRAME_OK) {
					uint64_t seq = gl_payload_seq(payload);
					if ((int64_t)seq > max)
						max = (int64_t)seq;
					off += flen;
				} else {
					off++;
				}
			}
		}
		free(buf);
	}
	return max;
}

static int meta_init(const char *dir, gl_meta_handle_t *h, char *err, size_t errlen)
{
	struct gl_spool_meta m;
	int rc;
	memset(&m, 0, sizeof(m));
	m.magic = GL_META_MAGIC;
	m.version = GL_META_VERSION;
	if ((rc = load_or_make_id(dir, m.spool_id, err, errlen)))
		return rc;
	/* A lost meta next to surviving segments: append after them, read from
	 * the oldest (the reporter dedupes what it already has) and go on
	 * counting after their highest seq, so no (spool id, seq) is reused. */
	uint64_t lo, hi;
	if (gl_segments_scan(dir, &lo, &hi, NULL)) {
		m.cur_segment = hi + 1;
		m.ack_segment = lo;
		m.next_seq = (uint64_t)(max_seq_in(dir, lo, hi, m.spool_id, &m.write_total) + 1);
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
