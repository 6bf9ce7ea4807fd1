// munge.ts - munge credentials through the addon (libmunge, thread pool).
import { loadAddon, type MungeDecoded } from './addon.js';

export type { MungeDecoded };

/** A credential carrying payload, valid for munged's TTL (default 300 s) and decodable once per host. */
export function mungeEncode(payload: Buffer | string, opts: { socket?: string } = {}): Promise<string> {
  return loadAddon().mungeEncode(payload, opts);
}

/** Rejects with err.code = 'EMUNGE_*' (EMUNGE_CRED_REPLAYED, EMUNGE_BAD_CRED, EMUNGE_CRED_EXPIRED, EMUNGE_SOCKET...). */
export function mungeDecode(credential: string, opts: { socket?: string } = {}): Promise<MungeDecoded> {
  return loadAddon().mungeDecode(credential, opts);
}
