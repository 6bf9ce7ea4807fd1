/*
 * slurm_compat.h - every difference between the SLURM releases the plugins
 * build for (22.05 to 26.05), in one place. Nothing else in plugins/ tests
 * SLURM_VERSION_NUMBER. GL_SLURM_AT_LEAST and the oldest supported release
 * come from native/gl_slurm_compat.h, the addon's compatibility header for
 * libslurm's public API.
 *
 * A plugin binary serves exactly one SLURM version: slurmctld refuses a
 * jobcomp plugin whose plugin_version is not its own major.minor.micro (and
 * slurmd a SPANK plugin of another major.minor), and job_record_t's layout
 * changes with every release. SLURM_VERSION_NUMBER must come from the
 * slurm_version.h of the SLURM being built for; CMakeLists.txt checks it.
 *
 *   release  jobcomp interface header     set_location              job end / start entry points
 *   22.05    src/common/slurm_jobcomp.h   (char *location)          jobcomp_p_log_record(job)
 *   23.02    src/interfaces/jobcomp.h     (void): slurm_conf.job_comp_loc
 *   24.11    (List is gone: list_t, which exists since 23.02)
 *   25.05                                                           jobcomp_p_record_job_end(job, event)
 *                                                                   + jobcomp_p_record_job_start(job, event)
 *   26.05    (nothing for a jobcomp plugin: syms[] and signatures as 25.05)
 *
 * The jobcomp plugin writes its entry points once, as
 *     static int provider_set_location(const char *loc);
 *     static int provider_job_end(job_record_t *job);
 * and GL_JOBCOMP_ENTRY_POINTS() below defines the exported functions with the
 * signatures the running release's loader (src/interfaces/jobcomp.c, syms[])
 * calls. The old set_location(char *) compiles against 23.02+ without a
 * warning and crashes slurmctld 24.11 at start-up, so the signatures are never
 * written anywhere else.
 */
#ifndef GRIDLINK_SLURM_COMPAT_H
#define GRIDLINK_SLURM_COMPAT_H

#define GL_SLURM_VERSION_ONLY /* GL_SLURM_AT_LEAST and the 22.05 floor only */
#include "gl_slurm_compat.h"
#undef GL_SLURM_VERSION_ONLY

#if GL_SLURM_AT_LEAST(26, 6)
#warning "SLURM newer than 26.05: not checked; compare src/interfaces/jobcomp.c's syms[] with GL_JOBCOMP_ENTRY_POINTS"
#endif

#ifdef GL_SLURM_JOBCOMP /* only the slurmctld side needs the internal headers */

#include "src/slurmctld/slurmctld.h"
#if GL_SLURM_AT_LEAST(23, 2)
#include "src/interfaces/jobcomp.h"
#define GL_JOBCOMP_LIST list_t *
#define GL_JOBCOMP_SET_LOCATION                                         \
	extern int jobcomp_p_set_location(void)                        \
	{                                                              \
		return provider_set_location(slurm_conf.job_comp_loc); \
	}
#else
#include "src/common/slurm_jobcomp.h"
#define GL_JOBCOMP_LIST List
#define GL_JOBCOMP_SET_LOCATION                                     \
	extern int jobcomp_p_set_location(char *location)          \
	{                                                          \
		return provider_set_location(location);            \
	}
#endif

#if GL_SLURM_AT_LEAST(25, 5)
/*
 * record_job_start runs when slurmctld allocates a job. The SPANK prolog
 * already records each node's start, and a controller-side start would be a
 * new kind of record for the relay and the reporter: like the in-tree
 * filetxt and script plugins, it records nothing.
 */
#define GL_JOBCOMP_RECORD                                                            \
	extern int jobcomp_p_record_job_end(job_record_t *job_ptr, uint32_t event)   \
	{                                                                            \
		return provider_job_end(job_ptr);                                    \
	}                                                                            \
	extern int jobcomp_p_record_job_start(job_record_t *job_ptr, uint32_t event) \
	{                                                                            \
		return SLURM_SUCCESS;                                                \
	}
#else
#define GL_JOBCOMP_RECORD                                      \
	extern int jobcomp_p_log_record(job_record_t *job_ptr) \
	{                                                      \
		return provider_job_end(job_ptr);              \
	}
#endif

/* The exported jobcomp_p_* functions of this release (see the table above). */
#define GL_JOBCOMP_ENTRY_POINTS()                                \
	GL_JOBCOMP_SET_LOCATION                                  \
	GL_JOBCOMP_RECORD                                        \
	extern GL_JOBCOMP_LIST jobcomp_p_get_jobs(void *job_cond) \
	{                                                        \
		return NULL; /* the spool is not a job database: use sacct */ \
	}

#endif /* GL_SLURM_JOBCOMP */
#endif
