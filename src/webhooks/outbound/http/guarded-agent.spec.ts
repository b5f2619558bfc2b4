import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { fetch, request, type Agent } from 'undici';

import { AddressPolicy } from './address-policy.js';
import { createGuardedAgent, RefusedAddressError, AddressesUnreachableError } from './guarded-agent.js';
import { fakeLookup, rejectionOf } from './guarded-agent.spec-support.js';

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

interface Seen {
  connections: number;
  hosts: IncomingHttpHeaders['host'][];
}

/** An HTTP server counting connections; `keepAlive: false` answers `Connection: close`. */
async function startServer(
  host: string,
  { keepAlive = true } = {},
): Promise<{ server: Server; port: number; seen: Seen }> {
  const seen: Seen = { connections: 0, hosts: [] };
  const server = createHttpServer((req, res) => {
    seen.hosts.push(req.headers.host);
    if (!keepAlive) res.setHeader('connection', 'close');
    res.end(`hello ${req.url}`);
  });
  server.on('connection', () => {
    seen.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

async function stop(server: Server | NetServer): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
describe('createGuardedAgent', () => {
  let server: Server;
  let port: number;
  let seen: Seen;
  let agent: Agent | undefined;

  beforeEach(async () => {
    ({ server, port, seen } = await startServer('127.0.0.1'));
  });

  afterEach(async () => {
    await agent?.close();
    agent = undefined;
    await stop(server);
  });

  it('refuses an IP-literal loopback target unless allow-listed, before any connection', async () => {
    agent = createGuardedAgent(new AddressPolicy([]));

    const err = await rejectionOf(request(`http://127.0.0.1:${port}/hook`, { dispatcher: agent }));

    expect(err).toBeInstanceOf(RefusedAddressError);
    expect(err).toMatchObject({
      name: 'RefusedAddressError',
      code: 'WEBHOOK_TARGET_REFUSED',
      hostname: '127.0.0.1',
      address: '127.0.0.1',
      message: 'refused to connect to 127.0.0.1: 127.0.0.1 is a loopback address (not in WEBHOOK_ALLOWED_CIDRS)',
    });
    expect(seen.connections).toBe(0);
  });

  it("surfaces the refusal as the cause of fetch's TypeError", async () => {
    agent = createGuardedAgent(new AddressPolicy([]));

    const err = await rejectionOf(fetch(`http://127.0.0.1:${port}/hook`, { dispatcher: agent }));

    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('fetch failed');
    expect(err.cause).toBeInstanceOf(RefusedAddressError);
    expect(err.cause.code).toBe('WEBHOOK_TARGET_REFUSED');
    expect(seen.connections).toBe(0);
  });

  it('connects to an allow-listed loopback target and keeps the connection alive', async () => {
    // One socket per origin: undici frees a socket only after the body's end event, so
    // back-to-back requests on an unlimited pool may open a second one regardless.
    agent = createGuardedAgent(new AddressPolicy(['127.0.0.0/8']), { connections: 1 });

    const first = await request(`http://127.0.0.1:${port}/one`, { dispatcher: agent });
    expect(first.statusCode).toBe(200);
    expect(await first.body.text()).toBe('hello /one');
    const second = await request(`http://127.0.0.1:${port}/two`, { dispatcher: agent });
    expect(await second.body.text()).toBe('hello /two');
    expect(seen.connections).toBe(1);
    expect(seen.hosts).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${port}`]);
  });

  it('refuses a hostname that resolves to a private address, without connecting', async () => {
    const lookup = fakeLookup({ 'hooks.example.test': ['10.0.0.1'] });
    agent = createGuardedAgent(new AddressPolicy(LOOPBACK), { lookup });

    const err = await rejectionOf(request(`http://hooks.example.test:${port}/`, { dispatcher: agent }));

    expect(err).toBeInstanceOf(RefusedAddressError);
    expect(err.message).toBe(
      'refused to connect to hooks.example.test (10.0.0.1): 10.0.0.1 is a private address (not in WEBHOOK_ALLOWED_CIDRS)',
    );
    expect(lookup.calls).toEqual(['hooks.example.test']);
  });

  it('connects to the first allowed address a hostname resolves to, keeping the Host header', async () => {
    const lookup = fakeLookup({ 'hooks.example.test': ['10.0.0.1', '127.0.0.1'] });
    agent = createGuardedAgent(new AddressPolicy(['127.0.0.0/8']), { lookup });

    const res = await request(`http://hooks.example.test:${port}/hook`, { dispatcher: agent });

    expect(await res.body.text()).toBe('hello /hook');
    expect(seen.connections).toBe(1);
    expect(seen.hosts).toEqual([`hooks.example.test:${port}`]);
  });

  it('moves on to the next allowed address when one refuses the connection', async () => {
    // Nothing listens on 127.0.0.2 (the server is bound to 127.0.0.1 only): ECONNREFUSED there.
    const lookup = fakeLookup({ 'hooks.example.test': ['127.0.0.2', '127.0.0.1'] });
    agent = createGuardedAgent(new AddressPolicy(['127.0.0.0/8']), { lookup });

    const res = await request(`http://hooks.example.test:${port}/hook`, { dispatcher: agent });

    expect(await res.body.text()).toBe('hello /hook');
    expect(seen.connections).toBe(1);
    expect(seen.hosts).toEqual([`hooks.example.test:${port}`]);
    expect(lookup.calls).toEqual(['hooks.example.test']);
  });

  it('names every address tried when none of them can be connected to', async () => {
    const lookup = fakeLookup({ 'hooks.example.test': ['127.0.0.2', '10.0.0.1', '127.0.0.3'] });
    agent = createGuardedAgent(new AddressPolicy(['127.0.0.0/8']), { lookup });

    const err = await rejectionOf(request(`http://hooks.example.test:${port}/`, { dispatcher: agent }));

    expect(err).toBeInstanceOf(AddressesUnreachableError);
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.message).toBe(
      `no address of hooks.example.test could be connected to: connect ECONNREFUSED 127.0.0.2:${port}; connect ECONNREFUSED 127.0.0.3:${port}`,
    );
    expect(seen.connections).toBe(0);
  });

  it('resolves again for each new connection, so a rebound name is caught', async () => {
    const closing = await startServer('127.0.0.1', { keepAlive: false });
    const table: Record<string, string[]> = { 'hooks.example.test': ['127.0.0.1'] };
    const lookup = fakeLookup(table);
    agent = createGuardedAgent(new AddressPolicy(['127.0.0.0/8']), { lookup });
    try {
      const first = await request(`http://hooks.example.test:${closing.port}/`, { dispatcher: agent });
      expect(await first.body.text()).toBe('hello /');

      table['hooks.example.test'] = ['169.254.169.254'];
      const err = await rejectionOf(request(`http://hooks.example.test:${closing.port}/`, { dispatcher: agent }));

      expect(err).toBeInstanceOf(RefusedAddressError);
      expect(err.address).toBe('169.254.169.254');
      expect(lookup.calls).toEqual(['hooks.example.test', 'hooks.example.test']);
      expect(closing.seen.connections).toBe(1);
    } finally {
      await stop(closing.server);
    }
  });

  it('passes a lookup failure through as the request error', async () => {
    agent = createGuardedAgent(new AddressPolicy(LOOPBACK), { lookup: fakeLookup({}) });

    const err = await rejectionOf(request(`http://nowhere.example.test:${port}/`, { dispatcher: agent }));

    expect(err).toMatchObject({ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND nowhere.example.test' });
  });

  it('sends the hostname, not the dialled IP, as TLS SNI', async () => {
    // A bare TCP server is enough: the ClientHello carries the SNI in clear text.
    let clientHello: Buffer = Buffer.alloc(0);
    let helloSeen!: () => void;
    const hello = new Promise<void>((resolve) => (helloSeen = resolve));
    const tlsServer = createNetServer((socket) =>
      socket.once('data', (data: Buffer) => {
        clientHello = data;
        socket.destroy();
        helloSeen();
      }),
    );
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    const tlsPort = (tlsServer.address() as AddressInfo).port;
    agent = createGuardedAgent(new AddressPolicy(['127.0.0.0/8']), {
      lookup: fakeLookup({ 'secure.example.test': ['127.0.0.1'] }),
    });

    const failed = rejectionOf(request(`https://secure.example.test:${tlsPort}/`, { dispatcher: agent }));
    await hello;
    await failed;
    await stop(tlsServer);

    expect(clientHello.includes('secure.example.test')).toBe(true);
  });

  it('checks bracketed IPv6 literals too', async () => {
    const v6 = await startServer('::1');
    try {
      const refused = createGuardedAgent(new AddressPolicy(['127.0.0.0/8']));
      const err = await rejectionOf(request(`http://[::1]:${v6.port}/`, { dispatcher: refused }));
      await refused.close();
      expect(err).toBeInstanceOf(RefusedAddressError);
      expect(err.message).toBe('refused to connect to ::1: ::1 is a loopback address (not in WEBHOOK_ALLOWED_CIDRS)');
      expect(v6.seen.connections).toBe(0);

      agent = createGuardedAgent(new AddressPolicy(['::1/128']));
      const res = await request(`http://[::1]:${v6.port}/v6`, { dispatcher: agent });
      expect(await res.body.text()).toBe('hello /v6');
      expect(v6.seen.connections).toBe(1);
    } finally {
      await agent?.close();
      agent = undefined;
      await stop(v6.server);
    }
  });
});
