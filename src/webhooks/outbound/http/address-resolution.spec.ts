import { AddressPolicy } from './address-policy.js';
import { checkEndpointUrl, LookupTimeoutError, RefusedAddressError, resolveAllowedAddresses } from './guarded-agent.js';
import { fakeLookup, neverAnswers, rejectionOf } from './guarded-agent.spec-support.js';

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

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
