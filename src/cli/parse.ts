// parse.ts - argument parsers shared by the CLI's commands.
import { InvalidArgumentError } from 'commander';

/** A commander parser for a number >= 0 (an integer unless `integer` is false), naming the flag on error. */
export function nonNegative(name: string, integer = true) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative ${integer ? 'integer' : 'number'}`);
    return n;
  };
}
