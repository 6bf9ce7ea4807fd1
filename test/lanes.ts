// lanes.ts - which test files run in which lane. `npm test`
// (scripts/run-tests.mjs) runs three vitest processes at once, each serial
// within itself:
//   cluster (vitest.config.ts): every file listed in neither list below (SLURM
//           clusters in slot 0, SSSD, LDAP servers, the devnet);
//   slurm   (vitest.slurm.config.ts): SLURM_LANE_TEST_FILES (clusters in slot 1);
//   light   (vitest.light.config.ts): LIGHT_TEST_FILES.
//
// THE RULE. A file may be listed here only if it (and every harness it
// calls) needs nothing but anvil on a free port, in-process servers on free
// ports, child processes of its own, temp dirs from mkdtemp, and the shared
// munged (read-only use: encode/decode). It must NOT: start a SLURM cluster
// (startCluster, startPluginCluster/with-plugins, startGrid, slurmctld/slurmd),
// take the cluster lock, start or touch SSSD or an LDAP server (startSssd,
// start389ds, startOpenLdap), start the devnet (test/devnet, harness/devnet/stack),
// sshd, create Linux users (useradd: test/helpers/local-users.ts locks
// /etc/passwd), write fixed shared paths (/etc, /var/spool, /run, fixed /tmp
// names), rebuild dist/ (ensureBuilt), or measure time or throughput
// (txpipeline throughput, timing bounds): those run in the cluster lane.
// When unsure, leave a file out of this list (= cluster lane).
//
// Light files share the 2 CPUs with the cluster lane: they should mostly
// wait (chain outages, reporter restarts). Three exceptions compute, and are
// here because the cluster lane is the longer one (CI's budget): the
// slurm-in-docker suite (its SLURM, munged and network are the containers'
// own; no cluster lock, no host SSSD; anvil and the sbatch service on free
// ports), the npm pack consumer test and the .deb test (temp dirs, /dev/shm
// unpacking, anvil on a free port; neither rebuilds dist/).
import { existsSync } from 'node:fs';

export const LIGHT_TEST_FILES: readonly string[] = [
  // Contracts on a fresh anvil (the contracts build runs in global-setup, under its lock).
  'test/contracts/abi-compat.test.ts',
  'test/contracts/billing.test.ts',
  'test/contracts/deploy.test.ts',
  'test/contracts/providers.test.ts',
  'test/contracts/queues.test.ts',
  'test/contracts/requests.test.ts',
  'test/contracts/transitions.test.ts',
  // Meta-Scheduler client on anvil (test/metascheduler/devnet.ts is anvil + contracts, not the devnet stack).
  'test/metascheduler/abi-usage.test.ts',
  'test/metascheduler/client.test.ts',
  'test/metascheduler/oracle.test.ts',
  'test/metascheduler/status-billing.test.ts',
  // The harnesses' port choice (listens on loopback, nothing else).
  'test/cluster/ports.test.ts',
  // Customer side: pure checks and one CLI run refused before any chain is reached.
  'test/customer/validation.test.ts',
  // Transaction pipeline on anvil (+ in-process RPC proxy). throughput.test.ts stays in the cluster lane: it asserts tx/s.
  'test/txpipeline/basics.test.ts',
  'test/txpipeline/contracts.test.ts',
  'test/txpipeline/crash.test.ts',
  'test/txpipeline/errors.test.ts',
  'test/txpipeline/failures.test.ts',
  'test/txpipeline/fees.test.ts',
  'test/txpipeline/outage.test.ts',
  'test/txpipeline/owners.test.ts',
  // sbatch gRPC service in-process + anvil.
  'test/sbatch/cli-config.test.ts',
  'test/sbatch/service.test.ts',
  'test/sbatch/signature.test.ts',
  // Reporter: its own process / in-process ingest, anvil market, munge. cluster.test.ts stays (SLURM).
  'test/reporter/chain-burst.test.ts',
  'test/reporter/chain-faults.test.ts',
  'test/reporter/chain-outage.test.ts',
  'test/reporter/cli.test.ts',
  'test/reporter/ingest-batches.test.ts',
  'test/reporter/ingest-hmac.test.ts',
  'test/reporter/ingest-lifecycle.test.ts',
  'test/reporter/ingest-munge.test.ts',
  'test/reporter/mapping.test.ts',
  'test/reporter/nonces.test.ts',
  'test/reporter/planner.test.ts',
  'test/reporter/provider-key.test.ts',
  'test/reporter/sender.test.ts',
  'test/reporter/store.test.ts',
  'test/reporter/jobs-gauge.test.ts',
  // Relay against an in-process fake receiver (spools in temp dirs).
  'test/relay/auth-config.test.ts',
  'test/relay/cli.test.ts',
  'test/relay/delivery.test.ts',
  'test/relay/embedded.test.ts',
  'test/relay/hooks.test.ts',
  'test/relay/ingest-e2e.test.ts',
  'test/relay/transport.test.ts',
  'test/relay/spool-metrics.test.ts',
  'test/relay/wire-parse.test.ts',
  // Spool format in temp dirs.
  'test/native/spool-concurrency.test.ts',
  'test/native/spool-format.test.ts',
  'test/native/spool-reader.test.ts',
  'test/native/wire-json.test.ts',
  'test/native/slurm-addon.test.ts',
  // LDAP logic with an in-process fake server / temp dirs (no slapd, no 389ds, no SSSD).
  'test/ldap/address.test.ts',
  'test/ldap/config.test.ts',
  'test/ldap/home.test.ts',
  // Supervisor units with fakes (users-nss.test.ts stays: useradd).
  'test/supervisor/benchmarks-parsers.test.ts',
  'test/supervisor/claimer.test.ts',
  'test/supervisor/config.test.ts',
  'test/supervisor/runner.test.ts',
  'test/supervisor/users-ldap.test.ts',
  // Resolver "gridlink": the users database in temp dirs, a writer child killed with SIGKILL.
  'test/userdb/userdb.test.ts',
  // The SPANK prolog's home maker (native/gl_home.c), compiled with cc, run as root in a temp dir.
  'test/userdb/home.test.ts',
  // The users database's propagation: in-process sync server and pullers, the shared munged.
  'test/userdb/sync.test.ts',
  // gridlink users: the CLI on a temp store and file.
  'test/userdb/users-cli.test.ts',
  // Pure / temp-dir only.
  'test/structure.test.ts',
  // The Grafana dashboard against @grafana/schema's types (a TypeScript compile in-process; no Prometheus).
  'test/grafana/dashboard-schema.test.ts',
  // Links of the README, ARCHITECTURE.md and docs/ (files read, nothing started).
  'test/docs/links.test.ts',
  'test/package/foreign-viem.test.ts',
  'test/slurm/gres-errno.test.ts',
  'test/matrix/addon-compile.test.ts',
  // Compute, but own their resources (see the rule above).
  'test/containers/cluster.test.ts',
  'test/containers/cluster-bookworm.test.ts',
  'test/containers/cluster-sid.test.ts',
  'test/containers/compose.test.ts',
  'test/containers/release-check.test.ts',
  'test/package/pack.test.ts',
  'test/package/deb.test.ts',
];

/**
 * The "slurm" lane (vitest.slurm.config.ts): SLURM clusters of their own in
 * cluster slot 1 (GRIDLINK_CLUSTER_SLOT=1, harness/cluster/lock.ts) while the
 * cluster lane's run in slot 0, so two test clusters run side by side; most
 * of their time is waiting for jobs, daemons and timers, not CPU.
 *
 * THE RULE. A file may be listed here only if, besides what the light lane
 * allows, it starts SLURM clusters through the harness (startCluster,
 * startPluginCluster, startGrid, startBridge: each takes the lane's slot) and
 * nothing machine-wide that another cluster lane file also uses: NOT SSSD
 * (one per host: harness/directory/sssd.ts; the devnet starts one too), not
 * the devnet (test/devnet, test/grafana/prometheus), not an LDAP server the
 * host's NSS reads, and no test of the slot-0 lock file itself
 * (test/cluster/lock.test.ts, multi-node's lock checks). When unsure, leave a
 * file out (= cluster lane, slot 0).
 */
export const SLURM_LANE_TEST_FILES: readonly string[] = [
  // No SLURM cluster of the host's: a dockerd of its own (own socket, data
  // root, bridge) and the slurm-in-docker cluster's own SLURM; here for CI's
  // balance (the cluster lane is the longer one). Nothing in this lane
  // needs the iptables FORWARD policy dockerd sets for a moment.
  'test/containers/docker.test.ts',
  'test/bridge/delivery.test.ts',
  'test/bridge/hooks.test.ts',
  'test/bridge/outage.test.ts',
  'test/chain/heads.test.ts',
  'test/cli/shutdown.test.ts',
  'test/matrix/loads-23.11.test.ts',
  'test/matrix/plugins-check.test.ts',
  'test/matrix/standalone-relay.test.ts',
  'test/plugins/crash-recovery.test.ts',
  'test/plugins/failure-modes.test.ts',
  'test/plugins/hostile-strings.test.ts',
  'test/plugins/job-states.test.ts',
  'test/plugins/prolog-per-node.test.ts',
  'test/reporter/cluster.test.ts',
  'test/runtime/runtime-safety.test.ts',
  'test/signer/remote.test.ts',
  'test/signer/reporter.test.ts',
  'test/slurm/local-unavailable.test.ts',
  'test/slurm/ssh-shell.test.ts',
  'test/slurm/ssh-specific.test.ts',
  'test/supervisor/benchmarks.test.ts',
  'test/supervisor/chain-logs.test.ts',
  'test/supervisor/crash.test.ts',
  'test/supervisor/e2e-ssh.test.ts',
  'test/supervisor/e2e.test.ts',
  'test/supervisor/shutdown.test.ts',
  'test/supervisor/tx-outcomes.test.ts',
  'test/txpipeline/refused.test.ts',
  'test/userdb/nss-slurm.test.ts',
  'test/userdb/nss.test.ts',
  'test/userdb/supervisor-jobs.test.ts',
];

/** The slot each lane's clusters take (GRIDLINK_CLUSTER_SLOT; the light lane starts none). */
export const LANE_CLUSTER_SLOT = { cluster: 0, slurm: 1 } as const;

/** What every lane's vitest config shares: one file at a time, long timeouts for real daemons. */
export const LANE_TEST_OPTIONS = {
  globalSetup: ['./test/global-setup.ts'],
  testTimeout: 120_000,
  hookTimeout: 180_000,
  fileParallelism: false,
  pool: 'forks',
  reporters: ['default', './test/summary-reporter.ts'],
} as const;

/**
 * The vitest `test` options of a lane that runs exactly `files` (the light and
 * slurm lanes). A renamed or deleted file must not silently drop out of every
 * lane's view: a listed file that does not exist stops the run.
 */
export function listedLaneTestOptions(files: readonly string[]) {
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length) throw new Error(`test/lanes.ts lists files that do not exist: ${missing.join(', ')}`);
  return {
    include: [...files],
    ...LANE_TEST_OPTIONS,
    globalSetup: [...LANE_TEST_OPTIONS.globalSetup],
    reporters: [...LANE_TEST_OPTIONS.reporters],
  };
}
