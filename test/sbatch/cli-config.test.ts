// `gridlink sbatch-service` settings: flags, then environment, then defaults, validated.
import { describe, expect, it } from 'vitest';

import { parseDurationMs, resolveSbatchServiceConfig } from '../../src/cli/sbatch-service.js';

const MS = '0x5FbDB2315678afecb367f032d93F642f64180aa3';

describe('sbatch-service configuration', () => {
  it('parses durations', () => {
    expect(parseDurationMs('90')).toBe(90_000);
    expect(parseDurationMs('1500ms')).toBe(1500);
    expect(parseDurationMs('10m')).toBe(600_000);
    expect(parseDurationMs('24h')).toBe(86_400_000);
    expect(parseDurationMs('0s')).toBeUndefined();
    expect(parseDurationMs('ten')).toBeUndefined();
  });

  it('takes flags over the environment, and defaults the rest', () => {
    const c = resolveSbatchServiceConfig(
      { rpcUrl: 'http://127.0.0.1:8545', challengeTtl: '2m' },
      { GRIDLINK_RPC_URL: 'http://ignored:1', GRIDLINK_META_SCHEDULER: MS, GRIDLINK_SBATCH_LISTEN: '[::1]:0', GRIDLINK_SBATCH_KEY_TTL: '1h' },
    );
    expect(c).toMatchObject({ host: '::1', port: 0, rpcUrl: 'http://127.0.0.1:8545', metaScheduler: MS, challengeTtlMs: 120_000, keyTtlMs: 3_600_000, maxScriptBytes: 1024 * 1024, tls: undefined });
    expect(resolveSbatchServiceConfig({ rpcUrl: 'http://x:1', metaScheduler: MS }, {})).toMatchObject({ host: '127.0.0.1', port: 7392, challengeTtlMs: 600_000 });
  });

  it('names every problem in one message', () => {
    expect(() => resolveSbatchServiceConfig({ listen: 'nope', tlsCert: 'c.pem', keyTtl: 'soon' }, {})).toThrow(
      /listen: expected HOST:PORT.*rpcUrl: required: pass --rpc-url.*metaScheduler: required.*keyTtl: the key TTL must be a positive duration/,
    );
    expect(() => resolveSbatchServiceConfig({ rpcUrl: 'http://x:1', metaScheduler: MS, tlsCert: 'c.pem' }, {})).toThrow(/both --tls-cert and --tls-key/);
    expect(() => resolveSbatchServiceConfig({ rpcUrl: 'ftp://x', metaScheduler: '0x12' }, {})).toThrow(/rpcUrl: must be an http\(s\) URL.*metaScheduler: must be/);
  });
});
