/* gl_options.c - parse plugin options (see gl_options.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "gl_options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gl_spool.h"

void gl_options_defaults(gl_options_t *o, const char *daemon)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->spool_dir, sizeof(o->spool_dir), GL_DEFAULT_SPOOL_ROOT "/%s", daemon);
	o->max_bytes = GL_SPOOL_DEFAULT_MAX_BYTES;
	o->segment_bytes = GL_SPOOL_DEFAULT_SEGMENT_BYTES;
	o->sync_ms = GL_SPOOL_DEFAULT_SYNC_MS;
}

/* The relay's keys (src/relay/config.ts, RELAY_OPTION_KEYS) but spool and
 * daemon, which the shim sets itself. */
static const char *const relay_keys[] = {
	"host", "reporter", "auth", "munge_socket", "hmac_key_file", "hmac_key_id",
	"batch_max_records", "batch_max_bytes", "poll_ms", "backoff_initial_ms", "backoff_max_ms",
	"backoff_factor", "quarantine", "hooks", "hook_timeout_ms", "request_timeout_ms", "http_client", "config",
	"log", "log_level", "users_url", "users_db", "users_poll_ms", NULL
};

int gl_options_want_runtime(const gl_options_t *o)
{
	if (!strcmp(o->runtime, "off"))
		return 0;
	return !strcmp(o->runtime, "embedded") || o->has_reporter;
}

int gl_parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s)
		return -1;
	uint64_t mul = 1;
	switch (*end) {
	case 0: break;
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	case 't': case 'T': mul = 1ull << 40; end++; break;
	default: return -1;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end || v > UINT64_MAX / mul)
		return -1;
	*out = (uint64_t)v * mul;
	return 0;
}

int gl_options_apply(gl_options_t *o, const char *arg, int bare_is_spool, char *err,
		     size_t errlen)
{
	const char *eq = strchr(arg, '=');
	if (!eq) {
		if (bare_is_spool && arg[0] == '/') {
			snprintf(o->spool_dir, sizeof(o->spool_dir), "%s", arg);
			return 0;
		}
		snprintf(err, errlen, "option '%s' is not key=value (keys: spool, max_bytes, segment_bytes, sync_ms, runtime)", arg);
		return -1;
	}
	size_t klen = (size_t)(eq - arg);
	const char *v = eq + 1;
#define KEY(s) (klen == sizeof(s) - 1 && !strncmp(arg, s, klen))
	if (KEY("spool")) {
		if (v[0] != '/' || strlen(v) >= sizeof(o->spool_dir)) {
			snprintf(err, errlen, "spool=%s: the spool dir must be an absolute path", v);
			return -1;
		}
		snprintf(o->spool_dir, sizeof(o->spool_dir), "%s", v);
	} else if (KEY("max_bytes") || KEY("segment_bytes")) {
		uint64_t n;
		if (gl_parse_size(v, &n) || n < 4096) {
			snprintf(err, errlen, "%.*s=%s: expected a size of at least 4K, like 512M or 2G",
				 (int)klen, arg, v);
			return -1;
		}
		*(KEY("max_bytes") ? &o->max_bytes : &o->segment_bytes) = n;
	} else if (KEY("sync_ms")) {
		char *end;
		long n = strtol(v, &end, 10);
		if (*end || n < 1 || n > 60000) {
			snprintf(err, errlen, "sync_ms=%s: expected milliseconds between 1 and 60000", v);
			return -1;
		}
		o->sync_ms = (int)n;
	} else if (KEY("runtime")) {
		if (strcmp(v, "off") && strcmp(v, "embedded")) {
			snprintf(err, errlen, "runtime=%s: expected embedded or off", v);
			return -1;
		}
		snprintf(o->runtime, sizeof(o->runtime), "%s", v);
	} else if (KEY("home_root")) {
		/* spank/provider's own (the homes of users.resolver "gridlink",
		 * plugins/spank_provider.c reads it); accepted and unused here, so one
		 * option list can serve both plugins */
		if (v[0] != '/') {
			snprintf(err, errlen, "home_root=%s: expected an absolute path", v);
			return -1;
		}
	} else if (KEY("entry")) {
		if (v[0] != '/' || strlen(v) >= sizeof(o->entry)) {
			snprintf(err, errlen, "entry=%s: expected the absolute path of the relay module", v);
			return -1;
		}
		snprintf(o->entry, sizeof(o->entry), "%s", v);
	} else {
		int known = 0;
		for (int i = 0; relay_keys[i]; i++)
			if (klen == strlen(relay_keys[i]) && !strncmp(arg, relay_keys[i], klen))
				known = 1;
		if (!known) {
			snprintf(err, errlen,
				 "unknown option '%.*s' (keys: spool, max_bytes, segment_bytes, sync_ms, runtime, entry, and the relay's: see `gridlink relay --help`)",
				 (int)klen, arg);
			return -1;
		}
		size_t n = strlen(arg) + 1;
		if (o->relay_argc >= (int)(sizeof(o->relay_off) / sizeof(o->relay_off[0])) ||
		    o->relay_used + n > sizeof(o->relay_buf)) {
			snprintf(err, errlen, "too many or too long relay options at '%.*s'", (int)klen, arg);
			return -1;
		}
		memcpy(o->relay_buf + o->relay_used, arg, n);
		o->relay_off[o->relay_argc++] = o->relay_used;
		o->relay_used += (unsigned)n;
		if (KEY("reporter"))
			o->has_reporter = 1;
	}
#undef KEY
	return 0;
}

int gl_options_apply_list(gl_options_t *o, const char *list, char *err, size_t errlen)
{
	char buf[8192];
	if (!list)
		return 0;
	if (strlen(list) >= sizeof(buf)) {
		snprintf(err, errlen, "option list is longer than %zu bytes", sizeof(buf) - 1);
		return -1;
	}
	strcpy(buf, list);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
		if (gl_options_apply(o, tok, 1, err, errlen))
			return -1;
	return 0;
}
