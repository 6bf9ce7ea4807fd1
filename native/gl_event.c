/* gl_event.c - encode and decode the job event record (layout in gl_event.h). */
#include "gl_event.h"

#include <string.h>

#include "gl_crc32c.h"

/* Fixed part of the version-1 payload, before the strings. */
#define FIXED_LEN (2 + 2 + 4 + 8 + GL_SPOOL_ID_LEN + 4 * 5 + 4 + 8 * 4 + 8 * 5)
#define SEQ_OFFSET 8
#define NSTRINGS 5

gl_str_t gl_str(const char *s)
{
	gl_str_t r = { s, 0 };
	if (s) {
		size_t n = strlen(s);
		r.len = n > GL_STRING_MAX ? GL_STRING_MAX : (uint32_t)n;
	}
	return r;
}

static uint32_t clamp_len(gl_str_t s)
{
	if (!s.ptr)
		return 0;
	return s.len > GL_STRING_MAX ? GL_STRING_MAX : s.len;
}

static const gl_str_t *strings_of(const gl_event_t *ev, const gl_str_t *out[NSTRINGS])
{
	out[0] = &ev->cluster;
	out[1] = &ev->node;
	out[2] = &ev->state_name;
	out[3] = &ev->job_name;
	out[4] = &ev->comment;
	return out[0];
}

size_t gl_event_frame_size(const gl_event_t *ev)
{
	const gl_str_t *s[NSTRINGS];
	size_t n = GL_FRAME_HEADER + FIXED_LEN;
	strings_of(ev, s);
	for (int i = 0; i < NSTRINGS; i++)
		n += 4 + clamp_len(*s[i]);
	return n;
}

static inline uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}
static inline uint8_t *put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + 4;
}
static inline uint8_t *put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + 8;
}
static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}
static inline uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}

static uint32_t frame_crc(const uint8_t *frame, uint32_t payload_len,
			  const uint8_t key[GL_SPOOL_ID_LEN])
{
	uint32_t crc = gl_crc32c(0, key, GL_SPOOL_ID_LEN);
	crc = gl_crc32c(crc, frame + 4, 4); /* the length field */
	return gl_crc32c(crc, frame + GL_FRAME_HEADER, payload_len);
}

size_t gl_event_encode(const gl_event_t *ev, uint8_t *buf, size_t cap)
{
	size_t total = gl_event_frame_size(ev);
	const gl_str_t *s[NSTRINGS];
	if (cap < total || total - GL_FRAME_HEADER > GL_FRAME_MAX_PAYLOAD)
		return 0;
	uint32_t plen = (uint32_t)(total - GL_FRAME_HEADER);
	uint8_t *p = buf;
	p = put32(p, GL_FRAME_MAGIC);
	p = put32(p, plen);
	p += 4; /* crc, below */
	p = put16(p, GL_FORMAT_VERSION);
	p = put16(p, ev->kind);
	p = put32(p, 0);
	p = put64(p, ev->seq);
	memcpy(p, ev->spool_id, GL_SPOOL_ID_LEN);
	p += GL_SPOOL_ID_LEN;
	p = put32(p, ev->job_id);
	p = put32(p, ev->user_id);
	p = put32(p, ev->job_state);
	p = put32(p, (uint32_t)ev->exit_code);
	p = put32(p, (uint32_t)ev->signal);
	p = put32(p, 0);
	p = put64(p, (uint64_t)ev->submit_time);
	p = put64(p, (uint64_t)ev->start_time);
	p = put64(p, (uint64_t)ev->end_time);
	p = put64(p, (uint64_t)ev->write_time_ns);
	p = put64(p, ev->tres_cpu);
	p = put64(p, ev->tres_mem_mb);
	p = put64(p, ev->tres_gpu);
	p = put64(p, ev->tres_node);
	p = put64(p, ev->tres_billing);
	strings_of(ev, s);
	for (int i = 0; i < NSTRINGS; i++) {
		uint32_t n = clamp_len(*s[i]);
		p = put32(p, n);
		if (n)
			memcpy(p, s[i]->ptr, n);
		p += n;
	}
	put32(buf + 8, frame_crc(buf, plen, ev->spool_id));
	return total;
}

void gl_frame_set_seq(uint8_t *frame, size_t frame_len, uint64_t seq,
		      const uint8_t spool_id[GL_SPOOL_ID_LEN])
{
	uint8_t *payload = frame + GL_FRAME_HEADER;
	put64(payload + SEQ_OFFSET, seq);
	memcpy(payload + SEQ_OFFSET + 8, spool_id, GL_SPOOL_ID_LEN);
	put32(frame + 8, frame_crc(frame, (uint32_t)(frame_len - GL_FRAME_HEADER), spool_id));
}

gl_frame_status_t gl_frame_check(const uint8_t *buf, size_t avail,
				 const uint8_t key[GL_SPOOL_ID_LEN],
				 size_t *frame_len, const uint8_t **payload,
				 uint32_t *payload_len)
{
	if (avail < 4)
		return GL_FRAME_SHORT;
	if (get32(buf) != GL_FRAME_MAGIC)
		return GL_FRAME_BAD;
	if (avail < GL_FRAME_HEADER)
		return GL_FRAME_SHORT;
	uint32_t plen = get32(buf + 4);
	if (plen < FIXED_LEN + 4 * NSTRINGS || plen > GL_FRAME_MAX_PAYLOAD)
		return GL_FRAME_BAD;
	if (avail < GL_FRAME_HEADER + (size_t)plen)
		return GL_FRAME_SHORT;
	if (get32(buf + 8) != frame_crc(buf, plen, key))
		return GL_FRAME_BAD;
	*frame_len = GL_FRAME_HEADER + (size_t)plen;
	*payload = buf + GL_FRAME_HEADER;
	*payload_len = plen;
	return GL_FRAME_OK;
}

int gl_event_decode(const uint8_t *payload, uint32_t len, gl_event_t *ev,
		    const char **err)
{
	const uint8_t *p = payload, *end = payload + len;
	gl_str_t *s[NSTRINGS] = { &ev->cluster, &ev->node, &ev->state_name,
				  &ev->job_name, &ev->comment };
	if (len < FIXED_LEN) {
		*err = "payload shorter than the fixed fields";
		return -1;
	}
	memset(ev, 0, sizeof(*ev));
	ev->version = get16(p);
	ev->kind = get16(p + 2);
	if (ev->version < 1) {
		*err = "unknown format version";
		return -1;
	}
	p += 8;
	ev->seq = get64(p);
	p += 8;
	memcpy(ev->spool_id, p, GL_SPOOL_ID_LEN);
	p += GL_SPOOL_ID_LEN;
	ev->job_id = get32(p);
	ev->user_id = get32(p + 4);
	ev->job_state = get32(p + 8);
	ev->exit_code = (int32_t)get32(p + 12);
	ev->signal = (int32_t)get32(p + 16);
	p += 24;
	ev->submit_time = (int64_t)get64(p);
	ev->start_time = (int64_t)get64(p + 8);
	ev->end_time = (int64_t)get64(p + 16);
	ev->write_time_ns = (int64_t)get64(p + 24);
	p += 32;
	ev->tres_cpu = get64(p);
	ev->tres_mem_mb = get64(p + 8);
	ev->tres_gpu = get64(p + 16);
	ev->tres_node = get64(p + 24);
	ev->tres_billing = get64(p + 32);
	p += 40;
	for (int i = 0; i < NSTRINGS; i++) {
		if (end - p < 4) {
			*err = "payload truncated inside a string length";
			return -1;
		}
		uint32_t n = get32(p);
		p += 4;
		if (n > GL_STRING_MAX || (size_t)(end - p) < n) {
			*err = "string length runs past the payload";
			return -1;
		}
		s[i]->ptr = (const char *)p;
		s[i]->len = n;
		p += n;
	}
	return 0;
}

uint32_t gl_frame_payload_len(const uint8_t *frame)
{
	return get32(frame + 4);
}

uint64_t gl_payload_seq(const uint8_t *payload)
{
	return get64(payload + SEQ_OFFSET);
}

const char *gl_event_kind_name(uint16_t kind)
{
	switch (kind) {
	case GL_EVENT_JOB_STARTED:
		return "job_started";
	case GL_EVENT_JOB_ENDED_NODE:
		return "job_ended_node";
	case GL_EVENT_JOB_COMPLETED:
		return "job_completed";
	default:
		return "unknown";
	}
}
