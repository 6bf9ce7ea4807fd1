/*
 * spool_hotpath.c - cost of the plugins' hot paths, beside the physical
 * baseline of writing the same bytes to /dev/null.
 *
 *   spool_hotpath SPOOL_DIR [N]    prints one JSON object
 *
 * jobcomp: jobcomp_event_from_job() on a realistic job_record_t, then
 *          gl_recorder_record() (encode, lock, append) - exactly what
 *          jobcomp_p_log_record does in slurmctld.
 * prolog:  the SPANK shim's fill + record on an open spool (record + append).
 * prolog_with_open: the whole slurm_spank_job_prolog entry point, which in
 *          slurmstepd also opens and closes the spool once per job.
 * devnull: the same bytes, one write(2) each, to /dev/null.
 * file_append: the same bytes to a plain O_APPEND file (no lock, no seq).
 */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "src/slurmctld/slurmctld.h"

#include "gl_recorder.h"
#include "jobcomp_event.h"

/* The SPANK host's symbols, provided here so the real shim code runs. */
#include <slurm/spank.h>
int spank_bench_job_id = 1000;
#define spank_get_item bench_spank_get_item
spank_err_t bench_spank_get_item(spank_t sp, spank_item_t item, ...);
#include "../plugins/spank_provider.c"
#undef spank_get_item

spank_err_t bench_spank_get_item(spank_t sp, spank_item_t item, ...)
{
	va_list ap;
	va_start(ap, item);
	if (item == S_JOB_ID)
		*va_arg(ap, uint32_t *) = (uint32_t)spank_bench_job_id;
	else if (item == S_JOB_UID)
		*va_arg(ap, uid_t *) = 1000;
	va_end(ap);
	return ESPANK_SUCCESS;
}

static void quiet(const char *msg) { (void)msg; }

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void summary(const char *name, double *t, int n, int last)
{
	qsort(t, (size_t)n, sizeof(double), cmp);
	printf("  \"%s\": {\"p50_us\": %.3f, \"p99_us\": %.3f, \"max_us\": %.3f}%s\n", name,
	       t[n / 2], t[(int)(n * 0.99)], t[n - 1], last ? "" : ",");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s SPOOL_DIR [N]\n", argv[0]);
		return 2;
	}
	const char *dir = argv[1];
	int n = argc > 2 ? atoi(argv[2]) : 10000;
	double *t = calloc((size_t)n, sizeof(double));
	char path[4200];

	/* a job as slurmctld hands it over (job_details_t from 23.02, struct
	 * job_details before: the type job_record_t points to, in any release) */
	job_record_t job;
	__typeof__(*job.details) details;
	memset(&details, 0, sizeof(details));
	memset(&job, 0, sizeof(job));
	details.submit_time = time(NULL) - 120;
	job.details = &details;
	job.job_state = JOB_COMPLETE | JOB_COMPLETING;
	job.start_time = time(NULL) - 60;
	job.end_time = time(NULL);
	job.user_id = 1000;
	job.name = "0x5f3c9a1e2b7d4c8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6";
	job.comment = "gridlink benchmark job";
	job.nodes = "node[001-004]";
	job.tres_fmt_alloc_str = "cpu=16,mem=64G,node=4,billing=16,gres/gpu=4";
	slurm_conf.cluster_name = "bench";

	gl_recorder_t rec;
	gl_recorder_init(&rec, "bench", "bench", quiet, NULL, 1);
	snprintf(rec.opts.spool_dir, sizeof(rec.opts.spool_dir), "%s/jobcomp", dir);
	if (gl_recorder_open(&rec)) {
		fprintf(stderr, "cannot open spool in %s\n", dir);
		return 1;
	}
	gl_event_t ev;
	for (int i = 0; i < n; i++) {
		job.job_id = (uint32_t)i + 1;
		double t0 = now_us();
		jobcomp_event_from_job(&job, &ev);
		gl_recorder_record(&rec, &ev);
		t[i] = now_us() - t0;
	}
	size_t frame_len = gl_event_frame_size(&ev);
	printf("{\n  \"calls\": %d,\n  \"frame_bytes\": %zu,\n", n, frame_len);
	summary("jobcomp", t, n, 0);
	gl_recorder_fini(&rec);

	/* prolog: the shim's own code, on an open spool */
	setenv("SLURMD_NODENAME", "node001", 1);
	setenv("SLURM_CLUSTER_NAME", "bench", 1);
	setenv("SLURM_JOB_NAME", job.name, 1);
	gl_recorder_init(&rec, "bench", "bench", quiet, NULL, 0);
	snprintf(rec.opts.spool_dir, sizeof(rec.opts.spool_dir), "%s/prolog", dir);
	gl_recorder_open(&rec);
	char host[256];
	for (int i = 0; i < n; i++) {
		spank_bench_job_id = i + 1;
		double t0 = now_us();
		fill_common(NULL, &ev, GL_EVENT_JOB_STARTED, host, sizeof(host));
		ev.start_time = time(NULL);
		ev.state_name = gl_str("RUNNING");
		gl_recorder_record(&rec, &ev);
		t[i] = now_us() - t0;
	}
	summary("prolog", t, n, 0);
	gl_recorder_fini(&rec);

	/* prolog as slurmstepd calls it: options, open, append, close */
	snprintf(path, sizeof(path), "spool=%s/prolog", dir);
	char *av[] = { path };
	for (int i = 0; i < n; i++) {
		double t0 = now_us();
		slurm_spank_job_prolog(NULL, 1, av);
		t[i] = now_us() - t0;
	}
	summary("prolog_with_open", t, n, 0);

	/* physical baseline: the same bytes, one write(2) each, to /dev/null */
	uint8_t *frame = malloc(frame_len);
	gl_event_encode(&ev, frame, frame_len);
	int fd = open("/dev/null", O_WRONLY);
	for (int i = 0; i < n; i++) {
		double t0 = now_us();
		if (write(fd, frame, frame_len) < 0)
			return 1;
		t[i] = now_us() - t0;
	}
	summary("devnull", t, n, 0);
	close(fd);

	/* the floor of any durable append: the same bytes to a regular file */
	snprintf(path, sizeof(path), "%s/plain.append", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0600);
	for (int i = 0; i < n; i++) {
		double t0 = now_us();
		if (write(fd, frame, frame_len) < 0)
			return 1;
		t[i] = now_us() - t0;
	}
	summary("file_append", t, n, 1);
	printf("}\n");
	close(fd);
	return 0;
}

/* SPANK host symbols the shim references */
void slurm_debug(const char *fmt, ...) { (void)fmt; }
void slurm_info(const char *fmt, ...) { (void)fmt; }
spank_context_t spank_context(void) { return S_CTX_JOB_SCRIPT; }
