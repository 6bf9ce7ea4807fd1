// The connector's configuration: what is refused, with which words, and the
// reference page kept equal to the schema.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { connectorConfigReference, parseConnectorConfig } from '../../src/ldap/connector-config.js';
import { parseSupervisorConfig } from '../../src/supervisor/config.js';

const ldap = {
  url: 'ldaps://ldap.example.org:636',
  caFile: '/etc/gridlink/ldap-ca.pem',
  bindDn: 'cn=gridlink,ou=Services,dc=example,dc=org',
  bindPasswordFile: '/etc/gridlink/ldap.pw',
  server: '389ds',
  usersDn: 'ou=People,dc=example,dc=org',
  group: { dn: 'cn=grid-customers,ou=Groups,dc=example,dc=org', gidNumber: 59001 },
  homeRoot: '/shared/home',
  uidNumbers: { min: 200000, max: 299999 },
};

describe('ldap-connector configuration', () => {
  it('takes a complete section with its defaults', () => {
    const c = parseConnectorConfig({ ldap });
    expect(c.ldap).toMatchObject({ insecure: false, loginShell: '/bin/bash', timeoutMs: 10_000, uidNumbers: { dnaMagic: '-1' } });
  });

  it.each([
    [{ ...ldap, caFile: undefined }, /ldap.caFile: caFile is required/],
    [{ ...ldap, url: 'http://ldap.example.org' }, /ldap.url: url must be ldap:\/\/HOST\[:PORT\] or ldaps:\/\//],
    [{ ...ldap, homeRoot: 'home' }, /ldap.homeRoot: homeRoot must be an absolute path/],
    [{ ...ldap, uidNumbers: { min: 5000, max: 4000 } }, /uidNumbers.min must not be above uidNumbers.max/],
    [{ ...ldap, uidNumbers: { min: 10, max: 4000 } }, /ldap.uidNumbers.min: Number must be greater than or equal to 1000/],
    [{ ...ldap, usersDn: 'People' }, /usersDn must be a DN/],
    [{ ...ldap, server: 'ad' }, /ldap.server: Invalid enum value/],
  ])('refuses %#', (bad, msg) => {
    expect(() => parseConnectorConfig({ ldap: bad })).toThrow(msg);
  });

  it('insecure needs no CA', () => {
    expect(parseConnectorConfig({ ldap: { ...ldap, caFile: undefined, insecure: true } }).ldap.insecure).toBe(true);
  });

  it('docs/ldap-connector-config.md is the generated reference', () => {
    expect(readFileSync(join(import.meta.dirname, '../../docs/ldap-connector-config.md'), 'utf8')).toBe(connectorConfigReference());
  });
});

describe('the supervisor\'s users.ldap', () => {
  const base = {
    chain: { rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, metaScheduler: '0x5FbDB2315678afecb367f032d93F642f64180aa3', keyFile: '/k' },
    ingest: { storeDir: '/var/lib/gridlink' },
    slurm: { partition: 'grid' },
    provider: { prices: { cpuPerMin: '1', memPerMin: '0', gpuPerMin: '0' } },
    sbatch: { endpoint: '127.0.0.1:7392' },
  };
  it('resolver ldap needs the ldap section', () => {
    expect(() => parseSupervisorConfig({ ...base, users: { resolver: 'ldap' } })).toThrow(/users.ldap: resolver "ldap" needs users.ldap/);
  });
  it('a uidNumber range below minUid is refused', () => {
    expect(() => parseSupervisorConfig({ ...base, users: { resolver: 'ldap', minUid: 300000, ldap } })).toThrow(/users.ldap.uidNumbers.min: below users.minUid/);
  });
  it('accepts resolver ldap with its section', () => {
    expect(parseSupervisorConfig({ ...base, users: { resolver: 'ldap', ldap } }).users).toMatchObject({ resolver: 'ldap', nssWaitMs: 20_000, ldap: { server: '389ds' } });
  });
});
