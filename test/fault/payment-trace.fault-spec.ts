import type { Client } from 'pg';
import { admin, psp as pspHeaders } from '../factories/endpoints.factory.js';
import { createOrder, http, payOrder, shopHeaders } from '../factories/orders.factory.js';
import { testDb } from '../utils/fault-kit.js';
import { startSink } from '../utils/http-sink.js';
import { startOtlpReceiver, tracingEnv, type ReceivedSpan } from '../utils/otlp-receiver.js';
import { spawnApp, testRedisPrefix, type SpawnedApp } from '../utils/spawn-app.js';
import { waitFor } from '../utils/wait-for.js';

const SERVER = 2;
const CLIENT = 3;

/**
 * One payment, traced across the three processes it crosses (api, psp, worker), each
 * exporting OTLP/HTTP JSON to a local receiver: the creation and the PSP call form the
 * payment's trace; the PSP's settlement links to it and starts the trace of its result —
 * the webhook delivery, its receipt, the inbox job applying it, the order's transition
 * and the order.paid delivery to the merchant, whose POST carries that trace's
 * traceparent. A redelivery of the same PSP event is a span of its own, marked duplicate.
 */
/** Waits for what the probe finds in what was received so far. */
const seen = <T>(what: string, probe: () => T | undefined, opts?: { timeoutMs?: number }) =>
  waitFor(what, () => Promise.resolve(probe()), opts);

describe('tracing across processes (OTLP)', () => {
  const procs: SpawnedApp[] = [];
  let db: Client | undefined;
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let merchant: Awaited<ReturnType<typeof startSink>>;
  let psp: SpawnedApp;
  let api: SpawnedApp;
  let worker: SpawnedApp;
  let procEnv: Record<string, string> & { REDIS_PREFIX: string };

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    merchant = await startSink(() => Promise.resolve({ status: 200 }));
    const env = (procEnv = {
      REDIS_PREFIX: testRedisPrefix(),
      ...tracingEnv(otlp.url),
      PSP_SETTLE_DELAY_MIN_MS: '100',
      PSP_SETTLE_DELAY_MAX_MS: '200',
    });
    psp = await spawnApp('psp', env);
    procs.push(psp);
    db = await testDb();
    await db.query(`DELETE FROM psp_settings`);
    api = await spawnApp('api', {
      ...env,
      PSP_BASE_URL: psp.url,
      LOG_LEVEL: 'log',
      TRACE_UI_URL: 'http://traces.test/trace/{traceId}',
    });
    procs.push(api);
    worker = await spawnApp('worker', { ...env, PSP_BASE_URL: psp.url, PUBLIC_BASE_URL: api.url, LOG_LEVEL: 'log' });
    procs.push(worker);
    const endpoint = await http(
      api.url,
      'POST',
      '/webhook-endpoints',
      { url: `${merchant.url}/hooks`, eventTypes: ['order.paid'] },
      admin,
    );
    expect(endpoint.status).toBe(201);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await db?.end();
    await otlp?.close();
    await merchant?.close();
  });

  it('follows a payment from its creation to the merchant delivery in one pair of linked traces', async () => {
    const order = await createOrder(api.url);
    const payment = await payOrder(api.url, order.id);
    const orderPaid = await seen(
      'order.paid at the merchant endpoint',
      () => merchant.requests.find((r) => JSON.parse(r.body).type === 'order.paid'),
      { timeoutMs: 20_000 },
    );

    const traceparent = String(orderPaid.headers.traceparent ?? '');
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const resultTrace = traceparent.split('-')[1];
    const inTrace = (traceId: string) => otlp.spans.filter((s) => s.traceId === traceId);
    const find = (traceId: string, what: (s: ReceivedSpan) => boolean) => inTrace(traceId).find(what);
    const parentOf = (s: ReceivedSpan) => otlp.spans.find((p) => p.spanId === s.parentSpanId);

    // The payment's trace: POST /orders/:id/payments (api) → its PSP call (undici) → the PSP's POST (psp).
    const creation = await seen('the payment creation span (api)', () =>
      otlp.spans.find(
        (s) => s.service === 'hookline-api' && s.kind === SERVER && s.name === 'POST /orders/:id/payments',
      ),
    );
    const paymentTrace = creation.traceId;
    expect(paymentTrace).not.toBe(resultTrace);
    const pspServer = await seen('the PSP call received (psp)', () =>
      find(
        paymentTrace,
        (s) => s.service === 'hookline-psp' && s.kind === SERVER && s.name === 'POST /psp/v1/payments',
      ),
    );
    const pspCall = parentOf(pspServer)!;
    expect(pspCall).toMatchObject({ service: 'hookline-api', kind: CLIENT, traceId: paymentTrace });
    expect(parentOf(pspCall)?.spanId).toBe(creation.spanId);
    // Its stored trace id is what the payment page links to.
    expect(await paymentTraceId(payment.id)).toBe(paymentTrace);

    // The result's trace: the PSP's settlement, linked to the payment's trace…
    const settle = await seen('the settlement span (psp)', () => find(resultTrace, (s) => s.name === 'psp.settle'));
    expect(settle).toMatchObject({ service: 'hookline-psp', parentSpanId: null });
    expect(settle.attributes['hookline.psp.payment_id']).toBe(payment.pspPaymentId);
    expect(settle.links.map((l) => l.traceId)).toEqual([paymentTrace]);
    // …its webhook, received by the api (the sender's traceparent continued)…
    const receipt = await seen('the webhook receipt (api)', () =>
      find(resultTrace, (s) => s.service === 'hookline-api' && s.name === 'POST /webhooks/psp'),
    );
    expect(receipt.attributes['hookline.webhook.duplicate']).toBe(false);
    const pspEventId = String(receipt.attributes['hookline.webhook.event_id']);
    expect(parentOf(receipt)).toMatchObject({ service: 'hookline-psp', kind: CLIENT });
    // …the inbox job applying it (worker), a child of the receipt through the inbox row…
    const applying = await seen('the inbox job applying it (worker)', () =>
      find(resultTrace, (s) => s.name === 'webhook.inbox.apply'),
    );
    expect(applying).toMatchObject({ service: 'hookline-worker', parentSpanId: receipt.spanId });
    expect(applying.attributes).toMatchObject({
      'hookline.webhook.event_id': pspEventId,
      'hookline.inbox.status': 'processed',
    });
    // The receiver's INSERT binds the trace context (pg instrumented before the app loaded it).
    expect(
      find(
        resultTrace,
        (s) => s.service === 'hookline-api' && s.name.startsWith('pg.query:hookline_inbox_receive_traced'),
      ),
    ).toBeDefined();
    // …the order's transition, and the order.paid delivery whose POST the merchant received.
    const transition = await seen('the order update (worker)', () =>
      find(resultTrace, (s) => s.name === 'order.transition' && s.attributes['hookline.order_id'] === order.id),
    );
    expect(transition).toMatchObject({ service: 'hookline-worker', parentSpanId: applying.spanId });
    expect(transition.attributes).toMatchObject({ 'hookline.order_id': order.id, 'hookline.order.to': 'paid' });
    const delivery = await seen('the merchant delivery (worker)', () =>
      find(resultTrace, (s) => s.name === 'webhook.deliver' && s.attributes['hookline.webhook.owner'] === 'shop'),
    );
    expect(delivery.parentSpanId).toBe(transition.spanId);
    const post = await seen('the merchant POST (undici)', () =>
      find(resultTrace, (s) => s.spanId === traceparent.split('-')[2]),
    );
    expect(post).toMatchObject({ service: 'hookline-worker', kind: CLIENT, parentSpanId: delivery.spanId });

    // The PSP sends the same event again: its receipt is a span of its own, marked duplicate.
    const resent = await http(psp.url, 'POST', `/psp/v1/events/${pspEventId}/resend`, undefined, pspHeaders);
    expect(resent.status).toBeLessThan(300);
    const duplicate = await seen('the duplicate receipt (api)', () =>
      find(resultTrace, (s) => s.name === 'POST /webhooks/psp' && s.attributes['hookline.webhook.duplicate'] === true),
    );
    expect(duplicate.spanId).not.toBe(receipt.spanId);
    expect(duplicate.attributes['hookline.webhook.event_id']).toBe(pspEventId);
    // Applied once: the duplicate stored nothing, so no second inbox job.
    expect(inTrace(resultTrace).filter((s) => s.name === 'webhook.inbox.apply')).toHaveLength(1);

    // Log lines name their span: the receiver's line the request's, the worker's the applying span.
    const lines = (app: SpawnedApp) =>
      app
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const acceptedLine = lines(api).find((l) => String(l.msg).startsWith(`Accepted psp event ${pspEventId}`));
    expect(acceptedLine).toMatchObject({ trace_id: resultTrace, span_id: receipt.spanId });
    const appliedLine = lines(worker).find((l) => l.eventId === pspEventId && String(l.msg).includes(' processed'));
    expect(appliedLine).toMatchObject({ trace_id: resultTrace, span_id: applying.spanId });

    // The payment page links both traces.
    const page = await fetch(`${api.url}/ui/payments/${payment.id}`, {
      headers: { authorization: shopHeaders.authorization },
    });
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain(`<dt>Trace</dt><dd><a id="trace-link-0" href="http://traces.test/trace/${paymentTrace}"`);
    expect(html).toContain(
      `<dt>Result trace</dt><dd><a id="trace-link-1" href="http://traces.test/trace/${resultTrace}"`,
    );
  }, 90_000);

  it('puts the polls of a short-polling payment, and what their answer changes, in the payment’s trace', async () => {
    const order = await createOrder(api.url);
    const payment = await payOrder(api.url, order.id, { strategy: 'short_polling' });
    const traceId = await paymentTraceId(payment.id);
    const creation = await seen('the payment creation span (api)', () =>
      otlp.spans.find((s) => s.traceId === traceId && s.name === 'POST /orders/:id/payments'),
    );
    const transition = await seen(
      'the order update after the poll (worker)',
      () => otlp.spans.find((s) => s.name === 'order.transition' && s.attributes['hookline.order_id'] === order.id),
      { timeoutMs: 20_000 },
    );
    expect(transition.traceId).toBe(creation.traceId);
    // The poll's span ends after the transition's, and may come in a later export.
    const poll = await seen('the poll span (worker)', () =>
      otlp.spans.find((s) => s.spanId === transition.parentSpanId),
    );
    expect(poll).toMatchObject({ name: 'payment.poll', service: 'hookline-worker', parentSpanId: creation.spanId });
    expect(poll.attributes).toMatchObject({ 'hookline.payment_id': payment.id, 'hookline.poll.via': 'short_poll' });
    // The poll's PSP call (worker, undici) reached the PSP as a child of the poll.
    await seen('the poll received by the PSP (psp)', () =>
      otlp.spans.find(
        (s) =>
          s.service === 'hookline-psp' &&
          s.name === 'GET /psp/v1/payments/:id' &&
          otlp.spans.some((c) => c.spanId === s.parentSpanId && c.kind === CLIENT && c.parentSpanId === poll.spanId),
      ),
    );
  }, 60_000);

  it('puts an event reconciliation pulled, and what it changes, in the payment’s trace', async () => {
    // The PSP drops its webhooks; a second worker reconciles every second (the first: every minute).
    expect((await http(psp.url, 'PUT', '/psp/v1/chaos', { dropRate: 1 }, pspHeaders)).status).toBe(200);
    const reconciler = await spawnApp('worker', {
      ...procEnv,
      PSP_BASE_URL: psp.url,
      PUBLIC_BASE_URL: api.url,
      RECONCILE_INTERVAL_MS: '1000',
    });
    procs.push(reconciler);
    const order = await createOrder(api.url);
    const payment = await payOrder(api.url, order.id);
    const traceId = await paymentTraceId(payment.id);
    const creation = await seen('the payment creation span (api)', () =>
      otlp.spans.find((s) => s.traceId === traceId && s.name === 'POST /orders/:id/payments'),
    );
    const transition = await seen(
      'the order update after reconciliation (worker)',
      () => otlp.spans.find((s) => s.name === 'order.transition' && s.attributes['hookline.order_id'] === order.id),
      { timeoutMs: 20_000 },
    );
    // The applying span ends after the transition's, and may come in a later export.
    const applying = await seen('the applying span (worker)', () =>
      otlp.spans.find((s) => s.spanId === transition.parentSpanId),
    );
    expect(applying).toMatchObject({ name: 'webhook.inbox.apply', traceId, parentSpanId: creation.spanId });
    const { rows } = await db!.query<{ received_via: string; resolved_via: string }>(
      `SELECT i.received_via, p.resolved_via FROM webhook_inbox i JOIN payments p ON p.psp_payment_id = i.payload->'data'->>'payment_id'
        WHERE p.id = $1`,
      [payment.id],
    );
    expect(rows).toEqual([{ received_via: 'reconciliation', resolved_via: 'reconciliation' }]);
    expect((await http(psp.url, 'PUT', '/psp/v1/chaos', { dropRate: 0 }, pspHeaders)).status).toBe(200);
  }, 60_000);

  /** The trace id the payment's psp_accepted timeline entry keeps (what the payment page links to). */
  async function paymentTraceId(paymentId: string): Promise<string> {
    const { rows } = await db!.query<{ trace_id: string }>(
      `SELECT detail->>'traceId' AS trace_id FROM payment_timeline WHERE payment_id = $1 AND type = 'psp_accepted'`,
      [paymentId],
    );
    expect(rows).toHaveLength(1);
    return rows[0].trace_id;
  }
});
