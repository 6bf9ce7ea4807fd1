// cancel-escalation.ts - when a customer's cancellation counts as stuck (a
// leaf: job-actions.ts escalates at it, metrics.ts and service.ts report it).

/** A cancellation failing this many times is escalated: error log, gridlink_cancellations_stuck, /healthz. */
export const CANCEL_ESCALATE_AFTER = 10;
