/* gl_spool_reader.c - read verified frames from a spool, resume at the
 * persisted ack position, skip torn or corrupt bytes (see gl_spool.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gl_spool.h"
#include "gl_spool_meta.h"

#define CHUNK (1u << 20)

struct gl_reader {
	char *dir;
	gl_meta_handle_t meta;
	gl_pos_t cur;
	int fd;
	uint64_t fd_seg;
	uint8_t *buf;
	size_t cap;
	uint64_t buf_off; /* file offset of buf[0] */
	size_t buf_len;
	uint64_t sync_from; /* first segment gl_reader_sync has not finished */
};

static gl_pos_t ack_pos(const struct gl_spool_meta *m)
{
	gl_pos_t p = { __atomic_load_n(&m->ack_segment, __ATOMIC_ACQUIRE),
		       __atomic_load_n(&m->ack_offset, __ATOMIC_ACQUIRE),
		       __atomic_load_n(&m->ack_total, __ATOMIC_ACQUIRE) };
	return p;
}

gl_reader_t *gl_reader_open(const char *dir, char *err, size_t errlen)
{
	gl_reader_t *r = calloc(1, sizeof(*r));
	if (!r || !(r->dir = strdup(dir))) {
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->fd = -1;
	if (gl_meta_open(dir, 0, &r->meta, err, errlen)) {
		free(r->dir);
		free(r);
		return NULL;
	}
	r->cur = ack_pos(r->meta.m);
	r->sync_from = r->cur.segment;
	return r;
}

const uint8_t *gl_reader_spool_id(const gl_reader_t *r)
{
	return r->meta.m->spool_id;
}

static void drop_window(gl_reader_t *r)
{
	r->buf_len = 0;
	r->buf_off = 0;
}

static void close_segment(gl_reader_t *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	drop_window(r);
}

/* Bytes available at file offset off, reading at least `want` if the file
 * has them. *p points at them. Returns <0 on I/O error. */
static ssize_t window(gl_reader_t *r, uint64_t off, size_t want, const uint8_t **p)
{
	if (off >= r->buf_off && off + want <= r->buf_off + r->buf_len) {
		*p = r->buf + (off - r->buf_off);
		return (ssize_t)(r->buf_off + r->buf_len - off);
	}
	size_t need = want > CHUNK ? want : CHUNK;
	if (r->cap < need) {
		uint8_t *nb = realloc(r->buf, need);
		if (!nb)
			return -1;
		r->buf = nb;
		r->cap = need;
	}
	size_t got = 0;
	while (got < need) {
		ssize_t n = pread(r->fd, r->buf + got, need - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	r->buf_off = off;
	r->buf_len = got;
	*p = r->buf;
	return (ssize_t)got;
}

/* Check the frame at file offset off, reading it whole once its header says
 * how long it is. *avail is the bytes available at off (<0: read error). */
static gl_frame_status_t frame_at(gl_reader_t *r, uint64_t off, ssize_t *avail, size_t *flen,
				  const uint8_t **payload, uint32_t *plen)
{
	const uint8_t *key = r->meta.m->spool_id, *p;
	*avail = window(r, off, GL_FRAME_HEADER, &p);
	if (*avail < 0)
		return GL_FRAME_SHORT;
	gl_frame_status_t st = gl_frame_check(p, (size_t)*avail, key, flen, payload, plen);
	if (st == GL_FRAME_SHORT && *avail >= (ssize_t)GL_FRAME_HEADER) {
		*avail = window(r, off, GL_FRAME_HEADER + (size_t)gl_frame_payload_len(p), &p);
		if (*avail >= 0)
			st = gl_frame_check(p, (size_t)*avail, key, flen, payload, plen);
	}
	return st;
}

/* Find the next verified frame after off. 1 = found at *found, 0 = none. */
static int resync(gl_reader_t *r, uint64_t off, uint64_t *found)
{
	for (uint64_t c = off + 1;; c++) {
		const uint8_t *p;
		ssize_t n = window(r, c, GL_FRAME_HEADER, &p);
		if (n < 4)
			return 0;
		const uint8_t *hit = memmem(p, (size_t)n, GL_FRAME_MAGIC_BYTES, 4);
		if (!hit) {
			c += (uint64_t)n - 4; /* the loop's ++ makes it n - 3 */
			continue;
		}
		c += (uint64_t)(hit - p);
		size_t flen;
		const uint8_t *pl;
		uint32_t plen;
		if (frame_at(r, c, &n, &flen, &pl, &plen) == GL_FRAME_OK) {
			*found = c;
			return 1;
		}
	}
}

static void count_skip(gl_reader_t *r)
{
	__atomic_fetch_add(&r->meta.m->corrupt_skipped, 1, __ATOMIC_RELAXED);
}

int gl_reader_next(gl_reader_t *r, gl_record_t *rec, char *err, size_t errlen)
{
	struct gl_spool_meta *m = r->meta.m;
	int fresh = 0; /* the window was read after the last "finished" check */
	for (;;) {
		/* Read "finished" before the data: once cur_segment moved past this
		 * segment, every write to it has returned. */
		int finished = __atomic_load_n(&m->cur_segment, __ATOMIC_ACQUIRE) > r->cur.segment;
		if (r->fd < 0 || r->fd_seg != r->cur.segment) {
			char path[4200];
			close_segment(r);
			gl_segment_path(path, sizeof(path), r->dir, r->cur.segment);
			r->fd = open(path, O_RDONLY | O_CLOEXEC);
			if (r->fd < 0) {
				if (errno == ENOENT && finished) {
					r->cur.segment++;
					r->cur.offset = 0;
					continue;
				}
				if (errno == ENOENT)
					return 0;
				snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
				return GL_ERR_IO;
			}
			r->fd_seg = r->cur.segment;
		}
		if (fresh)
			drop_window(r);
		const uint8_t *payload;
		size_t flen;
		uint32_t plen;
		ssize_t n;
		gl_frame_status_t st = frame_at(r, r->cur.offset, &n, &flen, &payload, &plen);
		if (n < 0) {
			snprintf(err, errlen, "read error in spool %s: %s", r->dir, strerror(errno));
			return GL_ERR_IO;
		}
		if (n == 0) {
			if (!fresh) {
				fresh = 1;
				continue;
			}
			fresh = 0;
			if (!finished)
				return 0;
			r->cur.segment++;
			r->cur.offset = 0;
			continue;
		}
		if (st == GL_FRAME_OK) {
			fresh = 0;
			rec->pos = r->cur;
			rec->payload = payload;
			rec->payload_len = plen;
			r->cur.offset += flen;
			r->cur.total += flen;
			rec->next = r->cur;
			return 1;
		}
		if (!fresh) {
			/* The window may predate the last append: look at the file. */
			fresh = 1;
			continue;
		}
		fresh = 0;
		/* Torn or corrupt. A verified frame after it proves the write at
		 * cur ended (writers are serialised), so skip to that frame. */
		uint64_t found;
		if (resync(r, r->cur.offset, &found)) {
			count_skip(r);
			r->cur.total += found - r->cur.offset;
			r->cur.offset = found;
			continue;
		}
		if (!finished)
			return 0; /* maybe a write in progress: look again later */
		struct stat sb;
		if (!fstat(r->fd, &sb) && (uint64_t)sb.st_size > r->cur.offset)
			r->cur.total += (uint64_t)sb.st_size - r->cur.offset;
		count_skip(r);
		r->cur.segment++;
		r->cur.offset = 0;
	}
}

void gl_reader_sync_span(const gl_reader_t *r, uint64_t *from, uint64_t *to)
{
	*from = r->sync_from;
	*to = r->cur.segment;
}

int gl_spool_sync_segments(const char *dir, uint64_t from, uint64_t to)
{
	int rc = 0;
	for (uint64_t s = from; s <= to; s++) {
		char path[4200];
		gl_segment_path(path, sizeof(path), dir, s);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* deleted after ack, or not created yet */
		if (fdatasync(fd))
			rc = GL_ERR_IO;
		close(fd);
	}
	return rc;
}

void gl_reader_synced(gl_reader_t *r, uint64_t to)
{
	if (to > r->sync_from)
		r->sync_from = to; /* the last one keeps growing */
}

int gl_reader_sync(gl_reader_t *r)
{
	uint64_t from, to;
	gl_reader_sync_span(r, &from, &to);
	int rc = gl_spool_sync_segments(r->dir, from, to);
	if (!rc)
		gl_reader_synced(r, to);
	return rc;
}

const char *gl_reader_dir(const gl_reader_t *r)
{
	return r->dir;
}

void gl_reader_rewind(gl_reader_t *r)
{
	r->cur = ack_pos(r->meta.m);
	close_segment(r);
}

int gl_reader_ack(gl_reader_t *r, gl_pos_t pos, uint64_t last_seq, char *err,
		  size_t errlen)
{
	struct gl_spool_meta *m = r->meta.m;
	if (gl_meta_lock(&r->meta)) {
		snprintf(err, errlen, "cannot lock %s/" GL_META_FILE ": %s", r->dir, strerror(errno));
		return GL_ERR_IO;
	}
	uint64_t old_seg = m->ack_segment;
	if (pos.segment < m->ack_segment ||
	    (pos.segment == m->ack_segment && pos.offset < m->ack_offset)) {
		gl_meta_unlock(&r->meta);
		snprintf(err, errlen, "ack position %llu:%llu is behind the current ack %llu:%llu",
			 (unsigned long long)pos.segment, (unsigned long long)pos.offset,
			 (unsigned long long)m->ack_segment, (unsigned long long)m->ack_offset);
		return GL_ERR_IO;
	}
	__atomic_store_n(&m->ack_segment, pos.segment, __ATOMIC_RELEASE);
	__atomic_store_n(&m->ack_offset, pos.offset, __ATOMIC_RELEASE);
	__atomic_store_n(&m->ack_total, pos.total, __ATOMIC_RELEASE);
	if (last_seq + 1 > m->acked_seq)
		m->acked_seq = last_seq + 1;
	gl_meta_unlock(&r->meta);
	/* Flush outside the lock: writers (slurmctld under its job lock) never
	 * wait on this disk write. A crash before it only replays the batch,
	 * which the reporter dedupes. */
	int rc = msync(m, GL_META_SIZE, MS_SYNC);
	if (rc) {
		snprintf(err, errlen, "cannot persist the ack in %s/" GL_META_FILE ": %s", r->dir,
			 strerror(errno));
		return GL_ERR_IO;
	}
	/* Segments wholly before the ack are done: delete them. */
	for (uint64_t s = old_seg; s < pos.segment; s++) {
		char path[4200];
		gl_segment_path(path, sizeof(path), r->dir, s);
		if (unlink(path) && errno != ENOENT) {
			snprintf(err, errlen, "cannot delete acked segment %s: %s", path, strerror(errno));
			return GL_ERR_IO;
		}
	}
	return 0;
}

int gl_reader_stat(gl_reader_t *r, gl_spool_stat_t *st)
{
	const struct gl_spool_meta *m = r->meta.m;
	memset(st, 0, sizeof(*st));
	memcpy(st->spool_id, m->spool_id, GL_SPOOL_ID_LEN);
	st->next_seq = m->next_seq;
	st->cur_segment = m->cur_segment;
	st->write_total = m->write_total;
	st->ack_total = m->ack_total;
	st->ack = ack_pos(m);
	st->acked_seq = m->acked_seq;
	st->rejected_full = m->rejected_full;
	st->rejected_error = m->rejected_error;
	st->corrupt_skipped = m->corrupt_skipped;
	uint64_t lo, hi;
	st->segments = gl_segments_scan(r->dir, &lo, &hi, &st->bytes_on_disk);
	return 0;
}

void gl_reader_close(gl_reader_t *r)
{
	if (!r)
		return;
	close_segment(r);
	gl_meta_close(&r->meta);
	free(r->buf);
	free(r->dir);
	free(r);
}
