// Test fixture: a throw-away CA and a server certificate it signs (for
// 127.0.0.1 and localhost), plus an unrelated CA, made with the openssl CLI.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TlsFiles {
  dir: string;
  caFile: string;
  otherCaFile: string;
  certFile: string;
  keyFile: string;
  cleanup(): void;
}

export function makeTlsFiles(): TlsFiles {
  const dir = mkdtempSync(path.join(tmpdir(), 'gridlink-sbatch-tls-'));
  const f = (n: string) => path.join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=gridlink test CA');
  ssl('req', '-x509', ...ec, '-keyout', f('other-ca.key'), '-out', f('other-ca.pem'), '-days', '2', '-subj', '/CN=unrelated CA');
  ssl('req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost');
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf'));
  return {
    dir,
    caFile: f('ca.pem'),
    otherCaFile: f('other-ca.pem'),
    certFile: f('server.pem'),
    keyFile: f('server.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
