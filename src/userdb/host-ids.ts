// host-ids.ts - the uids and gids this host's own files (/etc/passwd,
// /etc/group) use: a customer never gets one of them ("files" comes before
// "gridlink" in nsswitch.conf, so a local account with a customer's uid would
// own the customer's files).
import { readFileSync, statSync } from 'node:fs';

function ids(file: string, field: number): Set<number> {
  const out = new Set<number>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const v = Number(line.split(':')[field]);
    if (line && Number.isInteger(v)) out.add(v);
  }
  return out;
}

/** A reader of the host's ids, read again only when a file changed. */
export function hostIds(passwd = '/etc/passwd', group = '/etc/group'): () => { uids: ReadonlySet<number>; gids: ReadonlySet<number> } {
  let key = '';
  let cached = { uids: new Set<number>(), gids: new Set<number>() };
  const stamp = (f: string) => {
    try {
      const s = statSync(f);
      return `${s.ino}:${s.mtimeMs}:${s.size}`;
    } catch {
      return '-';
    }
  };
  return () => {
    const k = `${stamp(passwd)}|${stamp(group)}`;
    if (k !== key) {
      cached = { uids: ids(passwd, 2), gids: ids(group, 2) };
      key = k;
    }
    return cached;
  };
}
