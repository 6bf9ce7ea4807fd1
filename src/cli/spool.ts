// spool.ts - `gridlink spool dump|stat DIR`: look into a spool without consuming it.
import { Command } from 'commander';

import { eventToJson } from '../native/event.js';
import { SpoolReader } from '../native/spool.js';

function openReader(dir: string): SpoolReader {
  try {
    return new SpoolReader(dir);
  } catch (err) {
    throw new Error(`cannot open spool ${dir}: ${(err as Error).message}`);
  }
}

export function spoolCommand(): Command {
  const spool = new Command('spool').description('inspect a gridlink event spool (read-only: nothing is acked)');

  spool
    .command('dump')
    .description('print every unacked record as one JSON line; bytes that are not UTF-8 appear as \\udc80-\\udcff escapes')
    .argument('<dir>', 'spool directory, e.g. /var/spool/gridlink/slurmctld')
    .option('-n, --limit <count>', 'stop after this many records', (v) => Number.parseInt(v, 10))
    .action((dir: string, opts: { limit?: number }) => {
      const reader = openReader(dir);
      let printed = 0;
      try {
        for (;;) {
          const { records, undecodable } = reader.read(1000);
          for (const u of undecodable)
            process.stdout.write(`${JSON.stringify({ undecodable: u.error, pos: u.pos, payloadBase64: u.payload.toString('base64') })}\n`);
          for (const r of records) {
            if (opts.limit !== undefined && printed >= opts.limit) return;
            process.stdout.write(`${JSON.stringify({ ...eventToJson(r.event), pos: r.pos })}\n`);
            printed++;
          }
          if (records.length + undecodable.length === 0) return;
        }
      } finally {
        reader.close();
      }
    });

  spool
    .command('stat')
    .description('print counts and offsets: pending records, ack position, bytes, rejected and skipped records')
    .argument('<dir>', 'spool directory')
    .option('--json', 'print one JSON object')
    .action((dir: string, opts: { json?: boolean }) => {
      const reader = openReader(dir);
      try {
        const st = reader.stat();
        let pending = 0;
        let firstSeq: number | undefined;
        let lastSeq: number | undefined;
        for (const r of reader.readAll()) {
          pending++;
          firstSeq ??= Number(r.event.seq);
          lastSeq = Number(r.event.seq);
        }
        const out = {
          dir,
          spoolId: st.spoolId,
          pendingRecords: pending,
          pendingSeq: pending ? `${firstSeq}..${lastSeq}` : '-',
          nextSeq: st.nextSeq,
          ackedSeq: st.ackedSeq,
          ackPosition: `${st.ack.segment}:${st.ack.offset}`,
          currentSegment: st.currentSegment,
          segments: st.segments,
          bytesOnDisk: st.bytesOnDisk,
          backlogBytes: st.writtenBytes - st.ackedBytes,
          writtenBytes: st.writtenBytes,
          rejectedFull: st.rejectedFull,
          rejectedError: st.rejectedError,
          corruptSkipped: st.corruptSkipped,
        };
        if (opts.json) process.stdout.write(`${JSON.stringify(out)}\n`);
        else for (const [k, v] of Object.entries(out)) process.stdout.write(`${k.padEnd(16)} ${v}\n`);
      } finally {
        reader.close();
      }
    });

  return spool;
}
