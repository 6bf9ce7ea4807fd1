// gres.ts - GPU counts out of SLURM's gres and TRES strings: a node's Gres
// ("gpu:2", "gpu:tesla:2(S:0)", "gpu:a100:4(S:0-1),gpu:t4:1"), and a job's
// request as 22.05 holds it (tres_per_job "gres:gpu:2", older "gpu:2",
// tres_req_str "cpu=1,mem=64M,gres/gpu=2").

/** Sum of the gpu entries of a comma-separated gres list; 0 for none or garbage. */
export function gresGpuCount(gres: string | undefined | null): number {
  if (!gres || gres === '(null)') return 0;
  let total = 0;
  for (const raw of gres.split(',')) {
    const item = raw.replace(/\(.*?\)/g, '').trim(); // drop "(S:0-1)" / "(IDX:0-1)"
    const parts = item.split(':');
    if (parts[0] === 'gres') parts.shift();
    if (parts[0] !== 'gpu' && parts[0] !== 'gres/gpu') continue;
    if (parts.length === 1) {
      total += 1; // "gpu" alone means one
      continue;
    }
    const last = parts[parts.length - 1]!;
    // "gpu:tesla" (a type, no count) is one; "gpu:x:junk" too, as SLURM reads it.
    total += /^\d+$/.test(last) ? Number(last) : 1;
  }
  return total;
}

/**
 * GPUs of a TRES=count list ("gres/gpu=2" or "gres/gpu:tesla=2"; separated
 * by , or ;). Typed entries are also counted in the untyped total, so the
 * untyped one wins when present.
 */
export function tresGpuCount(tres: string | undefined | null): number {
  if (!tres) return 0;
  let untyped: number | undefined;
  let typed = 0;
  for (const item of tres.split(/[,;]/)) {
    const m = /^gres\/gpu(:[^=]+)?=(\d+)$/.exec(item.trim());
    if (!m) continue;
    if (m[1]) typed += Number(m[2]);
    else untyped = Number(m[2]);
  }
  return untyped ?? typed;
}

/** A job's requested GPUs from its tres_per_job / tres_per_node / tres_per_task and TRES request. */
export function jobGpuCount(j: { tresPerJob: string; tresPerNode: string; tresPerTask: string; tresReqStr: string; numNodes: number; numTasks: number }): number {
  const perJob = gresGpuCount(j.tresPerJob.replace(/;/g, ','));
  if (perJob > 0) return perJob;
  const perNode = gresGpuCount(j.tresPerNode.replace(/;/g, ','));
  if (perNode > 0) return perNode * Math.max(1, j.numNodes);
  const perTask = gresGpuCount(j.tresPerTask.replace(/;/g, ','));
  if (perTask > 0) return perTask * Math.max(1, j.numTasks);
  return tresGpuCount(j.tresReqStr);
}
