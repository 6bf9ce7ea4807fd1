/* jobcomp_event.h - turn slurmctld's job_record_t into a completion event. */
#ifndef JOBCOMP_EVENT_H
#define JOBCOMP_EVENT_H
#include "src/slurmctld/slurmctld.h"

#include "gl_event.h"

/* Fill ev from job_ptr. Strings point into job_ptr (valid while slurmctld
 * holds the job lock, i.e. for the duration of the job-end hook). */
void jobcomp_event_from_job(const job_record_t *job_ptr, gl_event_t *ev);
#endif
