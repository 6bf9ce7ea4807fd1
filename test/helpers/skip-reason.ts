// skip-reason.ts - the reason a conditionally skipped block carries in its
// title, where test/summary-reporter.ts finds it: a skip is never silent.
//
//   describe.skipIf(!ok)(`the suite${skipReason(ok, 'podman is not installed')}`, ...)

/** '' when `ok`, else ` (skipped: why)`. */
export function skipReason(ok: boolean, why: string): string {
  return ok ? '' : ` (skipped: ${why})`;
}
