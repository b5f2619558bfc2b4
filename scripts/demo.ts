// npm run demo [-- --declined] [-- --psp stripe [--3ds]]
//
// Drives a running Hookline through one payment and prints how the result travelled:
// order → payment → PSP → signed webhook → inbox → queue → worker → order.
// Talks to the public API only (Node's global fetch, no dependencies).
// --psp stripe: the Hookline runs with PSP_PROVIDER=stripe (against Stripe's test mode, or
// the PSP mock's Stripe dialect: docs/using-stripe.md); the demo checks that the result
// came as a Stripe event to /webhooks/stripe. --3ds pays with the 3-D Secure test card.
//
//   HOOKLINE_URL  base URL of the shop API        (default http://127.0.0.1:3000)
//   API_KEY       a key from the shop's API_KEYS (default the development key)
//   HOOKLINE_CA_FILE  PEM file of a CA to trust besides Node's store, for an https:// HOOKLINE_URL
//                     signed by a local CA (the compose gateway's; docs/deploying-behind-tls.md)

import { sleep } from './lib/sleep.js';
import { trustCaFile } from './lib/trust-ca-file.js';

trustCaFile();

const BASE_URL = (process.env.HOOKLINE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
const API_KEY = process.env.API_KEY ?? 'sk_shop_dev_0123456789abcdef';
const POLL_INTERVAL_MS = 100;
const POLL_LIMIT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 10_000;

interface TimelineEntry {
  type: string;
  at: string;
  detail: Record<string, unknown>;
}

interface Payment {
  id: string;
  orderId: string;
  status: string;
  paymentMethod: string;
  amount: number;
  currency: string;
  pspPaymentId: string | null;
  resolvedVia: string | null;
  failureReason: string | null;
  createdAt: string;
  resolvedAt: string | null;
  timeline?: TimelineEntry[];
}

interface Order {
  id: string;
  status: string;
  currency: string;
  amount: number;
  items: unknown[];
}

/** A failure the demo explains in one line and exits 1 on. */
class DemoError extends Error {}

async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${API_KEY}`, accept: 'application/json' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    // A retried POST with the same key would not create a second order or payment.
    headers['idempotency-key'] = `demo-${crypto.randomUUID()}`;
  }
  let res: Response;
  try {
    res = await fetch(`${BASE_URL}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new DemoError(
      `${method} ${BASE_URL}${path} failed: ${reason}. Is Hookline running there? (set HOOKLINE_URL)`,
    );
  }
  const text = await res.text();
  if (!res.ok) {
    let code = '';
    let detail = text.slice(0, 300);
    try {
      const problem = JSON.parse(text) as { code?: string; title?: string; detail?: string };
      code = problem.code ?? '';
      detail = problem.detail ?? problem.title ?? detail;
    } catch {
      // Not problem+json: show the raw text.
    }
    throw new DemoError(
      `${method} ${path} answered HTTP ${res.status}${code ? ` ${code}` : ''}: ${detail || res.statusText}`,
    );
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new DemoError(
      `${method} ${path} answered HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`,
    );
  }
}

async function waitForResult(paymentId: string): Promise<{ payment: Payment; polls: number }> {
  const deadline = Date.now() + POLL_LIMIT_MS;
  for (let polls = 1; ; polls++) {
    const payment = await api<Payment>('GET', `/payments/${paymentId}`);
    if (payment.status !== 'processing') return { payment, polls };
    if (Date.now() >= deadline) {
      throw new DemoError(
        `Payment ${paymentId} is still processing after ${POLL_LIMIT_MS / 1000} s (${polls} polls). ` +
          'Are the worker and PSP roles running, and can the PSP reach PUBLIC_BASE_URL?',
      );
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

interface Step {
  step: string;
  at: string | null;
  note: string;
}

function steps(payment: Payment, stripe: boolean): Step[] {
  const timeline = payment.timeline ?? [];
  const first = (type: string) => timeline.find((e) => e.type === type);
  const str = (v: unknown) => (typeof v === 'string' ? v : null);

  const accepted = first('psp_accepted');
  const resolved = first('resolved');
  // The webhook that resolved the payment (there may be duplicates or a processing event too).
  const webhooks = timeline.filter((e) => e.type === 'webhook_received');
  const webhook = webhooks.find((e) => e.detail.eventId === resolved?.detail.eventId) ?? webhooks.at(-1);
  const order = first('order_updated');
  const w = webhook?.detail ?? {};
  const orderTo = str(order?.detail.to);

  return [
    {
      step: 'payment created',
      at: first('created')?.at ?? payment.createdAt,
      note: `${payment.paymentMethod}, ${payment.amount} ${payment.currency}`,
    },
    {
      step: 'PSP accepted',
      at: accepted?.at ?? null,
      note: accepted
        ? `${String(accepted.detail.pspPaymentId)} (PSP call ${String(accepted.detail.latencyMs)} ms)`
        : '',
    },
    {
      step: 'PSP settled',
      // Stripe's event time is whole seconds: too coarse for this table's milliseconds.
      at: stripe ? null : str(w.pspCreatedAt),
      note: webhook
        ? `${String(w.eventType)} ${String(w.eventId)}${stripe ? ` (created ${String(w.pspCreatedAt)}, whole seconds)` : ''}`
        : '',
    },
    {
      step: 'webhook received',
      at: str(w.receivedAt),
      note:
        webhooks.length > 1
          ? `${webhooks.length} webhooks received in all`
          : `POST /webhooks/${stripe ? 'stripe' : 'psp'}`,
    },
    {
      step: 'signature verified',
      at: str(w.verifiedAt),
      note: webhook ? `${stripe ? 'Stripe-Signature' : 'HMAC'} + timestamp, stored in inbox` : '',
    },
    { step: 'queued', at: str(w.queuedAt), note: webhook ? 'job enqueued, then 202 to the PSP' : '' },
    {
      step: 'processed (resolved)',
      at: resolved?.at ?? null,
      note: resolved ? `payment ${String(resolved.detail.status)} via ${String(resolved.detail.resolvedVia)}` : '',
    },
    {
      step: `order ${orderTo ?? 'updated'}`,
      at: order?.at ?? null,
      note: order
        ? orderTo
          ? `${String(order.detail.from)} → ${orderTo}`
          : `unchanged: ${String(order.detail.reason ?? order.detail.unchanged)}`
        : '',
    },
  ];
}

function printTimeline(payment: Payment, stripe: boolean): void {
  const origin = Date.parse(payment.createdAt);
  const rows = steps(payment, stripe).map((s) => {
    const ms = s.at ? Date.parse(s.at) - origin : NaN;
    return [s.step, Number.isNaN(ms) ? '—' : `+${ms}`, s.at ?? '—', s.note];
  });
  const header = ['step', 'ms', 'at (UTC)', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    '  ' +
    cells
      .map((c, i) => (i === 1 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const pspAt = args.indexOf('--psp');
  const psp = pspAt >= 0 ? args[pspAt + 1] : 'mock';
  const rest = pspAt >= 0 ? [...args.slice(0, pspAt), ...args.slice(pspAt + 2)] : args;
  const unknown = rest.filter((a) => a !== '--declined' && a !== '--3ds');
  if (unknown.length > 0 || (psp !== 'mock' && psp !== 'stripe')) {
    console.error(
      `Unknown argument ${unknown[0] ?? `--psp ${psp}`}. Usage: node dist/scripts/demo.js [--declined | --3ds] [--psp mock|stripe]`,
    );
    return 1;
  }
  const stripe = psp === 'stripe';
  const declined = args.includes('--declined');
  const threeDs = args.includes('--3ds');
  if (threeDs && !stripe) {
    console.error('--3ds needs --psp stripe: the PSP mock has no 3-D Secure of its own.');
    return 1;
  }
  const paymentMethod = declined ? 'pm_card_declined' : threeDs ? 'pm_card_3ds' : 'pm_card_ok';
  const expected = declined ? 'payment_failed' : 'paid';

  console.log(`Hookline demo against ${BASE_URL} (card ${paymentMethod}, PSP ${psp})\n`);

  const order = await api<Order>('POST', '/orders', {
    currency: 'USD',
    items: [
      { sku: 'TSHIRT-M-BLK', name: 'T-shirt, black, M', quantity: 2, unitAmount: 1299 },
      { sku: 'MUG-WHT', name: 'Mug, white', quantity: 1, unitAmount: 850 },
    ],
  });
  console.log(`Order    ${order.id}  ${order.status}  ${order.amount} ${order.currency}, ${order.items.length} items`);

  const created = await api<Payment & { nextAction?: { type: string } }>('POST', `/orders/${order.id}/payments`, {
    paymentMethod,
  });
  console.log(`Payment  ${created.id}  ${created.status}  PSP ${created.pspPaymentId ?? '—'}`);
  if (created.nextAction) {
    console.log(`         next action: ${created.nextAction.type} (the customer authenticates; the payment waits)`);
  }

  const started = Date.now();
  const { payment, polls } = await waitForResult(created.id);
  console.log(
    `Result   ${payment.status} via ${payment.resolvedVia ?? '—'} — seen after ${Date.now() - started} ms (${polls} polls of GET /payments/:id)\n`,
  );

  printTimeline(payment, stripe);

  // Which PSP answered shows in the event that resolved the payment: Stripe's are payment_intent.*.
  const eventTypes = (payment.timeline ?? [])
    .map((e) => e.detail.eventType)
    .filter((t): t is string => typeof t === 'string');
  const viaStripe = eventTypes.some((t) => t.startsWith('payment_intent.'));
  if (eventTypes.length > 0 && viaStripe !== stripe) {
    throw new DemoError(
      stripe
        ? 'The result came from the PSP mock, not Stripe: start Hookline with PSP_PROVIDER=stripe (docs/using-stripe.md).'
        : 'The result came from Stripe: this Hookline runs with PSP_PROVIDER=stripe; add --psp stripe.',
    );
  }

  const final = await api<Order>('GET', `/orders/${order.id}`);
  const ok = final.status === expected;
  console.log(`\nOrder ${final.id} is ${final.status}${ok ? '' : ` — expected ${expected}`}`);
  return ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof DemoError ? `\n${err.message}` : err);
    process.exitCode = 1;
  },
);
