// config-reference.ts - a configuration reference in Markdown, generated
// from a zod schema's descriptions: one table row per field with its type and
// default. docs/supervisor-config.md and docs/ldap-connector-config.md are
// this output (tests keep them equal).
import { z } from 'zod';

import { unwrapSchema } from './zod-walk.js';

interface Row {
  path: string;
  type: string;
  def: string;
  doc: string;
}

function typeName(t: z.ZodTypeAny): string {
  if (t instanceof z.ZodString) return 'string';
  if (t instanceof z.ZodNumber) return t.isInt ? 'integer' : 'number';
  if (t instanceof z.ZodBoolean) return 'boolean';
  if (t instanceof z.ZodEnum) return (t.options as string[]).map((o) => `\`${o}\``).join(' \\| ');
  if (t instanceof z.ZodLiteral) return `\`${JSON.stringify(t.value)}\``;
  if (t instanceof z.ZodArray) return `array of ${typeName(unwrapSchema(t.element as z.ZodTypeAny).t)}`;
  if (t instanceof z.ZodRecord) return 'object (string -> string)';
  if (t instanceof z.ZodUnion) return (t.options as z.ZodTypeAny[]).map((o) => typeName(unwrapSchema(o).t)).join(' \\| ');
  if (t instanceof z.ZodObject) return 'object';
  return 'value';
}

function walk(t: z.ZodTypeAny, prefix: string, rows: Row[]): void {
  const u = unwrapSchema(t);
  if (!(u.t instanceof z.ZodObject)) return;
  for (const [key, child] of Object.entries(u.t.shape as Record<string, z.ZodTypeAny>)) {
    const c = unwrapSchema(child);
    const path = prefix ? `${prefix}.${key}` : key;
    const def = c.def === undefined ? (c.optional ? '' : 'required') : typeof c.def === 'object' && c.def !== null && Object.keys(c.def).length === 0 ? '' : `\`${JSON.stringify(c.def, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\``;
    rows.push({ path, type: typeName(c.t), def, doc: c.doc ?? '' });
    if (c.t instanceof z.ZodObject) walk(c.t, path, rows);
    else if (c.t instanceof z.ZodUnion) {
      for (const o of c.t.options as z.ZodTypeAny[]) if (unwrapSchema(o).t instanceof z.ZodObject) walk(o, path, rows);
    } else if (c.t instanceof z.ZodArray && unwrapSchema(c.t.element as z.ZodTypeAny).t instanceof z.ZodObject) walk(c.t.element as z.ZodTypeAny, `${path}[]`, rows);
  }
}

export interface ReferenceText {
  /** The page's title (without '# '). */
  title: string;
  /** Paragraph lines between the title and the table. */
  intro: string[];
}

export function markdownConfigReference(schema: z.ZodTypeAny, text: ReferenceText): string {
  const rows: Row[] = [];
  walk(schema, '', rows);
  const esc = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  return [
    `# ${text.title}`,
    '',
    ...text.intro,
    '',
    '| field | type | default | meaning |',
    '|---|---|---|---|',
    ...rows.map((r) => `| \`${r.path}\` | ${r.type} | ${r.def} | ${esc(r.doc)} |`),
    '',
  ].join('\n');
}
