/*
 * gl_event.h - the job event record: the one definition of what a SLURM hook
 * records and of its bytes on disk. Both plugins encode it, the Node addon
 * decodes it; nothing else knows the layout.
 *
 * Frame (little-endian), as appended to a spool segment:
 *
 *   u32 magic    GL_FRAME_MAGIC ("GLEV")
 *   u32 length   payload bytes (<= GL_FRAME_MAX_PAYLOAD)
 *   u32 crc      CRC32C over spool_id[16], the 4 length bytes, the payload
 *   u8  payload[length]
 *
 * The CRC covers the length, so a frame whose length field is damaged is
 * rejected instead of swallowing the frames after it. A reader that finds a
 * bad frame scans forward for the next magic whose frame verifies. The CRC is
 * keyed with the spool's random id (spool.meta, mode 0600): a job owner who
 * puts a well-formed frame in a job comment cannot make it verify, so resync
 * never accepts a frame forged inside a string.
 *
 * Payload, format version 1 (fields in this order):
 *   u16 version, u16 kind, u32 reserved(0)
 *   u64 seq, u8 spool_id[16]
 *   u32 job_id, u32 user_id, u32 job_state (raw), i32 exit_code, i32 signal
 *   u32 reserved(0)
 *   i64 submit_time, i64 start_time, i64 end_time (unix seconds, 0 = unknown)
 *   i64 write_time_ns (CLOCK_REALTIME when the record was encoded)
 *   u64 tres_cpu, u64 tres_mem_mb, u64 tres_gpu, u64 tres_node, u64 tres_billing
 *   5 strings, each u32 length + bytes (no terminator, any bytes):
 *     cluster, node, state_name, job_name, comment
 * A decoder accepts a payload longer than it knows (later versions append).
 */
#ifndef GL_EVENT_H
#define GL_EVENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GL_FRAME_MAGIC 0x56454c47u /* bytes "GLEV" */
#define GL_FRAME_MAGIC_BYTES "GLEV"
#define GL_FRAME_HEADER 12u
#define GL_FORMAT_VERSION 1u
/* One string may be at most 1 MiB; a whole payload at most 8 MiB. */
#define GL_STRING_MAX (1u << 20)
#define GL_FRAME_MAX_PAYLOAD (8u << 20)
#define GL_SPOOL_ID_LEN 16

typedef enum gl_event_kind {
	GL_EVENT_JOB_STARTED = 1,   /* SPANK job_prolog on a node */
	GL_EVENT_JOB_ENDED_NODE = 2, /* SPANK job_epilog on a node */
	GL_EVENT_JOB_COMPLETED = 3, /* jobcomp: final state in slurmctld */
} gl_event_kind_t;

typedef struct gl_str {
	const char *ptr; /* not NUL-terminated when decoded; may be NULL if len 0 */
	uint32_t len;
} gl_str_t;

typedef struct gl_event {
	uint16_t version;
	uint16_t kind;
	uint64_t seq;
	uint8_t spool_id[GL_SPOOL_ID_LEN];
	uint32_t job_id;
	uint32_t user_id;
	uint32_t job_state;
	int32_t exit_code;
	int32_t signal;
	int64_t submit_time;
	int64_t start_time;
	int64_t end_time;
	int64_t write_time_ns;
	uint64_t tres_cpu;
	uint64_t tres_mem_mb;
	uint64_t tres_gpu;
	uint64_t tres_node;
	uint64_t tres_billing;
	gl_str_t cluster;
	gl_str_t node;
	gl_str_t state_name;
	gl_str_t job_name;
	gl_str_t comment;
} gl_event_t;

/* Convenience for C callers: a gl_str_t from a NUL-terminated string or NULL. */
gl_str_t gl_str(const char *s);

/* Exact number of bytes gl_event_encode() will write (frame included). Strings
 * longer than GL_STRING_MAX are truncated to it, never rejected: losing the
 * tail of a 2 MiB comment is better than losing the job event. */
size_t gl_event_frame_size(const gl_event_t *ev);

/* Encode a full frame into buf (cap >= gl_event_frame_size). Returns the
 * number of bytes written, or 0 when cap is too small. */
size_t gl_event_encode(const gl_event_t *ev, uint8_t *buf, size_t cap);

/* Set seq and spool id in an encoded frame and compute its keyed CRC: the
 * spool assigns seq under its lock, after the (lock-free) encoding. A frame is
 * valid only after this call. */
void gl_frame_set_seq(uint8_t *frame, size_t frame_len, uint64_t seq,
		      const uint8_t spool_id[GL_SPOOL_ID_LEN]);

typedef enum gl_frame_status {
	GL_FRAME_OK = 0,
	GL_FRAME_SHORT = 1,   /* not enough bytes yet: header or payload incomplete */
	GL_FRAME_BAD = 2,     /* wrong magic, impossible length or CRC mismatch */
} gl_frame_status_t;

/* Check the frame at buf[0..avail) against the spool's key. On GL_FRAME_OK,
 * frame_len is the whole frame size and payload, payload_len the payload. */
gl_frame_status_t gl_frame_check(const uint8_t *buf, size_t avail,
				 const uint8_t key[GL_SPOOL_ID_LEN],
				 size_t *frame_len, const uint8_t **payload,
				 uint32_t *payload_len);

/* Decode a verified payload. Strings point into the payload. Returns 0, or -1
 * with a reason in err when the payload is not a valid version-1+ record. */
int gl_event_decode(const uint8_t *payload, uint32_t len, gl_event_t *ev,
		    const char **err);

/* The payload length a frame header (>= GL_FRAME_HEADER bytes) claims. */
uint32_t gl_frame_payload_len(const uint8_t *frame);

/* The seq of a verified payload, without decoding the rest. */
uint64_t gl_payload_seq(const uint8_t *payload);

const char *gl_event_kind_name(uint16_t kind);

#ifdef __cplusplus
}
#endif
#endif
