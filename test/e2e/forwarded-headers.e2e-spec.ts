import { request } from 'node:http';
import { captureOutput, jsonLines } from '../utils/capture-output.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';

jest.setTimeout(30_000);

/** A GET from `localAddress` (a loopback address other than 127.0.0.1 is an untrusted peer) with `headers`. */
function get(base: string, path: string, headers: Record<string, string>, localAddress = '127.0.0.1') {
  const { hostname, port } = new URL(base);
  return new Promise<{ status: number; hsts: boolean }>((resolve, reject) => {
    const req = request({ host: hostname, port, path, headers, localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, hsts: res.headers['strict-transport-security'] !== undefined }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * TRUST_PROXY=127.0.0.1 (the gateway): its X-Forwarded-For names the client in the access
 * log, its X-Forwarded-Proto decides HSTS; from any other peer (127.0.0.2) both are ignored.
 */
describe('forwarded headers from trusted and untrusted peers (TRUST_PROXY)', () => {
  let t: TestApp | undefined;
  afterAll(async () => {
    await t?.close();
  });

  it('takes the client address and scheme from the trusted proxy only', async () => {
    const forwarded = { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' };
    const answers: Record<string, { status: number; hsts: boolean }> = {};
    const output = await captureOutput(async () => {
      t = await createTestApp({ LOG_LEVEL: 'log', LOG_FORMAT: 'json', TRUST_PROXY: '127.0.0.1' });
      answers.trusted = await get(t.url, '/orders?via=trusted', forwarded);
      answers.untrusted = await get(t.url, '/orders?via=untrusted', forwarded, '127.0.0.2');
    });
    // 401 (no key): an access line each, at warn.
    expect(answers).toEqual({ trusted: { status: 401, hsts: true }, untrusted: { status: 401, hsts: false } });
    const lines = jsonLines(output) as { msg?: string; req?: { path?: string; remoteAddress?: string } }[];
    const addresses = lines
      .filter((l) => l.msg === 'request completed' && l.req?.path === '/orders')
      .map((l) => l.req?.remoteAddress);
    expect(addresses).toEqual(['203.0.113.9', '127.0.0.2']);
  });
});
