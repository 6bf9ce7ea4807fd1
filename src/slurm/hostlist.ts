// hostlist.ts - SLURM's hostlist expressions as slurm.conf writes them
// (`c[1-2]`, `node[01-03,7],login`, `rack[1-2]-n[1-2]`), expanded to names.
// Used to find which NodeName lines name this host (doctor's roles).

/** Splits on the commas outside brackets. */
function topLevel(expr: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of expr) {
    if (ch === '[') depth++;
    else if (ch === ']') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter(Boolean);
}

/** `01-03,7` -> ['01', '02', '03', '7'] (zero padding kept). */
function ranges(spec: string): string[] {
  const out: string[] = [];
  for (const part of spec.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`bad hostlist range '${part}'`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi - lo > 65_536) throw new Error(`bad hostlist range '${part}'`);
    for (let i = lo; i <= hi; i++) out.push(String(i).padStart(m[1]!.length, '0'));
  }
  return out;
}

function expandOne(name: string): string[] {
  const open = name.indexOf('[');
  if (open < 0) return [name];
  const close = name.indexOf(']', open);
  if (close < 0) throw new Error(`unclosed '[' in hostlist '${name}'`);
  const head = name.slice(0, open);
  const tails = expandOne(name.slice(close + 1));
  return ranges(name.slice(open + 1, close)).flatMap((n) => tails.map((t) => head + n + t));
}

/** Every host name of a hostlist expression; throws on one SLURM would refuse. */
export function expandHostlist(expr: string): string[] {
  return topLevel(expr).flatMap(expandOne);
}
