// connector-config.ts - `gridlink ldap-connector`'s configuration file: the
// directory (`ldap`, the same section the supervisor has as users.ldap) and,
// for `run`, which provider's claims to follow on chain.
import { isAddress } from 'viem';
import { z } from 'zod';

import { markdownConfigReference } from '../util/config-reference.js';
import { formatZodIssues } from '../util/zod-issues.js';
import { ldapConfigSchema } from './config.js';

export const connectorConfigSchema = z
  .object({
    ldap: ldapConfigSchema.describe('The directory (same fields as the supervisor\'s users.ldap)'),
    follow: z
      .object({
        rpcUrl: z.string().url().describe('JSON-RPC endpoint of the chain'),
        metaScheduler: z.string().refine((a) => isAddress(a), 'metaScheduler must be a 0x address').describe('MetaScheduler contract address'),
        provider: z.string().refine((a) => isAddress(a), 'provider must be a 0x address').describe('The provider (cluster) whose claimed jobs\' customers get users: its address, no key needed'),
        confirmations: z.number().int().min(1).max(128).default(1).describe('Claim logs are read at this depth (1 = as soon as mined)'),
        pollMs: z.number().int().min(100).default(2_000).describe('How often the chain is read'),
        logRange: z.number().int().min(1).max(100_000).default(2_000).describe('Blocks per eth_getLogs call'),
        fromBlock: z.number().int().min(0).optional().describe('At the very first start, read claims from this block (default: the head then)'),
        stateFile: z.string().min(1).describe('Where the last block read is kept (a small JSON file, written atomically)'),
        concurrency: z.number().int().min(1).max(64).default(8).describe('Users created at once'),
      })
      .strict()
      .optional()
      .describe('`run`: follow this provider\'s claims on chain and create their customers\' users before the supervisor needs them'),
  })
  .strict();

export type ConnectorConfig = z.infer<typeof connectorConfigSchema>;

export function parseConnectorConfig(input: unknown): ConnectorConfig {
  const r = connectorConfigSchema.safeParse(input);
  if (!r.success) throw new Error(`invalid ldap-connector configuration: ${formatZodIssues(r.error.issues)}`);
  return r.data;
}

/** `gridlink ldap-connector config-reference` (docs/ldap-connector-config.md). */
export function connectorConfigReference(): string {
  return markdownConfigReference(connectorConfigSchema, {
    title: '`gridlink ldap-connector` configuration reference',
    intro: [
      'Generated from the schema (`src/ldap/connector-config.ts`) by `gridlink ldap-connector config-reference`; do not edit by hand.',
      '',
      'The file is JSON (`gridlink ldap-connector ensure|check|run --config FILE`). Any field can be set or overridden from the environment:',
      '`GRIDLINK_` + the path with `__` between levels, in SNAKE_CASE (`GRIDLINK_LDAP__URL`, `GRIDLINK_FOLLOW__POLL_MS=500`).',
      'The supervisor takes the same `ldap` section as `users.ldap` (with `users.resolver: "ldap"`).',
    ],
  });
}
