/* syslog-capture.c - LD_PRELOAD'ed into the query program by
 * test/userdb/nss.test.ts: every syslog() line (the NSS module's) is appended
 * to $GL_SYSLOG_FILE instead, with its priority, so the test can count them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

void syslog(int pri, const char *fmt, ...)
{
	const char *path = getenv("GL_SYSLOG_FILE");
	FILE *f = path ? fopen(path, "a") : NULL;
	if (!f)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(f, "%d ", pri);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	va_end(ap);
	fclose(f);
}
