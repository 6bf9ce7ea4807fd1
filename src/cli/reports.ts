// reports.ts - `gridlink reports`: the reporter's reports and where each one
// is in its life (planned, signed with nonce and fees, mined, confirmed,
// done, parked with the decoded reason). Reads the state database read-only,
// beside a running reporter.
import { Command, Option } from 'commander';

import { jobStatusName } from '../metascheduler/status.js';
import { normaliseJobId } from '../reporter/jobmap.js';
import { REPORT_STATES, Reports, type Report, type ReportState } from '../reporter/reports.js';
import { openStateDb } from '../compose/state-store.js';
import { stateDbPath, type Db } from '../state/db.js';

interface TxView {
  nonce: number;
  hash: string | null;
  maxFeeWei: string | null;
  priorityFeeWei: string | null;
  attempts: number;
  minedBlock: number | null;
}

function txOf(db: Db, txId: number | null): TxView | undefined {
  if (txId === null) return undefined;
  const t = db.prepare('SELECT nonce, mined_hash, mined_block FROM txs WHERE id = ?').get(txId) as { nonce: number; mined_hash: string | null; mined_block: number | null } | undefined;
  if (!t) return undefined;
  const a = db.prepare('SELECT hash, max_fee, priority_fee FROM tx_attempts WHERE tx_id = ? ORDER BY created_at DESC, rowid DESC').all(txId) as Array<{ hash: string; max_fee: string; priority_fee: string }>;
  return { nonce: t.nonce, hash: t.mined_hash ?? a[0]?.hash ?? null, maxFeeWei: a[0]?.max_fee ?? null, priorityFeeWei: a[0]?.priority_fee ?? null, attempts: a.length, minedBlock: t.mined_block };
}

function row(r: Report, tx: TxView | undefined): Record<string, unknown> {
  return {
    id: r.id,
    gridJobId: r.gridJobId,
    status: jobStatusName(r.status),
    minutes: r.minutes,
    state: r.state,
    ...(tx ? { nonce: tx.nonce, txHash: tx.hash, maxFeeWei: tx.maxFeeWei, priorityFeeWei: tx.priorityFeeWei, attempts: tx.attempts } : {}),
    minedBlock: r.minedBlock,
    lastError: r.lastError,
    exitCode: Number(r.exitCode),
    reason: r.reason,
    plannedAt: new Date(r.plannedAt).toISOString(),
  };
}

export function reportsCommand(): Command {
  return new Command('reports')
    .description("show the reporter's reports and their state: planned -> signed (nonce, fees, raw tx) -> mined -> confirmed, or done / parked with the reason")
    .requiredOption('--store <dir>', "the reporter's store directory (as given to `gridlink reporter run --store`)")
    .option('--parked', 'only parked reports (reverts an operator must look at)')
    .addOption(new Option('--state <state>', 'only reports in this state').choices([...REPORT_STATES]))
    .option('--job <id>', 'only this grid job (0x + 64 hex)')
    .option('--json', 'one JSON object per line instead of a table')
    .option('-n, --limit <count>', 'at most this many', (v) => Number.parseInt(v, 10), 1000)
    .action((opts: { store: string; parked?: boolean; state?: ReportState; job?: string; json?: boolean; limit: number }) => {
      const db = openStateDb(stateDbPath(opts.store), { readonly: true });
      try {
        const reports = new Reports(db);
        const list = reports.list({
          ...(opts.parked ? { state: 'parked' as const } : opts.state ? { state: opts.state } : {}),
          ...(opts.job ? { gridJobId: normaliseJobId(opts.job) } : {}),
          limit: opts.limit,
        });
        const rows = list.map((r) => row(r, txOf(db, r.txId)));
        if (opts.json) {
          for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
          return;
        }
        const counts = reports.counts();
        process.stdout.write(`reports: ${REPORT_STATES.map((s) => `${counts[s]} ${s}`).join(', ')}\n`);
        if (rows.length === 0) return;
        const cols = ['id', 'gridJobId', 'status', 'minutes', 'state', 'nonce', 'minedBlock', 'reason'] as const;
        const cell = (r: Record<string, unknown>, c: string) => {
          const v = r[c];
          if (v === undefined || v === null) return '-';
          const s = String(v);
          return c === 'gridJobId' ? `${s.slice(0, 10)}…${s.slice(-4)}` : s;
        };
        const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => Math.min(cell(r, c).length, c === 'reason' ? 200 : 80))));
        process.stdout.write(`${cols.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);
        for (const r of rows) process.stdout.write(`${cols.map((c, i) => cell(r, c).slice(0, 200).padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
      } finally {
        db.close();
      }
    });
}
