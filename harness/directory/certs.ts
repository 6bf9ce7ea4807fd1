// certs.ts - throwaway certificate authorities and server certificates (openssl
// CLI) for the test directories and the remote signer's tests.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

/** A throwaway certificate authority made with the openssl CLI. */
export interface TestCa {
  caFile: string;
  caKeyFile: string;
  issue(name: string, o: { ipSans?: string[]; dnsNames?: string[] }): { certFile: string; keyFile: string };
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(`openssl ${args[0]} in ${cwd} failed: ${stderr || (e as Error).message}`);
  }
}

/** File names stay inside `dir`: a name like 'server' or 'ldap-1'. */
function safeName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`makeTestCa: bad certificate name '${name}'`);
  return name;
}

/**
 * A CA in `dir` (created; ca.crt, ca.key). RSA 2048 because all three TLS
 * stacks that read these files (Node/OpenSSL, GnuTLS in libldap and SSSD,
 * NSS in 389-ds) accept it without configuration. The subject carries a
 * random tag: two CAs made by the same test (the right one and a WRONG one)
 * never share an issuer name, which NSS and GnuTLS would otherwise confuse.
 */
export function makeTestCa(dir: string, name = 'gridlink test CA'): TestCa {
  mkdirSync(dir, { recursive: true });
  const caFile = path.join(dir, 'ca.crt');
  const caKeyFile = path.join(dir, 'ca.key');
  const subject = `/O=gridlink tests/CN=${name.replace(/[/=\\]/g, ' ')} ${randomBytes(4).toString('hex')}`;
  openssl(
    [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
      '-keyout', caKeyFile, '-out', caFile, '-subj', subject,
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-addext', 'subjectKeyIdentifier=hash',
    ],
    dir,
  );
  chmodSync(caKeyFile, 0o600);
  chmodSync(caFile, 0o644);

  const issue = (certName: string, o: { ipSans?: string[]; dnsNames?: string[] }) => {
    const base = safeName(certName);
    const keyFile = path.join(dir, `${base}.key`);
    const certFile = path.join(dir, `${base}.crt`);
    const csr = path.join(dir, `${base}.csr`);
    const ext = path.join(dir, `${base}.ext`);
    const sans = [...(o.ipSans ?? []).map((ip) => `IP:${ip}`), ...(o.dnsNames ?? []).map((d) => `DNS:${d}`)];
    if (sans.length === 0) throw new Error(`makeTestCa.issue(${certName}): no subjectAltName given`);
    writeFileSync(
      ext,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth,clientAuth',
        'subjectKeyIdentifier=hash',
        'authorityKeyIdentifier=keyid',
        `subjectAltName=${sans.join(',')}`,
        '',
      ].join('\n'),
    );
    openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/O=gridlink tests/CN=${base}`], dir);
    // A random serial: NSS refuses a second certificate with the same issuer and serial.
    openssl(
      [
        'x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKeyFile, '-sha256', '-days', '825',
        '-set_serial', `0x${randomBytes(12).toString('hex')}`, '-extfile', ext, '-out', certFile,
      ],
      dir,
    );
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
    chmodSync(keyFile, 0o600);
    chmodSync(certFile, 0o644);
    return { certFile, keyFile };
  };
  return { caFile, caKeyFile, issue };
}
