// gl_slurm.cc - libslurm for TypeScript (src/slurm/local.ts): submit a batch
// job as a given uid/gid, cancel, set a time limit, load every job, load a
// partition with its nodes. Its own Node-API module, gridlink_slurm.so
// (binding.gyp), beside gridlink.node: only this file links libslurm, so the
// spool and munge addon loads on hosts without libslurm or with another
// SLURM release (src/native/slurm-addon.ts loads this one on first use).
// Every difference between SLURM releases (22.05 to 26.05) is in
// native/gl_slurm_compat.h; nothing here tests SLURM_VERSION_NUMBER. Each call is a Promise whose libslurm work runs
// on the libuv thread pool under one mutex (libslurm keeps global state and
// is not documented as thread-safe); results are copied out of SLURM's
// messages there and every message is freed before the mutex is released,
// so JavaScript values are built from plain C++ data. slurm_init(NULL) runs
// once, at the first call, so SLURM_CONF as the process has it then is the
// cluster for the life of the process. Errors reject with an Error carrying
// `slurmErrno` (SLURM's errno) and SLURM's text; src/slurm/local.ts
// classifies them.
#include <napi.h>

#include <dlfcn.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "gl_slurm_compat.h"

namespace gridlink {
namespace {

std::mutex g_slurm_mutex;
bool g_slurm_ready = false;

std::string S(const char *p) { return p ? std::string(p) : std::string(); }

// Node dlopens the addon RTLD_LOCAL, so libslurm (our dependency) is not in
// the global namespace, and the plugins libslurm itself dlopens (auth_munge.so,
// hash_k12.so) fail on symbols like slurm_conf - fatally for lazily bound ones.
// Re-open the already loaded libslurm RTLD_GLOBAL before the first call.
bool PromoteLibslurm(std::string &why) {
  Dl_info info;
  if (!dladdr(reinterpret_cast<void *>(&slurm_init), &info) || !info.dli_fname) {
    why = "cannot locate the loaded libslurm (dladdr failed)";
    return false;
  }
  if (!dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD)) {
    const char *e = dlerror();
    why = std::string("cannot make libslurm's symbols global for its plugins: ") + (e ? e : info.dli_fname);
    return false;
  }
  return true;
}

// slurm_init() calls fatal() (exits the process) on a missing or unreadable
// configuration: check the file first so that becomes an error instead.
bool EnsureInit(std::string &why) {
  if (g_slurm_ready) return true;
  if (!PromoteLibslurm(why)) return false;
  const char *conf = getenv("SLURM_CONF");
  std::string path = conf && *conf ? conf : "/etc/slurm/slurm.conf";
  if (access(path.c_str(), R_OK) != 0) {
    why = "slurm.conf not readable at " + path + ": " + strerror(errno) +
          " (set SLURM_CONF, or slurmConf in the local backend's options, to the cluster's slurm.conf)";
    return false;
  }
  slurm_init(nullptr);
  g_slurm_ready = true;
  return true;
}

// The base of every call: Run() executes on a pool thread with the mutex
// held and returns false after calling Fail(); Result() builds the value.
class SlurmCall : public Napi::AsyncWorker {
 public:
  explicit SlurmCall(Napi::Env env, const char *what)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), what_(what) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  virtual bool Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;

  // Records SLURM's errno and text for the current failure.
  void Fail() {
    errno_ = gl_slurm_errno();
    text_ = S(slurm_strerror(errno_));
    failed_ = true;
  }
  void FailWith(const std::string &code, const std::string &text) {
    code_ = code;
    text_ = text;
    failed_ = true;
  }

 private:
  void Execute() override {
    std::lock_guard<std::mutex> lock(g_slurm_mutex);
    std::string why;
    if (!EnsureInit(why)) {
      FailWith("ESLURMCONF", why);
      return;
    }
    Run();
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (!failed_) {
      deferred_.Resolve(Result(env));
      return;
    }
    Napi::Error e = Napi::Error::New(env, std::string(what_) + ": " + text_);
    if (code_.empty()) {
      e.Set("slurmErrno", Napi::Number::New(env, errno_));
      e.Set("code", "ESLURM");
    } else {
      e.Set("code", code_);
    }
    e.Set("slurmText", text_);
    deferred_.Reject(e.Value());
  }

  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

  Napi::Promise::Deferred deferred_;
  const char *what_;
  bool failed_ = false;
  int errno_ = 0;
  std::string code_, text_;
};

// ---- submit ---------------------------------------------------------------

struct SubmitArgs {
  std::string script, name, user, work_dir, std_out, std_err, partition, comment, tres_per_job;
  std::vector<std::string> env;
  uint32_t uid = 0, gid = 0, num_tasks = 1, time_limit = 1;
  uint16_t cpus_per_task = 1;
  uint64_t mem_per_cpu = 0;
};

class SubmitCall : public SlurmCall {
 public:
  SubmitCall(Napi::Env env, SubmitArgs a) : SlurmCall(env, "submit"), a_(std::move(a)) {}

 protected:
  bool Run() override {
    // Through the C API an unknown uid is accepted and then pends forever:
    // the name must resolve to exactly this uid, and the gid must exist.
    struct passwd pw, *pwr = nullptr;
    std::vector<char> buf(16384);
    if (getpwnam_r(a_.user.c_str(), &pw, buf.data(), buf.size(), &pwr) != 0 || !pwr) {
      FailWith("EUSER", "user " + a_.user + " does not resolve on this host (NSS): create it or fix NSS before submitting");
      return false;
    }
    if (pw.pw_uid != a_.uid) {
      FailWith("EUSER", "user " + a_.user + " has uid " + std::to_string(pw.pw_uid) + " here, not " + std::to_string(a_.uid));
      return false;
    }
    struct group gr, *grr = nullptr;
    if (getgrgid_r(a_.gid, &gr, buf.data(), buf.size(), &grr) != 0 || !grr) {
      FailWith("EUSER", "gid " + std::to_string(a_.gid) + " does not resolve on this host (NSS)");
      return false;
    }

    job_desc_msg_t d;
    slurm_init_job_desc_msg(&d);
    std::vector<char *> envp;
    for (auto &kv : a_.env) envp.push_back(const_cast<char *>(kv.c_str()));
    envp.push_back(nullptr);
    d.script = const_cast<char *>(a_.script.c_str());
    d.name = const_cast<char *>(a_.name.c_str());
    d.user_id = a_.uid;
    d.group_id = a_.gid;
    d.environment = envp.data();
    d.env_size = (uint32_t)a_.env.size();
    d.work_dir = const_cast<char *>(a_.work_dir.c_str());
    d.std_out = const_cast<char *>(a_.std_out.c_str());
    d.std_err = const_cast<char *>(a_.std_err.c_str());
    d.std_in = const_cast<char *>("/dev/null");
    d.partition = const_cast<char *>(a_.partition.c_str());
    d.num_tasks = a_.num_tasks;
    d.cpus_per_task = a_.cpus_per_task;
    // What sbatch sets from -n/-c (slurm_opt_create_job_desc): without
    // min_cpus slurmctld may allocate fewer CPUs (and nodes) than tasks x
    // CPUs per task, e.g. 2 tasks on one 1-CPU node. Clamped below NO_VAL;
    // such a job is refused by slurmctld as larger than the cluster.
    uint64_t total_cpus = (uint64_t)a_.num_tasks * a_.cpus_per_task;
    d.min_cpus = total_cpus >= NO_VAL ? NO_VAL - 1 : (uint32_t)total_cpus;
    d.pn_min_cpus = (uint16_t)a_.cpus_per_task;
    d.pn_min_memory = a_.mem_per_cpu | MEM_PER_CPU;
    d.tres_per_job = a_.tres_per_job.empty() ? nullptr : const_cast<char *>(a_.tres_per_job.c_str());
    d.time_limit = a_.time_limit;
    d.comment = a_.comment.empty() ? nullptr : const_cast<char *>(a_.comment.c_str());
    d.requeue = 0;  // a grid job must never run twice

    // slurmctld (EnforcePartLimits=NO, the default) accepts a job no node can
    // ever run and leaves it pending for good; the will-run test refuses it
    // with SLURM's reason ("Requested node configuration is not available"),
    // as `sbatch --test-only` does for the ssh backend.
    will_run_response_msg_t *will = nullptr;
    if (slurm_job_will_run2(&d, &will) != SLURM_SUCCESS) {
      Fail();
      if (will) slurm_free_will_run_response_msg(will);
      return false;
    }
    if (will) slurm_free_will_run_response_msg(will);

    submit_response_msg_t *resp = nullptr;
    if (slurm_submit_batch_job(&d, &resp) != SLURM_SUCCESS) {
      Fail();
      if (resp) slurm_free_submit_response_response_msg(resp);
      return false;
    }
    job_id_ = gl_submit_job_id(resp);
    slurm_free_submit_response_response_msg(resp);
    return true;
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, job_id_); }

 private:
  SubmitArgs a_;
  uint32_t job_id_ = 0;
};

// ---- cancel / time limit --------------------------------------------------

class CancelCall : public SlurmCall {
 public:
  CancelCall(Napi::Env env, uint32_t id) : SlurmCall(env, "cancel"), id_(id) {}

 protected:
  bool Run() override {
    if (gl_slurm_kill_job(id_, SIGKILL, 0) == SLURM_SUCCESS) return true;
    int e = gl_slurm_errno();
    // Already finished, or never existed: the job is not running, as asked.
    if (e == ESLURM_ALREADY_DONE || e == ESLURM_INVALID_JOB_ID) return true;
    Fail();
    return false;
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  uint32_t id_;
};

class TimeLimitCall : public SlurmCall {
 public:
  TimeLimitCall(Napi::Env env, uint32_t id, uint32_t minutes) : SlurmCall(env, "set time limit"), id_(id), minutes_(minutes) {}

 protected:
  bool Run() override {
    job_desc_msg_t d;
    slurm_init_job_desc_msg(&d);
    gl_job_desc_set_job_id(&d, id_);
    d.time_limit = minutes_;
    if (slurm_update_job(&d) == SLURM_SUCCESS) return true;
    Fail();
    return false;
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  uint32_t id_, minutes_;
};

// ---- jobs -----------------------------------------------------------------

struct JobRec {
  uint32_t job_id, job_state, exit_code, time_limit, user_id, group_id, num_nodes, num_tasks, array_job_id;
  uint16_t cpus_per_task, shared, requeue, restart_cnt, state_reason;
  uint64_t pn_min_memory;
  int64_t submit_time, start_time, end_time, begin_time;
  std::string name, comment, partition, nodes, work_dir, account, qos, resv_name, dependency, reason, state_desc,
      tres_per_job, tres_per_node, tres_per_task, tres_req_str, tres_alloc_str;
};

class JobsCall : public SlurmCall {
 public:
  explicit JobsCall(Napi::Env env) : SlurmCall(env, "load jobs") {}

 protected:
  bool Run() override {
    job_info_msg_t *msg = nullptr;
    if (slurm_load_jobs((time_t)0, &msg, SHOW_ALL | SHOW_DETAIL) != SLURM_SUCCESS) {
      Fail();
      if (msg) slurm_free_job_info_msg(msg);
      return false;
    }
    jobs_.reserve(msg->record_count);
    for (uint32_t i = 0; i < msg->record_count; i++) {
      const slurm_job_info_t &j = msg->job_array[i];
      JobRec r;
      r.job_id = gl_job_info_id(&j);
      r.job_state = j.job_state;
      r.exit_code = j.exit_code;
      r.time_limit = j.time_limit;
      r.user_id = j.user_id;
      r.group_id = j.group_id;
      r.num_nodes = j.num_nodes;
      r.num_tasks = j.num_tasks;
      r.array_job_id = j.array_job_id;
      r.cpus_per_task = j.cpus_per_task;
      r.shared = j.shared;
      r.requeue = j.requeue;
      r.restart_cnt = j.restart_cnt;
      r.state_reason = j.state_reason;
      r.pn_min_memory = j.pn_min_memory;
      r.submit_time = (int64_t)j.submit_time;
      r.start_time = (int64_t)j.start_time;
      r.end_time = (int64_t)j.end_time;
      r.begin_time = (int64_t)j.eligible_time;
      r.name = S(j.name);
      r.comment = S(j.comment);
      r.partition = S(j.partition);
      r.nodes = S(j.nodes);
      r.work_dir = S(j.work_dir);
      r.account = S(j.account);
      r.qos = S(j.qos);
      r.resv_name = S(j.resv_name);
      r.dependency = S(j.dependency);
      r.reason = S(gl_job_reason_string(j.state_reason));
      r.state_desc = S(j.state_desc);
      r.tres_per_job = S(j.tres_per_job);
      r.tres_per_node = S(j.tres_per_node);
      r.tres_per_task = S(j.tres_per_task);
      r.tres_req_str = S(j.tres_req_str);
      r.tres_alloc_str = S(j.tres_alloc_str);
      jobs_.push_back(std::move(r));
    }
    slurm_free_job_info_msg(msg);
    return true;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, jobs_.size());
    uint32_t i = 0;
    for (const JobRec &r : jobs_) {
      Napi::Object o = Napi::Object::New(env);
      auto n = [&](const char *k, double v) { o.Set(k, Napi::Number::New(env, v)); };
      auto s = [&](const char *k, const std::string &v) { o.Set(k, Napi::String::New(env, v.data(), v.size())); };
      n("jobId", r.job_id);
      n("jobState", r.job_state);
      n("exitCode", r.exit_code);
      n("timeLimit", r.time_limit);
      n("userId", r.user_id);
      n("groupId", r.group_id);
      n("numNodes", r.num_nodes);
      n("numTasks", r.num_tasks);
      n("arrayJobId", r.array_job_id);
      n("cpusPerTask", r.cpus_per_task);
      n("shared", r.shared);
      n("requeue", r.requeue);
      n("restartCnt", r.restart_cnt);
      n("stateReasonCode", r.state_reason);
      // 64-bit with the MEM_PER_CPU flag in the top bit: split so no precision is lost.
      n("memPerCpu", (r.pn_min_memory & MEM_PER_CPU) ? 1 : 0);
      n("minMemory", (double)(r.pn_min_memory & ~MEM_PER_CPU));
      n("submitTime", (double)r.submit_time);
      n("startTime", (double)r.start_time);
      n("endTime", (double)r.end_time);
      n("beginTime", (double)r.begin_time);
      s("name", r.name);
      s("comment", r.comment);
      s("partition", r.partition);
      s("nodes", r.nodes);
      s("workDir", r.work_dir);
      s("account", r.account);
      s("qos", r.qos);
      s("reservation", r.resv_name);
      s("dependency", r.dependency);
      s("stateReason", r.reason);
      s("stateDesc", r.state_desc);
      s("tresPerJob", r.tres_per_job);
      s("tresPerNode", r.tres_per_node);
      s("tresPerTask", r.tres_per_task);
      s("tresReqStr", r.tres_req_str);
      s("tresAllocStr", r.tres_alloc_str);
      out.Set(i++, o);
    }
    return out;
  }

 private:
  std::vector<JobRec> jobs_;
};

// ---- partition and its nodes ----------------------------------------------

struct NodeRec {
  std::string name, gres, state;
  uint32_t cpus = 0;
  uint64_t real_memory = 0;
  bool found = false;
};

class PartitionCall : public SlurmCall {
 public:
  PartitionCall(Napi::Env env, std::string name) : SlurmCall(env, "load partition"), name_(std::move(name)) {}

 protected:
  bool Run() override {
    partition_info_msg_t *parts = nullptr;
    if (slurm_load_partitions((time_t)0, &parts, SHOW_ALL) != SLURM_SUCCESS) {
      Fail();
      if (parts) slurm_free_partition_info_msg(parts);
      return false;
    }
    std::string node_expr;
    for (uint32_t i = 0; i < parts->record_count; i++) {
      const partition_info_t &p = parts->partition_array[i];
      if (!p.name || name_ != p.name) continue;
      found_ = true;
      state_up_ = p.state_up;
      node_expr = S(p.nodes);
      break;
    }
    slurm_free_partition_info_msg(parts);
    if (!found_) return true;

    if (!node_expr.empty()) {
      gl_hostlist_t hl = slurm_hostlist_create(node_expr.c_str());
      if (hl) {
        char *h;
        while ((h = slurm_hostlist_shift(hl))) {
          NodeRec r;
          r.name = h;
          free(h);
          nodes_.push_back(std::move(r));
        }
        slurm_hostlist_destroy(hl);
      }
    }
    node_info_msg_t *ni = nullptr;
    if (slurm_load_node((time_t)0, &ni, SHOW_ALL) != SLURM_SUCCESS) {
      Fail();
      if (ni) slurm_free_node_info_msg(ni);
      return false;
    }
    for (NodeRec &r : nodes_) {
      for (uint32_t i = 0; i < ni->record_count; i++) {
        const node_info_t &n = ni->node_array[i];
        if (!n.name || r.name != n.name) continue;
        r.found = true;
        r.cpus = n.cpus;
        r.real_memory = n.real_memory;
        r.gres = S(n.gres);
        r.state = S(slurm_node_state_string(n.node_state));
        break;
      }
    }
    slurm_free_node_info_msg(ni);
    return true;
  }

  Napi::Value Result(Napi::Env env) override {
    if (!found_) return env.Null();
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", name_);
    const char *st = state_up_ == PARTITION_UP ? "UP"
                     : state_up_ == PARTITION_DOWN ? "DOWN"
                     : state_up_ == PARTITION_DRAIN ? "DRAIN"
                     : state_up_ == PARTITION_INACTIVE ? "INACTIVE"
                                                        : "UNKNOWN";
    o.Set("state", st);
    Napi::Array arr = Napi::Array::New(env, nodes_.size());
    uint32_t i = 0;
    for (const NodeRec &r : nodes_) {
      Napi::Object n = Napi::Object::New(env);
      n.Set("name", Napi::String::New(env, r.name.data(), r.name.size()));
      n.Set("known", Napi::Boolean::New(env, r.found));
      n.Set("cpus", Napi::Number::New(env, r.cpus));
      n.Set("realMemoryMB", Napi::Number::New(env, (double)r.real_memory));
      n.Set("gres", Napi::String::New(env, r.gres.data(), r.gres.size()));
      n.Set("state", r.state.empty() ? std::string("UNKNOWN") : r.state);
      arr.Set(i++, n);
    }
    o.Set("nodes", arr);
    return o;
  }

 private:
  std::string name_;
  bool found_ = false;
  uint16_t state_up_ = 0;
  std::vector<NodeRec> nodes_;
};

// ---- argument helpers -----------------------------------------------------

Napi::Value Reject(Napi::Env env, const std::string &msg) {
  auto d = Napi::Promise::Deferred::New(env);
  Napi::Error e = Napi::TypeError::New(env, msg);
  e.Set("code", "EINVAL");
  d.Reject(e.Value());
  return d.Promise();
}

// A string without NUL bytes (SLURM's strings are C strings), or "" when absent.
bool Str(const Napi::Object &o, const char *key, std::string &out, std::string &err, bool required) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) err = std::string(key) + " is required";
    out.clear();
    return !required;
  }
  if (!v.IsString()) {
    err = std::string(key) + " must be a string";
    return false;
  }
  out = v.As<Napi::String>().Utf8Value();
  if (out.find('\0') != std::string::npos) {
    err = std::string(key) + " contains a NUL byte";
    return false;
  }
  return true;
}

bool Uint(const Napi::Object &o, const char *key, double max, double &out, std::string &err) {
  Napi::Value v = o.Get(key);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0 && d <= max && d == (double)(uint64_t)d)) {
    err = std::string(key) + " must be an integer in 0.." + std::to_string((uint64_t)max);
    return false;
  }
  out = d;
  return true;
}

// slurmSubmit({ script, name, user, uid, gid, workDir, stdout, stderr, environment: string[] ("K=V"),
//   partition, ntasks, cpusPerTask, memPerCpuMB, tresPerJob, timeLimitMinutes, comment }) -> Promise<jobId>
Napi::Value Submit(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) return Reject(env, "slurmSubmit(request): request must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  SubmitArgs a;
  std::string err;
  double uid, gid, ntasks, cpt, mem, tl;
  bool ok = Str(o, "script", a.script, err, true) && Str(o, "name", a.name, err, true) && Str(o, "user", a.user, err, true) &&
            Str(o, "workDir", a.work_dir, err, true) && Str(o, "stdout", a.std_out, err, true) &&
            Str(o, "stderr", a.std_err, err, true) && Str(o, "partition", a.partition, err, true) &&
            Str(o, "comment", a.comment, err, false) && Str(o, "tresPerJob", a.tres_per_job, err, false) &&
            Uint(o, "uid", 4294967294.0, uid, err) && Uint(o, "gid", 4294967294.0, gid, err) &&
            Uint(o, "ntasks", 4294967294.0, ntasks, err) && Uint(o, "cpusPerTask", 65534, cpt, err) &&
            Uint(o, "memPerCpuMB", 9007199254740991.0, mem, err) && Uint(o, "timeLimitMinutes", 4294967294.0, tl, err);
  if (ok) {
    Napi::Value e = o.Get("environment");
    if (!e.IsArray()) {
      err = "environment must be an array of K=V strings";
      ok = false;
    } else {
      Napi::Array arr = e.As<Napi::Array>();
      for (uint32_t i = 0; ok && i < arr.Length(); i++) {
        Napi::Value kv = arr.Get(i);
        std::string s = kv.IsString() ? kv.As<Napi::String>().Utf8Value() : std::string();
        if (s.empty() || s.find('=') == 0 || s.find('=') == std::string::npos || s.find('\0') != std::string::npos) {
          err = "environment[" + std::to_string(i) + "] must be a K=V string without NUL";
          ok = false;
        }
        a.env.push_back(std::move(s));
      }
    }
  }
  if (!ok) return Reject(env, "slurmSubmit: " + err);
  a.uid = (uint32_t)uid;
  a.gid = (uint32_t)gid;
  a.num_tasks = (uint32_t)ntasks;
  a.cpus_per_task = (uint16_t)cpt;
  a.mem_per_cpu = (uint64_t)mem;
  a.time_limit = (uint32_t)tl;
  auto *w = new SubmitCall(env, std::move(a));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

bool JobId(const Napi::CallbackInfo &info, size_t i, uint32_t &out) {
  if (!info[i].IsNumber()) return false;
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967294.0 && d == (double)(uint32_t)d)) return false;
  out = (uint32_t)d;
  return true;
}

// slurmCancel(jobId) -> Promise<void>; finished or unknown jobs resolve.
Napi::Value Cancel(const Napi::CallbackInfo &info) {
  uint32_t id;
  if (!JobId(info, 0, id)) return Reject(info.Env(), "slurmCancel(jobId): jobId must be a job id");
  auto *w = new CancelCall(info.Env(), id);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// slurmSetTimeLimit(jobId, minutes) -> Promise<void>
Napi::Value SetTimeLimit(const Napi::CallbackInfo &info) {
  uint32_t id, minutes;
  if (!JobId(info, 0, id) || !JobId(info, 1, minutes))
    return Reject(info.Env(), "slurmSetTimeLimit(jobId, minutes): both must be integers >= 0");
  auto *w = new TimeLimitCall(info.Env(), id, minutes);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// slurmLoadJobs() -> Promise<AddonSlurmJob[]>
Napi::Value LoadJobs(const Napi::CallbackInfo &info) {
  auto *w = new JobsCall(info.Env());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// slurmLoadPartition(name) -> Promise<{ name, state, nodes[] } | null>
Napi::Value LoadPartition(const Napi::CallbackInfo &info) {
  if (!info[0].IsString()) return Reject(info.Env(), "slurmLoadPartition(name): name must be a string");
  auto *w = new PartitionCall(info.Env(), info[0].As<Napi::String>().Utf8Value());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("slurmSubmit", Napi::Function::New(env, Submit));
  exports.Set("slurmCancel", Napi::Function::New(env, Cancel));
  exports.Set("slurmSetTimeLimit", Napi::Function::New(env, SetTimeLimit));
  exports.Set("slurmLoadJobs", Napi::Function::New(env, LoadJobs));
  exports.Set("slurmLoadPartition", Napi::Function::New(env, LoadPartition));
  // The release these calls were compiled for, "22.05.8" (slurm_version.h).
  char v[32];
  snprintf(v, sizeof(v), "%d.%02d.%d", (int)SLURM_VERSION_MAJOR(SLURM_VERSION_NUMBER),
           (int)SLURM_VERSION_MINOR(SLURM_VERSION_NUMBER), (int)SLURM_VERSION_MICRO(SLURM_VERSION_NUMBER));
  exports.Set("slurmVersion", v);
  return exports;
}

}  // namespace
}  // namespace gridlink

static Napi::Object InitSlurmModule(Napi::Env env, Napi::Object exports) { return gridlink::Init(env, exports); }

NODE_API_MODULE(gridlink_slurm, InitSlurmModule)
