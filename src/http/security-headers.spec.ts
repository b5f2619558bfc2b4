import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { SecurityHeaders } from './security-headers.js';

/** A Fastify server (https with `tls`) with the hook where FastifyAdapter runs it (onRequest). */
async function serve(tls: { key: Buffer; cert: Buffer }): Promise<{ app: FastifyInstance; url: string }> {
  const headers = new SecurityHeaders();
  const app = Fastify({ https: tls }) as unknown as FastifyInstance;
  app.addHook('onRequest', (request, reply, done) => done(headers.hook(request, reply.raw)));
  app.get('/', () => 'ok');
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url };
}

function fetchHeaders(url: string): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    get(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.headers));
    }).on('error', reject);
  });
}

describe('SecurityHeaders', () => {
  let dir: string;
  let tls: { key: Buffer; cert: Buffer };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hookline-tls-'));
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'].concat([
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ]),
      { stdio: 'ignore' },
    );
    tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('counts a direct TLS socket as https: HSTS and upgrade-insecure-requests', async () => {
    const { app, url } = await serve(tls);
    try {
      const headers = await fetchHeaders(url);
      expect(headers['strict-transport-security']).toMatch(/^max-age=\d+/);
      expect(headers['content-security-policy']).toMatch(/(^|;)upgrade-insecure-requests(;|$)/);
      expect(headers['content-security-policy']).toMatch(/(^|;)script-src 'self'(;|$)/);
    } finally {
      await app.close();
    }
  });

  it('sends neither over plain HTTP, whatever X-Forwarded-Proto says when no proxy is trusted', async () => {
    const app = Fastify();
    const headers = new SecurityHeaders();
    app.addHook('onRequest', (request, reply, done) => done(headers.hook(request, reply.raw)));
    app.get('/', () => 'ok');
    for (const h of [{}, { 'x-forwarded-proto': 'https' }]) {
      const res = await app.inject({ url: '/', headers: h });
      expect(res.headers['strict-transport-security']).toBeUndefined();
      expect(String(res.headers['content-security-policy'])).not.toContain('upgrade-insecure-requests');
      expect(String(res.headers['content-security-policy'])).toContain(`default-src 'self'`);
    }
    await app.close();
  });

  it('believes X-Forwarded-Proto only from a trusted proxy address', async () => {
    const app = Fastify({ trustProxy: ['10.0.0.1'] });
    const headers = new SecurityHeaders();
    app.addHook('onRequest', (request, reply, done) => done(headers.hook(request, reply.raw)));
    app.get('/', () => 'ok');
    const from = async (remoteAddress: string) =>
      (await app.inject({ url: '/', remoteAddress, headers: { 'x-forwarded-proto': 'https' } })).headers[
        'strict-transport-security'
      ];
    expect(await from('10.0.0.1')).toMatch(/^max-age=/);
    expect(await from('10.0.0.2')).toBeUndefined();
    await app.close();
  });
});
