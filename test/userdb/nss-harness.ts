// nss-harness.ts - the gridlink NSS module through glibc for the tests: the
// mount namespace (harness/nss/namespace.ts, which the devnet uses too) and a
// query program running in one.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { buildNss, inNssNamespace } from '../../harness/nss/namespace.js';

/** A running query program (native/nss/nss_gridlink_test.c): one line asked, one line answered. */
export interface NssQuerier {
  ask(line: string): Promise<string>;
  child: ChildProcess;
  close(): Promise<void>;
}

/** `env`: variables the query program gets (e.g. LD_PRELOAD). */
export function startQuerier(nsswitch: string, dbDir: string, env: Record<string, string> = {}): NssQuerier {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const [cmd, ...args] = inNssNamespace(nsswitch, dbDir, [...(vars.length ? ['env', ...vars] : []), join(buildNss(), 'nss_gridlink_test')]);
  const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<(l: string) => void> = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  let exited: string | undefined;
  child.on('exit', (code, sig) => {
    exited = `the query program exited (${sig ?? code})`;
    for (const w of waiting.splice(0)) w(exited);
  });
  return {
    child,
    ask(line: string) {
      if (exited) return Promise.resolve(exited);
      return new Promise((res) => {
        waiting.push(res);
        child.stdin!.write(`${line}\n`);
      });
    },
    async close() {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.stdin!.end();
      await done;
    },
  };
}
