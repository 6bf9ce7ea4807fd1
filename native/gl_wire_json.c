/* gl_wire_json.c - a decoded job event as wire JSON (see gl_wire_json.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gl_wire_json.h"

/* Fixed text, numbers (at most 26 characters each) and the quotes around
 * the strings: generously bounded. */
#define FIXED_MAX 1024

size_t gl_wire_json_max(const gl_event_t *ev)
{
	return FIXED_MAX + 6 * ((size_t)ev->cluster.len + ev->node.len + ev->state_name.len +
				ev->job_name.len + ev->comment.len);
}

static const char HEX[] = "0123456789abcdef";

static char *put(char *o, const char *s)
{
	size_t n = strlen(s);
	memcpy(o, s, n);
	return o + n;
}

static char *put_u64(char *o, unsigned long long v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*o++ = tmp[--n];
	return o;
}

static char *put_i64(char *o, long long v)
{
	if (v < 0) {
		*o++ = '-';
		return put_u64(o, 0ull - (unsigned long long)v);
	}
	return put_u64(o, (unsigned long long)v);
}

/* An integral double as JavaScript's Number#toString prints it: exact below
 * 2^53; above, the shortest digits that read back as the same double,
 * followed by zeros (every u64 and i64 is below 1e21, where JavaScript would
 * switch to exponent notation). */
static char *put_js_int(char *o, double d)
{
	if (fabs(d) < 9007199254740992.0)
		return put_i64(o, (long long)d);
	char buf[40];
	int p;
	for (p = 1; p <= 17; p++) {
		snprintf(buf, sizeof(buf), "%.*e", p - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	/* buf: [-]D[.DDD]e+XX */
	const char *s = buf;
	if (*s == '-')
		*o++ = *s++;
	char digits[24];
	int k = 0;
	for (; *s && *s != 'e'; s++)
		if (*s != '.')
			digits[k++] = *s;
	int exp10 = atoi(s + 1);
	while (k > 1 && digits[k - 1] == '0')
		k--;
	int n = exp10 + 1; /* digits before the decimal point */
	for (int i = 0; i < n; i++)
		*o++ = i < k ? digits[i] : '0';
	return o;
}

/* One escaped JSON string character run: ASCII as JSON.stringify escapes it. */
static char *put_ascii(char *o, unsigned char b)
{
	switch (b) {
	case '"': *o++ = '\\'; *o++ = '"'; return o;
	case '\\': *o++ = '\\'; *o++ = '\\'; return o;
	case '\b': *o++ = '\\'; *o++ = 'b'; return o;
	case '\f': *o++ = '\\'; *o++ = 'f'; return o;
	case '\n': *o++ = '\\'; *o++ = 'n'; return o;
	case '\r': *o++ = '\\'; *o++ = 'r'; return o;
	case '\t': *o++ = '\\'; *o++ = 't'; return o;
	default:
		if (b < 0x20) {
			memcpy(o, "\\u00", 4);
			o[4] = HEX[b >> 4];
			o[5] = HEX[b & 15];
			return o + 6;
		}
		*o++ = (char)b;
		return o;
	}
}

/* The length of the valid UTF-8 sequence at p[0..n) as src/native/bytes.ts
 * decodeBytes accepts it, or 0 (the lead byte then travels as \udcXX). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned char b = p[0];
	size_t len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
	if (!len || len > n)
		return 0;
	unsigned long cp = b & (0xffu >> (len + 1));
	for (size_t k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[k] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static char *put_str(char *o, gl_str_t s)
{
	const unsigned char *p = (const unsigned char *)s.ptr;
	size_t n = s.len, i = 0;
	*o++ = '"';
	while (i < n) {
		unsigned char b = p[i];
		if (b < 0x80) {
			o = put_ascii(o, b);
			i++;
			continue;
		}
		size_t len = utf8_len(p + i, n - i);
		if (len) {
			memcpy(o, p + i, len);
			o += len;
			i += len;
		} else {
			memcpy(o, "\\udc", 4);
			o[4] = HEX[b >> 4];
			o[5] = HEX[b & 15];
			o += 6;
			i++;
		}
	}
	*o++ = '"';
	return o;
}

size_t gl_wire_json(const gl_event_t *ev, char *out)
{
	char *o = out;
	o = put(o, "{\"seq\":\"");
	o = put_u64(o, ev->seq);
	o = put(o, "\",\"kind\":");
	o = put_u64(o, ev->kind);
	o = put(o, ",\"jobId\":");
	o = put_u64(o, ev->job_id);
	o = put(o, ",\"userId\":");
	o = put_u64(o, ev->user_id);
	o = put(o, ",\"jobState\":");
	o = put_u64(o, ev->job_state);
	o = put(o, ",\"stateName\":");
	o = put_str(o, ev->state_name);
	o = put(o, ",\"exitCode\":");
	o = put_i64(o, ev->exit_code);
	o = put(o, ",\"signal\":");
	o = put_i64(o, ev->signal);
	o = put(o, ",\"submitTime\":");
	o = put_js_int(o, (double)ev->submit_time);
	o = put(o, ",\"startTime\":");
	o = put_js_int(o, (double)ev->start_time);
	o = put(o, ",\"endTime\":");
	o = put_js_int(o, (double)ev->end_time);
	o = put(o, ",\"writeTimeNs\":\"");
	o = put_i64(o, ev->write_time_ns);
	o = put(o, "\",\"tres\":{\"cpu\":");
	o = put_js_int(o, (double)ev->tres_cpu);
	o = put(o, ",\"memMb\":");
	o = put_js_int(o, (double)ev->tres_mem_mb);
	o = put(o, ",\"gpu\":");
	o = put_js_int(o, (double)ev->tres_gpu);
	o = put(o, ",\"node\":");
	o = put_js_int(o, (double)ev->tres_node);
	o = put(o, ",\"billing\":");
	o = put_js_int(o, (double)ev->tres_billing);
	o = put(o, "},\"cluster\":");
	o = put_str(o, ev->cluster);
	o = put(o, ",\"node\":");
	o = put_str(o, ev->node);
	o = put(o, ",\"jobName\":");
	o = put_str(o, ev->job_name);
	o = put(o, ",\"comment\":");
	o = put_str(o, ev->comment);
	*o++ = '}';
	return (size_t)(o - out);
}
