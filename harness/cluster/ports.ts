// ports.ts - free loopback ports for a test cluster's daemons.
import { createServer, type Server } from 'node:net';

/**
 * Distinct free loopback ports. All listeners stay open until every port is
 * chosen so the kernel cannot hand the same port out twice.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const srv = createServer();
      servers.push(srv);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen(0, host, () => {
            const a = srv.address();
            resolve(typeof a === 'object' && a ? a.port : 0);
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** One free loopback port. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return (await freePorts(1, host))[0]!;
}
