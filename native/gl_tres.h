/* gl_tres.h - allocated TRES of a job, parsed from SLURM's formatted TRES
 * string ("cpu=2,mem=1000M,node=1,billing=2,gres/gpu=1"). */
#ifndef GL_TRES_H
#define GL_TRES_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
typedef struct gl_tres {
	uint64_t cpu, mem_mb, gpu, node, billing;
} gl_tres_t;
/* Unknown keys are ignored; a NULL or empty string gives all zeros. */
void gl_tres_parse(const char *fmt, gl_tres_t *out);
#ifdef __cplusplus
}
#endif
#endif
