// sbatch-input.ts - what the ssh backend hands to a remote `sbatch`, made
// safe: shell quoting for the login node's shell, and a customer script
// whose own directives cannot change the job.
//
// Directives, as sbatch 22.05 reads them (src/sbatch/opt.c
// _opt_batch_script, xlate.c):
//   - `#SBATCH` and `#SLURM` (case-sensitive, at column 0) are options, read
//     from the top of the script until the first line whose first
//     non-whitespace character is not `#` (blank lines, ` #SBATCH` and other
//     comments do not stop the scan; an indented ` #SBATCH` is NOT read).
//   - `#PBS` and `#BSUB` are translated from anywhere in the first 100
//     non-comment lines unless `--ignore-pbs` is given.
//   - Lines are split on `\n` only; sbatch itself refuses scripts with
//     `\r\n`, a NUL byte, or no `#!` first line.
// The command line overrides what it names, but an option it does not name
// (--array, --dependency, --begin, --exclusive, --account, --qos,
// --reservation, --nodes, --gres, --uid ...) would apply. So every `#SBATCH`
// and `#SLURM` line of that leading comment block gets one more `#`
// (`##SBATCH` is the conventional "disabled" form: still a comment to the
// interpreter, not a directive to sbatch), and the backend passes
// --ignore-pbs. Rewriting a comment works for any interpreter (bash, python,
// perl...), where inserting a no-op line would have to be valid in the
// script's language; line numbers do not move. Only that leading block is
// touched: the same text further down (a heredoc writing another job
// script) is left alone, and sbatch does not read it.
import { SlurmBackendError } from './backend.js';

/** Single-quotes `s` for a POSIX shell: nothing in it is expanded. NUL cannot be passed and is refused. */
export function shq(s: string, what = 'argument'): string {
  if (s.includes('\0')) throw new SlurmBackendError('refused', `${what} contains a NUL byte, which cannot be passed to a command`);
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** C isspace() in the C locale, as sbatch tests it. */
const C_SPACE = /^[ \t\n\v\f\r]/;

/** sbatch's own test: does this line end its directive scan? */
function isCommandLine(line: string): boolean {
  const rest = line.replace(/^[ \t\n\v\f\r]+/, '');
  return rest !== '' && !rest.startsWith('#') && !C_SPACE.test(rest);
}

/**
 * The script with its `#SBATCH`/`#SLURM` directives disabled (see the file
 * header). Refuses (kind 'refused') what sbatch would refuse anyway, with a
 * message for the customer.
 */
export function neutraliseDirectives(script: string): string {
  if (!script.startsWith('#!')) {
    throw new SlurmBackendError('refused', 'the job script must start with #! followed by the path of an interpreter (e.g. #!/bin/bash)');
  }
  if (script.includes('\0')) throw new SlurmBackendError('refused', 'the job script contains a NUL byte; SLURM does not accept such scripts');
  if (script.includes('\r\n')) {
    throw new SlurmBackendError('refused', 'the job script has DOS line breaks (\\r\\n); SLURM accepts UNIX line breaks (\\n) only: convert it (e.g. dos2unix)');
  }
  const lines = script.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('#SBATCH') || l.startsWith('#SLURM')) {
      lines[i] = `#${l}`;
      continue;
    }
    if (isCommandLine(l)) break;
  }
  return lines.join('\n');
}

/** Directives sbatch would still read from `script` (for tests and checks): `#SBATCH`/`#SLURM` lines of the leading block. */
export function remainingDirectives(script: string): string[] {
  const out: string[] = [];
  for (const l of script.split('\n')) {
    if (l.startsWith('#SBATCH') || l.startsWith('#SLURM')) out.push(l);
    else if (isCommandLine(l)) break;
  }
  return out;
}
