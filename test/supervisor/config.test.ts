// The supervisor's configuration: file + GRIDLINK_* environment, zod errors
// that say what to fix, and the committed reference equal to the generated one.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { applyEnv, loadConfigInput } from '../../src/util/config-env.js';
import { configReference } from '../../src/supervisor/config-reference.js';
import { parseSupervisorConfig, SUPERVISOR_CREDIT_FIELDS, supervisorConfigSchema } from '../../src/supervisor/config.js';
import { formatResolvedConfig } from '../../src/util/config-print.js';

const minimal = {
  chain: { rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, metaScheduler: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
  ingest: { storeDir: '/var/lib/gridlink' },
  slurm: { partition: 'grid' },
  provider: { prices: { cpuPerMin: '0.5' } },
  sbatch: { endpoint: 'sbatch.example:443', tls: {} },
};

describe('supervisor configuration', () => {
  it('parses a minimal file with defaults, prices in credit-wei', () => {
    const c = parseSupervisorConfig(minimal);
    expect(c.slurm.backend).toBe('local');
    expect(c.provider.prices.cpuPerMin).toBe(5n * 10n ** 17n);
    expect(c.provider.prices.gpuPerMin).toBe(0n);
    expect(c.claims.pollMs).toBe(500);
    expect(c.chain.gasMargin).toBe(0.2);
  });

  it('--check-config prints amounts in the units of the file: copied back, the same configuration', () => {
    const c = parseSupervisorConfig({ ...minimal, chain: { ...minimal.chain, maxFeePerGasGwei: '1.5', priorityFeeGwei: 2 } });
    const printed = JSON.parse(formatResolvedConfig(c, SUPERVISOR_CREDIT_FIELDS)) as { chain: Record<string, unknown>; provider: { prices: Record<string, unknown> } };
    expect(printed.chain.maxFeePerGasGwei).toBe('1.5');
    expect(printed.chain.priorityFeeGwei).toBe('2');
    expect(printed.provider.prices).toMatchObject({ cpuPerMin: '0.5', memPerMin: '0', gpuPerMin: '0' });
    const again = parseSupervisorConfig(printed);
    expect(again.chain.maxFeePerGasGwei).toBe(c.chain.maxFeePerGasGwei);
    expect(again.chain.maxFeePerGasGwei).toBe(1_500_000_000n);
    expect(again.provider.prices).toEqual(c.provider.prices);
  });

  it('environment variables override the file by path, JSON values parsed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gl-supcfg-'));
    const f = join(dir, 'c.json');
    writeFileSync(f, JSON.stringify(minimal));
    const { config, applied } = loadConfigInput(f, {
      GRIDLINK_PROVIDER__PRICES__MEM_PER_MIN: '0.0000001',
      GRIDLINK_PROVIDER__PRICES__CPU_PER_MIN: '0.123456789012345678',
      GRIDLINK_PROVIDER__LABELS: '{"gpu.model":"64"}',
      GRIDLINK_SLURM__PARTITION: '64',
      GRIDLINK_SBATCH__TLS__INSECURE: 'true',
      GRIDLINK_CHAIN__RPC_URL: 'http://10.0.0.5:8545',
      GRIDLINK_CLAIMS__POLL_MS: '250',
      GRIDLINK_SLURM__SSH__HOST: 'login1',
      GRIDLINK_PROVIDER_KEY: '0xnot-a-path',
      GRIDLINK___PROTO____POLLUTED: '1',
    }, supervisorConfigSchema);
    expect(applied).toEqual(['chain.rpcUrl', 'claims.pollMs', 'provider.labels', 'provider.prices.cpuPerMin', 'provider.prices.memPerMin', 'sbatch.tls.insecure', 'slurm.partition', 'slurm.ssh.host']);
    const c = parseSupervisorConfig({ ...config, slurm: { ...(config.slurm as object), ssh: undefined } });
    expect(c.chain.rpcUrl).toBe('http://10.0.0.5:8545');
    expect(c.claims.pollMs).toBe(250);
    // Prices keep every digit, strings stay strings, maps come whole as JSON.
    expect(c.provider.prices.memPerMin).toBe(10n ** 11n);
    expect(c.provider.prices.cpuPerMin).toBe(123456789012345678n);
    expect(c.provider.labels).toEqual({ 'gpu.model': '64' });
    expect(c.slurm.partition).toBe('64');
    expect(c.sbatch.tls?.insecure).toBe(true);
    expect(() => applyEnv({}, { GRIDLINK_PROVIDER__LABELS__GPU_MODEL: 'a100' }, supervisorConfigSchema)).toThrow(/provider.labels is a map: set it whole, as JSON/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(applyEnv({}, { GRIDLINK_X__Y: 's' }).config).toEqual({ x: { y: 's' } }); // without a schema: strings
  });

  it('says what is wrong: unknown keys, bad prices, ssh without a host key', () => {
    expect(() => parseSupervisorConfig({ ...minimal, provider: { prices: { cpuPerMin: 'cheap' } } })).toThrow(/provider.prices.cpuPerMin.*credits/);
    expect(() => parseSupervisorConfig({ ...minimal, provider: { prices: { cpuPerMin: '0.1234567890123456789' } } })).toThrow(/at most 18 decimals/);
    expect(() => parseSupervisorConfig({ ...minimal, provider: { prices: { cpuPerMin: '-1' } } })).toThrow(/non-negative/);
    expect(() => parseSupervisorConfig({ ...minimal, slurm: { partition: 'grid', backend: 'ssh' } })).toThrow(/slurm.ssh.*needs/);
    expect(() => parseSupervisorConfig({ ...minimal, slurm: { partition: 'grid', backend: 'ssh', ssh: { host: 'l', privateKeyPath: '/k' } } })).toThrow(/hostKey/);
    expect(() => parseSupervisorConfig({ ...minimal, claimz: {} })).toThrow(/claimz/);
    expect(() => loadConfigInput('/nonexistent/gl.json', {}, undefined, 'supervisor configuration')).toThrow(/cannot read the supervisor configuration/);
  });

  it('docs/supervisor-config.md is the generated reference, every field documented', () => {
    const ref = configReference();
    expect(readFileSync(join(import.meta.dirname, '../../docs/supervisor-config.md'), 'utf8')).toBe(ref);
    const rows = ref.split('\n').filter((l) => l.startsWith('| `'));
    expect(rows.length).toBeGreaterThan(60);
    for (const r of rows) expect(r.split(/(?<!\\)\|/)[4]!.trim(), r).not.toBe('');
  });
});
