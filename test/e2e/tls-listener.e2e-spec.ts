import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { orderBody, shopHeaders } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { TestPki, type CertFiles } from '../utils/test-pki.js';
import { waitFor } from '../utils/wait-for.js';

jest.setTimeout(30_000);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  serial: string;
  socket: TLSSocket;
}

/** One HTTPS request trusting only the test CA, through `agent` (keep-alive) when given. */
function get(url: string, path: string, ca: Buffer, agent?: Agent, method = 'GET', body?: unknown) {
  return new Promise<Answer>((resolve, reject) => {
    const headers = body === undefined ? {} : shopHeaders;
    const req = httpsRequest(`${url}${path}`, { ca, agent, headers, method }, (res) => {
      const chunks: Buffer[] = [];
      const socket = res.socket as TLSSocket;
      const serial = socket.getPeerCertificate().serialNumber;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
          serial,
          socket,
        });
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('TLS in the process (TLS_CERT_FILE, TLS_KEY_FILE)', () => {
  const pki = new TestPki();
  const served: CertFiles = { cert: join(pki.dir, 'served.crt'), key: join(pki.dir, 'served.key') };
  const first = pki.leaf('first');
  const second = pki.leaf('second');
  const third = pki.leaf('third');
  const ca = readFileSync(pki.ca.cert);
  let t: TestApp;

  /** Puts `files` where the app reads its certificate, key first (as a renewal tool might). */
  const install = (files: CertFiles) => {
    copyFileSync(files.key, served.key);
    copyFileSync(files.cert, served.cert);
  };
  const serialOf = (files: CertFiles) => new X509Certificate(readFileSync(files.cert)).serialNumber;

  beforeAll(async () => {
    install(first);
    t = await createTestApp({
      TLS_CERT_FILE: served.cert,
      TLS_KEY_FILE: served.key,
      PSP_CA_FILE: pki.ca.cert,
      PSP_MOCK_CA_FILE: pki.ca.cert,
    });
  });
  afterAll(async () => {
    await t?.close();
    pki.remove();
  });

  it('serves HTTPS only, TLS 1.2 or newer, with HSTS on its answers', async () => {
    expect(t.url).toMatch(/^https:/);
    const res = await get(t.url, '/health/live', ca);
    expect(res.status).toBe(200);
    expect(['TLSv1.2', 'TLSv1.3']).toContain(res.socket.getProtocol());
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    // Plain HTTP on the same port gets no HTTP answer.
    const plain = new Promise<number>((resolve, reject) => {
      const req = httpRequest(t.url.replace('https:', 'http:') + '/health/live', (r) => resolve(r.statusCode ?? 0));
      req.on('error', reject);
      req.end();
    });
    await expect(plain).rejects.toThrow();
  });

  it('reloads the certificate when its files change, keeping open connections', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await get(t.url, '/health/live', ca, agent);
      expect(before.serial).toBe(serialOf(first));
      install(second);
      // New connections get the new certificate…
      await waitFor('the renewed certificate served', async () => {
        const fresh = await get(t.url, '/health/live', ca);
        fresh.socket.destroy();
        return fresh.serial === serialOf(second);
      });
      // …while the connection opened before the renewal still serves requests.
      const after = await get(t.url, '/health/live', ca, agent);
      expect(after.status).toBe(200);
      expect(after.socket).toBe(before.socket);
      expect(after.serial).toBe(serialOf(first));
    } finally {
      agent.destroy();
    }
  });

  it('reloads the certificate on SIGHUP', async () => {
    // The files change without their modification time moving: only the signal can tell.
    const { atime, mtime } = statSync(served.cert);
    const keyTimes = statSync(served.key);
    install(third);
    utimesSync(served.cert, atime, mtime);
    utimesSync(served.key, keyTimes.atime, keyTimes.mtime);
    const current = await get(t.url, '/health/live', ca);
    current.socket.destroy();
    expect(current.serial).not.toBe(serialOf(third));
    process.emit('SIGHUP', 'SIGHUP');
    const res = await get(t.url, '/health/live', ca);
    res.socket.destroy();
    expect(res.serial).toBe(serialOf(third));
  });

  it('pays an order end to end over HTTPS: PSP calls and the callback verified against the extra CA files', async () => {
    const created = await get(t.url, '/orders', ca, undefined, 'POST', orderBody());
    expect(created.status).toBe(201);
    const order = JSON.parse(created.body) as { id: string };
    const paid = await get(t.url, `/orders/${order.id}/payments`, ca, undefined, 'POST', {});
    expect(paid.status).toBe(201);
    await waitFor('the order paid by webhook over https', async () => {
      const [row] = await t.db.query('SELECT status FROM orders WHERE id = $1', [order.id]);
      return row?.status === 'paid';
    });
  });
});
