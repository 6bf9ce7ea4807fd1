/* gl_spool_meta.h - spool.meta: the shared, flock-guarded page that writers
 * and the reader of one spool directory coordinate through. Internal. */
#ifndef GL_SPOOL_META_H
#define GL_SPOOL_META_H

#include <stddef.h>
#include <stdint.h>

#include "gl_event.h"

#define GL_META_MAGIC 0x4154454d4c53474cull /* "GLSMETA\0"-ish */
#define GL_META_VERSION 1u
#define GL_META_FILE "spool.meta"
#define GL_ID_FILE "spool.id"
#define GL_META_SIZE 4096

struct gl_spool_meta {
	uint64_t magic;
	uint32_t version;
	uint32_t reserved;
	uint8_t spool_id[GL_SPOOL_ID_LEN];
	uint64_t next_seq;
	uint64_t cur_segment;
	uint64_t cur_segment_size;
	uint64_t write_total;
	uint64_t ack_segment;
	uint64_t ack_offset;
	uint64_t ack_total;
	uint64_t acked_seq;
	uint64_t rejected_full;
	uint64_t rejected_error;
	uint64_t corrupt_skipped;
};

typedef struct gl_meta_handle {
	int fd;
	struct gl_spool_meta *m;
} gl_meta_handle_t;

/* Open dir/spool.meta, creating dir (mode 0700, parents too) and the meta
 * when create is set. Returns 0 or GL_ERR_* with err set. */
int gl_meta_open(const char *dir, int create, gl_meta_handle_t *h, char *err,
		 size_t errlen);
void gl_meta_close(gl_meta_handle_t *h);
int gl_meta_lock(gl_meta_handle_t *h);
void gl_meta_unlock(gl_meta_handle_t *h);

/* "DIR/%016llx.seg" into buf. */
void gl_segment_path(char *buf, size_t cap, const char *dir, uint64_t seg);
/* Lowest and highest segment numbers present; 0 when none (returns count). */
uint64_t gl_segments_scan(const char *dir, uint64_t *lo, uint64_t *hi,
			  uint64_t *bytes);

#endif
