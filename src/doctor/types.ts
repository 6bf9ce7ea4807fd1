// types.ts - what a `gridlink doctor` check is and what it answers.
import type { SupervisorConfig } from '../supervisor/config.js';
import type { SlurmDaemon } from '../slurm/slurm-daemons.js';

/** The parts of a gridlink cluster a host can be (doctor --role; roles.ts). */
export const ROLES = ['controller', 'compute', 'supervisor'] as const;
export type Role = (typeof ROLES)[number];

/** warn: passes (exit 0) but something deserves the operator's look (e.g. a listed host that never pulled the users database). */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** One line of doctor's output (`--json`: the array of these). */
export interface CheckResult {
  check: string;
  /** false only for a failure; a skipped check (not configured, or a check it needs failed) is not one. */
  ok: boolean;
  status: CheckStatus;
  detail: string;
  /** What to do about a failure. */
  fix?: string;
}

/** What a check's run returns (the runner adds the name). */
export type Outcome = { status: CheckStatus; detail: string; fix?: string };

export const ok = (detail: string): Outcome => ({ status: 'ok', detail });
export const warn = (detail: string, fix?: string): Outcome => ({ status: 'warn', detail, ...(fix ? { fix } : {}) });
export const fail = (detail: string, fix?: string): Outcome => ({ status: 'fail', detail, ...(fix ? { fix } : {}) });
export const skip = (detail: string): Outcome => ({ status: 'skip', detail });

/** The outcome of a check that needs the supervisor configuration when there is none. */
export const noConfig = (ctx: { configError?: string | undefined }): Outcome =>
  ctx.configError ? skip('not checked: the supervisor configuration did not load (see the config check)') : skip('not checked: no supervisor configuration (--config FILE)');

export interface DoctorContext {
  /** The supervisor configuration (loaded like the supervisor's: file, then GRIDLINK_* variables); undefined when not given or invalid. */
  config?: SupervisorConfig | undefined;
  configFile?: string | undefined;
  /** Why the configuration could not be loaded. */
  configError?: string | undefined;
  /** slurm.conf to check (--slurm-conf, $SLURM_CONF, slurm.slurmConf of the configuration, /etc/slurm/slurm.conf). */
  slurmConf: string;
  env: NodeJS.ProcessEnv;
  /** Unacknowledged spool records older than this fail the drain check. */
  maxLagS: number;
  /** Deadline of each network call a check makes (the runner's per-check timeout is above it). */
  callTimeoutMs: number;
  /** This host's roles (--role); undefined: found from the daemons running here, slurm.conf and --config (roles.ts). */
  roles?: Role[] | undefined;
  /** This host's name (default: os.hostname()); tests. */
  hostname?: string;
  /** The running SLURM daemons (default: /proc); tests pass fakes. */
  daemons?: () => SlurmDaemon[];
  /** Unix ms (tests). */
  now?: () => number;
}

export interface Check {
  name: string;
  /** Checks whose failure makes this one meaningless: it is skipped, naming them. */
  needs?: readonly string[];
  run(ctx: DoctorContext, signal: AbortSignal): Promise<Outcome>;
}
