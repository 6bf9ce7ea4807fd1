// zod-walk.ts - reading a zod schema's structure: the type under the
// optional/default/effects wrappers (with its default and description), and
// the schema of a field. Used to generate the configuration reference and to
// convert environment variables by the type of the field they set.
import { z } from 'zod';

export interface Unwrapped {
  t: z.ZodTypeAny;
  optional: boolean;
  def?: unknown;
  doc?: string;
}

export function unwrapSchema(t: z.ZodTypeAny): Unwrapped {
  let optional = false;
  let def: unknown;
  let doc = t.description;
  for (;;) {
    if (t instanceof z.ZodOptional) optional = true;
    else if (t instanceof z.ZodDefault) def = (t._def as { defaultValue: () => unknown }).defaultValue();
    else if (!(t instanceof z.ZodEffects)) break;
    t = t instanceof z.ZodEffects ? (t._def as { schema: z.ZodTypeAny }).schema : (t._def as { innerType: z.ZodTypeAny }).innerType;
    doc ??= t.description;
  }
  return { t, optional, def, ...(doc ? { doc } : {}) };
}

/** The schema of `key` in an object schema (wrappers removed), undefined when there is none. */
export function fieldSchema(t: z.ZodTypeAny, key: string): z.ZodTypeAny | undefined {
  const u = unwrapSchema(t).t;
  if (!(u instanceof z.ZodObject)) return undefined;
  const f = (u.shape as Record<string, z.ZodTypeAny>)[key];
  return f && unwrapSchema(f).t;
}
