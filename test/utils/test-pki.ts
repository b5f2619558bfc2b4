import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and its key, as PEM files in the PKI's directory. */
export interface CertFiles {
  cert: string;
  key: string;
}

export interface LeafOptions {
  /** subjectAltName entries, e.g. ['DNS:localhost', 'IP:127.0.0.1'] (the default). */
  san?: string[];
  /** openssl ca -startdate/-enddate (YYMMDDHHMMSSZ); default: valid from a day ago for 30 days. */
  startDate?: string;
  endDate?: string;
}

/**
 * A throwaway PKI made at run time with Debian's openssl: nothing secret is committed. One
 * CA (`ca.cert`) signs the leaves; `otherCa` is a CA nobody trusts. Call `remove()` after.
 */
export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'hookline-pki-'));
  readonly ca: CertFiles;
  readonly otherCa: CertFiles;
  private serial = 1;

  constructor() {
    this.ca = this.selfSignedCa('ca', 'Hookline Test CA');
    this.otherCa = this.selfSignedCa('other-ca', 'Untrusted Test CA');
  }

  /** A leaf certificate for `name` signed by the CA (or `issuer`). */
  leaf(name: string, options: LeafOptions = {}, issuer: CertFiles = this.ca): CertFiles {
    const key = join(this.dir, `${name}.key`);
    const csr = join(this.dir, `${name}.csr`);
    const cert = join(this.dir, `${name}.crt`);
    const san = (options.san ?? ['DNS:localhost', 'IP:127.0.0.1']).join(',');
    const now = Date.now();
    const start = options.startDate ?? asn1Time(now - 86_400_000);
    const end = options.endDate ?? asn1Time(now + 30 * 86_400_000);
    openssl(
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      `/CN=${name}`,
    );
    const conf = this.caConfig(issuer, [
      `subjectAltName = ${san}`,
      'basicConstraints = critical,CA:FALSE',
      'extendedKeyUsage = serverAuth',
    ]);
    openssl('ca', '-batch', '-config', conf, '-in', csr, '-out', cert, '-startdate', start, '-enddate', end, '-notext');
    return { cert, key };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private selfSignedCa(name: string, cn: string): CertFiles {
    const key = join(this.dir, `${name}.key`);
    const cert = join(this.dir, `${name}.crt`);
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '30',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
    return { cert, key };
  }

  /** A minimal `openssl ca` configuration: it alone takes an explicit start and end date. */
  private caConfig(issuer: CertFiles, extensions: string[]): string {
    const db = join(this.dir, `index-${this.serial}.txt`);
    writeFileSync(db, '');
    const serialFile = join(this.dir, `serial-${this.serial}`);
    writeFileSync(serialFile, `${(this.serial++).toString(16).padStart(4, '0')}\n`);
    const conf = join(this.dir, `ca-${this.serial}.cnf`);
    writeFileSync(
      conf,
      [
        '[ca]',
        'default_ca = test',
        '[test]',
        `dir = ${this.dir}`,
        `database = ${db}`,
        `serial = ${serialFile}`,
        `new_certs_dir = ${this.dir}`,
        `certificate = ${issuer.cert}`,
        `private_key = ${issuer.key}`,
        'default_md = sha256',
        'policy = any',
        'unique_subject = no',
        'copy_extensions = none',
        `x509_extensions = ext`,
        '[any]',
        'commonName = supplied',
        '[ext]',
        ...extensions,
      ].join('\n') + '\n',
    );
    return conf;
  }
}

/** openssl's ASN.1 time, YYMMDDHHMMSSZ. */
export function asn1Time(ms: number): string {
  return new Date(ms).toISOString().replace(/^\d\d(\d\d)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d).*$/, '$1$2$3$4$5$6Z');
}

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
