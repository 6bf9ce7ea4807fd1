// Hostile customer addresses never reach the directory: each is refused by
// the connector with a clear error before it opens any connection (a TCP
// listener standing in for the directory counts connections).
import { createServer, type Server } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLdapConnector, DirectoryError, ldapConfigSchema } from '../../src/ldap/index.js';
import { CustomerAddressError, customerLogin } from '../../src/util/customer-login.js';

const LOWER = '0x52908400098527886e0f7030069857d2e4169ee7';
const CHECKSUMMED = '0x52908400098527886E0F7030069857D2E4169EE7';

const hostile: Array<[string, unknown, RegExp]> = [
  ['a comma (DN injection)', `${LOWER.slice(0, 41)},`, /only 0-9, a-f/],
  ['a star (filter wildcard)', `${LOWER.slice(0, 41)}*`, /only 0-9, a-f/],
  ['a parenthesis (filter injection)', `${LOWER.slice(0, 41)}(`, /only 0-9, a-f/],
  ['a NUL', `${LOWER.slice(0, 41)}\0`, /only 0-9, a-f/],
  ['a newline', `${LOWER.slice(0, 41)}\n`, /only 0-9, a-f/],
  ['an injection longer than an address', `${LOWER})(uid=*`, /42 characters/],
  ['1 MB', 'a'.repeat(1 << 20), /1048576 characters/],
  ['a wrong checksum', '0x52908400098527886E0F7030069857D2E4169Ee7', /wrong EIP-55 checksum/],
  ['no 0x', `00${LOWER.slice(2)}`, /only 0-9, a-f/],
  ['not a string', 42, /not a string/],
];

describe('customerLogin', () => {
  it('normalises every spelling of one address to one login', () => {
    expect(customerLogin(LOWER)).toBe(LOWER);
    expect(customerLogin(CHECKSUMMED)).toBe(LOWER);
    expect(customerLogin(LOWER.toUpperCase().replace('0X', '0x'))).toBe(LOWER);
    const other = '0xe286f4cb77ab650986d0de3feab83fe7d90a6e97'; // all caps is not its checksum
    expect(customerLogin(`0x${other.slice(2).toUpperCase()}`)).toBe(other);
  });
  it.each(hostile)('refuses %s', (_what, input, msg) => {
    expect(() => customerLogin(input)).toThrow(CustomerAddressError);
    expect(() => customerLogin(input)).toThrow(msg);
  });
  it('never quotes more than 64 characters of the input back', () => {
    expect(() => customerLogin('x'.repeat(1 << 20))).toThrow(CustomerAddressError);
    const message = (() => {
      try {
        customerLogin('x'.repeat(1 << 20));
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(message.length).toBeGreaterThan(0);
    expect(message.length).toBeLessThan(200);
  });
});

describe('the connector refuses hostile addresses before any LDAP call', () => {
  let server: Server;
  let connections = 0;
  let port = 0;
  beforeAll(async () => {
    server = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  /** A connector whose directory is the counting listener. */
  const connector = () => {
    const dir = mkdtempSync(join(tmpdir(), 'gl-ldap-addr-'));
    writeFileSync(join(dir, 'pw'), 'secret', { mode: 0o600 });
    const config = ldapConfigSchema.parse({
      url: `ldap://127.0.0.1:${port}`,
      insecure: true,
      bindDn: 'cn=admin,dc=x',
      bindPasswordFile: join(dir, 'pw'),
      server: 'openldap',
      usersDn: 'ou=People,dc=x',
      group: { dn: 'cn=users,ou=Groups,dc=x', gidNumber: 5000 },
      homeRoot: join(dir, 'homes'),
      uidNumbers: { min: 10000, max: 20000 },
      connectTimeoutMs: 500,
    });
    return createLdapConnector({ config, log: pino({ level: 'silent' }) });
  };

  it.each(hostile)('%s', async (_what, input, msg) => {
    const c = connector();
    const err = await c.ensureUser(input as string).catch((e: unknown) => e);
    await c.close();
    expect(err).toBeInstanceOf(DirectoryError);
    expect((err as DirectoryError).kind).toBe('address');
    expect((err as DirectoryError).retryable).toBe(false);
    expect((err as Error).message).toMatch(msg);
    expect(connections).toBe(0);
  });

  it('a valid address does reach the directory (the listener counts)', async () => {
    const c = connector();
    const err = await c.ensureUser(LOWER).catch((e: unknown) => e);
    await c.close();
    expect((err as DirectoryError).kind).toBe('unreachable');
    expect((err as Error).message).toMatch(/unreachable/);
    expect(connections).toBeGreaterThan(0);
  });
});
