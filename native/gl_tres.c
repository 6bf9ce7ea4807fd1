/* gl_tres.c - parse SLURM's formatted TRES string. */
#include "gl_tres.h"

#include <stdlib.h>
#include <string.h>

/* mem is printed with a unit suffix (K, M, G, T, P), megabytes when absent. */
static uint64_t to_mb(uint64_t v, char unit)
{
	switch (unit) {
	case 'K': return v / 1024;
	case 'G': return v * 1024;
	case 'T': return v * 1024 * 1024;
	case 'P': return v * 1024 * 1024 * 1024;
	default: return v;
	}
}

void gl_tres_parse(const char *fmt, gl_tres_t *out)
{
	memset(out, 0, sizeof(*out));
	if (!fmt)
		return;
	const char *p = fmt;
	while (*p) {
		const char *eq = strchr(p, '=');
		if (!eq)
			return;
		size_t klen = (size_t)(eq - p);
		char *end;
		uint64_t v = strtoull(eq + 1, &end, 10);
		/* a fractional value ("1.50G") keeps its integer part in the unit */
		if (*end == '.')
			while (*end >= '0' && *end <= '9' ? 1 : *end == '.')
				end++;
		char unit = *end;
#define KEY(s) (klen == sizeof(s) - 1 && !memcmp(p, s, klen))
		if (KEY("cpu"))
			out->cpu = v;
		else if (KEY("mem"))
			out->mem_mb = to_mb(v, unit);
		else if (KEY("node"))
			out->node = v;
		else if (KEY("billing"))
			out->billing = v;
		else if (KEY("gres/gpu"))
			out->gpu = v;
#undef KEY
		const char *comma = strchr(eq, ',');
		if (!comma)
			return;
		p = comma + 1;
	}
}
