/* gl_recorder.c - options + spool + rate-limited error log for the plugins. */
#include "gl_recorder.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void gl_recorder_init(gl_recorder_t *r, const char *plugin, const char *daemon,
		      gl_log_fn log_error, gl_log_fn log_info, int long_lived)
{
	memset(r, 0, sizeof(*r));
	gl_options_defaults(&r->opts, daemon);
	r->plugin = plugin;
	r->log_error = log_error;
	r->log_info = log_info;
	r->long_lived = long_lived;
	pthread_mutex_init(&r->mu, NULL);
}

void gl_recorder_error(gl_recorder_t *r, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	time_t now = time(NULL);
	pthread_mutex_lock(&r->mu);
	if (r->last_error && now - r->last_error < 60) {
		r->suppressed++;
		pthread_mutex_unlock(&r->mu);
		return;
	}
	unsigned suppressed = r->suppressed;
	r->suppressed = 0;
	r->last_error = now;
	pthread_mutex_unlock(&r->mu);
	int n = snprintf(msg, sizeof(msg), "%s: ", r->plugin);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (suppressed) {
		size_t len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, " (%u similar errors suppressed in the last minute)",
			 suppressed);
	}
	r->log_error(msg);
}

/* With r->mu held. */
static int open_locked(gl_recorder_t *r, char *err, size_t errlen)
{
	if (r->spool)
		return 0;
	gl_spool_opts_t so = { r->opts.spool_dir, r->opts.max_bytes, r->opts.segment_bytes, 1 };
	r->spool = gl_spool_open(&so, err, errlen);
	if (!r->spool)
		return GL_ERR_IO;
	if (r->long_lived)
		gl_spool_start_sync_thread(r->spool, r->opts.sync_ms);
	return 0;
}

int gl_recorder_open(gl_recorder_t *r)
{
	char err[GL_ERRLEN];
	pthread_mutex_lock(&r->mu);
	int rc = open_locked(r, err, sizeof(err));
	pthread_mutex_unlock(&r->mu);
	if (rc)
		gl_recorder_error(r, "%s; job events are NOT being recorded until this is fixed", err);
	else if (r->log_info) {
		char msg[4200];
		snprintf(msg, sizeof(msg), "%s: recording job events in %s", r->plugin, r->opts.spool_dir);
		r->log_info(msg);
	}
	return rc;
}

int gl_recorder_record(gl_recorder_t *r, gl_event_t *ev)
{
	char err[GL_ERRLEN];
	pthread_mutex_lock(&r->mu);
	int rc = open_locked(r, err, sizeof(err));
	gl_spool_t *sp = r->spool;
	pthread_mutex_unlock(&r->mu);
	if (!rc)
		rc = gl_spool_append(sp, ev, err, sizeof(err));
	if (rc)
		gl_recorder_error(r, "job %u %s event lost: %s", ev->job_id,
				  gl_event_kind_name(ev->kind), err);
	return rc;
}

void gl_recorder_fini(gl_recorder_t *r)
{
	pthread_mutex_lock(&r->mu);
	gl_spool_close(r->spool);
	r->spool = NULL;
	pthread_mutex_unlock(&r->mu);
}
