// `npm run compare -- --tls`: a throwaway CA and a certificate for 127.0.0.1, made with
// openssl (Debian's) in a temporary directory, so the whole run goes over HTTPS with every
// certificate checked: the processes serve it (TLS_CERT_FILE), call each other trusting
// the CA (PSP_CA_FILE, PSP_MOCK_CA_FILE), and the harness's own fetch trusts it too.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, setGlobalDispatcher } from 'undici';

export interface LoopbackPki {
  cert: string;
  key: string;
  ca: string;
}

export function makeLoopbackPki(): LoopbackPki {
  const dir = mkdtempSync(join(tmpdir(), 'hookline-compare-tls-'));
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=Hookline compare CA',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    f('key.pem'),
    '-out',
    f('csr.pem'),
  );
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    f('csr.pem'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f('ext.cnf'),
    '-out',
    f('cert.pem'),
  );
  const pki = { cert: f('cert.pem'), key: f('key.pem'), ca: f('ca.pem') };
  // Node's fetch follows undici's global dispatcher: the harness trusts the run's CA too.
  setGlobalDispatcher(new Agent({ connect: { ca: readFileSync(pki.ca, 'utf8') } }));
  return pki;
}
