import type { ConfigService } from '@nestjs/config';
import { createServer, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AllConfig } from '../../config/env.js';
import { HttpPspClient } from './http-psp.client.js';

/** A PSP that holds every request until released, counting the connections it has open. */
describe('HttpPspClient connection pool (PSP_CLIENT_CONNECTIONS)', () => {
  let server: Server;
  let baseUrl: string;
  let open = 0;
  let peak = 0;
  const held: ServerResponse[] = [];

  beforeAll(async () => {
    server = createServer((_req, res) => held.push(res));
    server.on('connection', (socket) => {
      peak = Math.max(peak, ++open);
      socket.on('close', () => open--);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const client = (connections: number) =>
    new HttpPspClient({
      get: (key: string) =>
        ({ PSP_BASE_URL: baseUrl, PSP_API_KEY: 'k', PSP_TIMEOUT_MS: 10_000, PSP_CLIENT_CONNECTIONS: connections })[key],
    } as unknown as ConfigService<AllConfig, true>);

  const release = () => {
    for (const res of held.splice(0)) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: 'pay_1', status: 'processing', amount: 1, currency: 'USD' }));
    }
  };
  /** Waits for the effect (src/ may not import test/utils/wait-for.ts), with a deadline. */
  const waitFor = async (what: string, probe: () => Promise<boolean>) => {
    const deadline = Date.now() + 5000;
    while (!(await probe())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  it.each([
    [2, 2],
    [5, 5],
  ])('holds at most %i connections for 5 long polls at once', async (connections, expected) => {
    peak = 0;
    const psp = client(connections);
    const polls = Array.from({ length: 5 }, () => psp.getPayment('pay_1', 10));
    await waitFor('the PSP holding the polls', () => Promise.resolve(held.length === expected));
    expect(peak).toBe(expected);
    // The others wait in the pool, not at the PSP: release rounds until every poll answered.
    let done = false;
    void Promise.all(polls).then(() => (done = true));
    await waitFor('every poll answered', () => {
      release();
      return Promise.resolve(done);
    });
    expect(peak).toBe(expected);
    await psp.onModuleDestroy();
  });

  it('closes its pool once when Nest destroys it under both of its tokens', async () => {
    const psp = client(2);
    // Without the guard, undici rejects the second close with ClientDestroyedError.
    await psp.onModuleDestroy();
    await psp.onModuleDestroy();
  });
});
