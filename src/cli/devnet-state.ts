// devnet-state.ts - the shape of a running devnet's state file (state.json),
// declared on the shipped side: `gridlink status` reads it, the devnet
// (harness/devnet/state.ts, a dev harness the package does not ship) writes it.
import type { ProcRef } from '../util/proc.js';

export type { ProcRef };

export interface DevAccount {
  role: string;
  address: string;
  privateKey: string;
}

export interface DevnetState {
  version: 1;
  dir: string;
  /** starting -> up; failed (error set) when the start did not complete. */
  phase: 'starting' | 'up' | 'failed';
  error?: string;
  /** Start steps, in order, with the seconds since the start began. */
  steps: { at: number; text: string }[];
  startedAt: string;
  /** The process that owns every component; SIGTERM stops them all. */
  daemon: ProcRef;
  /** Every process started, by PID and start time (a reused PID is never signalled). */
  processes: ProcRef[];
  chain?: { rpcUrl: string; wsUrl: string; chainId: number; contracts: Record<string, string>; blockTimeS: number };
  accounts?: DevAccount[];
  slurm?: { conf: string; baseDir: string; partition: string; nodes: string[] };
  ldap?: { url: string; suffix: string; usersDn: string; bindDn: string; bindPasswordFile: string; caFile: string; homeRoot: string; baseDir: string };
  /**
   * Who the customers are. gridlink (users.resolver "gridlink"): db is the
   * supervisor's users database (dbInNamespace inside the devnet's mount
   * namespace, that of process namespacePid, whose nsswitch.conf asks
   * gridlink), copies each SLURM daemon's (by the name its relay reports),
   * syncUrl where the relays pull it. ldap: ldap above. Absent in a state file
   * of an older devnet (ldap).
   */
  users?:
    | { resolver: 'gridlink'; homeRoot: string; db: string; dbInNamespace: string; copies: Record<string, string>; namespacePid: number; syncUrl: string }
    | { resolver: 'ldap'; homeRoot: string };
  sbatch?: { address: string };
  /** config: the supervisor's configuration file (`gridlink doctor --config`, `gridlink supervisor --config`); metricsUrl: its /metrics (absent in a state file of an older devnet). */
  supervisor?: { storeDir: string; db: string; ingestUrl: string; metricsUrl?: string; provider: string; config: string };
  logs: Record<string, string>;
}
