// config-env.ts - the supervisor's configuration file with GRIDLINK_*
// environment variables on top. A variable names a path in the file with
// `__` between levels and SNAKE_CASE for camelCase keys:
//
//   GRIDLINK_CHAIN__RPC_URL=http://10.0.0.5:8545     -> chain.rpcUrl
//   GRIDLINK_SLURM__PARTITION=grid                   -> slurm.partition
//   GRIDLINK_CLAIMS__POLL_MS=250                     -> claims.pollMs (JSON values are parsed)
//
// Variables without `__` (GRIDLINK_PROVIDER_KEY, ...) are not configuration paths.
import { readFileSync } from 'node:fs';

export const ENV_PREFIX = 'GRIDLINK_';

const camel = (s: string): string => s.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

function value(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Applies GRIDLINK_A__B=... variables to a copy of `base`; returns it and the paths set. */
export function applyEnv(base: Record<string, unknown>, env: NodeJS.ProcessEnv): { config: Record<string, unknown>; applied: string[] } {
  const config = structuredClone(base);
  const applied: string[] = [];
  for (const [name, raw] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (!name.startsWith(ENV_PREFIX) || !name.includes('__') || raw === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split('__').map(camel);
    if (path.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype')) continue;
    let o: Record<string, unknown> = config;
    for (const key of path.slice(0, -1)) {
      const next = o[key];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) o[key] = {};
      o = o[key] as Record<string, unknown>;
    }
    o[path[path.length - 1]!] = value(raw);
    applied.push(path.join('.'));
  }
  return { config, applied };
}

/** Reads the JSON file (when given) and applies the environment. */
export function loadConfigInput(file: string | undefined, env: NodeJS.ProcessEnv): { config: Record<string, unknown>; applied: string[] } {
  let base: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the supervisor configuration ${file}: ${(err as Error).message}`);
    }
    try {
      base = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`the supervisor configuration ${file} is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new Error(`the supervisor configuration ${file} must hold a JSON object`);
  }
  return applyEnv(base, env);
}
