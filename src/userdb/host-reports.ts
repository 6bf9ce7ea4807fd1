// host-reports.ts - which hosts pull the users database, kept in the state
// database (gridlink_user_hosts, schema.ts migration 4) so that the
// operator's views read it beside the supervisor: every request of a host's
// relay names the host and the version it holds (sync-protocol.ts), the
// supervisor's sync server records it here, and users.gridlink.sync.hosts is
// recorded as the `listed` flag at each start. `gridlink users sync --check`,
// `gridlink doctor`'s users check and the metrics compare the two
// (syncHostsReview): a host that pulls but is not listed (a typo in the list,
// a node added to the partition and not to the list: its customers' jobs may
// start before it knows them) and a listed host never seen (every submission
// waits for it, then fails).
import type { Db } from '../state/db.js';

export interface HostReport {
  host: string;
  /** In users.gridlink.sync.hosts (as the supervisor last started with it). */
  listed: boolean;
  /** The version it said it held at its last request; undefined: never asked. */
  version: number | undefined;
  /** Unix ms. */
  firstSeen: number | undefined;
  lastSeen: number | undefined;
}

interface Raw {
  host: string;
  listed: number;
  version: number | null;
  first_seen: number | null;
  last_seen: number | null;
}

/** A host's request is written when its version changes, else at most every this often (ms): last_seen is that precise. */
export const HOST_SEEN_WRITE_MS = 30_000;

export class HostReports {
  private readonly written = new Map<string, { version: number; at: number }>();
  private readonly upsert;

  constructor(private readonly db: Db) {
    this.upsert = db.prepare<[string, number, number, number]>(
      `INSERT INTO gridlink_user_hosts (host, listed, version, first_seen, last_seen) VALUES (?, 0, ?, ?, ?)
       ON CONFLICT (host) DO UPDATE SET version = excluded.version, last_seen = excluded.last_seen, first_seen = coalesce(first_seen, excluded.first_seen)`,
    );
  }

  /** The hosts of users.gridlink.sync.hosts: listed, every other host not. */
  setListed(hosts: readonly string[]): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE gridlink_user_hosts SET listed = 0').run();
      const ins = this.db.prepare<[string]>('INSERT INTO gridlink_user_hosts (host, listed) VALUES (?, 1) ON CONFLICT (host) DO UPDATE SET listed = 1');
      for (const h of hosts) ins.run(h);
    })();
  }

  /** A request of `host` saying it holds `version`. */
  record(host: string, version: number, at = Date.now()): void {
    const last = this.written.get(host);
    if (last && last.version === version && at - last.at < HOST_SEEN_WRITE_MS) return;
    this.upsert.run(host, version, at, at);
    this.written.set(host, { version, at });
  }

  all(): HostReport[] {
    return this.db
      .prepare<[], Raw>('SELECT host, listed, version, first_seen, last_seen FROM gridlink_user_hosts ORDER BY host')
      .all()
      .map((r) => ({ host: r.host, listed: r.listed === 1, version: r.version ?? undefined, firstSeen: r.first_seen ?? undefined, lastSeen: r.last_seen ?? undefined }));
  }
}

/** A listed host not heard from for this long (ms) is "not seen lately": a live relay asks at least every waitMs (25 s by default, at most 60 s). */
export const HOST_STALE_MS = 3 * 60_000;

export interface SyncHostsReview {
  /** Pulling (a request within HOST_STALE_MS), but not in users.gridlink.sync.hosts. */
  unlisted: HostReport[];
  /** Listed, and no request ever came from it. */
  neverSeen: string[];
  /** Listed, last request more than HOST_STALE_MS ago. */
  stale: HostReport[];
  /** Listed and seen lately, but holding an older version than `current`. */
  behind: HostReport[];
}

/** The mistakes in a host list: `listed` (users.gridlink.sync.hosts) against what the hosts reported. */
export function reviewSyncHosts(listed: readonly string[], reports: readonly HostReport[], current: number, now = Date.now()): SyncHostsReview {
  const seen = new Map(reports.filter((r) => r.lastSeen !== undefined).map((r) => [r.host, r]));
  const want = new Set(listed);
  const review: SyncHostsReview = { unlisted: [], neverSeen: [], stale: [], behind: [] };
  // a host that stopped pulling long ago (taken out of the partition) is no mistake of the list
  for (const r of seen.values()) if (!want.has(r.host) && now - r.lastSeen! <= HOST_STALE_MS) review.unlisted.push(r);
  for (const h of want) {
    const r = seen.get(h);
    if (!r) review.neverSeen.push(h);
    else if (now - r.lastSeen! > HOST_STALE_MS) review.stale.push(r);
    else if ((r.version ?? 0) < current) review.behind.push(r);
  }
  return review;
}

const ago = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 3_600_000)} h`);

/** One line per problem of a review (empty: none), for the CLI and doctor. */
export function describeSyncHostsReview(r: SyncHostsReview, now = Date.now()): string[] {
  const out: string[] = [];
  if (r.neverSeen.length) out.push(`listed in users.gridlink.sync.hosts but never pulled: ${r.neverSeen.join(', ')} (every new customer's submission waits for it, then fails: check the host's relay users_url= and host=, and the spelling in the list)`);
  if (r.stale.length) out.push(`listed, not seen for over ${HOST_STALE_MS / 60_000} min: ${r.stale.map((h) => `${h.host} (version ${h.version ?? 0}, ${ago(now - h.lastSeen!)} ago)`).join(', ')}`);
  if (r.unlisted.length) out.push(`pulling but not in users.gridlink.sync.hosts: ${r.unlisted.map((h) => `${h.host} (version ${h.version ?? 0}, ${ago(now - h.lastSeen!)} ago)`).join(', ')} (a job may start there before the host knows its customer: add it to the list if it resolves customers)`);
  if (r.behind.length) out.push(`listed, behind: ${r.behind.map((h) => `${h.host} (version ${h.version ?? 0})`).join(', ')}`);
  return out;
}
