// tx-outcomes.ts - what the supervisor does when one of its own transactions
// fails after it was signed (the pipeline's `reverted` and `lost` events, in
// the pipeline's SQLite transaction): a claim transaction is only logged (the
// next claim round reads the queues again); a refuseJob that reverted after
// mining (the job moved between simulation and mining) puts its claim back
// to `claimed`, so the runner looks at the job again (its chain check closes a
// claim the chain took back; else the job is submitted or refused anew)
// instead of leaving it `refused` while the chain still holds it here. A
// register transaction is followed by registration.ts itself (pipeline.get).
import type { Logger } from 'pino';

import type { MetaSchedulerError } from '../metascheduler/errors.js';
import type { TxPipeline } from '../txpipeline/index.js';
import { CLAIM_TX_KIND } from './claimer.js';
import type { Claims } from './claim-store.js';

export const REFUSE_TX_KIND = 'refuse';
export const REGISTER_TX_KIND = 'register';

export function followOwnTransactions(o: { pipeline: Pick<TxPipeline<MetaSchedulerError>, 'on'>; claims: Claims; log: Logger; retryInMs: number }): void {
  for (const kind of [CLAIM_TX_KIND, REFUSE_TX_KIND, REGISTER_TX_KIND]) {
    o.pipeline.on(kind, (ev) => {
      if (ev.type !== 'reverted' && ev.type !== 'lost') return;
      const why = ev.type === 'reverted' ? `reverted on chain: ${ev.error.message}` : 'its nonce was used by another transaction';
      o.log.warn({ kind, tx: ev.tx.hash, ref: ev.tx.ref }, `supervisor: ${kind} transaction ${why}`);
      if (kind !== REFUSE_TX_KIND) return;
      const id = Number(ev.tx.ref);
      if (o.claims.transition(id, ['refused'], 'claimed', `refuseJob ${why}; the job is looked at again`, Date.now() + o.retryInMs)) {
        o.claims.retryLater(id, `refuseJob ${why}; the job is looked at again`, Date.now() + o.retryInMs);
        o.log.warn({ claim: id, tx: ev.tx.hash }, 'supervisor: refuseJob did not take effect; the claim is open again (checked on chain, then submitted or refused anew)');
      }
    });
  }
}
