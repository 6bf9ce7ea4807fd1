/*
 * gl_slurm_compat.h - every difference of libslurm's public API (slurm.h,
 * slurm_errno.h) between the SLURM releases gridlink builds for, 22.05 to
 * 26.05, in one place. The Node addon's SLURM calls (native/addon/gl_slurm.cc:
 * submit, will-run, kill, update, job and partition queries) use these names
 * and nothing else tests SLURM_VERSION_NUMBER there; the plugins' own
 * differences (slurmctld's internal jobcomp interface) are in
 * plugins/slurm_compat.h, which shares GL_SLURM_AT_LEAST from here.
 *
 * Each boundary is the first release whose slurm/slurm.h has the change
 * (read from upstream's release tags, 22.05 to 26.05):
 *
 *   release  change                                                 here
 *   23.11    hostlist_t is the struct, slurm_hostlist_* take          gl_hostlist_t
 *            hostlist_t * (was: hostlist_t, a pointer typedef)
 *   24.05    slurm_job_reason_string() is gone:                       gl_job_reason_string()
 *            const char *slurm_job_state_reason_string()
 *   24.11    slurm_get_errno() is gone: libslurm sets errno            gl_slurm_errno()
 *            (slurm_get_errno() always returned errno)
 *   25.11    submit_response_msg_t, job_desc_msg_t and                gl_submit_job_id(),
 *            slurm_job_info_t carry the job id in                     gl_job_desc_set_job_id(),
 *            step_id.job_id (job_info's job_id stays, "for            gl_job_info_id()
 *            backwards compatibility only")
 *   26.05    slurm_kill_job(slurm_step_id_t, signal, flags)           gl_slurm_kill_job()
 *            (was: uint32_t job_id)
 *
 * The addon is built against one SLURM's headers and links that release's
 * libslurm (its soname changes with every release), so one binary serves one
 * SLURM release, like the plugins. Usable from C and C++.
 */
#ifndef GRIDLINK_GL_SLURM_VERSION
#define GRIDLINK_GL_SLURM_VERSION

#include <slurm/slurm_version.h>

#define GL_SLURM_AT_LEAST(maj, min) (SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(maj, min, 0))

#if !GL_SLURM_AT_LEAST(22, 5)
#error "gridlink supports SLURM 22.05 and later"
#endif

#endif /* GRIDLINK_GL_SLURM_VERSION */

/* The public API below; the plugins include this for GL_SLURM_AT_LEAST only. */
#if !defined(GL_SLURM_VERSION_ONLY) && !defined(GRIDLINK_GL_SLURM_API)
#define GRIDLINK_GL_SLURM_API

#if GL_SLURM_AT_LEAST(26, 6)
#warning "SLURM newer than 26.05: not checked; compare slurm/slurm.h's job submit, kill, update and hostlist API with the table in gl_slurm_compat.h"
#endif

#include <errno.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif
#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

/*
 * Exported by every libslurm (slurm_* aliases in src/common) but not declared
 * in its public headers. The declarations match the definitions'
 * calling convention; 25.11 defines the free function with a void * argument.
 */
#if GL_SLURM_AT_LEAST(24, 5)
const char *slurm_job_state_reason_string(enum job_state_reason inx);
#else
char *slurm_job_reason_string(enum job_state_reason inx);
#endif
char *slurm_node_state_string(uint32_t inx);
void slurm_free_will_run_response_msg(will_run_response_msg_t *msg);
#ifdef __cplusplus
}
#endif

/* The handle slurm_hostlist_create() returns. */
#if GL_SLURM_AT_LEAST(23, 11)
typedef hostlist_t *gl_hostlist_t;
#else
typedef hostlist_t gl_hostlist_t;
#endif

/* SLURM's error number of the call that just failed (on this thread). */
static inline int gl_slurm_errno(void)
{
#if GL_SLURM_AT_LEAST(24, 11)
	return errno;
#else
	return slurm_get_errno();
#endif
}

/* The text of a job's state_reason, e.g. "Resources". */
static inline const char *gl_job_reason_string(uint32_t reason)
{
#if GL_SLURM_AT_LEAST(24, 5)
	return slurm_job_state_reason_string((enum job_state_reason)reason);
#else
	return slurm_job_reason_string((enum job_state_reason)reason);
#endif
}

/* The id slurmctld gave a submitted batch job. */
static inline uint32_t gl_submit_job_id(const submit_response_msg_t *resp)
{
#if GL_SLURM_AT_LEAST(25, 11)
	return resp->step_id.job_id;
#else
	return resp->job_id;
#endif
}

/* Names the job an update request (slurm_update_job) applies to. */
static inline void gl_job_desc_set_job_id(job_desc_msg_t *desc, uint32_t job_id)
{
#if GL_SLURM_AT_LEAST(25, 11)
	/* slurmctld's find_job(): sluid 0 means "look the job up by job_id" */
	desc->step_id.sluid = 0;
	desc->step_id.job_id = job_id;
#else
	desc->job_id = job_id;
#endif
}

/* A loaded job's id. */
static inline uint32_t gl_job_info_id(const slurm_job_info_t *job)
{
#if GL_SLURM_AT_LEAST(25, 11)
	return job->step_id.job_id;
#else
	return job->job_id;
#endif
}

/* Signals every step of a job (slurm_kill_job; KILL_* flags). */
static inline int gl_slurm_kill_job(uint32_t job_id, uint16_t sig, uint16_t flags)
{
#if GL_SLURM_AT_LEAST(26, 5)
	/* as SLURM_STEP_ID_INITIALIZER, with the job's id (no sluid: by job id) */
	slurm_step_id_t id;
	memset(&id, 0, sizeof(id));
	id.job_id = job_id;
	id.step_het_comp = NO_VAL;
	id.step_id = NO_VAL;
	return slurm_kill_job(id, sig, flags);
#else
	return slurm_kill_job(job_id, sig, flags);
#endif
}

#endif /* GRIDLINK_GL_SLURM_API */
