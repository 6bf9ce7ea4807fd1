// index.ts - `gridlink/customer`: a customer's operations on the grid as typed
// calls, one action per module, each taking (context, parameters): submit a
// script, follow a job, its status, the account's jobs, cancel, top up, its
// output. `gridlink job` is these calls with a command line around them.
export * from './context.js';
export * from './devnet.js';
export * from './errors.js';
export * from './script.js';
export * from './resources.js';
export * from './quote.js';
export * from './submit.js';
export * from './status.js';
export * from './list.js';
export * from './cancel.js';
export * from './top-up.js';
export * from './logs.js';
export * from './follow.js';
export * from './view.js';
export * from './output-file.js';
export * from './tx-retry.js';
