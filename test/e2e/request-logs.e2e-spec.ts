import { callerIdOf } from '../../src/http/auth/caller-identity.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { captureOutput, jsonLines } from '../utils/capture-output.js';
import { pspEvent } from '../factories/psp-events.factory.js';
import { signWebhook } from '../utils/sign-webhook.js';
import { SHOP_KEY } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('request logs', () => {
  let t: TestApp | undefined;
  let lines: Record<string, unknown>[] = [];
  const echoed: Record<string, string | null> = {};
  const statuses: Record<string, number> = {};

  beforeAll(async () => {
    const output = await captureOutput(async (soFar) => {
      t = await createTestApp({ LOG_LEVEL: 'log', LOG_FORMAT: 'json' });
      const send = async (reqId: string, path: string, init: RequestInit = {}) => {
        const res = await fetch(`${t!.url}${path}`, {
          ...init,
          headers: { ...(init.headers as Record<string, string>), ...(reqId ? { 'x-request-id': reqId } : {}) },
        });
        await res.arrayBuffer();
        echoed[reqId || path] = res.headers.get('x-request-id');
        statuses[reqId || path] = res.status;
      };
      const event = pspEvent({ pspPaymentId: 'pay_logs_test', amount: 100 });
      const signed = signWebhook(event);
      await send('req-accepted', '/webhooks/psp', { method: 'POST', headers: signed.headers, body: signed.body });
      await send('req-duplicate', '/webhooks/psp', { method: 'POST', headers: signed.headers, body: signed.body });
      const forged = signWebhook(event, { secret: `whsec_${Buffer.from('not-the-secret').toString('base64')}` });
      await send('req-forged', '/webhooks/psp', { method: 'POST', headers: forged.headers, body: forged.body });
      const malformed = signWebhook(undefined, { body: '{"hello":"world"}' });
      await send('req-malformed', '/webhooks/psp', {
        method: 'POST',
        headers: malformed.headers,
        body: malformed.body,
      });
      await send('req-orders', '/orders', { headers: { authorization: `Bearer ${SHOP_KEY}` } });
      await send('req-board', '/queues');
      await send('req-health', '/health/live');
      await send('', '/nope');
      // An access line is written once its response has gone out: wait for the last one.
      // It also marks the accepted, duplicate and health requests sent before it as done.
      await waitFor('the access line of the last request', () =>
        Promise.resolve(
          jsonLines(soFar()).some(
            (l) => /^request /.test(String(l.msg)) && l.res && (l.req as { path?: string }).path === '/nope',
          ),
        ),
      );
    });
    lines = jsonLines(output);
  });

  afterAll(async () => {
    await t?.close();
  });

  const accessLines = (reqId: string) => lines.filter((l) => l.reqId === reqId && /^request /.test(String(l.msg)));

  it('echo the request id, taken from X-Request-Id when sane, else generated', () => {
    expect(statuses).toMatchObject({
      'req-accepted': 202,
      'req-duplicate': 200,
      'req-forged': 401,
      'req-malformed': 400,
      'req-orders': 200,
      'req-board': 401,
      'req-health': 200,
      '/nope': 404,
    });
    for (const id of ['req-accepted', 'req-duplicate', 'req-forged', 'req-orders', 'req-board', 'req-health']) {
      expect(echoed[id]).toBe(id);
    }
    expect(echoed['/nope']).toMatch(UUID);
  });

  it('put the request id on the lines logged while the request is handled', () => {
    const line = (msg: RegExp) => lines.find((l) => msg.test(String(l.msg)));
    expect(line(/^Accepted psp event/)).toMatchObject({ reqId: 'req-accepted', context: 'Inbox' });
    expect(line(/^Duplicate psp event/)).toMatchObject({ reqId: 'req-duplicate', context: 'Inbox' });
    expect(line(/^Rejected psp webhook/)).toMatchObject({ reqId: 'req-forged', context: 'WebhookGuard' });
  });

  it('give every request one access line, except accepted webhooks (the inbox line tells) and health checks', () => {
    expect(accessLines('req-accepted')).toEqual([]);
    expect(accessLines('req-duplicate')).toEqual([]);
    expect(accessLines('req-health')).toEqual([]);
    expect(accessLines('req-forged')).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'request completed',
        req: expect.objectContaining({ id: 'req-forged', method: 'POST', path: '/webhooks/psp' }),
        res: { statusCode: 401 },
        responseTime: expect.any(Number),
      }),
    ]);
    expect(accessLines('req-malformed')).toEqual([expect.objectContaining({ level: 40, res: { statusCode: 400 } })]);
    expect(accessLines('req-orders')).toEqual([
      expect.objectContaining({
        level: 30,
        req: expect.objectContaining({ path: '/orders' }),
        res: { statusCode: 200 },
        caller: `shop:${callerIdOf(SHOP_KEY)}`,
      }),
    ]);
    expect(accessLines('req-board')).toEqual([
      expect.objectContaining({ level: 40, res: { statusCode: 401 }, caller: 'anonymous' }),
    ]);
    expect(lines.filter((l) => (l.req as { path?: string } | undefined)?.path === '/nope')).toEqual([
      expect.objectContaining({ level: 40, reqId: echoed['/nope'], res: { statusCode: 404 } }),
    ]);
  });
});
