/* gl_options.h - plugin options, shared by both plugins.
 *
 * SPANK: the arguments after the plugin path in plugstack.conf, e.g.
 *   required /usr/lib/gridlink/slurm-22.05.8/spank_provider.so spool=/var/spool/gridlink/slurmd
 * jobcomp: JobCompLoc, either a spool directory or the same key=value list
 * separated by commas or spaces, e.g.
 *   JobCompLoc=spool=/var/spool/gridlink/slurmctld,max_bytes=2G
 *
 * Keys of the shim: spool (dir), max_bytes and segment_bytes (sizes, K/M/G
 * suffix), sync_ms (fsync batching interval), runtime (embedded | off) and
 * entry (the relay module the embedded runtime runs).
 * Keys of the relay, handed to the embedded runtime as they are: host,
 * reporter, auth, munge_socket, hmac_key_file, hmac_key_id,
 * batch_max_records, batch_max_bytes, poll_ms, backoff_initial_ms,
 * backoff_max_ms, backoff_factor, quarantine, hooks, hook_timeout_ms,
 * request_timeout_ms, config, log, log_level (src/relay/config.ts).
 * runtime defaults to embedded when reporter is set, else off.
 */
#ifndef GL_OPTIONS_H
#define GL_OPTIONS_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
#define GL_DEFAULT_SPOOL_ROOT "/var/spool/gridlink"

typedef struct gl_options {
	char spool_dir[4096];
	uint64_t max_bytes;
	uint64_t segment_bytes;
	int sync_ms;
	char runtime[16]; /* "" (default), "embedded" or "off" */
	char entry[4096];
	int relay_argc;
	unsigned relay_off[24];  /* relay_argv(i) = relay_buf + relay_off[i] */
	unsigned relay_used;
	char relay_buf[8192];    /* the relay's "key=value" options, NUL-separated */
	int has_reporter;
} gl_options_t;

/* The i-th relay option ("key=value"). */
static inline const char *gl_options_relay_arg(const gl_options_t *o, int i)
{
	return o->relay_buf + o->relay_off[i];
}

/* Whether the embedded runtime should start with these options. */
int gl_options_want_runtime(const gl_options_t *o);

/* Defaults for a daemon ("slurmctld", "slurmd"). */
void gl_options_defaults(gl_options_t *o, const char *daemon);

/* Apply one "key=value" (or, when bare_is_spool, a bare path as the spool).
 * 0, or -1 with a message in err naming the bad option. */
int gl_options_apply(gl_options_t *o, const char *arg, int bare_is_spool,
		     char *err, size_t errlen);

/* Apply a list split on commas and spaces (JobCompLoc). Stops at the first
 * bad option; earlier ones stay applied. */
int gl_options_apply_list(gl_options_t *o, const char *list, char *err, size_t errlen);

/* "64M" -> bytes; -1 when not a size. */
int gl_parse_size(const char *s, uint64_t *out);
#ifdef __cplusplus
}
#endif
#endif
