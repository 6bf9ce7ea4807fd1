// gl_runtime.cc - the embedded Node.js runtime host (gridlink_runtime.so).
//
// One runtime per daemon, on a dedicated thread, with every safeguard the
// host process needs (see DESIGN.md, "Embedding Node in slurmctld"):
//  - all signals blocked on the runtime thread, and no Node signal handlers
//    (kNoDefaultSignalHandling): SIGTERM still reaches slurmctld, which saves
//    its state;
//  - no stdio initialisation, no NODE_OPTIONS; the only Node/V8 options are
//    ours (the plugin's key=value options come after the entry, as script
//    arguments, so they can never be read as Node options);
//  - the Environment does not own process state (no chdir/umask/setuid from JS);
//  - process.exit() and uncaught fatal errors call our exit handler, which
//    stops the Environment, never the daemon;
//  - fds 0-2 made valid before libuv starts (slurmstepd runs with fd 0 closed);
//  - V8 is never torn down: it cannot be initialised twice in one process.
// The relay runs as the main module: dist/relay/embedded.cjs, the relay
// bundled into one CommonJS file (a module graph costs ~8 MB more RSS), with
// the plugin's key=value options as process.argv[2..].
#include <node.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

extern "C" {
#include "gl_runtime.h"
}

namespace {

struct State {
  std::mutex mu;
  bool started = false;         // gl_runtime_start was called once
  node::Environment *env = nullptr;  // non-null while the loop may run
  pthread_t thread{};
  std::atomic<bool> finished{false};
  std::atomic<bool> stop_requested{false};
  std::string name, entry;
  std::vector<std::string> args;
  gl_runtime_log_fn log_error = nullptr;
  gl_runtime_log_fn log_info = nullptr;
};

State &S() {
  static State *s = new State();  // never destroyed: outlives daemon teardown order
  return *s;
}

void Log(gl_runtime_log_fn fn, const std::string &msg) {
  if (fn) fn(msg.c_str());
}

void EnsureStdFds() {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
      int n = open("/dev/null", O_RDWR);
      if (n >= 0 && n != fd) {
        dup2(n, fd);
        close(n);
      }
    }
  }
}

void *RuntimeMain(void *) {
  State &s = S();
  const std::string prefix = "gridlink runtime (" + s.name + "): ";
  std::vector<std::string> args = {"gridlink-" + s.name};
  // A 1 MB young generation and no V8 helper threads: the relay moves a few
  // events a second, and each saves daemon RSS (bench/relay.ts measures it).
  // (--lite-mode would save more but removes WebAssembly, which undici needs.)
  args.push_back("--max-semi-space-size=1");
  args.push_back("--single-threaded");
  args.push_back(s.entry);
  args.insert(args.end(), s.args.begin(), s.args.end());

  using namespace node::ProcessInitializationFlags;
  auto init = node::InitializeOncePerProcess(
      args, static_cast<Flags>(kNoDefaultSignalHandling | kNoStdioInitialization | kDisableNodeOptionsEnv |
                               kNoParseGlobalDebugVariables | kNoAdjustResourceLimits |
                               kNoUseLargePages | kNoPrintHelpOrVersionOutput));
  for (const std::string &e : init->errors()) Log(s.log_error, prefix + e);
  if (init->early_return() || !init->platform()) {
    Log(s.log_error, prefix + "Node.js failed to initialise; events stay in the spool (run `gridlink relay`)");
    s.finished = true;
    return nullptr;
  }

  std::vector<std::string> errors;
  std::unique_ptr<node::CommonEnvironmentSetup> setup = node::CommonEnvironmentSetup::Create(
      init->platform(), &errors, init->args(), init->exec_args(),
      static_cast<node::EnvironmentFlags::Flags>(node::EnvironmentFlags::kNoCreateInspector));
  for (const std::string &e : errors) Log(s.log_error, prefix + e);
  if (!setup) {
    Log(s.log_error, prefix + "cannot create the Node.js environment; events stay in the spool");
    s.finished = true;
    return nullptr;
  }

  v8::Isolate *isolate = setup->isolate();
  node::Environment *env = setup->env();
  int exit_code = 0;
  {
    v8::Locker locker(isolate);
    v8::Isolate::Scope isolate_scope(isolate);
    v8::HandleScope handle_scope(isolate);
    v8::Context::Scope context_scope(setup->context());

    // process.exit() and fatal exceptions land here: stop the runtime, keep
    // the daemon. Runs on the runtime thread.
    node::SetProcessExitHandler(env, [](node::Environment *e, int code) {
      Log(S().log_error, "gridlink runtime (" + S().name + "): JavaScript exited with code " +
                             std::to_string(code) + "; the runtime stops, the daemon keeps running and events stay in the spool");
      node::Stop(e);
    });
    {
      std::lock_guard<std::mutex> g(s.mu);
      s.env = env;
    }
    Log(s.log_info, prefix + "started " + s.entry);
    v8::MaybeLocal<v8::Value> loaded =
        node::LoadEnvironment(env, "require('module').runMain(process.argv[1]);");
    if (loaded.IsEmpty()) {
      Log(s.log_error, prefix + "loading " + s.entry + " failed");
      exit_code = 1;
    } else {
      exit_code = node::SpinEventLoop(env).FromMaybe(1);
    }
    {
      std::lock_guard<std::mutex> g(s.mu);
      s.env = nullptr;  // gl_runtime_stop must not touch it any more
    }
  }
  if (s.stop_requested)
    Log(s.log_info, prefix + "stopped");
  else
    Log(s.log_error, prefix + "stopped unexpectedly (exit code " + std::to_string(exit_code) +
                         "); the shim keeps appending, the next daemon start resumes from the spool");
  // The Environment and isolate are released; the V8 platform stays.
  setup.reset();
  s.finished = true;
  return nullptr;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int gl_runtime_start(const gl_runtime_opts_t *opts) {
  State &s = S();
  {
    std::lock_guard<std::mutex> g(s.mu);
    if (s.started) {
      Log(opts->log_error, "gridlink runtime: already started once in this process (V8 cannot restart); restart the daemon to restart it");
      return -1;
    }
    s.started = true;
  }
  s.name = opts->name ? opts->name : "daemon";
  s.entry = opts->entry ? opts->entry : "";
  s.log_error = opts->log_error;
  s.log_info = opts->log_info;
  for (int i = 0; i < opts->argc; i++) s.args.emplace_back(opts->argv[i]);
  if (access(s.entry.c_str(), R_OK) != 0) {
    Log(s.log_error, "gridlink runtime: entry " + s.entry +
                         " is not readable; build it (npm run build:ts) or set entry=; events stay in the spool");
    return -1;
  }
  EnsureStdFds();

  // The runtime thread inherits a mask with every signal blocked: the
  // daemon's own threads keep receiving SIGTERM, SIGHUP, SIGCHLD...
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 8u << 20);
  int rc = pthread_create(&s.thread, &attr, RuntimeMain, nullptr);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (rc) {
    Log(s.log_error, "gridlink runtime: cannot create its thread; events stay in the spool");
    return -1;
  }
  return 0;
}

extern "C" __attribute__((visibility("default"))) void gl_runtime_stop(int timeout_ms) {
  State &s = S();
  {
    std::lock_guard<std::mutex> g(s.mu);
    if (!s.started) return;
    s.stop_requested = true;
    if (s.env) node::Stop(s.env);  // thread-safe: terminates JS, stops the loop
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += timeout_ms / 1000;
  ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  if (!s.finished && pthread_timedjoin_np(s.thread, nullptr, &ts) != 0)
    Log(s.log_error, "gridlink runtime: did not stop within the timeout; the daemon exits without waiting for it");
}
