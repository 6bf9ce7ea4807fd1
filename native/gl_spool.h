/*
 * gl_spool.h - the durable event spool: append-only segment files in one
 * directory, shared by every process that appends to it (slurmctld, or each
 * short-lived `slurmstepd spank prolog` on a node) and read by one reader.
 *
 * Directory layout:
 *   spool.id              the spool's random id (16 bytes), written once
 *   spool.meta            one page, mmap'd by writers and the reader, guarded
 *                         by flock(2): spool id, next seq, current segment,
 *                         ack position and counters (struct gl_spool_meta)
 *   <16 hex digits>.seg   segments of frames (gl_event.h), appended in order
 *
 * Writers take the lock, stamp seq and CRC, write(2) the frame with one call
 * to an O_APPEND fd and rotate the segment when it is full, so file order is
 * seq order. fsync is never on the append path: a sync thread (long-lived
 * daemons) or gl_spool_close() (short-lived contexts) does it.
 */
#ifndef GL_SPOOL_H
#define GL_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "gl_event.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GL_SPOOL_DEFAULT_MAX_BYTES (1024ull << 20)   /* 1 GiB backlog */
#define GL_SPOOL_DEFAULT_SEGMENT_BYTES (16ull << 20) /* 16 MiB */
#define GL_SPOOL_DEFAULT_SYNC_MS 200
#define GL_ERRLEN 256

/* Return codes (negative). */
enum {
	GL_OK = 0,
	GL_ERR_IO = -1,      /* open/write/mmap failed: err says which path and why */
	GL_ERR_FULL = -2,    /* backlog at max_bytes: the record was not stored */
	GL_ERR_TOO_BIG = -3, /* record larger than a frame may be */
	GL_ERR_CORRUPT = -4, /* spool.meta is not a gridlink spool */
};

typedef struct gl_spool_opts {
	const char *dir;
	uint64_t max_bytes;     /* 0 = default */
	uint64_t segment_bytes; /* 0 = default */
	int create;             /* create dir and meta if missing (writers) */
} gl_spool_opts_t;

typedef struct gl_spool gl_spool_t;

/* Open (and create) a spool for appending. NULL on failure with err set. */
gl_spool_t *gl_spool_open(const gl_spool_opts_t *opts, char *err, size_t errlen);

/* Encode ev and append it. Sets ev->seq and ev->spool_id. Never blocks on
 * anything but the spool lock and the local write(2). */
int gl_spool_append(gl_spool_t *sp, gl_event_t *ev, char *err, size_t errlen);

/* Append an already encoded frame (seq and CRC are stamped here). */
int gl_spool_append_frame(gl_spool_t *sp, uint8_t *frame, size_t len,
			  uint64_t *seq_out, char *err, size_t errlen);

/* fdatasync what was appended since the last sync. */
int gl_spool_sync(gl_spool_t *sp);

/* Start a thread that calls gl_spool_sync every interval_ms (0 = default). */
int gl_spool_start_sync_thread(gl_spool_t *sp, int interval_ms);

/* Stop the sync thread and sync (if one was started), close. Short-lived
 * writers (SPANK prolog) do not sync: the record is in the page cache when
 * write(2) returns, which survives the process; the reader syncs what it
 * reads (gl_reader_sync) so a host crash cannot lose what was relayed. */
void gl_spool_close(gl_spool_t *sp);

const uint8_t *gl_spool_id(const gl_spool_t *sp);

/* ---- reader ---- */

typedef struct gl_reader gl_reader_t;

typedef struct gl_pos {
	uint64_t segment;
	uint64_t offset;
	uint64_t total; /* spool bytes consumed up to here, skipped bytes included */
} gl_pos_t;

typedef struct gl_record {
	gl_pos_t pos;  /* where the frame starts */
	gl_pos_t next; /* where the next frame starts: ack this to consume it */
	const uint8_t *payload; /* valid until the next gl_reader_* call */
	uint32_t payload_len;
} gl_record_t;

typedef struct gl_spool_stat {
	uint8_t spool_id[GL_SPOOL_ID_LEN];
	uint64_t next_seq;
	uint64_t cur_segment;
	uint64_t write_total;    /* bytes ever appended */
	uint64_t ack_total;      /* bytes ever acked (skipped bytes included) */
	gl_pos_t ack;
	uint64_t acked_seq;      /* seq of the last acked record + 1 (0: none) */
	uint64_t rejected_full;  /* appends refused because the spool was full */
	uint64_t rejected_error; /* appends that failed on I/O */
	uint64_t corrupt_skipped;/* frames/byte runs skipped by readers */
	uint64_t segments;       /* segment files present */
	uint64_t bytes_on_disk;  /* their total size */
} gl_spool_stat_t;

/* Open the spool in dir for reading. The read cursor starts at the persisted
 * ack position. */
gl_reader_t *gl_reader_open(const char *dir, char *err, size_t errlen);

/* Next verified record after the cursor: 1 = *rec filled and cursor advanced,
 * 0 = nothing more yet, <0 = error. Torn or corrupt bytes are skipped (and
 * counted) once a verified frame after them, or the end of a finished
 * segment, proves they are not a write still in progress. */
int gl_reader_next(gl_reader_t *r, gl_record_t *rec, char *err, size_t errlen);

/* Move the cursor back to the ack position (after a failed delivery). */
void gl_reader_rewind(gl_reader_t *r);

/* fdatasync the segment the cursor is in and the ones it passed since the
 * last call: makes records appended by short-lived writers durable. */
int gl_reader_sync(gl_reader_t *r);

/* gl_reader_sync in three steps, so that the fdatasync calls can run on
 * another thread while the reader reads on: the segments to flush (span),
 * flushing them (touches no reader state), and recording that they were
 * (synced, on the reader's thread, only after a flush that succeeded). */
void gl_reader_sync_span(const gl_reader_t *r, uint64_t *from, uint64_t *to);
int gl_spool_sync_segments(const char *dir, uint64_t from, uint64_t to);
void gl_reader_synced(gl_reader_t *r, uint64_t to);
const char *gl_reader_dir(const gl_reader_t *r);

/* Persist pos (a record's `next`) as the ack position, with the seq of the
 * last record it covers; deletes segments wholly before it. */
int gl_reader_ack(gl_reader_t *r, gl_pos_t pos, uint64_t last_seq, char *err,
		  size_t errlen);

int gl_reader_stat(gl_reader_t *r, gl_spool_stat_t *st);
const uint8_t *gl_reader_spool_id(const gl_reader_t *r);
void gl_reader_close(gl_reader_t *r);

#ifdef __cplusplus
}
#endif
#endif
