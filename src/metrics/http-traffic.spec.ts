import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { HttpTrafficMetrics, trafficApi } from './http-traffic.js';
import { MetricsRegistry } from './metrics-registry.js';

describe('HttpTrafficMetrics', () => {
  let server: Server;
  let base: string;
  let registry: MetricsRegistry;
  let traffic: HttpTrafficMetrics;
  const agent = new Agent({ connections: 1 });

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('x'.repeat(1000)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await agent.close();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    registry = new MetricsRegistry();
    traffic = new HttpTrafficMetrics(registry);
  });
  afterEach(() => traffic.onModuleDestroy());

  const value = async (name: string, labels: Record<string, string>) => {
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
    const found = (metric?.values ?? []).find((v) =>
      Object.entries(labels).every(([k, l]) => (v.labels as Record<string, string>)[k] === l),
    );
    return found?.value ?? 0;
  };

  it('classifies paths by API', () => {
    expect(trafficApi('/psp/v1/payments/pay_1?wait=10')).toBe('psp');
    expect(trafficApi('/v1/payment_intents/pi_1')).toBe('psp');
    expect(trafficApi('/webhooks/psp')).toBe('webhooks');
    expect(trafficApi('/orders')).toBe('shop');
    expect(trafficApi('/health/ready')).toBe('ops');
  });

  it('counts requests and socket bytes per side and API, one keep-alive socket shared by two APIs', async () => {
    const call = async (path: string, body?: string) => {
      const res = await request(`${base}${path}`, { dispatcher: agent, method: body ? 'POST' : 'GET', body });
      await res.body.text();
    };
    await call('/psp/v1/payments/pay_1');
    await call('/psp/v1/payments/pay_1');
    await call('/webhooks/psp', 'y'.repeat(500));

    expect(await value('hookline_http_requests_total', { side: 'client', api: 'psp' })).toBe(2);
    expect(await value('hookline_http_requests_total', { side: 'server', api: 'psp' })).toBe(2);
    expect(await value('hookline_http_requests_total', { side: 'client', api: 'webhooks' })).toBe(1);
    expect(await value('hookline_http_requests_total', { side: 'server', api: 'webhooks' })).toBe(1);
    // Each answer carries a 1,000-byte body; the webhook request a 500-byte one.
    const pspIn = await value('hookline_http_bytes_total', { side: 'client', api: 'psp', direction: 'in' });
    expect(pspIn).toBeGreaterThan(2000);
    expect(pspIn).toBeLessThan(2600);
    const hookOut = await value('hookline_http_bytes_total', { side: 'client', api: 'webhooks', direction: 'out' });
    expect(hookOut).toBeGreaterThan(500);
    expect(hookOut).toBeLessThan(800);
    expect(await value('hookline_http_bytes_total', { side: 'server', api: 'webhooks', direction: 'in' })).toBe(
      hookOut,
    );
  });

  it('stops counting once destroyed', async () => {
    traffic.onModuleDestroy();
    const res = await request(`${base}/orders`, { dispatcher: agent });
    await res.body.text();
    expect(await value('hookline_http_requests_total', { side: 'server', api: 'shop' })).toBe(0);
  });
});
