/*
 * spank_provider.c - SPANK shim: job_prolog -> "job started on node",
 * job_epilog -> "job ended on node", recorded in this node's spool.
 *
 *   plugstack.conf:
 *     required /usr/lib/gridlink/slurm-22.05.8/spank_provider.so spool=/var/spool/gridlink/slurmd
 *
 * Both callbacks run in a short-lived `slurmstepd spank prolog|epilog`
 * process: C only, append and return. They always return success, because a
 * failing required plugin drains the node; errors go to SLURM's log.
 *
 * slurm_spank_init in the slurmd context (once, at slurmd start) starts the
 * embedded Node runtime running the relay when reporter=URL is configured;
 * slurm_spank_slurmd_exit stops it. srun, sbatch and slurmstepd load this
 * file too: they return at once and never map libnode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <slurm/spank.h>

#include "slurm_compat.h"

#include "gl_recorder.h"
#include "gl_runtime.h"

SPANK_PLUGIN(provider, 1);

static void log_error(const char *msg) { slurm_error("%s", msg); }
static void log_info(const char *msg) { slurm_debug("%s", msg); }
static void log_info_always(const char *msg) { slurm_info("%s", msg); }

static int configure(gl_recorder_t *rec, int ac, char **av)
{
	char err[GL_ERRLEN];
	gl_recorder_init(rec, "spank/provider", "slurmd", log_error, log_info, 0);
	for (int i = 0; i < ac; i++) {
		if (gl_options_apply(&rec->opts, av[i], 0, err, sizeof(err))) {
			/* Keep going with what parsed: a typo must not lose events. */
			gl_recorder_error(rec, "plugstack.conf: %s", err);
		}
	}
	return 0;
}

static void fill_common(spank_t sp, gl_event_t *ev, uint16_t kind, char *host, size_t hostlen)
{
	uint32_t job_id = 0;
	uid_t uid = 0;
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	if (spank_get_item(sp, S_JOB_ID, &job_id) == ESPANK_SUCCESS)
		ev->job_id = job_id;
	if (spank_get_item(sp, S_JOB_UID, &uid) == ESPANK_SUCCESS)
		ev->user_id = (uint32_t)uid;
	/* The prolog/epilog environment is built by slurmd (prep/script). */
	const char *node = getenv("SLURMD_NODENAME");
	if (!node || !*node) {
		if (gethostname(host, hostlen))
			host[0] = 0;
		host[hostlen - 1] = 0;
		node = host;
	}
	ev->node = gl_str(node);
	ev->cluster = gl_str(getenv("SLURM_CLUSTER_NAME"));
	ev->job_name = gl_str(getenv("SLURM_JOB_NAME"));
	ev->comment = gl_str(getenv("SLURM_JOB_COMMENT"));
}

static int record(spank_t sp, int ac, char **av, uint16_t kind)
{
	gl_recorder_t rec;
	gl_event_t ev;
	char host[256];
	configure(&rec, ac, av);
	fill_common(sp, &ev, kind, host, sizeof(host));
	time_t now = time(NULL);
	if (kind == GL_EVENT_JOB_STARTED) {
		ev.start_time = now;
		ev.state_name = gl_str("RUNNING");
	} else {
		ev.end_time = now;
		ev.state_name = gl_str("ENDED");
		/* SLURM_JOB_EXIT_CODE is the raw wait status of the batch script */
		const char *ec = getenv("SLURM_JOB_EXIT_CODE");
		if (ec && *ec) {
			int status = atoi(ec);
			ev.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
			ev.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		}
	}
	gl_recorder_record(&rec, &ev);
	gl_recorder_fini(&rec); /* no fsync here: the spool's reader syncs */
	return ESPANK_SUCCESS;
}

int slurm_spank_job_prolog(spank_t sp, int ac, char **av)
{
	return record(sp, ac, av, GL_EVENT_JOB_STARTED);
}

int slurm_spank_job_epilog(spank_t sp, int ac, char **av)
{
	return record(sp, ac, av, GL_EVENT_JOB_ENDED_NODE);
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	gl_recorder_t rec;
	if (spank_context() != S_CTX_SLURMD)
		return ESPANK_SUCCESS;
	configure(&rec, ac, av);
	if (gl_options_want_runtime(&rec.opts))
		gl_runtime_start_relay(&rec.opts, "slurmd", log_error, log_info_always, (const void *)slurm_spank_init);
	return ESPANK_SUCCESS;
}

int slurm_spank_slurmd_exit(spank_t sp, int ac, char **av)
{
	gl_runtime_load_stop(5000);
	return ESPANK_SUCCESS;
}
