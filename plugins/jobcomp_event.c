/* jobcomp_event.c - job_record_t -> completion event (GL_EVENT_JOB_COMPLETED). */
#include "config.h"

#include <string.h>
#include <sys/wait.h>

#include "jobcomp_event.h"
#include "gl_tres.h"

static void fill_tres(const job_record_t *job_ptr, gl_event_t *ev)
{
	gl_tres_t t;
	if (job_ptr->tres_fmt_alloc_str) {
		gl_tres_parse(job_ptr->tres_fmt_alloc_str, &t);
	} else {
		/* Not formatted yet (slurmctld formats it lazily): counts only.
		 * A job cancelled while pending has neither: all zero. */
		memset(&t, 0, sizeof(t));
		if (job_ptr->tres_alloc_cnt) {
			t.cpu = job_ptr->tres_alloc_cnt[TRES_ARRAY_CPU];
			t.mem_mb = job_ptr->tres_alloc_cnt[TRES_ARRAY_MEM];
			t.node = job_ptr->tres_alloc_cnt[TRES_ARRAY_NODE];
			t.billing = job_ptr->tres_alloc_cnt[TRES_ARRAY_BILLING];
		}
	}
	ev->tres_cpu = t.cpu;
	ev->tres_mem_mb = t.mem_mb;
	ev->tres_gpu = t.gpu;
	ev->tres_node = t.node;
	ev->tres_billing = t.billing;
}

void jobcomp_event_from_job(const job_record_t *job_ptr, gl_event_t *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = GL_EVENT_JOB_COMPLETED;
	ev->job_id = job_ptr->job_id;
	ev->user_id = job_ptr->user_id;
	ev->job_state = job_ptr->job_state;
	/* job_state carries flags (COMPLETING, RESIZING, REQUEUE...) when we are
	 * called: the base state is the final one. */
	if (job_ptr->job_state & JOB_RESIZING)
		ev->state_name = gl_str("RESIZING");
	else
		ev->state_name = gl_str(job_state_string(job_ptr->job_state & JOB_STATE_BASE));
	if (job_ptr->exit_code != NO_VAL) {
		int st = (int)job_ptr->exit_code;
		ev->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
		ev->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	}
	if (job_ptr->details)
		ev->submit_time = job_ptr->details->submit_time;
	/* A job cancelled while pending never got nodes (slurmctld's own test,
	 * job_completion_logger); its start_time is then an estimate or the
	 * cancel time, not a start: record 0. */
	int was_allocated = job_ptr->nodes && job_ptr->nodes[0];
	if (was_allocated && job_ptr->start_time && job_ptr->start_time <= job_ptr->end_time)
		ev->start_time = job_ptr->resize_time ? job_ptr->resize_time : job_ptr->start_time;
	ev->end_time = job_ptr->end_time;
	ev->cluster = gl_str(slurm_conf.cluster_name);
	ev->node = gl_str(job_ptr->nodes);
	ev->job_name = gl_str(job_ptr->name);
	ev->comment = gl_str(job_ptr->comment);
	fill_tres(job_ptr, ev);
}
