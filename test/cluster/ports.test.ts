// The harnesses' ports: below the kernel's ephemeral range, distinct, free.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';

import { ephemeralStart, freePorts } from '../../harness/cluster/ports.js';

describe('freePorts', () => {
  it('chooses distinct free ports below the ephemeral range, which listen(0) never hands out', async () => {
    const start = ephemeralStart();
    expect(start).toBeGreaterThan(10_000);
    const ports = await freePorts(20);
    expect(new Set(ports).size).toBe(20);
    for (const p of ports) expect(p).toBeGreaterThanOrEqual(10_000), expect(p).toBeLessThan(start);
    // each can be listened on again once freePorts returned
    const srv = createServer();
    await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(ports[0], '127.0.0.1', () => resolve()));
    await new Promise((r) => srv.close(r));
  });

});
