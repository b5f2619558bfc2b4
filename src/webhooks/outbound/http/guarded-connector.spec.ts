import type { buildConnector } from 'undici';

import { AddressPolicy } from './address-policy.js';
import {
  createGuardedConnector,
  NEXT_ADDRESS_AFTER_MS,
  tryNextAddressAfter,
  AddressesUnreachableError,
} from './guarded-agent.js';
import { fakeLookup } from './guarded-agent.spec-support.js';

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
