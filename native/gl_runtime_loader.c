/* gl_runtime_loader.c - find and start gridlink_runtime.so (see gl_runtime.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "gl_options.h"
#include "gl_runtime.h"

typedef int (*start_fn)(const gl_runtime_opts_t *);
typedef void (*stop_fn)(int);

static stop_fn loaded_stop;

int gl_runtime_load_and_start(const gl_runtime_opts_t *opts, const void *plugin_symbol)
{
	char msg[4600], path[4096];
	Dl_info info;
	if (!dladdr(plugin_symbol, &info) || !info.dli_fname) {
		opts->log_error("gridlink: cannot locate the plugin's own file (dladdr); the embedded runtime is off, events stay in the spool: run `gridlink relay` instead");
		return -1;
	}
	snprintf(path, sizeof(path), "%s", info.dli_fname);
	char *dir = dirname(path);
	char so[4200];
	snprintf(so, sizeof(so), "%s/gridlink_runtime.so", dir);
	/* RTLD_GLOBAL: native addons loaded by the runtime resolve napi_* from libnode */
	void *h = dlopen(so, RTLD_NOW | RTLD_GLOBAL);
	if (!h) {
		snprintf(msg, sizeof(msg),
			 "gridlink: cannot load %s (%s); the embedded runtime is off, events stay in the spool: install it beside the plugin or run `gridlink relay`",
			 so, dlerror());
		opts->log_error(msg);
		return -1;
	}
	start_fn start = (start_fn)dlsym(h, "gl_runtime_start");
	loaded_stop = (stop_fn)dlsym(h, "gl_runtime_stop");
	if (!start || !loaded_stop) {
		snprintf(msg, sizeof(msg), "gridlink: %s lacks gl_runtime_start/stop; rebuild it", so);
		opts->log_error(msg);
		loaded_stop = NULL;
		return -1;
	}
	return start(opts);
}

void gl_runtime_load_stop(int timeout_ms)
{
	if (loaded_stop)
		loaded_stop(timeout_ms);
}

#ifndef GRIDLINK_DEFAULT_ENTRY
#define GRIDLINK_DEFAULT_ENTRY "/usr/lib/gridlink/dist/relay/embedded.cjs"
#endif

int gl_runtime_start_relay(const gl_options_t *o, const char *daemon, gl_runtime_log_fn log_error,
			   gl_runtime_log_fn log_info, const void *plugin_symbol)
{
	static char spool_arg[4200], daemon_arg[64];
	const char *argv[28];
	int argc = 0;
	snprintf(spool_arg, sizeof(spool_arg), "spool=%s", o->spool_dir);
	snprintf(daemon_arg, sizeof(daemon_arg), "daemon=%s", daemon);
	argv[argc++] = spool_arg;
	argv[argc++] = daemon_arg;
	for (int i = 0; i < o->relay_argc && argc < 28; i++)
		argv[argc++] = gl_options_relay_arg(o, i);
	if (!o->has_reporter) {
		log_error("gridlink: runtime=embedded but no reporter=URL option: the relay has nowhere to send events; they stay in the spool");
		return -1;
	}
	/* gl_runtime_start copies name, entry and argv before returning */
	gl_runtime_opts_t ro = { daemon, o->entry[0] ? o->entry : GRIDLINK_DEFAULT_ENTRY, argc, argv,
				 log_error, log_info };
	return gl_runtime_load_and_start(&ro, plugin_symbol);
}
