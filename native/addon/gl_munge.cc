// gl_munge.cc - munge credentials for the relay (encode) and the reporter's
// ingest (decode). Both run on the libuv thread pool: munged answers over a
// UNIX socket and must not block the event loop.
#include <napi.h>
#include <munge.h>

#include <string>

#include "gl_munge.h"

namespace gridlink {
namespace {

const char *MungeCode(munge_err_t e) {
  switch (e) {
    case EMUNGE_SUCCESS: return "EMUNGE_SUCCESS";
    case EMUNGE_SOCKET: return "EMUNGE_SOCKET";
    case EMUNGE_TIMEOUT: return "EMUNGE_TIMEOUT";
    case EMUNGE_BAD_CRED: return "EMUNGE_BAD_CRED";
    case EMUNGE_BAD_VERSION: return "EMUNGE_BAD_VERSION";
    case EMUNGE_BAD_CIPHER: return "EMUNGE_BAD_CIPHER";
    case EMUNGE_BAD_MAC: return "EMUNGE_BAD_MAC";
    case EMUNGE_BAD_ZIP: return "EMUNGE_BAD_ZIP";
    case EMUNGE_BAD_REALM: return "EMUNGE_BAD_REALM";
    case EMUNGE_CRED_INVALID: return "EMUNGE_CRED_INVALID";
    case EMUNGE_CRED_EXPIRED: return "EMUNGE_CRED_EXPIRED";
    case EMUNGE_CRED_REWOUND: return "EMUNGE_CRED_REWOUND";
    case EMUNGE_CRED_REPLAYED: return "EMUNGE_CRED_REPLAYED";
    case EMUNGE_CRED_UNAUTHORIZED: return "EMUNGE_CRED_UNAUTHORIZED";
    default: return "EMUNGE_ERROR";
  }
}

Napi::Error MakeError(Napi::Env env, munge_err_t e, const std::string &what) {
  Napi::Error err = Napi::Error::New(env, what + ": " + munge_strerror(e));
  err.Set("code", MungeCode(e));
  return err;
}

class EncodeWorker : public Napi::AsyncWorker {
 public:
  EncodeWorker(Napi::Env env, std::string payload, std::string socket)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)),
        payload_(std::move(payload)), socket_(std::move(socket)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    munge_ctx_t ctx = munge_ctx_create();
    if (!ctx) { rc_ = EMUNGE_NO_MEMORY; return; }
    if (!socket_.empty()) munge_ctx_set(ctx, MUNGE_OPT_SOCKET, socket_.c_str());
    char *cred = nullptr;
    rc_ = munge_encode(&cred, ctx, payload_.data(), (int)payload_.size());
    if (rc_ == EMUNGE_SUCCESS) cred_ = cred;
    free(cred);
    munge_ctx_destroy(ctx);
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (rc_ != EMUNGE_SUCCESS) deferred_.Reject(MakeError(env, rc_, "munge encode failed (is munged running?)").Value());
    else deferred_.Resolve(Napi::String::New(env, cred_));
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string payload_, socket_, cred_;
  munge_err_t rc_ = EMUNGE_SUCCESS;
};

class DecodeWorker : public Napi::AsyncWorker {
 public:
  DecodeWorker(Napi::Env env, std::string cred, std::string socket)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)),
        cred_(std::move(cred)), socket_(std::move(socket)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    munge_ctx_t ctx = munge_ctx_create();
    if (!ctx) { rc_ = EMUNGE_NO_MEMORY; return; }
    if (!socket_.empty()) munge_ctx_set(ctx, MUNGE_OPT_SOCKET, socket_.c_str());
    void *buf = nullptr;
    int len = 0;
    rc_ = munge_decode(cred_.c_str(), ctx, &buf, &len, &uid_, &gid_);
    if (buf) payload_.assign((const char *)buf, (size_t)len);
    free(buf);
    if (rc_ == EMUNGE_SUCCESS || rc_ == EMUNGE_CRED_REPLAYED || rc_ == EMUNGE_CRED_EXPIRED ||
        rc_ == EMUNGE_CRED_REWOUND) {
      int t = 0;
      munge_ctx_get(ctx, MUNGE_OPT_ENCODE_TIME, &t);
      encodeTime_ = t;
    }
    munge_ctx_destroy(ctx);
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (rc_ != EMUNGE_SUCCESS) {
      Napi::Error e = MakeError(env, rc_, "munge credential rejected");
      deferred_.Reject(e.Value());
      return;
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("payload", Napi::Buffer<char>::Copy(env, payload_.data(), payload_.size()));
    o.Set("uid", Napi::Number::New(env, uid_));
    o.Set("gid", Napi::Number::New(env, gid_));
    o.Set("encodeTime", Napi::Number::New(env, encodeTime_));
    deferred_.Resolve(o);
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string cred_, socket_, payload_;
  munge_err_t rc_ = EMUNGE_SUCCESS;
  uid_t uid_ = (uid_t)-1;
  gid_t gid_ = (gid_t)-1;
  long encodeTime_ = 0;
};

std::string OptSocket(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() > i && info[i].IsObject()) {
    Napi::Value s = info[i].As<Napi::Object>().Get("socket");
    if (s.IsString()) return s.As<Napi::String>().Utf8Value();
  }
  return "";
}

// mungeEncode(payload: Buffer|string, { socket? }) -> Promise<string>
Napi::Value Encode(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string payload;
  if (info[0].IsBuffer()) {
    auto b = info[0].As<Napi::Buffer<char>>();
    payload.assign(b.Data(), b.Length());
  } else if (info[0].IsString()) {
    payload = info[0].As<Napi::String>().Utf8Value();
  } else {
    Napi::TypeError::New(env, "mungeEncode(payload: Buffer | string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto *w = new EncodeWorker(env, std::move(payload), OptSocket(info, 1));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// mungeDecode(credential: string, { socket? }) -> Promise<{ payload, uid, gid, encodeTime }>
// Rejects with err.code = EMUNGE_* (EMUNGE_CRED_REPLAYED for a replay).
Napi::Value Decode(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    Napi::TypeError::New(env, "mungeDecode(credential: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto *w = new DecodeWorker(env, info[0].As<Napi::String>().Utf8Value(), OptSocket(info, 1));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void InitMunge(Napi::Env env, Napi::Object exports) {
  exports.Set("mungeEncode", Napi::Function::New(env, Encode));
  exports.Set("mungeDecode", Napi::Function::New(env, Decode));
}

}  // namespace gridlink
