/*
 * gl_recorder.h - what both plugins share: options, the spool, and error
 * reporting that never fails the SLURM hook. A plugin builds a gl_event_t
 * and calls gl_recorder_record(); everything else lives here, so the SPANK
 * and jobcomp shims hold only their SLURM-facing code.
 */
#ifndef GL_RECORDER_H
#define GL_RECORDER_H

#include <pthread.h>
#include <time.h>

#include "gl_event.h"
#include "gl_options.h"
#include "gl_spool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*gl_log_fn)(const char *msg);

typedef struct gl_recorder {
	gl_options_t opts;
	const char *plugin;   /* log prefix, e.g. "spank/provider" */
	gl_log_fn log_error;
	gl_log_fn log_info;
	int long_lived;       /* start a sync thread (slurmctld) */
	gl_spool_t *spool;    /* opened lazily, reopened after a failure */
	pthread_mutex_t mu;
	time_t last_error;    /* rate limit: one error line a minute */
	unsigned suppressed;
} gl_recorder_t;

void gl_recorder_init(gl_recorder_t *r, const char *plugin, const char *daemon,
		      gl_log_fn log_error, gl_log_fn log_info, int long_lived);

/* Log an error through the plugin's logger, at most once a minute (with the
 * count of the lines suppressed meanwhile). */
void gl_recorder_error(gl_recorder_t *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Open the spool now (jobcomp init) so a bad spool dir shows at start. */
int gl_recorder_open(gl_recorder_t *r);

/* Append ev. Returns 0 or a GL_ERR_*; failures are logged, never raised. */
int gl_recorder_record(gl_recorder_t *r, gl_event_t *ev);

void gl_recorder_fini(gl_recorder_t *r);

#ifdef __cplusplus
}
#endif
#endif
