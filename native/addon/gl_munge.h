// gl_munge.h - munge encode/decode exports of the addon.
#pragma once
#include <napi.h>
namespace gridlink {
void InitMunge(Napi::Env env, Napi::Object exports);
}
