import { admin, register } from '../../factories/endpoints.factory.js';
import { http } from '../../factories/orders.factory.js';
import type { TestApp } from '../../utils/create-test-app.js';
import { verifies } from '../../utils/http-sink.js';
import { DELIVERY_ENV, ok, sendTest, settled, useOutboundApp } from '../../utils/outbound.js';

jest.setTimeout(30_000);

describe('outbound webhooks: signing secrets', () => {
  let t: TestApp;
  const { sink } = useOutboundApp(DELIVERY_ENV, (app) => (t = app));

  it('signs with both secrets during a rotation: two signatures, each verifies with the standardwebhooks library', async () => {
    const s = await sink(ok);
    const ep = await register(t, `${s.url}/hook`);
    const rotated = await http(t.url, 'POST', `/webhook-endpoints/${ep.id}/rotate-secret`, undefined, admin);
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.secret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(ep.secret);
    expect(Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23 * 3600_000);
    await settled(t, await sendTest(t, ep.id));
    const [req] = s.requests;
    expect(String(req.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(ep.secret, req)).toBe(true);
    expect(verifies(newSecret, req)).toBe(true);
    expect(verifies(`whsec_${Buffer.from('some-other-secret-entirely').toString('base64')}`, req)).toBe(false);
  });
});
