// The NSS user resolver on this host's real NSS (files): the customer's user
// by its lower-case address, system users refused, a burst of lookups of one
// customer served by one getent, bad addresses refused before any lookup.
import { describe, expect, it } from 'vitest';

import { createNssResolver } from '../../src/supervisor/users-nss.js';
import { UserResolveError } from '../../src/supervisor/users.js';
import { ensureLocalUsers } from '../helpers/local-users.js';

const ADDR = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';

describe('NSS user resolver', () => {
  it('resolves the lower-case address through NSS, with home, uid and gid', async () => {
    const [u] = ensureLocalUsers([ADDR.toLowerCase()]);
    const r = createNssResolver();
    await expect(r.resolve(ADDR)).resolves.toEqual({ name: ADDR.toLowerCase(), uid: u!.uid, gid: u!.gid, home: u!.home });
    // 100 concurrent resolutions of one customer: one answer, all equal.
    const all = await Promise.all(Array.from({ length: 100 }, () => r.resolve(ADDR)));
    expect(new Set(all.map((x) => x.uid))).toEqual(new Set([u!.uid]));
  });

  it('refuses what must never run a job: unknown users (retryable), system users, other groups, bad addresses', async () => {
    const r = createNssResolver({ cacheMs: 0 });
    const unknown = await r.resolve('0x000000000000000000000000000000000000dEaD').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(UserResolveError);
    expect((unknown as UserResolveError).retryable).toBe(true);
    expect((unknown as Error).message).toMatch(/no Linux user 0x000000000000000000000000000000000000dead/);
    for (const bad of ['root', '0x123', `${ADDR},uid=0`, `${ADDR}\n`, '*', 'x'.repeat(1 << 20)]) {
      await expect(r.resolve(bad as never)).rejects.toThrow(/not a 0x-prefixed 20-byte hex address/);
    }
    const [u] = ensureLocalUsers([ADDR.toLowerCase()]);
    await expect(createNssResolver({ gid: u!.gid + 1, cacheMs: 0 }).resolve(ADDR)).rejects.toThrow(/not the cluster-users group/);
    await expect(createNssResolver({ minUid: u!.uid + 1, cacheMs: 0 }).resolve(ADDR)).rejects.toThrow(/never runs as a system user/);
  });
});
