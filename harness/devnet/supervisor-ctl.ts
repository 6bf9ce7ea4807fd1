// supervisor-ctl.ts - `npm run devnet -- supervisor stop|start|restart`: the
// running devnet's supervisor alone, the rest of the devnet left up. start
// runs `gridlink supervisor run --config <the devnet's supervisor.json>` as
// the devnet does (detached, log appended to supervisor.log), records its PID
// and start time in the state file and waits until it claims jobs again.
import { enterNamespace } from './identity.js';
import { sameProcess } from './procs.js';
import { readState, statePath, writeState } from './state.js';
import { runningSupervisors } from '../../src/cli/status.js';
import { SUPERVISOR_NAME, spawnSupervisor, stopSupervisor, waitSupervisorReady } from './supervisor-process.js';

export type SupervisorAction = 'stop' | 'start' | 'restart';

export async function supervisorCtl(dir: string, action: SupervisorAction, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const s = readState(statePath(dir));
  if (!s?.supervisor || s.phase !== 'up') {
    err(`No devnet is up in ${dir}${s ? ` (it is ${s.phase})` : ''}: start one with \`npm run devnet\`.`);
    return 1;
  }
  if (!sameProcess(s.daemon)) {
    err(`The devnet's daemon (pid ${s.daemon.pid}) is gone: \`npm run devnet:down\`, then \`npm run devnet\`.`);
    return 1;
  }
  const { config, ingestUrl } = s.supervisor;
  const logFile = s.logs.supervisor ?? `${dir}/logs/supervisor.log`;
  if (action === 'start') {
    const running = [...s.processes.filter((p) => p.name === SUPERVISOR_NAME && sameProcess(p)).map((p) => p.pid), ...runningSupervisors(config)];
    if (running.length > 0) {
      err(`The supervisor already runs (pid ${[...new Set(running)].join(', ')}): \`npm run devnet -- supervisor restart\` restarts it.`);
      return 1;
    }
  } else {
    const t0 = Date.now();
    const stopped = await stopSupervisor(s.processes, config);
    out(stopped.length > 0 ? `Stopped the supervisor (pid ${stopped.map((p) => p.pid).join(', ')}) in ${((Date.now() - t0) / 1000).toFixed(1)} s.` : 'The supervisor was not running.');
    if (action === 'stop') {
      out('The rest of the devnet is up; `npm run devnet -- supervisor start` starts it again.');
      return 0;
    }
  }
  const t0 = Date.now();
  // With users.resolver "gridlink" it runs in the devnet's mount namespace (its NSS asks gridlink), as the devnet started it.
  const p = spawnSupervisor(config, logFile, s.users?.resolver === 'gridlink' ? { prefix: enterNamespace(s.users.namespacePid) } : {});
  writeState({ ...s, processes: [...s.processes.filter((r) => r.name !== SUPERVISOR_NAME), p.ref] });
  out(`Started the supervisor (pid ${p.ref.pid}): gridlink supervisor run --config ${config}`);
  out(`  log: ${logFile}`);
  try {
    await waitSupervisorReady(p, { ingestUrl, logFile, timeoutMs: 120_000 });
  } catch (e) {
    await stopSupervisor([p.ref], undefined);
    err(`devnet: ${(e as Error).message}`);
    err('The rest of the devnet is up: fix what the log says, then `npm run devnet -- supervisor start`.');
    return 1;
  }
  out(`It is up in ${((Date.now() - t0) / 1000).toFixed(1)} s: provider approved, claiming jobs (ingest ${ingestUrl}).`);
  return 0;
}
