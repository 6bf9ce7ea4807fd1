// job-connection.ts - how `gridlink job` finds the grid and the customer's
// key: --rpc-url/--meta-scheduler/--key-file/--sbatch (or GRIDLINK_RPC_URL,
// GRIDLINK_META_SCHEDULER, GRIDLINK_CUSTOMER_KEY_FILE or GRIDLINK_CUSTOMER_KEY,
// GRIDLINK_SBATCH) when any is given; otherwise the devnet running on this
// machine (its state file: RPC URL, contracts, sbatch service, the dev
// customer's key, the supervisor's store for SLURM details and output). The
// key follows the provider key's rules: a file of mode 0600 owned by you.
import { Command, InvalidArgumentError, Option } from 'commander';
import { isAddress, parseUnits, type Address, type Hex } from 'viem';

import { createCustomerContext, type CreateCustomerContextParameters, type CustomerContext } from '../customer/context.js';
import { devnetCustomer, readDevnetState } from '../customer/devnet.js';
import { parsePrivateKey } from '../reporter/provider-key.js';
import { readSecretFile } from '../util/secret-file.js';
import { defaultStateFile } from './status.js';

export const CUSTOMER_KEY_ENV = 'GRIDLINK_CUSTOMER_KEY';

export interface ConnectionOptions {
  rpcUrl?: string;
  metaScheduler?: string;
  keyFile?: string;
  sbatch?: string;
  sbatchCa?: string;
  state: string;
}

/** The connection options every `gridlink job` subcommand takes. */
export function withConnection(cmd: Command): Command {
  return cmd
    .addOption(new Option('--rpc-url <url>', 'the chain\'s JSON-RPC endpoint (default: the devnet\'s)').env('GRIDLINK_RPC_URL'))
    .addOption(new Option('--meta-scheduler <address>', 'the MetaScheduler contract (default: the devnet\'s)').env('GRIDLINK_META_SCHEDULER'))
    .addOption(new Option('--key-file <file>', `the customer's private key, mode 0600 and owned by you (or the key in $${CUSTOMER_KEY_ENV}; default: the devnet's customer)`).env('GRIDLINK_CUSTOMER_KEY_FILE'))
    .addOption(new Option('--sbatch <host:port>', 'the sbatch service job scripts are uploaded to (default: the devnet\'s)').env('GRIDLINK_SBATCH'))
    .addOption(new Option('--sbatch-ca <file>', 'use TLS to the sbatch service, trusting this CA (PEM)'))
    .option('--state <file>', 'the devnet state file used when no --rpc-url is given', defaultStateFile());
}

function explicit(o: ConnectionOptions): CreateCustomerContextParameters {
  const missing = [!o.rpcUrl && '--rpc-url (GRIDLINK_RPC_URL)', !o.metaScheduler && '--meta-scheduler (GRIDLINK_META_SCHEDULER)'].filter(Boolean);
  if (missing.length) throw new Error(`${missing.join(' and ')} missing: outside a devnet, name the chain and the MetaScheduler contract`);
  if (!isAddress(o.metaScheduler!)) throw new Error(`--meta-scheduler ${JSON.stringify(o.metaScheduler)} is not an address (0x and 40 hex digits)`);
  let privateKey: Hex;
  if (o.keyFile) privateKey = parsePrivateKey(readSecretFile(o.keyFile, { what: 'customer key' }).toString('latin1'), `customer key file ${o.keyFile}`);
  else if (process.env[CUSTOMER_KEY_ENV]) privateKey = parsePrivateKey(process.env[CUSTOMER_KEY_ENV]!, `$${CUSTOMER_KEY_ENV}`);
  else throw new Error(`no customer key: pass --key-file FILE (mode 0600, owned by you) or set ${CUSTOMER_KEY_ENV}`);
  return {
    rpcUrl: o.rpcUrl!,
    metaScheduler: o.metaScheduler as Address,
    privateKey,
    sbatch: o.sbatch ? { endpoint: o.sbatch, tls: o.sbatchCa ? { caFile: o.sbatchCa } : undefined } : undefined,
  };
}

/** The connection parameters: explicit when any option or variable names the chain or key, else the running devnet's. */
export function connectionParameters(o: ConnectionOptions): CreateCustomerContextParameters {
  if (o.rpcUrl || o.metaScheduler || o.keyFile || process.env[CUSTOMER_KEY_ENV]) return explicit(o);
  const s = readDevnetState(o.state);
  if (!s) throw new Error(`no devnet is up (no usable state at ${o.state}) and no --rpc-url given: start one with \`npm run devnet\`, or pass --rpc-url, --meta-scheduler, --key-file and --sbatch`);
  const p = devnetCustomer(s);
  if (o.sbatch) p.sbatch = { endpoint: o.sbatch, tls: o.sbatchCa ? { caFile: o.sbatchCa } : undefined };
  return p;
}

export const connect = (o: ConnectionOptions): Promise<CustomerContext> => createCustomerContext(connectionParameters(o));

/** `--credits 12.5` in credit-wei (18 decimals). */
export function parseCredits(v: string): bigint {
  if (!/^\d+(\.\d{1,18})?$/.test(v.trim())) throw new InvalidArgumentError('--credits must be a positive number of credits, e.g. 100 or 12.5');
  const wei = parseUnits(v.trim(), 18);
  if (wei <= 0n) throw new InvalidArgumentError('--credits must be above 0');
  return wei;
}

/** `--minutes N`: a whole number of minutes, at least 1. */
export function parseMinutes(v: string): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) < 1) throw new InvalidArgumentError('--minutes must be a whole number of minutes, at least 1');
  return Number(v);
}
