// compose.ts - reads compose.yaml into the container specs the podman
// harness starts, so the tests run exactly the cluster `docker compose up`
// does. Supported: the keys compose.yaml uses (image, build, hostname,
// command, environment, volumes, ulimits, restart, depends_on, extra_hosts,
// networks), YAML merge keys, and ${VAR}, ${VAR:-default} interpolation.
// Anything else in a service is an error, not silently dropped. The project
// name is COMPOSE_PROJECT_NAME's, else gridlink (no top-level `name:`:
// docker-compose 1.29 refuses it).
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

import { parse } from 'yaml';
import { z } from 'zod';

const KNOWN = ['image', 'build', 'hostname', 'command', 'environment', 'volumes', 'ulimits', 'restart', 'depends_on', 'extra_hosts', 'networks'] as const;

/** Compose's restart policies; podman run takes the same names. */
export const RESTART_POLICIES = ['no', 'always', 'on-failure', 'unless-stopped'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

const limit = z.union([z.number().int(), z.object({ soft: z.number().int(), hard: z.number().int() }).strict()]);
const serviceSchema = z
  .object({
    image: z.string().min(1),
    build: z.unknown().optional(),
    hostname: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
    command: z.array(z.string()).default([]),
    environment: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
    volumes: z.array(z.string()).default([]),
    ulimits: z.record(z.string(), limit).default({}),
    restart: z.enum(RESTART_POLICIES).default('no'),
    depends_on: z.array(z.string()).default([]),
    extra_hosts: z.array(z.string()).default([]),
    networks: z.array(z.string()).default([]),
  })
  .strict();

export interface VolumeMount {
  /** A named volume of the project, or an absolute host path. */
  source: string;
  named: boolean;
  target: string;
  readOnly: boolean;
}

export interface ServiceSpec {
  name: string;
  image: string;
  hostname: string;
  command: string[];
  environment: Record<string, string>;
  volumes: VolumeMount[];
  ulimits: Record<string, [number, number]>;
  restart: RestartPolicy;
  /** Whether this service builds the image (compose.yaml: exactly one does). */
  builds: boolean;
  dependsOn: string[];
  /** host:address pairs; address `host-gateway` means the network's gateway. */
  extraHosts: Array<[string, string]>;
}

export interface ComposeProject {
  name: string;
  /** In start order: every service after those it depends on. */
  services: ServiceSpec[];
  volumes: string[];
}

/** ${VAR} and ${VAR:-default} from env; an unset ${VAR} is an error (compose would warn and use ""). */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, def: string | undefined) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (def !== undefined) return def;
    throw new Error(`compose.yaml: \${${name}} is not set`);
  });
}

export function loadCompose(file: string, env: Record<string, string | undefined>): ComposeProject {
  const dir = resolve(file, '..');
  const doc = parse(readFileSync(file, 'utf8'), { merge: true }) as Record<string, any>;
  const raw = (doc.services ?? {}) as Record<string, Record<string, unknown>>;
  const services: ServiceSpec[] = [];
  for (const [name, svc] of Object.entries(raw)) {
    // A service of a profile (compose.yaml's `monitoring`) starts only when its profile is asked for: never here.
    if ('profiles' in svc) continue;
    const unknown = Object.keys(svc).filter((k) => !(KNOWN as readonly string[]).includes(k));
    if (unknown.length) throw new Error(`compose.yaml: service ${name} uses ${unknown.join(', ')}, which the podman harness does not implement`);
    const s = serviceSchema.parse(svc);
    const volumes = s.volumes.map((v): VolumeMount => {
      const [src, target, mode] = interpolate(v, env).split(':');
      if (!src || !target) throw new Error(`compose.yaml: service ${name}: volume ${JSON.stringify(v)} is not SOURCE:TARGET[:ro]`);
      const named = !src.startsWith('.') && !isAbsolute(src);
      return { source: named ? src : resolve(dir, src), named, target, readOnly: mode === 'ro' };
    });
    const ulimits: Record<string, [number, number]> = {};
    for (const [k, l] of Object.entries(s.ulimits)) ulimits[k] = typeof l === 'number' ? [l, l] : [l.soft, l.hard];
    services.push({
      name,
      image: interpolate(s.image, env),
      hostname: s.hostname,
      command: s.command,
      environment: Object.fromEntries(Object.entries(s.environment).map(([k, v]) => [k, interpolate(String(v), env)])),
      volumes,
      ulimits,
      restart: s.restart,
      builds: s.build !== undefined,
      dependsOn: s.depends_on,
      extraHosts: s.extra_hosts.map((h) => {
        const i = h.indexOf(':');
        return [h.slice(0, i), h.slice(i + 1)] as [string, string];
      }),
    });
  }
  // start order: dependencies first
  const ordered: ServiceSpec[] = [];
  const visit = (s: ServiceSpec, path: string[]) => {
    if (ordered.includes(s)) return;
    if (path.includes(s.name)) throw new Error(`compose.yaml: depends_on cycle ${[...path, s.name].join(' -> ')}`);
    for (const d of s.dependsOn) {
      const dep = services.find((x) => x.name === d);
      if (!dep) throw new Error(`compose.yaml: ${s.name} depends on unknown service ${d}`);
      visit(dep, [...path, s.name]);
    }
    ordered.push(s);
  };
  for (const s of services) visit(s, []);
  if (doc.name !== undefined) throw new Error('compose.yaml: a top-level `name:` is refused by docker-compose 1.29: name the project with -p or COMPOSE_PROJECT_NAME instead');
  // The volumes of the services above (a profile's own, e.g. prometheus-data, are not made).
  const used = (n: string) => ordered.some((s) => s.volumes.some((v) => v.named && v.source === n));
  return { name: env.COMPOSE_PROJECT_NAME || 'gridlink', services: ordered, volumes: Object.keys(doc.volumes ?? {}).filter(used) };
}
