/* gl_spool_writer.c - append frames to a spool (see gl_spool.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gl_spool.h"
#include "gl_spool_meta.h"

struct gl_spool {
	char *dir;
	uint64_t max_bytes;
	uint64_t segment_bytes;
	gl_meta_handle_t meta;
	pthread_mutex_t mu; /* serialises threads of this process; flock others */
	int seg_fd;         /* O_APPEND fd of seg_index, or -1 */
	uint64_t seg_index;
	int retired_fd;     /* previous segment, synced then closed by gl_spool_sync */
	int dirty;
	/* sync thread */
	pthread_t thread;
	int thread_running;
	int stop;
	int interval_ms;
	pthread_mutex_t stop_mu;
	pthread_cond_t stop_cv;
};

gl_spool_t *gl_spool_open(const gl_spool_opts_t *opts, char *err, size_t errlen)
{
	gl_spool_t *sp = calloc(1, sizeof(*sp));
	if (!sp) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sp->dir = strdup(opts->dir ? opts->dir : "");
	sp->max_bytes = opts->max_bytes ? opts->max_bytes : GL_SPOOL_DEFAULT_MAX_BYTES;
	sp->segment_bytes = opts->segment_bytes ? opts->segment_bytes : GL_SPOOL_DEFAULT_SEGMENT_BYTES;
	sp->seg_fd = sp->retired_fd = -1;
	pthread_mutex_init(&sp->mu, NULL);
	pthread_mutex_init(&sp->stop_mu, NULL);
	pthread_cond_init(&sp->stop_cv, NULL);
	if (!sp->dir || gl_meta_open(sp->dir, opts->create, &sp->meta, err, errlen)) {
		free(sp->dir);
		free(sp);
		return NULL;
	}
	return sp;
}

const uint8_t *gl_spool_id(const gl_spool_t *sp)
{
	return sp->meta.m->spool_id;
}

/* With the meta lock held: make seg_fd the current segment's fd. */
static int current_segment_fd(gl_spool_t *sp, char *err, size_t errlen)
{
	uint64_t cur = sp->meta.m->cur_segment;
	if (sp->seg_fd >= 0 && sp->seg_index == cur)
		return 0;
	char path[4200];
	gl_segment_path(path, sizeof(path), sp->dir, cur);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open spool segment %s: %s", path, strerror(errno));
		return GL_ERR_IO;
	}
	if (sp->seg_fd >= 0) {
		if (sp->retired_fd >= 0)
			close(sp->retired_fd); /* the sync thread fell behind: the kernel flushes it */
		sp->retired_fd = sp->seg_fd;
	}
	sp->seg_fd = fd;
	sp->seg_index = cur;
	return 0;
}

int gl_spool_append_frame(gl_spool_t *sp, uint8_t *frame, size_t len,
			  uint64_t *seq_out, char *err, size_t errlen)
{
	struct gl_spool_meta *m = sp->meta.m;
	int rc = 0;
	pthread_mutex_lock(&sp->mu);
	if (gl_meta_lock(&sp->meta)) {
		snprintf(err, errlen, "cannot lock %s/" GL_META_FILE ": %s", sp->dir, strerror(errno));
		pthread_mutex_unlock(&sp->mu);
		return GL_ERR_IO;
	}
	uint64_t backlog = m->write_total - m->ack_total;
	if (backlog + len > sp->max_bytes) {
		m->rejected_full++;
		snprintf(err, errlen,
			 "spool %s is full (%llu bytes waiting, limit %llu): the event was NOT recorded; start the relay (gridlink relay) or raise max_bytes",
			 sp->dir, (unsigned long long)backlog, (unsigned long long)sp->max_bytes);
		rc = GL_ERR_FULL;
		goto out;
	}
	if ((rc = current_segment_fd(sp, err, errlen))) {
		m->rejected_error++;
		goto out;
	}
	/* The seq is taken before the write: a process killed in between leaves
	 * a gap, never two records with one seq. */
	uint64_t seq = m->next_seq++;
	gl_frame_set_seq(frame, len, seq, m->spool_id);
	ssize_t n = write(sp->seg_fd, frame, len);
	if (n != (ssize_t)len) {
		int e = n < 0 ? errno : ENOSPC;
		if (n > 0) {
			/* Undo the torn tail so the next frame starts clean. We hold the
			 * lock, so the file grew by exactly n. */
			struct stat st;
			if (!fstat(sp->seg_fd, &st) && ftruncate(sp->seg_fd, st.st_size - n)) {
				/* the reader skips the torn frame anyway */
			}
		}
		m->rejected_error++;
		snprintf(err, errlen, "write to spool %s failed: %s: the event was NOT recorded",
			 sp->dir, strerror(e));
		rc = GL_ERR_IO;
		goto out;
	}
	m->write_total += len;
	m->cur_segment_size += len;
	if (m->cur_segment_size >= sp->segment_bytes) {
		m->cur_segment++;
		m->cur_segment_size = 0;
	}
	sp->dirty = 1;
	if (seq_out)
		*seq_out = seq;
out:
	gl_meta_unlock(&sp->meta);
	pthread_mutex_unlock(&sp->mu);
	return rc;
}

int gl_spool_append(gl_spool_t *sp, gl_event_t *ev, char *err, size_t errlen)
{
	uint8_t stackbuf[2048];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ev->version = GL_FORMAT_VERSION;
	ev->write_time_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	size_t need = gl_event_frame_size(ev);
	if (need - GL_FRAME_HEADER > GL_FRAME_MAX_PAYLOAD) {
		snprintf(err, errlen, "event for job %u is %zu bytes, over the %u-byte frame limit",
			 ev->job_id, need, GL_FRAME_MAX_PAYLOAD);
		return GL_ERR_TOO_BIG;
	}
	uint8_t *buf = need <= sizeof(stackbuf) ? stackbuf : malloc(need);
	if (!buf) {
		snprintf(err, errlen, "out of memory encoding a %zu-byte event", need);
		return GL_ERR_IO;
	}
	gl_event_encode(ev, buf, need);
	int rc = gl_spool_append_frame(sp, buf, need, &ev->seq, err, errlen);
	if (!rc)
		memcpy(ev->spool_id, sp->meta.m->spool_id, GL_SPOOL_ID_LEN);
	if (buf != stackbuf)
		free(buf);
	return rc;
}

int gl_spool_sync(gl_spool_t *sp)
{
	int fd = -1, retired;
	pthread_mutex_lock(&sp->mu);
	retired = sp->retired_fd;
	sp->retired_fd = -1;
	if (sp->dirty && sp->seg_fd >= 0)
		fd = dup(sp->seg_fd); /* fsync outside the mutex: appends go on */
	sp->dirty = 0;
	pthread_mutex_unlock(&sp->mu);
	int rc = 0;
	if (retired >= 0) {
		rc |= fdatasync(retired);
		close(retired);
	}
	if (fd >= 0) {
		rc |= fdatasync(fd);
		close(fd);
	}
	return rc ? GL_ERR_IO : 0;
}

static void *sync_main(void *arg)
{
	gl_spool_t *sp = arg;
	pthread_mutex_lock(&sp->stop_mu);
	while (!sp->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(sp->interval_ms % 1000) * 1000000L;
		ts.tv_sec += sp->interval_ms / 1000 + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&sp->stop_cv, &sp->stop_mu, &ts);
		pthread_mutex_unlock(&sp->stop_mu);
		gl_spool_sync(sp);
		pthread_mutex_lock(&sp->stop_mu);
	}
	pthread_mutex_unlock(&sp->stop_mu);
	return NULL;
}

int gl_spool_start_sync_thread(gl_spool_t *sp, int interval_ms)
{
	if (sp->thread_running)
		return 0;
	sp->interval_ms = interval_ms > 0 ? interval_ms : GL_SPOOL_DEFAULT_SYNC_MS;
	sp->stop = 0;
	if (pthread_create(&sp->thread, NULL, sync_main, sp))
		return GL_ERR_IO;
	sp->thread_running = 1;
	return 0;
}

void gl_spool_close(gl_spool_t *sp)
{
	if (!sp)
		return;
	if (sp->thread_running) {
		pthread_mutex_lock(&sp->stop_mu);
		sp->stop = 1;
		pthread_cond_signal(&sp->stop_cv);
		pthread_mutex_unlock(&sp->stop_mu);
		pthread_join(sp->thread, NULL);
		sp->thread_running = 0;
		gl_spool_sync(sp);
	}
	if (sp->seg_fd >= 0)
		close(sp->seg_fd);
	gl_meta_close(&sp->meta);
	pthread_mutex_destroy(&sp->mu);
	pthread_mutex_destroy(&sp->stop_mu);
	pthread_cond_destroy(&sp->stop_cv);
	free(sp->dir);
	free(sp);
}
