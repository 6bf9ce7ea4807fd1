/*
 * gl_runtime.h - start an embedded Node.js runtime (the relay) inside a
 * long-lived SLURM daemon: slurmctld (jobcomp init) or slurmd (SPANK init in
 * the slurmd context). Never in short-lived contexts: they only append.
 *
 * The runtime lives in gridlink_runtime.so, next to the plugin, which links
 * Debian's libnode. The plugins dlopen() it only here, so srun, sbatch and
 * slurmstepd never map libnode.
 */
#ifndef GL_RUNTIME_H
#define GL_RUNTIME_H

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*gl_runtime_log_fn)(const char *msg);

typedef struct gl_runtime_opts {
	const char *name;       /* "slurmctld" or "slurmd": log prefix, process.title */
	const char *entry;      /* absolute path of the ESM entry (dist/relay/embedded.js) */
	int argc;               /* key=value options handed to the entry (process.argv[2..]) */
	const char *const *argv;
	gl_runtime_log_fn log_error;
	gl_runtime_log_fn log_info;
} gl_runtime_opts_t;

/* In gridlink_runtime.so. Starts the runtime thread; returns 0 or -1 (logged).
 * Only one runtime per process, started at most once: V8 cannot restart. */
int gl_runtime_start(const gl_runtime_opts_t *opts);
/* Stops the runtime (node::Stop) and joins its thread, waiting at most
 * timeout_ms; never tears V8 down. */
void gl_runtime_stop(int timeout_ms);

/* In the plugins (gl_runtime_loader.c): dlopen gridlink_runtime.so from the
 * directory of the calling plugin and start it. Failures are logged once and
 * leave the shim appending as before. */
int gl_runtime_load_and_start(const gl_runtime_opts_t *opts, const void *plugin_symbol);
void gl_runtime_load_stop(int timeout_ms);

/* Start the relay with the plugin's options: spool=, daemon= and the relay
 * keys of gl_options (reporter=, auth=, ...), running entry= or the default
 * module. */
struct gl_options;
int gl_runtime_start_relay(const struct gl_options *o, const char *daemon, gl_runtime_log_fn log_error,
			   gl_runtime_log_fn log_info, const void *plugin_symbol);

#ifdef __cplusplus
}
#endif
#endif
