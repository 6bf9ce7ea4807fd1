/*
 * jobcomp_provider.c - jobcomp/provider: every job end state in slurmctld
 * becomes one completion record in the controller's spool.
 *
 *   slurm.conf:
 *     JobCompType=jobcomp/provider
 *     JobCompLoc=/var/spool/gridlink/slurmctld      (or spool=DIR,max_bytes=2G)
 *
 * The job-end hook (jobcomp_p_log_record, jobcomp_p_record_job_end since
 * 25.05: see slurm_compat.h) runs with slurmctld's job write lock held: it
 * encodes and appends (one write(2)), nothing else. fsync is batched by the spool's
 * sync thread. Every entry point returns success; errors go to SLURM's log.
 *
 * With reporter=URL (or runtime=embedded) in JobCompLoc, init also starts the
 * embedded Node runtime running the relay, which follows the spool and sends
 * it to the reporter from its own thread.
 */
#include "config.h"

#include <string.h>

#include "slurm/slurm_errno.h"
#define GL_SLURM_JOBCOMP
#include "slurm_compat.h"

#include "gl_recorder.h"
#include "gl_runtime.h"
#include "jobcomp_event.h"

const char plugin_name[] = "Job completion plugin recording events for the gridlink provider";
const char plugin_type[] = "jobcomp/provider";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

static gl_recorder_t recorder;
static int initialised;

/* libslurmfull's error logger; bare error() clashes with glibc's error(3). */
extern int slurm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void log_error(const char *msg) { slurm_error("%s", msg); }
static void log_info(const char *msg) { slurm_info("%s", msg); }

extern int init(void)
{
	if (!initialised) {
		gl_recorder_init(&recorder, "jobcomp/provider", "slurmctld", log_error, log_info, 1);
		initialised = 1;
	}
	return SLURM_SUCCESS;
}

extern int fini(void)
{
	gl_runtime_load_stop(5000);
	if (initialised) {
		gl_recorder_fini(&recorder);
		initialised = 0;
	}
	return SLURM_SUCCESS;
}

/* Called after init and on reconfigure with JobCompLoc (NULL when unset:
 * default spool dir). */
static int provider_set_location(const char *location)
{
	char err[GL_ERRLEN];
	if (location && *location &&
	    gl_options_apply_list(&recorder.opts, location, err, sizeof(err)))
		gl_recorder_error(&recorder, "JobCompLoc=%s: %s", location, err);
	gl_recorder_fini(&recorder); /* a new location: reopen there */
	gl_recorder_open(&recorder);
	/* Once per process: `scontrol reconfigure` calls this again but V8
	 * cannot restart, and the running relay already follows the spool. */
	static int runtime_tried;
	if (!runtime_tried && gl_options_want_runtime(&recorder.opts)) {
		runtime_tried = 1;
		gl_runtime_start_relay(&recorder.opts, "slurmctld", log_error, log_info, (const void *)init);
	}
	return SLURM_SUCCESS;
}

static int provider_job_end(job_record_t *job_ptr)
{
	gl_event_t ev;
	if (!job_ptr)
		return SLURM_SUCCESS;
	jobcomp_event_from_job(job_ptr, &ev);
	gl_recorder_record(&recorder, &ev);
	return SLURM_SUCCESS;
}

GL_JOBCOMP_ENTRY_POINTS()
