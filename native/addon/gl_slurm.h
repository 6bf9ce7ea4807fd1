// gl_slurm.h - libslurm exports of the addon (submit, cancel, time limit,
// jobs, partition with its nodes); every call runs off the JavaScript thread.
#pragma once
#include <napi.h>
namespace gridlink {
void InitSlurm(Napi::Env env, Napi::Object exports);
}
