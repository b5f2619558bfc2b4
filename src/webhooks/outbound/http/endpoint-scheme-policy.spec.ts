import { EndpointSchemePolicy } from './endpoint-scheme-policy.js';

describe('EndpointSchemePolicy', () => {
  it('lets every scheme through while https is not required', () => {
    expect(new EndpointSchemePolicy(false, 'none').refusal('http://merchant.example/hook')).toBeNull();
  });

  it('refuses http:// when https is required, except for the listed hosts', () => {
    const policy = new EndpointSchemePolicy(true, 'hooks.internal, 10.0.0.7,::1');
    expect(policy.refusal('https://merchant.example/hook')).toBeNull();
    expect(policy.refusal('http://merchant.example/hook')).toMatch(
      /http:\/\/ is refused while WEBHOOK_HTTPS_ONLY is on .*list merchant\.example in WEBHOOK_HTTP_ALLOWED_HOSTS/,
    );
    expect(policy.refusal('http://HOOKS.internal:8080/hook')).toBeNull();
    expect(policy.refusal('http://10.0.0.7/hook')).toBeNull();
    expect(policy.refusal('http://[::1]:9000/hook')).toBeNull();
    expect(policy.refusal('http://10.0.0.8/hook')).not.toBeNull();
  });
});
