// run.ts - `npm run bench [-- suite...]`: run benchmark suites, print tables,
// merge figures into bench/results.json.
import { runDevnetUsersBench } from './devnet-users.js';
import { runIdentityBench } from './identity.js';
import { runNssBench } from './nss.js';
import { resultsPath } from './results.js';
import { runRelayBench } from './relay.js';
import { runReporterBench } from './reporter.js';
import { runSlurmBench } from './slurm.js';
import { runSpoolBench } from './spool.js';
import { runSupervisorBench } from './supervisor.js';

const suites: Record<string, () => void | Promise<void>> = {
  spool: () => runSpoolBench(),
  relay: () => runRelayBench(),
  reporter: () => runReporterBench(),
  supervisor: () => runSupervisorBench(),
  identity: () => runIdentityBench(),
  nss: () => runNssBench(),
  // the parts of nss alone (bench/nss.ts says how long each takes)
  'nss-local': () => runNssBench({ local: true, sssd: false }),
  'nss-sssd': () => runNssBench({ local: false, sssd: true }),
  slurm: () => runSlurmBench(),
  'devnet-users': () => runDevnetUsersBench(),
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!suites[name]) {
    process.stderr.write(`unknown suite '${name}'; suites: ${Object.keys(suites).join(', ')}\n`);
    process.exit(2);
  }
}
// with no suite named: every suite once (nss holds nss-local and nss-sssd)
const parts = new Set(['nss-local', 'nss-sssd']);
for (const name of wanted.length ? wanted : Object.keys(suites).filter((s) => !parts.has(s))) await suites[name]!();
process.stdout.write(`\nfigures merged into ${resultsPath}\n`);
