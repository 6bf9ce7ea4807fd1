// kinds.ts - the transaction kinds the pipeline reserves for itself (a leaf:
// nonce-sequence.ts writes them, broadcaster.ts and events.ts skip them).

/** Kind of the 0-value self-transfers that fill nonce holes (no owner, no events). */
export const FILLER_KIND = 'txpipeline.fill';
