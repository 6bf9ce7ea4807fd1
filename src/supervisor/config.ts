// config.ts - `gridlink supervisor`'s configuration: one JSON file, then
// GRIDLINK_* environment variables on top (env.ts), validated here with zod.
// Every field carries its documentation (`.describe`), from which
// `gridlink supervisor config-reference` generates docs/supervisor-config.md.
import { parseEther } from 'viem';
import { z } from 'zod';

import { ldapConfigSchema } from '../ldap/config.js';
import { chainReporterConfigSchema } from '../reporter/config.js';
import { ingestConfigSchema } from '../reporter/ingest/config.js';
import { DEFAULT_USERS_DB_PATH } from '../userdb/format.js';
import { formatZodIssues } from '../util/zod-issues.js';

/** The configuration's credit amounts, by key: `--check-config` prints them in credits again (src/util/config-print.ts). */
export const SUPERVISOR_CREDIT_FIELDS = { cpuPerMin: 'credits', memPerMin: 'credits', gpuPerMin: 'credits' } as const;

const credits = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const text = String(v);
    // Credits have 18 decimals: more would be rounded, i.e. another price registered than configured.
    if (!/^\d+(\.\d{1,18})?$/.test(text)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected an amount of credits (a non-negative decimal with at most 18 decimals, e.g. "0.5"; give it as a string), got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return parseEther(text);
  });

const listen = z.object({
  host: z.string().min(1).describe('Address to listen on'),
  port: z.number().int().min(0).max(65535).describe('Port (0 picks a free one)'),
});

const sshSchema = z
  .object({
    host: z.string().min(1).describe('Login node running sbatch/scancel/scontrol'),
    port: z.number().int().min(1).max(65535).default(22).describe('sshd port'),
    username: z.string().min(1).default('root').describe('Remote user; must be root (sbatch --uid)'),
    privateKeyPath: z.string().min(1).describe('Private key file (mode 0600) for key authentication'),
    hostKey: z.string().min(1).optional().describe('The login node\'s public host key ("ssh-ed25519 AAAA...") or its SHA256 fingerprint ("SHA256:..."): the connection is refused if it differs'),
    insecureSkipHostKeyCheck: z.boolean().default(false).describe('Accept any host key (logged as a warning at every start); never in production'),
    slurmConf: z.string().min(1).optional().describe('slurm.conf on the login node (SLURM_CONF for the commands); default: SLURM\'s own lookup'),
  })
  .strict();

const gridlinkUsersSchema = z
  .object({
    dbPath: z.string().min(1).regex(/^\//, 'an absolute path').default(DEFAULT_USERS_DB_PATH).describe('The users database file written here (atomically) and read by the NSS module libnss_gridlink.so.2 on this host; the relays copy it to the other hosts'),
    firstUid: z.number().int().min(1).max(0x7ffffffe).default(200_000).describe('The first uid handed out (at least users.minUid; above every uid of this site\'s own accounts); uids and gids of /etc/passwd and /etc/group are skipped'),
    maxUid: z.number().int().min(1).max(0x7ffffffe).default(0x7ffffffe).describe('No uid above this is handed out'),
    homeRoot: z.string().min(1).regex(/^\/[^:\n\0]*$/, 'an absolute path').default('/home').describe('Customers\' homes are <homeRoot>/<address>, created 0700 by the SPANK plugin before the job\'s first step on each node'),
    shell: z.string().min(1).regex(/^\/[^:\n\0]*$/, 'an absolute path').default('/bin/bash').describe('The customers\' login shell'),
    enumerate: z
      .boolean()
      .default(false)
      .describe('Let the NSS module list every customer (`getent passwd` / `getent group` without a name, setpwent/getpwent) on every host: a flag in the users database file, so every host follows this setting; off: customers are found by name, uid and gid only'),
    sync: z
      .object({
        listen: listen.optional().describe('Where the relays (users_url=http://<this host>:<port>) pull the users database from, authenticated like their events by the ingest\'s settings (munge by uid 0 or the ingest\'s SlurmUser, or one of ingest.hmacKeys for auth=hmac relays); omitted: not served'),
        hosts: z
          .array(z.string().min(1).max(255).regex(/^[A-Za-z0-9._-]+$/))
          .default([])
          .describe('Hosts (as their relays name themselves: host=, default the host name) that must hold a version of the users database containing a customer before its job is submitted: the controller and the partition\'s nodes, or only the hosts that resolve users when nss_slurm serves the job steps (docs/nss-gridlink.md); empty: no wait'),
        waitMs: z.number().int().min(0).default(30_000).describe('How long a submission waits for those hosts before it fails with the hosts behind named, and is retried'),
      })
      .strict()
      .default({})
      .describe('Propagation of the users database to the other hosts through their relays'),
  })
  .strict();

export const supervisorConfigSchema = z
  .object({
    chain: chainReporterConfigSchema
      .omit({ metricsListen: true })
      .describe('The chain, the provider key and the reporter (statuses and billed minutes), shared with `gridlink reporter run`; here reconciliation reads SLURM through the supervisor\'s own backend, so reconcile.slurmConf is not used'),
    ingest: ingestConfigSchema.describe('The ingest endpoint the relays deliver job events to; `storeDir` holds the state database of the whole process'),
    slurm: z
      .object({
        backend: z.enum(['local', 'ssh']).default('local').describe('How SLURM is reached: `local` (libslurm on this host, a SLURM client host) or `ssh` (a login node)'),
        slurmConf: z.string().min(1).optional().describe('slurm.conf for the local backend (default: $SLURM_CONF, then SLURM\'s own lookup)'),
        partition: z.string().min(1).regex(/^\S+$/).describe('The partition sold on the grid: its nodes are the registered hardware and every job is submitted to it'),
        ssh: sshSchema.optional().describe('The login node, for backend `ssh`'),
        output: z.string().min(1).default('{home}/slurm-%j.out').describe('Job stdout/stderr file; `{home}` is the customer\'s home, SLURM patterns such as %j apply'),
        path: z.string().min(1).default('/usr/local/bin:/usr/bin:/bin').describe('PATH in the job\'s environment (which is only HOME, USER, LOGNAME, PATH and SLURM_JOB_NAME, plus what SLURM adds)'),
        maxScriptBytes: z.number().int().min(1024).max(64 << 20).default(4 << 20).describe('Largest job script accepted (SLURM\'s default MaxBatchScriptSize is 4 MB)'),
      })
      .strict()
      .describe('SLURM access'),
    provider: z
      .object({
        prices: z
          .object({
            cpuPerMin: credits.describe('Credits per CPU-minute (decimal, 18 decimals on chain)'),
            memPerMin: credits.default('0').describe('Credits per MB-of-memory-minute'),
            gpuPerMin: credits.default('0').describe('Credits per GPU-minute'),
          })
          .strict()
          .describe('Prices registered on chain'),
        labels: z.record(z.string().min(1).max(256), z.string().max(1024)).default({}).describe('Labels registered on chain (key -> value), e.g. {"region": "eu-west", "os": "linux"}'),
        approvalPollMs: z.number().int().min(100).default(10_000).describe('While waiting for an admin to approve the registration, how often it is checked'),
      })
      .strict()
      .describe('What the provider registers'),
    sbatch: z
      .object({
        endpoint: z.string().regex(/^[^\s:]+:\d+$/, 'HOST:PORT').describe('The sbatch service (gRPC), HOST:PORT'),
        tls: z
          .object({
            caFile: z.string().min(1).optional().describe('CA bundle the service\'s certificate is verified against (default: the system\'s)'),
            insecure: z.boolean().default(false).describe('Do not verify the certificate (warned at every start)'),
          })
          .strict()
          .optional()
          .describe('TLS to the service; omitted: plaintext (devnet only)'),
        timeoutMs: z.number().int().min(100).default(10_000).describe('Deadline of each call'),
      })
      .strict()
      .describe('Where job scripts come from'),
    users: z
      .object({
        resolver: z
          .enum(['nss', 'ldap', 'gridlink'])
          .default('nss')
          .describe('How the customer\'s Linux user is found: `nss` (an existing user, through getent: files, SSSD, nslcd), `ldap` (created on first use in the directory of users.ldap, then awaited in NSS) or `gridlink` (no directory server: uids handed out by the supervisor in its state database, resolved on every host by the gridlink NSS module from the users database file, users.gridlink)'),
        minUid: z.number().int().min(1).default(1000).describe('A job never runs as a user below this uid'),
        gid: z.number().int().min(1).optional().describe('resolver `nss`: when set, the customer\'s primary group must be this gid (the cluster-users group; with `ldap` it is users.ldap.group.gidNumber)'),
        cacheMs: z.number().int().min(0).default(30_000).describe('resolver `nss`: how long a resolved user is remembered (0: look up every time; with `ldap` see users.ldap.cacheMs)'),
        ldap: ldapConfigSchema.optional().describe('resolver `ldap`: the directory where customers\' users are created (the same settings as `gridlink ldap-connector`)'),
        gridlink: gridlinkUsersSchema.default({}).describe('resolver `gridlink`: the users database file and the uids handed out'),
        nssWaitMs: z
          .number()
          .int()
          .min(0)
          .default(20_000)
          .describe('resolver `ldap`: how long to wait for this host\'s NSS (SSSD) to show a user the directory has before the claim is retried (0: do not check)'),
      })
      .strict()
      .default({})
      .describe('The customer\'s Linux user (its name is the lower-case 0x address)'),
    claims: z
      .object({
        pollMs: z.number().int().min(50).default(500).describe('How often the chain is read for claims and queue lengths (a WebSocket head subscription, when chain.wsUrl is set, wakes it sooner)'),
        logConfirmations: z
          .number()
          .int()
          .min(1)
          .max(128)
          .default(1)
          .describe('Claim logs are acted on at this depth (1 = as soon as mined). A reorg deeper than this is detected (the hashes of recorded blocks are kept) and the logs above its fork are read again: a claim the chain no longer holds is closed if not yet submitted, one re-mined elsewhere keeps its state, a claim re-mined for another job is recorded; a submitted job whose claim is gone is left to reconciliation. On a chain that reorganises, set it to the reorg depth: acting on a claim that is then orphaned wastes work'),
        logRange: z.number().int().min(1).max(100_000).default(2000).describe('Blocks per eth_getLogs call'),
        fromBlock: z.number().int().min(0).optional().describe('At the very first start, read claim logs from this block (default: the head then)'),
        maxPerRound: z.number().int().min(1).max(5000).default(200).describe('Most claim transactions sent per round and queue'),
        concurrency: z.number().int().min(1).max(1000).default(64).describe('Claimed jobs prepared at once (user, script; the submissions themselves go to slurmctld one at a time)'),
        uncertainGraceMs: z
          .number()
          .int()
          .min(0)
          .default(60_000)
          .describe('A submission that got no answer (or a crash during it) may still reach slurmctld: the claim is looked up in SLURM only after this long, and submitted again only if absent'),
        backoffMs: z.number().int().min(10).default(1000).describe('First retry delay of a claim or action that failed on something unavailable (doubles each time)'),
        maxBackoffMs: z.number().int().min(100).default(60_000).describe('Longest retry delay'),
        staleRecheckMs: z.number().int().min(1000).default(300_000).describe('After a stale claimable-queue head is detected, claiming new jobs waits this long (or until the queue length changes) before one more try'),
      })
      .strict()
      .default({})
      .describe('Claiming jobs, cancellations and top-ups'),
    benchmarks: z
      .object({
        enabled: z.boolean().default(false).describe('Run HPL/STREAM (hpcc) and fio as SLURM jobs before registering and turn the results into labels'),
        user: z.string().min(1).default('nobody').describe('Linux user the benchmark jobs run as'),
        workDir: z.string().min(1).default('/var/lib/gridlink/benchmarks').describe('Directory on shared storage for the benchmark jobs\' files (created for the benchmark user when missing; this process reads the results there); fio measures here unless fioDirectory is set'),
        memoryFraction: z.number().min(0.01).max(0.9).default(0.25).describe('Share of a node\'s memory HPL uses'),
        fioDirectory: z.string().min(1).optional().describe('Directory fio measures (the shared storage customers use); default: workDir'),
        fioSizeMB: z.number().int().min(1).default(1024).describe('fio file size'),
        environment: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}).describe('Extra environment of the benchmark jobs, e.g. {"OMPI_MCA_btl": "self,tcp"} (SLURM_CONF is passed when slurm.slurmConf is set)'),
        quick: z.boolean().default(false).describe('Tiny problem sizes that finish in seconds (tests and the devnet): the figures are meaningless'),
        timeoutMinutes: z.number().int().min(1).default(60).describe('Time limit of each benchmark job'),
        maxAgeDays: z.number().min(0).default(30).describe('Results older than this, or taken on other hardware, are measured again'),
      })
      .strict()
      .default({})
      .describe('Benchmarks turned into labels'),
    metricsListen: listen.optional().describe('Where /metrics and /healthz are served; omitted: not served'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.chain.keyFile && c.chain.signer) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['chain', 'signer'], message: 'give either chain.keyFile or chain.signer, not both' });
    if (c.users.resolver === 'ldap' && !c.users.ldap) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['users', 'ldap'], message: 'resolver "ldap" needs users.ldap (url, caFile, bindDn, bindPasswordFile, server, usersDn, group, homeRoot, uidNumbers)' });
    if (c.users.resolver === 'ldap' && c.users.gid !== undefined && c.users.ldap && c.users.gid !== c.users.ldap.group.gidNumber)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['users', 'gid'], message: `with resolver "ldap" the customers' group is users.ldap.group.gidNumber (${c.users.ldap.group.gidNumber}): drop users.gid or make them equal` });
    if (c.users.ldap && c.users.ldap.uidNumbers.min < c.users.minUid)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['users', 'ldap', 'uidNumbers', 'min'], message: `below users.minUid (${c.users.minUid}): customers would get uids the supervisor refuses` });
    if (c.users.resolver === 'gridlink' && c.users.gridlink.firstUid < c.users.minUid)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['users', 'gridlink', 'firstUid'], message: `below users.minUid (${c.users.minUid}): customers would get uids the supervisor refuses` });
    if (c.users.gridlink.maxUid < c.users.gridlink.firstUid)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['users', 'gridlink', 'maxUid'], message: 'below users.gridlink.firstUid' });
    if (c.slurm.backend === 'ssh' && !c.slurm.ssh) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['slurm', 'ssh'], message: 'backend "ssh" needs slurm.ssh (host, privateKeyPath, hostKey)' });
    if (c.slurm.ssh && !c.slurm.ssh.hostKey && !c.slurm.ssh.insecureSkipHostKeyCheck)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['slurm', 'ssh', 'hostKey'], message: 'give the login node\'s host key (or set insecureSkipHostKeyCheck, never in production)' });
  });

export type SupervisorConfigInput = z.input<typeof supervisorConfigSchema>;
export type SupervisorConfig = z.output<typeof supervisorConfigSchema>;

export class SupervisorConfigError extends Error {
  override readonly name = 'SupervisorConfigError';
}

export function parseSupervisorConfig(input: unknown): SupervisorConfig {
  const r = supervisorConfigSchema.safeParse(input);
  if (!r.success) throw new SupervisorConfigError(`invalid supervisor configuration: ${formatZodIssues(r.error.issues)}`);
  return r.data;
}
