import { Logger, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Registry } from 'prom-client';
import { signHeader } from '../../common/crypto/standard-webhooks.js';
import { stripeSignatureHeader } from '../../common/crypto/stripe-signature.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { InboundMetrics } from './inbound-metrics.js';
import { WebhookSignatureGuard, type WebhookRequest } from './webhook-signature.guard.js';
import { WebhookSources } from './webhook-sources.js';

const SECRET = `whsec_${Buffer.from('unit-test-signing-secret').toString('base64')}`;
const fakeConfig = {
  get: (name: string) =>
    ({ WEBHOOK_TOLERANCE_S: 300, PSP_SIGNATURE_SCHEME: 'standard', PSP_WEBHOOK_SECRET: SECRET })[name],
};

function contextFor(req: Partial<WebhookRequest>): ExecutionContext {
  const handler = () => undefined;
  return {
    getHandler: () => handler,
    getClass: () => Object,
    switchToHttp: () => ({ getRequest: () => req }),
  } as unknown as ExecutionContext;
}

function signedRequest(
  body: string,
  opts: { secret?: string; ts?: number; id?: string } = {},
): Partial<WebhookRequest> {
  const id = opts.id ?? 'evt_unit_1';
  const ts = opts.ts ?? Math.floor(Date.now() / 1000);
  return {
    rawBody: Buffer.from(body),
    ip: '127.0.0.1',
    headers: {
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signHeader([opts.secret ?? SECRET], id, ts, body),
    },
  };
}

describe('WebhookSignatureGuard', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'warn', 'error']));
  const reflector = { get: () => 'psp' } as unknown as Reflector;
  const metrics = new InboundMetrics(new Registry());
  const guard = new WebhookSignatureGuard(reflector, new WebhookSources(fakeConfig as never), metrics);
  const body = '{"event_id":"evt_1","type":"payment.completed","data":{}}';

  function rejection(req: Partial<WebhookRequest>): DomainError {
    try {
      guard.canActivate(contextFor(req));
    } catch (err) {
      return err as DomainError;
    }
    throw new Error('guard let the request through');
  }

  it('lets a valid request through and records what it verified', () => {
    const req = signedRequest(body);
    expect(guard.canActivate(contextFor(req))).toBe(true);
    expect(req.webhook).toMatchObject({ source: 'psp', webhookId: 'evt_unit_1' });
    expect(req.webhook!.verifiedAt.getTime()).toBeGreaterThanOrEqual(req.webhook!.receivedAt.getTime());
  });

  it('rejects a tampered body', () => {
    const req = signedRequest(body);
    req.rawBody = Buffer.from(body.replace('completed', 'failed'));
    const err = rejection(req);
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ status: 401, code: 'WEBHOOK.SIGNATURE_INVALID' });
  });

  it('rejects the wrong secret', () => {
    const other = `whsec_${Buffer.from('a-different-secret').toString('base64')}`;
    expect(rejection(signedRequest(body, { secret: other }))).toMatchObject({
      status: 401,
      code: 'WEBHOOK.SIGNATURE_INVALID',
    });
  });

  it('rejects stale and future timestamps', () => {
    const now = Math.floor(Date.now() / 1000);
    expect(rejection(signedRequest(body, { ts: now - 301 }))).toMatchObject({
      code: 'WEBHOOK.TIMESTAMP_OUT_OF_TOLERANCE',
    });
    // `now` is floored and the guard reads the clock later, in ms: 301 s ahead can be 300.x s
    // ahead by then (once in a few hundred runs), which the tolerance lets through.
    expect(rejection(signedRequest(body, { ts: now + 305 }))).toMatchObject({
      code: 'WEBHOOK.TIMESTAMP_OUT_OF_TOLERANCE',
    });
  });

  it('rejects missing headers', () => {
    expect(rejection({ rawBody: Buffer.from(body), headers: {}, ip: '127.0.0.1' })).toMatchObject({
      status: 401,
      code: 'WEBHOOK.SIGNATURE_MISSING',
    });
  });

  it('counts every rejection by source and reason, and nothing for a valid request', async () => {
    const count = async () =>
      Object.fromEntries(
        (await metrics.received.get()).values.map((v) => [`${v.labels.source}/${v.labels.reason}`, v.value]),
      );
    const before = await count();
    const tampered = signedRequest(body);
    tampered.rawBody = Buffer.from(body.replace('completed', 'failed'));
    rejection(tampered);
    rejection(signedRequest(body, { ts: Math.floor(Date.now() / 1000) - 301 }));
    rejection({ rawBody: Buffer.from(body), headers: {}, ip: '127.0.0.1' });
    guard.canActivate(contextFor(signedRequest(body)));
    const after = await count();
    const delta = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);
    expect(delta('psp/signature_invalid')).toBe(1);
    expect(delta('psp/timestamp_out_of_tolerance')).toBe(1);
    expect(delta('psp/signature_missing')).toBe(1);
    expect(Object.keys(after).sort()).toEqual([
      'psp/signature_invalid',
      'psp/signature_missing',
      'psp/timestamp_out_of_tolerance',
    ]);
  });

  it('rejects a request whose raw body is missing (never verifies parsed JSON)', () => {
    const req = signedRequest(body);
    delete req.rawBody;
    expect(rejection(req)).toMatchObject({ code: 'WEBHOOK.SIGNATURE_INVALID' });
  });
});

describe('WebhookSignatureGuard with the Stripe scheme', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'warn', 'error']));

  const config = {
    get: (name: string) =>
      ({ WEBHOOK_TOLERANCE_S: 300, PSP_SIGNATURE_SCHEME: 'stripe', PSP_WEBHOOK_SECRET: SECRET })[name],
  };
  const guard = new WebhookSignatureGuard(
    { get: () => 'psp' } as unknown as Reflector,
    new WebhookSources(config as never),
    new InboundMetrics(new Registry()),
  );
  const body = '{"event_id":"evt_2","type":"payment.completed","data":{}}';

  it('lets a Stripe-Signature through and refuses Standard Webhooks headers', () => {
    const ts = Math.floor(Date.now() / 1000);
    const stripeReq: Partial<WebhookRequest> = {
      rawBody: Buffer.from(body),
      ip: '127.0.0.1',
      headers: { 'stripe-signature': stripeSignatureHeader([SECRET], ts, body) },
    };
    expect(guard.canActivate(contextFor(stripeReq))).toBe(true);
    expect(stripeReq.webhook).toMatchObject({ source: 'psp', timestamp: ts });
    expect(() => guard.canActivate(contextFor(signedRequest(body)))).toThrow(
      expect.objectContaining({ code: 'WEBHOOK.SIGNATURE_MISSING' }),
    );
  });
});
