// script.ts - the checks a job script must pass before any credit is locked:
// what the sbatch service, the supervisor (src/supervisor/submit-request.ts)
// or SLURM would refuse later, when the credits are already on chain. Pure.

export class ScriptError extends Error {
  override readonly name = 'ScriptError';
}

/** SLURM's default MaxBatchScriptSize (4 MB), the supervisor's default maxScriptBytes. */
export const MAX_SCRIPT_BYTES = 4 * 1024 * 1024;

/** Throws a ScriptError saying what to fix; returns the script unchanged. `where` names it (a file) in messages. */
export function checkScript(script: string, where = 'the job script'): string {
  const bytes = Buffer.byteLength(script, 'utf8');
  if (bytes === 0) throw new ScriptError(`${where} is empty: write a batch script starting with an interpreter line such as #!/bin/bash`);
  if (bytes > MAX_SCRIPT_BYTES) throw new ScriptError(`${where} is ${bytes} bytes, over SLURM's ${MAX_SCRIPT_BYTES}-byte limit: keep data out of the script (fetch it from the job)`);
  const nul = script.indexOf('\0');
  if (nul >= 0) throw new ScriptError(`${where} contains a NUL byte (at byte ${Buffer.byteLength(script.slice(0, nul), 'utf8')}): it is a binary file, not a batch script`);
  if (script.includes('\r')) throw new ScriptError(`${where} has DOS line breaks (CR LF), which SLURM refuses: convert it with dos2unix or sed -i 's/\\r$//'`);
  if (!script.startsWith('#!')) throw new ScriptError(`${where} does not start with #!: its first line must name the interpreter, such as #!/bin/bash`);
  return script;
}
