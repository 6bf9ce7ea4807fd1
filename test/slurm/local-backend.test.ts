// local-backend.test.ts - the shared SlurmBackend suite against the `local`
// backend (libslurm through the addon) on a real 2-node cluster.
import { createLocalBackend } from '../../src/slurm/local.js';
import { backendSuite } from './backend-suite.js';

backendSuite('local', async (cluster) => createLocalBackend({ slurmConf: cluster.confPath }));
