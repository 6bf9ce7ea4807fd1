// The Grafana dashboard (contrib/grafana/gridlink.json) against Grafana's
// published dashboard schema, @grafana/schema: the JSON, as written, must
// satisfy its `Dashboard` type (excess property checks catch a misspelt or
// unknown key), each panel's options and field config its panel type's
// generated types, and its schemaVersion the one the package's default
// dashboard carries. Then what a Prometheus dashboard needs to work at all:
// unique panel ids, panels inside the 24-column grid without overlap, every
// query on the `datasource` variable with a refId and a PromQL expression.
// Whether each query returns data: test/grafana/prometheus.test.ts. And
// compose.yaml's `monitoring` profile: Prometheus and Grafana only under the
// profile (the podman harness leaves them out), mounting files that exist,
// scraping the port the example supervisor configuration serves /metrics on,
// Grafana provisioned with this dashboard.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { defaultDashboard } from '@grafana/schema';
import ts from 'typescript';
import { expect, it } from 'vitest';
import { parse } from 'yaml';

import { loadCompose } from '../../harness/containers/compose.js';
import { packageRoot } from '../../src/native/index.js';

const file = join(packageRoot, 'contrib/grafana/gridlink.json');
const text = readFileSync(file, 'utf8');

interface Target {
  refId: string;
  expr: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  options?: unknown;
  fieldConfig?: { defaults: { custom?: unknown } };
  targets?: Target[];
}
const dashboard = JSON.parse(text) as { schemaVersion: number; panels: Panel[]; templating: { list: Array<{ name: string; type: string; query: string }> } };

/** Compiles `source` as a module of the checkout (so @grafana/schema resolves as it does for the project) and returns its diagnostics. */
function typecheck(source: string): string[] {
  const path = join(packageRoot, 'test/grafana/__dashboard_check__.ts');
  const options: ts.CompilerOptions = { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, skipLibCheck: true, types: [] };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (name === path ? ts.createSourceFile(name, source, lang, true) : getSourceFile(name, lang, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === path || fileExists(name);
  const program = ts.createProgram([path], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => `${d.file && d.start !== undefined ? `line ${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

/** A type as JSON can write it: string enums as their values, the rest as it is (excess property checks still apply). */
const JSON_OF =
  'type Json<T> = T extends string ? `${T}` : T extends number | boolean | null | undefined ? T : T extends Array<infer U> ? Array<Json<U>> : T extends object ? { [K in keyof T]: Json<T[K]> } : T;';

const PANELCFG: Record<string, { module: string; options: string; fieldConfig?: string }> = {
  timeseries: { module: '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen', options: 'Options', fieldConfig: 'FieldConfig' },
  stat: { module: '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen', options: 'Options' },
};

it('satisfies @grafana/schema: the Dashboard type, each panel type\'s options and field config, the current schemaVersion', () => {
  // JSON has no enums: a string enum of the types (SortOrder, GraphDrawStyle, ...) is checked as the union of its values.
  const lines = [`import type { Dashboard } from '@grafana/schema';`, JSON_OF];
  for (const [type, c] of Object.entries(PANELCFG)) lines.push(`import type * as ${type} from '${c.module}';`);
  lines.push(`export const dashboard = ${text.trim()} satisfies Json<Dashboard>;`);
  const panels = dashboard.panels.filter((p) => p.type !== 'row');
  panels.forEach((p, i) => {
    const c = PANELCFG[p.type];
    expect(c, `panel "${p.title}": no generated types for type ${p.type} in this test`).toBeDefined();
    lines.push(`export const options${i} = ${JSON.stringify(p.options)} satisfies Json<${p.type}.${c!.options}>;`);
    if (c!.fieldConfig && p.fieldConfig?.defaults.custom) lines.push(`export const custom${i} = ${JSON.stringify(p.fieldConfig.defaults.custom)} satisfies Json<${p.type}.${c!.fieldConfig}>;`);
  });
  expect(typecheck(lines.join('\n'))).toEqual([]);
  // The check itself can fail: an unknown key is refused.
  expect(typecheck(`import type { Dashboard } from '@grafana/schema';\n${JSON_OF}\nexport const d = { schemaVersion: 42, panelz: [] } satisfies Json<Dashboard>;`).join('\n')).toMatch(/panelz/);
  expect(typecheck(`import type { Dashboard } from '@grafana/schema';\n${JSON_OF}\nexport const d = { schemaVersion: 42, graphTooltip: 7 } satisfies Json<Dashboard>;`).join('\n')).toMatch(/graphTooltip|not assignable/);
  expect(dashboard.schemaVersion).toBe(defaultDashboard.schemaVersion);
}, 120_000);

it('has unique panel ids, panels inside the grid without overlap, every query on the datasource variable', () => {
  const ids = dashboard.panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  const cells = new Set<string>();
  for (const p of dashboard.panels) {
    const g = p.gridPos;
    expect(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `panel "${p.title}" at ${JSON.stringify(g)}`).toBe(true);
    for (let x = g.x; x < g.x + g.w; x++)
      for (let y = g.y; y < g.y + g.h; y++) {
        expect(cells.has(`${x},${y}`), `panel "${p.title}" overlaps another at ${x},${y}`).toBe(false);
        cells.add(`${x},${y}`);
      }
  }
  expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
  const panels = dashboard.panels.filter((p) => p.type !== 'row');
  expect(panels.length).toBeGreaterThan(10);
  for (const p of panels) {
    expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
    expect(p.targets?.length, p.title).toBeGreaterThan(0);
    const refIds = p.targets!.map((t) => t.refId);
    expect(new Set(refIds).size, p.title).toBe(refIds.length);
    for (const t of p.targets!) {
      expect(t.datasource).toEqual(p.datasource);
      expect(t.expr, p.title).toMatch(/gridlink_[a-z_]+/);
    }
  }
});

it('compose.yaml: the monitoring profile runs Prometheus on the supervisor\'s metrics and Grafana with this dashboard, and only under the profile', () => {
  const compose = parse(readFileSync(join(packageRoot, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, { profiles?: string[]; volumes?: string[]; image: string }>; volumes: Record<string, unknown> };
  const monitoring = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes('monitoring')).map(([n]) => n);
  expect(monitoring.sort()).toEqual(['grafana', 'prometheus']);
  const project = loadCompose(join(packageRoot, 'compose.yaml'), {});
  expect(project.services.map((s) => s.name)).not.toContain('prometheus');
  expect(project.volumes).not.toContain('prometheus-data');
  const mounts = (svc: string) => Object.fromEntries((compose.services[svc]!.volumes ?? []).map((v) => v.split(':')).filter(([src]) => src!.startsWith('./')).map(([src, target]) => [target!, src!]));
  for (const svc of monitoring) {
    for (const src of Object.values(mounts(svc))) expect(existsSync(join(packageRoot, src)), `${svc} mounts ${src}`).toBe(true);
    for (const v of compose.services[svc]!.volumes ?? []) if (!v.startsWith('./')) expect(compose.volumes).toHaveProperty(v.split(':')[0]!);
  }
  // Prometheus scrapes the port the example supervisor configuration serves /metrics on.
  const prom = parse(readFileSync(join(packageRoot, mounts('prometheus')['/etc/prometheus/prometheus.yml']!), 'utf8')) as { scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }> };
  const example = JSON.parse(readFileSync(join(packageRoot, 'contrib/container/config/supervisor.example.json'), 'utf8')) as { metricsListen: { host: string; port: number } };
  expect(example.metricsListen.host).toBe('0.0.0.0');
  expect(prom.scrape_configs.find((c) => c.job_name === 'gridlink-supervisor')!.static_configs[0]!.targets).toEqual([`supervisor:${example.metricsListen.port}`]);
  // Grafana: the Prometheus data source, and the dashboard where the provisioning looks.
  const provisioning = mounts('grafana')['/etc/grafana/provisioning']!;
  const ds = parse(readFileSync(join(packageRoot, provisioning, 'datasources/prometheus.yaml'), 'utf8')) as { datasources: Array<{ type: string; url: string; isDefault: boolean }> };
  expect(ds.datasources).toEqual([expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true })]);
  const dash = parse(readFileSync(join(packageRoot, provisioning, 'dashboards/gridlink.yaml'), 'utf8')) as { providers: Array<{ options: { path: string } }> };
  const dir = dash.providers[0]!.options.path;
  expect(mounts('grafana')[`${dir}/gridlink.json`]).toBe('./contrib/grafana/gridlink.json');
});
