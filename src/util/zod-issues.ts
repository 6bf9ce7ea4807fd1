// zod-issues.ts - zod validation problems as one line an operator can act on:
// "field.path: message; other.field: message".
export interface ZodIssueLike {
  path: ReadonlyArray<string | number>;
  message: string;
}

/** Every issue (or the first `max`, then "and N more"), `path: message`, joined with "; ". */
export function formatZodIssues(issues: readonly ZodIssueLike[], max = Infinity): string {
  const head = issues.slice(0, max).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  return head.join('; ') + (issues.length > max ? `; and ${issues.length - max} more` : '');
}
