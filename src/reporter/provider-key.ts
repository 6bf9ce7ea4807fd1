// provider-key.ts - the provider's private key: from a file (mode 0600, owned
// by the user running gridlink) or from an environment variable. The key is
// never logged; errors name the file and what to fix, never the content.
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import type { Hex } from 'viem';

import { readSecretFile } from '../util/secret-file.js';

export const PROVIDER_KEY_ENV = 'GRIDLINK_PROVIDER_KEY';

export class ProviderKeyError extends Error {
  override readonly name = 'ProviderKeyError';
}

/** A 32-byte hex private key, with or without 0x. */
export function parsePrivateKey(text: string, where: string): Hex {
  const t = text.trim();
  const hex = t.startsWith('0x') || t.startsWith('0X') ? t.slice(2) : t;
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new ProviderKeyError(`${where} does not hold a private key: expected 64 hex digits (optionally 0x-prefixed) and nothing else, found ${t.length} characters`);
  }
  if (/^0+$/.test(hex)) throw new ProviderKeyError(`${where} holds the zero key, which is not a valid private key`);
  return `0x${hex.toLowerCase()}`;
}

export interface ProviderKeySource {
  keyFile?: string | undefined;
  /** Environment to read PROVIDER_KEY_ENV from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Loads the key; the file wins over the environment when both are set. */
export function loadProviderKey(src: ProviderKeySource): { privateKey: Hex; account: PrivateKeyAccount; source: string } {
  let privateKey: Hex;
  let source: string;
  if (src.keyFile) {
    const bytes = readSecretFile(src.keyFile, { what: 'provider key' });
    privateKey = parsePrivateKey(bytes.toString('latin1'), `provider key file ${src.keyFile}`);
    source = src.keyFile;
  } else {
    const v = (src.env ?? process.env)[PROVIDER_KEY_ENV];
    if (!v) throw new ProviderKeyError(`no provider key: pass --key-file FILE (mode 0600, owned by you) or set ${PROVIDER_KEY_ENV}`);
    privateKey = parsePrivateKey(v, `$${PROVIDER_KEY_ENV}`);
    source = `$${PROVIDER_KEY_ENV}`;
  }
  return { privateKey, account: privateKeyToAccount(privateKey), source };
}
