// ssh-host-key.ts - checks the login node's host key against what the
// operator configured: a public key as in a .pub file (`ssh-ed25519 AAAA...`),
// known_hosts lines (host patterns, hashed or not, are ignored: the key is
// what counts; one matching line is enough), or an OpenSSH fingerprint
// `SHA256:<base64>` (ssh-keygen -lf). Anything else is a configuration error.
import { fingerprintOf } from './ssh-connection.js';

const KEY_TYPE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$/;

/** The wire-format blob of each key in `text`; throws when a line has none. */
function parseKeys(text: string): Buffer[] {
  const keys: Buffer[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const words = line.split(/\s+/);
    const i = words.findIndex((w) => KEY_TYPE.test(w));
    const b64 = i >= 0 ? words[i + 1] : undefined;
    if (!b64 || !/^[A-Za-z0-9+/]+=*$/.test(b64)) {
      throw new Error(`hostKey: no public key in ${JSON.stringify(line.slice(0, 60))}: expected "ssh-ed25519 AAAA..." (known_hosts or .pub format) or "SHA256:..."`);
    }
    const blob = Buffer.from(b64, 'base64');
    // The blob starts with its own type: a key pasted under the wrong type is a mistake.
    const n = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
    if (n < 0 || blob.subarray(4, 4 + n).toString() !== words[i]) throw new Error(`hostKey: the ${words[i]} key in ${JSON.stringify(line.slice(0, 60))} is malformed`);
    keys.push(blob);
  }
  if (keys.length === 0) throw new Error('hostKey: empty');
  return keys;
}

export function hostKeyVerifier(hostKey: string): { verify: (key: Buffer) => boolean; expected: string } {
  const fp = hostKey.trim();
  if (/^SHA256:/.test(fp)) {
    const want = fp.replace(/=+$/, '');
    if (!/^SHA256:[A-Za-z0-9+/]{43}$/.test(want)) throw new Error(`hostKey: ${JSON.stringify(fp)} is not an OpenSSH SHA256 fingerprint (SHA256: and 43 base64 characters)`);
    return { verify: (key) => fingerprintOf(key) === want, expected: want };
  }
  const keys = parseKeys(hostKey);
  return { verify: (key) => keys.some((k) => k.equals(key)), expected: keys.map(fingerprintOf).join(' or ') };
}
