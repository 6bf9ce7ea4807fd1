// config-print.ts - a resolved configuration printed as JSON in the units its
// file is written in (`--check-config`): amounts the schema turned into wei
// print in their file units again (the `...Gwei` fields in gwei, credit
// amounts in credits), other bigints as decimal strings, so the output can be
// copied back into a configuration file as is.
import { formatEther, formatGwei } from 'viem';

/** The unit a bigint field is written in, by the field's key. */
export type AmountUnit = 'gwei' | 'credits';

/**
 * JSON of `config` (2-space indent). A bigint under a key ending in `Gwei`, or
 * named in `units`, prints in that unit; any other bigint as a decimal string.
 */
export function formatResolvedConfig(config: unknown, units: Readonly<Record<string, AmountUnit>> = {}): string {
  return JSON.stringify(
    config,
    (key: string, v: unknown) => {
      if (typeof v !== 'bigint') return v;
      const unit = units[key] ?? (key.endsWith('Gwei') ? 'gwei' : undefined);
      return unit === 'gwei' ? formatGwei(v) : unit === 'credits' ? formatEther(v) : v.toString();
    },
    2,
  );
}
