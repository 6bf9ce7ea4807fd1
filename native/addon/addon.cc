// addon.cc - the Node face of the native core: read, ack and (for tests,
// benchmarks and the relay) append spool records; munge (gl_munge.cc) is
// registered from here. Nothing here depends on SLURM: the libslurm calls are
// a module of their own (gl_slurm.cc, gridlink_slurm.so). Records are decoded by
// gl_event_decode, the one decoder of the format; strings come out as
// Buffers because job names and comments may hold any bytes.
#include <napi.h>

#include <cstring>
#include <string>
#include <vector>

#include "gl_munge.h"

extern "C" {
#include "gl_event.h"
#include "gl_spool.h"
#include "gl_wire_json.h"
}

namespace {

Napi::Value Str(Napi::Env env, const gl_str_t &s) {
  return Napi::Buffer<char>::Copy(env, s.ptr ? s.ptr : "", s.len);
}

std::string Hex(const uint8_t *p, size_t n) {
  static const char *d = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; i++) {
    out.push_back(d[p[i] >> 4]);
    out.push_back(d[p[i] & 15]);
  }
  return out;
}

Napi::Object Pos(Napi::Env env, const gl_pos_t &p) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("segment", Napi::Number::New(env, (double)p.segment));
  o.Set("offset", Napi::Number::New(env, (double)p.offset));
  o.Set("total", Napi::Number::New(env, (double)p.total));
  return o;
}

gl_pos_t PosFrom(const Napi::Value &v) {
  Napi::Object o = v.As<Napi::Object>();
  gl_pos_t p;
  p.segment = (uint64_t)o.Get("segment").As<Napi::Number>().Int64Value();
  p.offset = (uint64_t)o.Get("offset").As<Napi::Number>().Int64Value();
  p.total = (uint64_t)o.Get("total").As<Napi::Number>().Int64Value();
  return p;
}

Napi::Object EventToJs(Napi::Env env, const gl_event_t &ev) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("version", ev.version);
  o.Set("kind", ev.kind);
  o.Set("seq", Napi::BigInt::New(env, ev.seq));
  o.Set("spoolId", Hex(ev.spool_id, GL_SPOOL_ID_LEN));
  o.Set("jobId", ev.job_id);
  o.Set("userId", ev.user_id);
  o.Set("jobState", ev.job_state);
  o.Set("exitCode", ev.exit_code);
  o.Set("signal", ev.signal);
  o.Set("submitTime", Napi::Number::New(env, (double)ev.submit_time));
  o.Set("startTime", Napi::Number::New(env, (double)ev.start_time));
  o.Set("endTime", Napi::Number::New(env, (double)ev.end_time));
  o.Set("writeTimeNs", Napi::BigInt::New(env, ev.write_time_ns));
  Napi::Object tres = Napi::Object::New(env);
  tres.Set("cpu", Napi::Number::New(env, (double)ev.tres_cpu));
  tres.Set("memMb", Napi::Number::New(env, (double)ev.tres_mem_mb));
  tres.Set("gpu", Napi::Number::New(env, (double)ev.tres_gpu));
  tres.Set("node", Napi::Number::New(env, (double)ev.tres_node));
  tres.Set("billing", Napi::Number::New(env, (double)ev.tres_billing));
  o.Set("tres", tres);
  o.Set("cluster", Str(env, ev.cluster));
  o.Set("node", Str(env, ev.node));
  o.Set("stateName", Str(env, ev.state_name));
  o.Set("jobName", Str(env, ev.job_name));
  o.Set("comment", Str(env, ev.comment));
  return o;
}

class SpoolReader : public Napi::ObjectWrap<SpoolReader> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "SpoolReader",
                       {InstanceMethod("read", &SpoolReader::Read),
                        InstanceMethod("readWire", &SpoolReader::ReadWire),
                        InstanceMethod("ack", &SpoolReader::Ack),
                        InstanceMethod("rewind", &SpoolReader::Rewind),
                        InstanceMethod("sync", &SpoolReader::Sync),
                        InstanceMethod("syncAndAck", &SpoolReader::SyncAndAck),
                        InstanceMethod("stat", &SpoolReader::Stat),
                        InstanceMethod("close", &SpoolReader::Close)});
  }

  SpoolReader(const Napi::CallbackInfo &info) : Napi::ObjectWrap<SpoolReader>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsString()) {
      Napi::TypeError::New(env, "SpoolReader(dir): dir must be a string").ThrowAsJavaScriptException();
      return;
    }
    char err[GL_ERRLEN] = "";
    r_ = gl_reader_open(info[0].As<Napi::String>().Utf8Value().c_str(), err, sizeof(err));
    if (!r_) Napi::Error::New(env, err).ThrowAsJavaScriptException();
  }
  ~SpoolReader() override { gl_reader_close(r_); }

 private:
  bool Open(Napi::Env env) {
    if (r_ && !closing_) return true;
    Napi::Error::New(env, "spool reader is closed").ThrowAsJavaScriptException();
    return false;
  }

  // read(max) -> [{ event, pos, next }] ; undecodable payloads come back as
  // { error, pos, next, payload } so the caller can quarantine them.
  Napi::Value Read(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    uint32_t max = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 1000;
    Napi::Array out = Napi::Array::New(env);
    char err[GL_ERRLEN];
    for (uint32_t i = 0; i < max; i++) {
      gl_record_t rec;
      int rc = gl_reader_next(r_, &rec, err, sizeof(err));
      if (rc < 0) {
        Napi::Error::New(env, err).ThrowAsJavaScriptException();
        return env.Undefined();
      }
      if (rc == 0) break;
      Napi::Object item = Napi::Object::New(env);
      gl_event_t ev;
      const char *why = nullptr;
      if (gl_event_decode(rec.payload, rec.payload_len, &ev, &why) == 0) {
        item.Set("event", EventToJs(env, ev));
      } else {
        item.Set("error", why);
        item.Set("payload", Napi::Buffer<uint8_t>::Copy(env, rec.payload, rec.payload_len));
      }
      item.Set("pos", Pos(env, rec.pos));
      item.Set("next", Pos(env, rec.next));
      out.Set(i, item);
    }
    return out;
  }

  // readWire(max) -> { json, meta, seqs, undecodable }: up to max records as
  // the relay sends them, without a JavaScript object per record. json: the
  // decodable records' wire JSON (gl_wire_json.h), comma-separated; meta: 8
  // numbers per record (pos segment, offset, total; next segment, offset,
  // total; the record's JSON start and end in json, -1 -1 when undecodable);
  // seqs: each record's seq (0 when undecodable); undecodable: [{ index,
  // error, payload }].
  Napi::Value ReadWire(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    uint32_t max = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 1000;
    std::vector<char> json;
    std::vector<double> meta;
    std::vector<uint64_t> seqs;
    Napi::Array undecodable = Napi::Array::New(env);
    char err[GL_ERRLEN];
    uint32_t n = 0;
    for (; n < max; n++) {
      gl_record_t rec;
      int rc = gl_reader_next(r_, &rec, err, sizeof(err));
      if (rc < 0) {
        Napi::Error::New(env, err).ThrowAsJavaScriptException();
        return env.Undefined();
      }
      if (rc == 0) break;
      const gl_pos_t *ps[2] = {&rec.pos, &rec.next};
      for (const gl_pos_t *p : ps) {
        meta.push_back((double)p->segment);
        meta.push_back((double)p->offset);
        meta.push_back((double)p->total);
      }
      gl_event_t ev;
      const char *why = nullptr;
      if (gl_event_decode(rec.payload, rec.payload_len, &ev, &why) == 0) {
        if (!json.empty()) json.push_back(',');
        size_t start = json.size();
        json.resize(start + gl_wire_json_max(&ev));
        size_t len = gl_wire_json(&ev, json.data() + start);
        json.resize(start + len);
        meta.push_back((double)start);
        meta.push_back((double)(start + len));
        seqs.push_back(ev.seq);
      } else {
        meta.push_back(-1);
        meta.push_back(-1);
        seqs.push_back(0);
        Napi::Object u = Napi::Object::New(env);
        u.Set("index", n);
        u.Set("error", why);
        u.Set("payload", Napi::Buffer<uint8_t>::Copy(env, rec.payload, rec.payload_len));
        undecodable.Set(undecodable.Length(), u);
      }
    }
    Napi::Float64Array m = Napi::Float64Array::New(env, meta.size());
    if (!meta.empty()) memcpy(m.Data(), meta.data(), meta.size() * sizeof(double));
    Napi::BigUint64Array q = Napi::BigUint64Array::New(env, seqs.size());
    if (!seqs.empty()) memcpy(q.Data(), seqs.data(), seqs.size() * sizeof(uint64_t));
    Napi::Object out = Napi::Object::New(env);
    out.Set("count", n);
    out.Set("json", Napi::Buffer<char>::Copy(env, json.data(), json.size()));
    out.Set("meta", m);
    out.Set("seqs", q);
    out.Set("undecodable", undecodable);
    return out;
  }

  Napi::Value Ack(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    if (!info[0].IsObject() || !info[1].IsBigInt()) {
      Napi::TypeError::New(env, "ack(next, lastSeq: bigint)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    bool lossless;
    uint64_t seq = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
    char err[GL_ERRLEN];
    if (gl_reader_ack(r_, PosFrom(info[0]), seq, err, sizeof(err)))
      Napi::Error::New(env, err).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Napi::Value Rewind(const Napi::CallbackInfo &info) {
    if (Open(info.Env())) gl_reader_rewind(r_);
    return info.Env().Undefined();
  }

  Napi::Value Sync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (Open(env) && gl_reader_sync(r_))
      Napi::Error::New(env, "fdatasync of spool segments failed").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  // syncAndAck(next, lastSeq) -> Promise<void>: sync(), then ack(next,
  // lastSeq), on the libuv thread pool: the segments' fdatasync, the spool
  // meta page's msync and the deletion of acked segments never block the
  // event loop, which reads on meanwhile (the cursor is not touched). The
  // caller runs them one at a time; close() waits for the one on its way.
  Napi::Value SyncAndAck(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    if (!info[0].IsObject() || !info[1].IsBigInt()) {
      Napi::TypeError::New(env, "syncAndAck(next, lastSeq: bigint)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    bool lossless;
    uint64_t seq = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
    uint64_t from, to;
    gl_reader_sync_span(r_, &from, &to);
    auto *w = new AckWorker(info.This().As<Napi::Object>(), this, from, to, PosFrom(info[0]), seq);
    Napi::Promise p = w->Promise();
    pending_++;
    w->Queue();
    return p;
  }

  class AckWorker : public Napi::AsyncWorker {
   public:
    AckWorker(Napi::Object self, SpoolReader *reader, uint64_t from, uint64_t to, gl_pos_t next, uint64_t seq)
        : Napi::AsyncWorker(self.Env()), deferred_(Napi::Promise::Deferred::New(self.Env())),
          self_(Napi::Persistent(self)), reader_(reader), from_(from), to_(to), next_(next), seq_(seq) {}
    Napi::Promise Promise() { return deferred_.Promise(); }
    void Execute() override {
      gl_reader_t *r = reader_->r_;
      if (gl_spool_sync_segments(gl_reader_dir(r), from_, to_)) {
        synced_ = false;
        err_ = std::string("fdatasync of the segments of spool ") + gl_reader_dir(r) + " failed (see the kernel log; nothing was acked)";
        return;
      }
      char err[GL_ERRLEN];
      if (gl_reader_ack(r, next_, seq_, err, sizeof(err))) err_ = err;
    }
    void OnOK() override {
      Napi::Env env = Env();
      if (synced_) gl_reader_synced(reader_->r_, to_);
      reader_->Settled();
      if (err_.empty()) deferred_.Resolve(env.Undefined());
      else deferred_.Reject(Napi::Error::New(env, err_).Value());
    }

   private:
    Napi::Promise::Deferred deferred_;
    Napi::ObjectReference self_;  // keeps the reader alive until the ack is answered
    SpoolReader *reader_;
    uint64_t from_, to_;
    gl_pos_t next_;
    uint64_t seq_;
    bool synced_ = true;
    std::string err_;
  };

  // An ack on the thread pool ended: a close() asked for meanwhile happens now.
  void Settled() {
    if (--pending_ == 0 && closing_) {
      gl_reader_close(r_);
      r_ = nullptr;
      closing_ = false;
    }
  }

  Napi::Value Stat(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    gl_spool_stat_t st;
    gl_reader_stat(r_, &st);
    Napi::Object o = Napi::Object::New(env);
    auto n = [&](const char *k, uint64_t v) { o.Set(k, Napi::Number::New(env, (double)v)); };
    o.Set("spoolId", Hex(st.spool_id, GL_SPOOL_ID_LEN));
    n("nextSeq", st.next_seq);
    n("currentSegment", st.cur_segment);
    n("writtenBytes", st.write_total);
    n("ackedBytes", st.ack_total);
    o.Set("ack", Pos(env, st.ack));
    n("ackedSeq", st.acked_seq);
    n("rejectedFull", st.rejected_full);
    n("rejectedError", st.rejected_error);
    n("corruptSkipped", st.corrupt_skipped);
    n("segments", st.segments);
    n("bytesOnDisk", st.bytes_on_disk);
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    if (pending_ > 0) {
      closing_ = true;  // closed by the last ack on its way (Settled)
    } else {
      gl_reader_close(r_);
      r_ = nullptr;
    }
    return info.Env().Undefined();
  }

  gl_reader_t *r_ = nullptr;
  int pending_ = 0;
  bool closing_ = false;
};

// Holds the Buffers' UTF-8 copies alive while an event is encoded.
struct JsStrings {
  std::string s[5];
};

gl_str_t StrFrom(const Napi::Object &o, const char *key, std::string &keep) {
  Napi::Value v = o.Get(key);
  if (v.IsBuffer()) {
    Napi::Buffer<char> b = v.As<Napi::Buffer<char>>();
    keep.assign(b.Data(), b.Length());
  } else if (v.IsString()) {
    keep = v.As<Napi::String>().Utf8Value();
  } else {
    keep.clear();
  }
  gl_str_t s = {keep.data(), (uint32_t)keep.size()};
  return s;
}

double Num(const Napi::Object &o, const char *key) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0;
}

class SpoolWriter : public Napi::ObjectWrap<SpoolWriter> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "SpoolWriter",
                       {InstanceMethod("append", &SpoolWriter::Append),
                        InstanceMethod("sync", &SpoolWriter::Sync),
                        InstanceMethod("close", &SpoolWriter::Close)});
  }

  // SpoolWriter(dir, { maxBytes?, segmentBytes? })
  SpoolWriter(const Napi::CallbackInfo &info) : Napi::ObjectWrap<SpoolWriter>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsString()) {
      Napi::TypeError::New(env, "SpoolWriter(dir, opts): dir must be a string").ThrowAsJavaScriptException();
      return;
    }
    std::string dir = info[0].As<Napi::String>().Utf8Value();
    gl_spool_opts_t opts = {dir.c_str(), 0, 0, 1};
    if (info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      opts.max_bytes = (uint64_t)Num(o, "maxBytes");
      opts.segment_bytes = (uint64_t)Num(o, "segmentBytes");
    }
    char err[GL_ERRLEN] = "";
    sp_ = gl_spool_open(&opts, err, sizeof(err));
    if (!sp_) Napi::Error::New(env, err).ThrowAsJavaScriptException();
  }
  ~SpoolWriter() override { gl_spool_close(sp_); }

 private:
  // append(event) -> seq (bigint). Throws with the spool's message when the
  // record was not stored (full, I/O error).
  Napi::Value Append(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!sp_) {
      Napi::Error::New(env, "spool writer is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!info[0].IsObject()) {
      Napi::TypeError::New(env, "append(event): event must be an object").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Object o = info[0].As<Napi::Object>();
    JsStrings keep;
    gl_event_t ev = {};
    ev.kind = (uint16_t)Num(o, "kind");
    ev.job_id = (uint32_t)Num(o, "jobId");
    ev.user_id = (uint32_t)Num(o, "userId");
    ev.job_state = (uint32_t)Num(o, "jobState");
    ev.exit_code = (int32_t)Num(o, "exitCode");
    ev.signal = (int32_t)Num(o, "signal");
    ev.submit_time = (int64_t)Num(o, "submitTime");
    ev.start_time = (int64_t)Num(o, "startTime");
    ev.end_time = (int64_t)Num(o, "endTime");
    if (o.Get("tres").IsObject()) {
      Napi::Object t = o.Get("tres").As<Napi::Object>();
      ev.tres_cpu = (uint64_t)Num(t, "cpu");
      ev.tres_mem_mb = (uint64_t)Num(t, "memMb");
      ev.tres_gpu = (uint64_t)Num(t, "gpu");
      ev.tres_node = (uint64_t)Num(t, "node");
      ev.tres_billing = (uint64_t)Num(t, "billing");
    }
    ev.cluster = StrFrom(o, "cluster", keep.s[0]);
    ev.node = StrFrom(o, "node", keep.s[1]);
    ev.state_name = StrFrom(o, "stateName", keep.s[2]);
    ev.job_name = StrFrom(o, "jobName", keep.s[3]);
    ev.comment = StrFrom(o, "comment", keep.s[4]);
    char err[GL_ERRLEN];
    if (gl_spool_append(sp_, &ev, err, sizeof(err))) {
      Napi::Error::New(env, err).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::BigInt::New(env, ev.seq);
  }

  Napi::Value Sync(const Napi::CallbackInfo &info) {
    if (sp_ && gl_spool_sync(sp_))
      Napi::Error::New(info.Env(), "fdatasync of the spool failed").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    gl_spool_close(sp_);
    sp_ = nullptr;
    return info.Env().Undefined();
  }

  gl_spool_t *sp_ = nullptr;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("SpoolReader", SpoolReader::Init(env));
  exports.Set("SpoolWriter", SpoolWriter::Init(env));
  exports.Set("formatVersion", Napi::Number::New(env, GL_FORMAT_VERSION));
  gridlink::InitMunge(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(gridlink, Init)
