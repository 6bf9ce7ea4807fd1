// config-reference.ts - `gridlink supervisor config-reference`: the
// supervisor's configuration reference (docs/supervisor-config.md is this
// output; a test keeps the two equal).
import { markdownConfigReference } from '../util/config-reference.js';
import { supervisorConfigSchema } from './config.js';

export function configReference(): string {
  return markdownConfigReference(supervisorConfigSchema, {
    title: '`gridlink supervisor` configuration reference',
    intro: [
      'Generated from the schema (`src/supervisor/config.ts`) by `gridlink supervisor config-reference`; do not edit by hand.',
      '',
      'The file is JSON (`gridlink supervisor --config FILE`). Any field can be set or overridden from the environment:',
      '`GRIDLINK_` + the path with `__` between levels, in SNAKE_CASE (`GRIDLINK_CHAIN__RPC_URL`, `GRIDLINK_CLAIMS__POLL_MS=250`;',
      'values are parsed as JSON when they are JSON). The provider key comes from `chain.keyFile` or `$GRIDLINK_PROVIDER_KEY`,',
      'or stays in a remote signer (`chain.signer`: web3signer, Clef; see docs/install.md).',
    ],
  });
}
