// errno.ts - which SLURM error numbers mean "slurmctld could not be reached"
// (retry later), "no such job" or "SLURM said no" (do not retry), for the
// local backend (slurm_get_errno() from libslurm) and anyone holding SLURM's
// error number. Numbers as slurm_errno.h (22.05) has them.
import type { SlurmErrorKind } from './backend.js';

export const SLURM_ERRNO = {
  SLURM_COMMUNICATIONS_CONNECTION_ERROR: 1001,
  SLURM_COMMUNICATIONS_SEND_ERROR: 1002,
  SLURM_COMMUNICATIONS_RECEIVE_ERROR: 1003,
  SLURM_COMMUNICATIONS_SHUTDOWN_ERROR: 1004,
  SLURM_PROTOCOL_AUTHENTICATION_ERROR: 1007,
  SLURM_COMMUNICATIONS_MISSING_SOCKET_ERROR: 1013,
  SLURMCTLD_COMMUNICATIONS_CONNECTION_ERROR: 1800,
  SLURMCTLD_COMMUNICATIONS_SHUTDOWN_ERROR: 1803,
  ESLURM_INVALID_PARTITION_NAME: 2000,
  ESLURM_INVALID_JOB_ID: 2017,
  ESLURM_ALREADY_DONE: 2021,
  ESLURM_IN_STANDBY_MODE: 2027,
  ESLURM_IN_STANDBY_USE_BACKUP: 2131,
  /** SLURM_PROTOCOL_SOCKET_IMPL_* .. SLURM_PROTOCOL_SOCKET_ZERO_BYTES_SENT */
  SOCKET_FIRST: 5000,
  SOCKET_LAST: 5005,
  ESLURM_AUTH_NET_ERROR: 6002,
  ESLURM_AUTH_UNABLE_TO_SIGN: 6003,
} as const;

const E = SLURM_ERRNO;

/** True for errors that say nothing about the request, only that slurmctld (or munge) was not reached. */
export function isUnavailableErrno(errno: number): boolean {
  // 0 / -1 / a system errno (ECONNREFUSED, ETIMEDOUT, ...): the transport failed.
  if (errno < 1000) return true;
  if (errno >= E.SLURM_COMMUNICATIONS_CONNECTION_ERROR && errno <= E.SLURM_COMMUNICATIONS_SHUTDOWN_ERROR) return true;
  if (errno === E.SLURM_COMMUNICATIONS_MISSING_SOCKET_ERROR || errno === E.SLURM_PROTOCOL_AUTHENTICATION_ERROR) return true;
  if (errno >= E.SLURMCTLD_COMMUNICATIONS_CONNECTION_ERROR && errno <= E.SLURMCTLD_COMMUNICATIONS_SHUTDOWN_ERROR) return true;
  if (errno >= E.SOCKET_FIRST && errno <= E.SOCKET_LAST) return true;
  return errno === E.ESLURM_IN_STANDBY_MODE || errno === E.ESLURM_IN_STANDBY_USE_BACKUP || errno === E.ESLURM_AUTH_NET_ERROR || errno === E.ESLURM_AUTH_UNABLE_TO_SIGN;
}

/** refused / unavailable / not_found for SLURM's error number. */
export function classifySlurmErrno(errno: number): SlurmErrorKind {
  if (errno === E.ESLURM_INVALID_JOB_ID) return 'not_found';
  return isUnavailableErrno(errno) ? 'unavailable' : 'refused';
}
