// config-env.ts - a JSON configuration file (the supervisor's, the LDAP
// connector's) with GRIDLINK_* environment variables on top. A variable names a path in the file with
// `__` between levels and SNAKE_CASE for camelCase keys:
//
//   GRIDLINK_CHAIN__RPC_URL=http://10.0.0.5:8545     -> chain.rpcUrl
//   GRIDLINK_SLURM__PARTITION=grid                   -> slurm.partition
//   GRIDLINK_CLAIMS__POLL_MS=250                     -> claims.pollMs
//   GRIDLINK_PROVIDER__LABELS='{"gpu.model":"a100"}' -> provider.labels (objects, arrays and maps: JSON)
//
// The value is converted by the type of the field it sets: numbers and
// booleans parsed, strings (prices included, so no digit is lost) kept as
// written, objects, arrays and maps parsed as JSON. Variables without `__`
// (GRIDLINK_PROVIDER_KEY, ...) are not configuration paths.
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { fieldSchema, unwrapSchema } from './zod-walk.js';

export const ENV_PREFIX = 'GRIDLINK_';

const camel = (s: string): string => s.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

export class ConfigEnvError extends Error {
  override readonly name = 'ConfigEnvError';
}

/** The value of `raw` for a field of schema `t` (undefined: not in the schema, kept as a string for zod to report). */
function value(name: string, raw: string, t: z.ZodTypeAny | undefined): unknown {
  const json = () => {
    try {
      return JSON.parse(raw) as unknown;
    } catch (err) {
      throw new ConfigEnvError(`${name}: expected JSON for this field (an object, array or map), got ${JSON.stringify(raw.slice(0, 80))}: ${(err as Error).message}`);
    }
  };
  if (t === undefined) return raw;
  if (t instanceof z.ZodNumber) return raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  if (t instanceof z.ZodBoolean) return raw === 'true' ? true : raw === 'false' ? false : raw;
  if (t instanceof z.ZodObject || t instanceof z.ZodArray || t instanceof z.ZodRecord) return json();
  if (t instanceof z.ZodUnion) {
    const opts = (t.options as z.ZodTypeAny[]).map((o) => unwrapSchema(o).t);
    if (opts.some((o) => o instanceof z.ZodString)) return raw;
    if (opts.some((o) => o instanceof z.ZodNumber) && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
    return raw.startsWith('{') || raw.startsWith('[') || raw === 'false' || raw === 'true' ? json() : raw;
  }
  return raw;
}

/** Applies GRIDLINK_A__B=... variables to a copy of `base`, converted by `schema`'s field types; returns it and the paths set. */
export function applyEnv(base: Record<string, unknown>, env: NodeJS.ProcessEnv, schema?: z.ZodTypeAny): { config: Record<string, unknown>; applied: string[] } {
  const config = structuredClone(base);
  const applied: string[] = [];
  for (const [name, raw] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (!name.startsWith(ENV_PREFIX) || !name.includes('__') || raw === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split('__').map(camel);
    if (path.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype')) continue;
    let o: Record<string, unknown> = config;
    let t: z.ZodTypeAny | undefined = schema;
    for (const key of path.slice(0, -1)) {
      if (t && fieldSchema(t, key) instanceof z.ZodRecord) {
        throw new ConfigEnvError(`${name}: ${path.slice(0, path.indexOf(key) + 1).join('.')} is a map: set it whole, as JSON (GRIDLINK_${name.slice(ENV_PREFIX.length).split('__').slice(0, path.indexOf(key) + 1).join('__')}='{"key":"value"}')`);
      }
      t = t && fieldSchema(t, key);
      const next = o[key];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) o[key] = {};
      o = o[key] as Record<string, unknown>;
    }
    const last = path[path.length - 1]!;
    o[last] = value(name, raw, t && fieldSchema(t, last));
    applied.push(path.join('.'));
  }
  return { config, applied };
}

/** Reads the JSON file (when given) and applies the environment, converted by `schema`'s field types. */
export function loadConfigInput(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  schema?: z.ZodTypeAny,
  /** For messages, e.g. "supervisor configuration". */
  what = 'configuration',
): { config: Record<string, unknown>; applied: string[] } {
  let base: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the ${what} ${file}: ${(err as Error).message}`);
    }
    try {
      base = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`the ${what} ${file} is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new Error(`the ${what} ${file} must hold a JSON object`);
  }
  return applyEnv(base, env, schema);
}
