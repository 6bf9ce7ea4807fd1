// ports.ts - free loopback ports for the daemons the harnesses start (SLURM,
// LDAP servers, anvil, the devnet's services).
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** Where chosen ports start: below it are well-known and registered services' usual ports. */
const LOW = 10_000;

/**
 * The first port of the kernel's ephemeral range (net.ipv4.ip_local_port_range,
 * 32768 by default): ports below it are never handed out for a bind to port 0
 * or as the local port of an outgoing connection.
 */
export function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > LOW + 1000) return first;
  } catch {
    // not Linux, or no /proc: the kernel's default
  }
  return 32_768;
}

function listenOn(srv: Server, port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' || e.code === 'EACCES' ? resolve(false) : reject(e));
    srv.once('error', onError);
    srv.listen({ port, host, exclusive: true }, () => {
      srv.off('error', onError);
      resolve(true);
    });
  });
}

/**
 * Distinct free loopback ports, chosen at random below the kernel's
 * ephemeral range. A daemon that a test stops and starts again on its port
 * (slurmctld after kill -9, anvil, an LDAP server) leaves the port free in
 * between: a port of the ephemeral range could then be taken by any other
 * process's listen(0) or outgoing connection, and the restart failed
 * "Address already in use" (seen in CI: slurmctld 25.11.7 restarted 100 ms
 * after kill -9 while other test lanes opened connections). Below the range
 * only another explicit choice can take it, among ~20,000 ports. All
 * listeners stay open until every port is chosen so no port is chosen twice.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const high = ephemeralStart();
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let tries = 0; ports.length < count; tries++) {
      if (tries > 200 + count * 20) throw new Error(`freePorts: no ${count} free ports between ${LOW} and ${high - 1} on ${host} after ${tries} tries`);
      const port = LOW + Math.floor(Math.random() * (high - LOW));
      if (ports.includes(port)) continue;
      const srv = createServer();
      if (await listenOn(srv, port, host)) {
        servers.push(srv);
        ports.push(port);
      } else {
        srv.close();
      }
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
