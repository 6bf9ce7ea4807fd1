// users-sync-metrics.ts - the users database's propagation on /metrics
// (resolver "gridlink"): the version the supervisor wrote, and per host that
// pulls it or is listed in users.gridlink.sync.hosts the version it holds and
// when it last asked (src/userdb/host-reports.ts, read at each scrape).
import { Gauge, type Registry } from 'prom-client';

import type { HostReport, HostReports } from '../userdb/host-reports.js';

export function registerUsersSyncMetrics(registry: Registry, o: { written: () => number; hosts: HostReports }): void {
  const reg = [registry];
  new Gauge({
    name: 'gridlink_users_db_version',
    help: 'The version of the users database file the supervisor last wrote (resolver "gridlink")',
    registers: reg,
    collect() {
      this.set(o.written());
    },
  });
  const perHost = (name: string, help: string, value: (h: HostReport) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['host', 'listed'],
      registers: reg,
      collect() {
        this.reset();
        for (const h of o.hosts.all()) if (h.listed || h.lastSeen !== undefined) this.set({ host: h.host, listed: String(h.listed) }, value(h));
      },
    });
  perHost(
    'gridlink_users_db_host_version',
    'The users database version each host\'s relay said it held at its last request (0: never asked); listed="true" when users.gridlink.sync.hosts names it',
    (h) => h.version ?? 0,
  );
  perHost(
    'gridlink_users_db_host_last_seen_seconds',
    'Unix time of each host\'s last users database request (0: never; written at most every 30 s while its version stays the same)',
    (h) => (h.lastSeen === undefined ? 0 : h.lastSeen / 1000),
  );
}
