import type { LookupAddress } from 'node:dns';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { fetch, request, type Agent, type buildConnector } from 'undici';

import { AddressPolicy } from './address-policy.js';
import {
  checkEndpointUrl,
  createGuardedAgent,
  createGuardedConnector,
  NEXT_ADDRESS_AFTER_MS,
  LookupTimeoutError,
  RefusedAddressError,
  resolveAllowedAddresses,
  tryNextAddressAfter,
  AddressesUnreachableError,
  type LookupFn,
} from './guarded-agent.js';

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

/** A lookup that answers from a table and records what it was asked. */
function fakeLookup(table: Record<string, string[]>): LookupFn & { calls: string[] } {
  const calls: string[] = [];
  const lookup = (hostname: string): Promise<LookupAddress[]> => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (!addresses)
      return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
    return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };
  return Object.assign(lookup, { calls });
}

const neverAnswers: LookupFn = () => new Promise<LookupAddress[]>(() => undefined);

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

async function rejectionOf(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
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

describe('resolveAllowedAddresses', () => {
  const policy = new AddressPolicy(['127.0.0.0/8']);

  it('names the first refused address when none is allowed', async () => {
    const lookup = fakeLookup({ 'meta.example.test': ['169.254.169.254', '10.0.0.1'] });

    const err = await rejectionOf(resolveAllowedAddresses('meta.example.test', policy, lookup));

    expect(err).toBeInstanceOf(RefusedAddressError);
    expect(err.message).toBe(
      'refused to connect to meta.example.test (169.254.169.254): 169.254.169.254 is a link-local / cloud metadata address (not in WEBHOOK_ALLOWED_CIDRS)',
    );
  });

  it('keeps the allowed addresses in the order DNS gave them, skipping refused ones', async () => {
    const lookup = fakeLookup({ 'mixed.example.test': ['10.0.0.1', '169.254.169.254', '127.0.0.9', '127.0.0.1'] });
    await expect(resolveAllowedAddresses('mixed.example.test', policy, lookup)).resolves.toEqual([
      '127.0.0.9',
      '127.0.0.1',
    ]);
  });

  it('judges IP literals without asking DNS', async () => {
    const lookup = fakeLookup({});
    await expect(resolveAllowedAddresses('127.0.0.2', policy, lookup)).resolves.toEqual(['127.0.0.2']);
    await expect(resolveAllowedAddresses('::ffff:10.0.0.1', policy, lookup)).rejects.toThrow(
      '::ffff:10.0.0.1 is an IPv4-mapped address embedding 10.0.0.1, a private address',
    );
    expect(lookup.calls).toEqual([]);
  });

  it('gives up on a lookup that does not answer in time', async () => {
    jest.useFakeTimers();
    try {
      const result = rejectionOf(resolveAllowedAddresses('slow.example.test', policy, neverAnswers, 500));
      await jest.advanceTimersByTimeAsync(500);
      const err = await result;
      expect(err).toBeInstanceOf(LookupTimeoutError);
      expect(err.message).toBe('DNS lookup of slow.example.test did not answer within 500 ms');
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('createGuardedConnector (Happy Eyeballs)', () => {
  const policy = new AddressPolicy(['127.0.0.0/8', '2001:db8::/32']);
  const lookup = fakeLookup({ 'hooks.example.test': ['2001:db8::1', '127.0.0.1'] });
  const netError = (code: string, address: string) =>
    Object.assign(new Error(`connect ${code} ${address}:443`), { code });

  /** A dial that connects only when the test says so, recording each address it was asked for. */
  function setup() {
    const attempts: { address: string; answer: (err: Error | null) => void; socket: { destroyed: boolean } }[] = [];
    const dial: buildConnector.connector = (options, callback) => {
      const socket = {
        destroyed: false,
        destroy() {
          this.destroyed = true;
        },
      };
      attempts.push({
        address: options.hostname,
        socket,
        answer: (err) => (err ? callback(err, null) : callback(null, socket as never)),
      });
    };
    const connect = createGuardedConnector(policy, { lookup, dial });
    let outcome: { err: Error | null; socket: unknown } | undefined;
    connect(
      { hostname: 'hooks.example.test', host: 'hooks.example.test', protocol: 'https:', port: '443' },
      (err, socket) => {
        outcome = { err, socket };
      },
    );
    return { attempts, outcome: () => outcome };
  }

  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('dials the next address when the first has not connected within NEXT_ADDRESS_AFTER_MS; the first to connect wins, a later one is closed', async () => {
    const { attempts, outcome } = setup();
    await jest.advanceTimersByTimeAsync(NEXT_ADDRESS_AFTER_MS - 1);
    expect(attempts.map((a) => a.address)).toEqual(['2001:db8::1']);
    await jest.advanceTimersByTimeAsync(1);
    expect(attempts.map((a) => a.address)).toEqual(['2001:db8::1', '127.0.0.1']);
    attempts[1].answer(null);
    expect(outcome()).toEqual({ err: null, socket: attempts[1].socket });
    attempts[0].answer(null); // the silent address connects after all: not needed any more
    expect(attempts[0].socket.destroyed).toBe(true);
    expect(attempts[1].socket.destroyed).toBe(false);
  });

  it('dials the next address at once when one fails on the network', async () => {
    const { attempts, outcome } = setup();
    await jest.advanceTimersByTimeAsync(0);
    attempts[0].answer(netError('ENETUNREACH', '2001:db8::1'));
    expect(attempts.map((a) => a.address)).toEqual(['2001:db8::1', '127.0.0.1']);
    attempts[1].answer(null);
    expect(outcome()?.socket).toBe(attempts[1].socket);
  });

  it('fails only when every address has failed, naming each', async () => {
    const { attempts, outcome } = setup();
    await jest.advanceTimersByTimeAsync(NEXT_ADDRESS_AFTER_MS);
    attempts[1].answer(netError('ECONNREFUSED', '127.0.0.1'));
    expect(outcome()).toBeUndefined(); // the first may still connect
    attempts[0].answer(netError('ETIMEDOUT', '2001:db8::1'));
    const err = outcome()?.err as AddressesUnreachableError;
    expect(err).toBeInstanceOf(AddressesUnreachableError);
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.message).toBe(
      'no address of hooks.example.test could be connected to: connect ECONNREFUSED 127.0.0.1:443; connect ETIMEDOUT 2001:db8::1:443',
    );
  });

  it('ends at once on a failure another address would not change (TLS), closing a later connection', async () => {
    const { attempts, outcome } = setup();
    await jest.advanceTimersByTimeAsync(NEXT_ADDRESS_AFTER_MS);
    const tls = Object.assign(new Error('Hostname/IP does not match certificate'), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    attempts[1].answer(tls);
    expect(outcome()).toEqual({ err: tls, socket: null });
    attempts[0].answer(null);
    expect(attempts[0].socket.destroyed).toBe(true);
  });
});

describe('tryNextAddressAfter', () => {
  it.each(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT'])(
    'tries the next address after %s',
    (code) => {
      expect(tryNextAddressAfter(Object.assign(new Error(code), { code }))).toBe(true);
    },
  );

  it.each(['ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', undefined])(
    'does not after %s (it would fail alike at every address)',
    (code) => {
      expect(tryNextAddressAfter(Object.assign(new Error('tls'), { code }))).toBe(false);
    },
  );
});

describe('checkEndpointUrl', () => {
  const policy = new AddressPolicy([]);
  const lookup = fakeLookup({
    'public.example.test': ['93.184.215.14'],
    'mixed.example.test': ['10.0.0.1', '93.184.215.14'],
    'internal.example.test': ['10.0.0.1', '169.254.169.254'],
    localhost: ['127.0.0.1', '::1'],
  });

  it.each([
    ['https://public.example.test/hooks'],
    ['http://public.example.test:8080/hooks'],
    ['https://mixed.example.test/hooks'],
    ['https://93.184.215.14/hooks'],
    ['https://[2606:4700:4700::1111]/hooks'],
    ['https://unknown.example.test/hooks'], // does not resolve now: delivery will tell
  ])('accepts %s', async (url) => {
    await expect(checkEndpointUrl(url, policy, lookup)).resolves.toEqual({ ok: true });
  });

  it.each([
    ['not a url', 'not a valid absolute URL'],
    ['ftp://public.example.test/hooks', 'the scheme ftp is not allowed (http or https only)'],
    ['file:///etc/passwd', 'the scheme file is not allowed (http or https only)'],
    ['https://user:secret@public.example.test/hooks', 'credentials in the URL (user:password@) are not allowed'],
    ['https://user@public.example.test/hooks', 'credentials in the URL (user:password@) are not allowed'],
    ['http://127.0.0.1:3000/hooks', '127.0.0.1 is a loopback address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['http://2130706433/hooks', '127.0.0.1 is a loopback address (not in WEBHOOK_ALLOWED_CIDRS)'],
    ['http://[::1]/hooks', '::1 is a loopback address (not in WEBHOOK_ALLOWED_CIDRS)'],
    [
      'http://[::ffff:169.254.169.254]/latest/meta-data',
      '::ffff:a9fe:a9fe is an IPv4-mapped address embedding 169.254.169.254, a link-local / cloud metadata address (not in WEBHOOK_ALLOWED_CIDRS)',
    ],
    [
      'http://169.254.169.254/latest/meta-data',
      '169.254.169.254 is a link-local / cloud metadata address (not in WEBHOOK_ALLOWED_CIDRS)',
    ],
    [
      'https://internal.example.test/hooks',
      'internal.example.test resolves only to refused addresses: 10.0.0.1 is a private address (not in WEBHOOK_ALLOWED_CIDRS)',
    ],
    [
      'http://localhost:3000/hooks',
      'localhost resolves only to refused addresses: 127.0.0.1 is a loopback address (not in WEBHOOK_ALLOWED_CIDRS)',
    ],
  ])('refuses %s', async (url, reason) => {
    await expect(checkEndpointUrl(url, policy, lookup)).resolves.toEqual({ ok: false, reason });
  });

  it('accepts loopback URLs when loopback is allow-listed', async () => {
    const local = new AddressPolicy(LOOPBACK);
    await expect(checkEndpointUrl('http://localhost:3000/hooks', local, lookup)).resolves.toEqual({ ok: true });
    await expect(checkEndpointUrl('http://[::1]:3000/hooks', local, lookup)).resolves.toEqual({ ok: true });
  });

  it('accepts a URL whose lookup does not answer within the timeout', async () => {
    jest.useFakeTimers();
    try {
      const verdict = checkEndpointUrl('https://slow.example.test/hooks', policy, neverAnswers);
      await jest.advanceTimersByTimeAsync(2000);
      await expect(verdict).resolves.toEqual({ ok: true });
    } finally {
      jest.useRealTimers();
    }
  });
});
