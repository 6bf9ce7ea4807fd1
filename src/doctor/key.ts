// key.ts - check `key`: the provider key loads exactly as the supervisor
// loads it (src/reporter/provider-key.ts and src/util/secret-file.ts: a
// regular file, owned by the running user, mode 0600), or, with
// chain.signer, the remote signer is reachable and holds the address
// (signer.ts). Run doctor as the supervisor's user.
import { statSync } from 'node:fs';

import { loadProviderKey } from '../reporter/provider-key.js';
import { checkSigner } from './signer.js';
import { fail, noConfig, ok, type Check, type DoctorContext, type Outcome } from './types.js';

export function checkKey(ctx: DoctorContext): Outcome {
  if (!ctx.config) return noConfig(ctx);
  const file = ctx.config.chain.keyFile;
  try {
    const k = loadProviderKey({ keyFile: file, env: ctx.env });
    const mode = file ? ` (mode 0${(statSync(file).mode & 0o777).toString(8)})` : '';
    return ok(`provider ${k.account.address} from ${k.source}${mode}${file ? '' : ': a key file (chain.keyFile, mode 0600) is safer than the environment'}`);
  } catch (err) {
    const msg = (err as Error).message;
    // secret-file.ts ends its messages with the command that fixes it.
    const m = /^(.*?):\s*((?:chmod|chown) .*)$/.exec(msg);
    let detail = (m ? m[1]! : msg).replace(/^provider key: /, '');
    if (file) {
      try {
        const mode = statSync(file).mode & 0o777;
        if (mode & 0o077) detail = `${file} is readable by others (mode 0${mode.toString(8)})`;
      } catch {
        // missing: the message says so
      }
    }
    return fail(detail, m ? m[2] : file ? `give chain.keyFile a file holding the provider key (64 hex digits, mode 0600, owned by the supervisor's user)` : 'set chain.keyFile');
  }
}

export const keyCheck: Check = { name: 'key', run: async (ctx) => (ctx.config?.chain.signer ? checkSigner(ctx) : checkKey(ctx)) };
