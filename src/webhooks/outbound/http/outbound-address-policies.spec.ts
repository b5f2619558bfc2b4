import { validateEnv } from '../../../config/env.js';
import { OutboundAddressPolicies } from './outbound-address-policies.js';

describe('OutboundAddressPolicies', () => {
  const policies = OutboundAddressPolicies.fromLists('none', '127.0.0.0/8,::1/128,172.16.0.0/12');
  const callback = { owner: 'psp', kind: 'callback' } as const;

  it("judges the PSP mock's callback deliveries by PSP_CALLBACK_ALLOWED_CIDRS", () => {
    const policy = policies.for(callback);
    expect(policy.check('127.0.0.1')).toEqual({ allowed: true });
    expect(policy.check('172.18.0.5')).toEqual({ allowed: true });
    expect(policy.check('169.254.169.254')).toEqual({
      allowed: false,
      reason: '169.254.169.254 is a link-local / cloud metadata address (not in PSP_CALLBACK_ALLOWED_CIDRS)',
    });
  });

  it.each([
    ['shop', 'registered'],
    ['psp', 'registered'],
    // No shop callback endpoint is ever made; were one, it would not borrow the PSP's list.
    ['shop', 'callback'],
  ] as const)('judges a %s %s endpoint by WEBHOOK_ALLOWED_CIDRS only', (owner, kind) => {
    const policy = policies.for({ owner, kind });
    for (const ip of ['127.0.0.1', '::1', '172.18.0.5']) {
      expect(policy.check(ip)).toEqual({
        allowed: false,
        reason: expect.stringMatching(/ address \(not in WEBHOOK_ALLOWED_CIDRS\)$/),
      });
    }
    expect(policy.check('93.184.215.14')).toEqual({ allowed: true });
  });

  it('reads both lists from the environment, loopback by default', () => {
    const dev = validateEnv({});
    expect([dev.WEBHOOK_ALLOWED_CIDRS, dev.PSP_CALLBACK_ALLOWED_CIDRS]).toEqual([
      '127.0.0.0/8,::1/128',
      '127.0.0.0/8,::1/128',
    ]);
    const set = validateEnv({ WEBHOOK_ALLOWED_CIDRS: 'none', PSP_CALLBACK_ALLOWED_CIDRS: '10.0.0.0/8' });
    expect([set.WEBHOOK_ALLOWED_CIDRS, set.PSP_CALLBACK_ALLOWED_CIDRS]).toEqual(['none', '10.0.0.0/8']);
  });

  it('names PSP_CALLBACK_ALLOWED_CIDRS when it is malformed', () => {
    expect(() => validateEnv({ PSP_CALLBACK_ALLOWED_CIDRS: 'localhost' })).toThrow(/- PSP_CALLBACK_ALLOWED_CIDRS:/);
    expect(() => OutboundAddressPolicies.fromLists('none', '10.0.0.0/33')).toThrow(
      /^PSP_CALLBACK_ALLOWED_CIDRS: "10.0.0.0\/33"/,
    );
  });
});
