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
 * With home_root=DIR (users.resolver "gridlink": customers' homes are
 * DIR/<address>), the job prolog first makes the job user's home, mode 0700,
 * owned by the user, when the user is a customer whose passwd home is
 * DIR/<its name> (native/gl_home.c: never following a symlink in DIR); on a
 * node whose NSS does not know the user (nss_slurm serving the job steps), the
 * customer name slurmctld resolved for the job (SLURM_JOB_USER). A home
 * that cannot be made is logged; the job then fails on its own output file.
 *
 * slurm_spank_init in the slurmd context (once, at slurmd start) starts the
 * embedded Node runtime running the relay when reporter=URL is configured;
 * slurm_spank_slurmd_exit stops it. srun, sbatch and slurmstepd load this
 * file too: they return at once and never map libnode.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <slurm/spank.h>

#include "slurm_compat.h"

#include "gl_home.h"
#include "gl_recorder.h"
#include "gl_runtime.h"

SPANK_PLUGIN(provider, 1);

static void log_error(const char *msg) { slurm_error("%s", msg); }
static void log_info(const char *msg) { slurm_debug("%s", msg); }
static void log_info_always(const char *msg) { slurm_info("%s", msg); }

/* home_root=DIR: this plugin's own option (not the spool's or the relay's) */
static char home_root[4096];

static void parse_home_root(int ac, char **av)
{
	home_root[0] = 0;
	for (int i = 0; i < ac; i++) {
		if (!strncmp(av[i], "home_root=", 10)) {
			snprintf(home_root, sizeof(home_root), "%s", av[i] + 10);
			size_t n = strlen(home_root);
			while (n > 1 && home_root[n - 1] == '/')
				home_root[--n] = 0;
		}
	}
}

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

/* The job user's home, when home_root is set and the user is a customer whose home is there. */
static void make_home(spank_t sp)
{
	uid_t uid = 0;
	gid_t gid = 0;
	uint32_t job_id = 0;
	if (!home_root[0] || spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS || spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS)
		return;
	spank_get_item(sp, S_JOB_ID, &job_id);
	struct passwd pw, *res = NULL;
	char buf[4096], want[4096 + 64], err[512];
	const char *name;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res) {
		if (!gl_home_is_customer(pw.pw_name))
			return; /* not a grid customer: not ours */
		name = pw.pw_name;
		gid = pw.pw_gid;
		snprintf(want, sizeof(want), "%s/%s", home_root, name);
		if (strcmp(pw.pw_dir, want) != 0) {
			slurm_info("spank/provider: job %u: %s's home is %s, not under home_root %s: not made here", job_id, name, pw.pw_dir, home_root);
			return;
		}
	} else {
		/*
		 * Not known to this node's NSS: a node without the users database
		 * (where nss_slurm serves the job's steps: LaunchParameters=
		 * enable_nss_slurm). slurmctld resolved the user for the job, and
		 * slurmd hands its name to the prolog as SLURM_JOB_USER (measured on
		 * 22.05 and 25.11, test/userdb/nss-slurm.test.ts); where slurmd had
		 * to look it up itself it is the bare uid, no customer's name.
		 */
		name = getenv("SLURM_JOB_USER");
		if (!name || !gl_home_is_customer(name)) {
			slurm_error("spank/provider: job %u: uid %u is unknown on this node (NSS): no home made; is the gridlink users database here up to date (or LaunchParameters=enable_nss_slurm set)?", job_id, (unsigned)uid);
			return;
		}
		snprintf(want, sizeof(want), "%s/%s", home_root, name);
	}
	int rc = gl_home_ensure(home_root, name, uid, gid, err, sizeof(err));
	if (rc < 0)
		slurm_error("spank/provider: job %u: %s", job_id, err);
	else if (rc == 0)
		slurm_info("spank/provider: job %u: made %s (0700, uid %u)", job_id, want, (unsigned)uid);
}

int slurm_spank_job_prolog(spank_t sp, int ac, char **av)
{
	parse_home_root(ac, av);
	make_home(sp);
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
