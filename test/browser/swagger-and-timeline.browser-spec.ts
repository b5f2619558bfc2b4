import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { launchChromium, REPORTS, type Chromium } from '../utils/chromium.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { SHOP_KEY } from '../utils/test-env.js';

/**
 * In a real browser (Debian's Chromium driven by playwright-core): an operator opens
 * the Swagger UI, authorizes with the shop key, creates an order and pays it through
 * "Try it out", reads the order back until it is paid, then opens the payment's
 * timeline page, signing in with HTTP Basic (the key as the password).
 * Screenshots go to reports/.
 */

const SWAGGER_SHOT = join(REPORTS, 'browser-swagger-order-paid.png');
const TIMELINE_SHOT = join(REPORTS, 'browser-payment-timeline.png');
// The e2e setup's 15 s per test (test/setup/e2e-timeout.ts) overrides the config's testTimeout.
jest.setTimeout(180_000);

/** Swagger UI opblock ids: operations-<tag>-<operationId>. */
const OP = {
  createOrder: '#operations-orders-OrdersController_create',
  payOrder: '#operations-payments-PaymentsController_create',
  getOrder: '#operations-orders-OrdersController_get',
};

function log(message: string): void {
  process.stdout.write(`[browser] ${message}\n`);
}

/** Expands an operation and switches it to "Try it out". */
async function tryItOut(page: Page, op: string): Promise<Locator> {
  const block = page.locator(op);
  await block.locator('.opblock-summary').first().click();
  await block.locator('.try-out__btn').click();
  await block.locator('.execute').waitFor({ state: 'visible' });
  return block;
}

/** Clicks Execute and returns the live response's status code and body text. */
async function execute(block: Locator): Promise<{ status: number; body: string }> {
  const live = block.locator('.responses-wrapper .live-responses-table');
  // Clear an earlier answer first, so what is read below is this execution's.
  const clear = block.locator('.btn-clear');
  if (await clear.isVisible()) {
    await clear.click();
    await live.waitFor({ state: 'detached' });
  }
  await block.locator('.execute').click();
  await live.waitFor({ state: 'visible' });
  const status = await live.locator('.response .response-col_status').first().innerText();
  const body = await live.locator('.response .microlight').first().innerText();
  return { status: Number(status.trim()), body };
}

/** A full-page screenshot clipped from the top of `from` to the bottom of `to`. */
async function screenshotFromTo(page: Page, from: Locator, to: Locator, path: string): Promise<void> {
  const box = (l: Locator) =>
    l.evaluate((el) => {
      const r = el.getBoundingClientRect();
      return { x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, bottom: r.bottom + window.scrollY };
    });
  const [a, b] = [await box(from), await box(to)];
  const pad = 8;
  await page.screenshot({
    path,
    fullPage: true,
    clip: {
      x: Math.max(0, a.x - pad),
      y: Math.max(0, a.y - pad),
      width: a.width + 2 * pad,
      height: b.bottom - a.y + 2 * pad,
    },
  });
}

describe('browser: Swagger UI → order paid → payment timeline page', () => {
  let t: TestApp;
  let browser: Chromium;
  let context: BrowserContext;
  const started = Date.now();

  beforeAll(async () => {
    t = await createTestApp();
    browser = await launchChromium({
      // Answered only to the UI's Basic challenge (the API's 401s ask for Bearer).
      httpCredentials: { username: 'operator', password: SHOP_KEY, origin: t.url },
    });
    context = browser.context;
    log(`Chromium ${context.browser()?.version() ?? '(persistent context)'} against ${t.url}`);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    log(`done in ${Date.now() - started} ms`);
  });

  it('authorizes, creates and pays an order by "Try it out", sees it paid, then opens its timeline', async () => {
    try {
      await scenario();
    } catch (err) {
      // What each page looked like when it failed.
      for (const [i, p] of context.pages().entries()) {
        const path = join(REPORTS, `browser-failure-${i + 1}.png`);
        await p.screenshot({ path, fullPage: true }).then(
          () => log(`failure screenshot: ${path}`),
          () => undefined,
        );
      }
      throw err;
    }
  });

  async function scenario(): Promise<void> {
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    // A CSP violation (an inline script, a blocked file) is a console error.
    const docsErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) {
        docsErrors.push(`${m.text()} (${m.location().url})`);
      }
    });

    // 1. Swagger UI, Authorize with the shop key in the `shop` scheme. It runs under the
    // same CSP as every page: no inline script.
    const docs = await page.goto(`${t.url}/docs`);
    expect(docs?.headers()['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    await page.locator(OP.createOrder).waitFor({ state: 'visible' });
    await page.locator('.scheme-container .btn.authorize').click();
    const shopScheme = page
      .locator('.dialog-ux .auth-container')
      .filter({ has: page.locator('h4', { hasText: /^shop\b/ }) });
    await shopScheme.locator('input').fill(SHOP_KEY);
    await shopScheme.locator('.btn.modal-btn.auth.authorize').click();
    await shopScheme.locator('h6', { hasText: 'Authorized' }).waitFor({ state: 'visible' });
    await shopScheme.locator('.btn-done').click();
    await page.locator('.dialog-ux').waitFor({ state: 'detached' });

    // 2. POST /orders with a JSON body typed into the body editor.
    const create = await tryItOut(page, OP.createOrder);
    await create.locator('textarea.body-param__text').fill(
      JSON.stringify(
        {
          currency: 'EUR',
          items: [
            { sku: 'MUG-WHT', name: 'Mug, white', quantity: 2, unitAmount: 850 },
            { sku: 'POSTER-A2', name: 'Poster, A2', quantity: 1, unitAmount: 1999 },
          ],
        },
        null,
        2,
      ),
    );
    const created = await execute(create);
    expect(created.status).toBe(201);
    const order = JSON.parse(created.body) as { id: string; status: string; amount: number };
    expect(order).toMatchObject({ status: 'pending_payment', amount: 2 * 850 + 1999 });
    log(`order ${order.id} created through Swagger UI`);

    // 3. POST /orders/{id}/payments with that id.
    const pay = await tryItOut(page, OP.payOrder);
    await pay.locator('tr[data-param-name="id"] input').fill(order.id);
    await pay.locator('textarea.body-param__text').fill('{ "paymentMethod": "pm_card_ok", "strategy": "webhook" }');
    const paid = await execute(pay);
    expect(paid.status).toBe(201);
    const payment = JSON.parse(paid.body) as { id: string; status: string };
    expect(payment.status).toBe('processing');
    log(`payment ${payment.id} created through Swagger UI`);

    // 4. GET /orders/{id}, re-executed (bounded) until the webhook has made it paid.
    const get = await tryItOut(page, OP.getOrder);
    await get.locator('tr[data-param-name="id"] input').fill(order.id);
    const deadline = Date.now() + 30_000;
    for (let attempt = 1; ; attempt++) {
      const last = await execute(get);
      if (last.status === 200 && (JSON.parse(last.body) as { status: string }).status === 'paid') {
        log(`order paid, seen on GET /orders/{id} execution #${attempt}`);
        break;
      }
      if (Date.now() > deadline) throw new Error(`order not paid in 30 s; last answer ${last.status} ${last.body}`);
      await page.waitForTimeout(500);
    }
    const panel = get.locator('.responses-wrapper .live-responses-table .response .microlight').first();
    await expect(panel.innerText()).resolves.toMatch(/"status":\s*"paid"/);
    await expect(panel.innerText()).resolves.toContain(order.id);
    await screenshotFromTo(page, get, get.locator('.live-responses-table'), SWAGGER_SHOT);
    log(`screenshot: ${SWAGGER_SHOT}`);

    // 5. The payment's timeline page; Chromium answers the Basic challenge with the key.
    const ui = await context.newPage();
    const uiErrors: string[] = [];
    ui.on('console', (m) => {
      // CSP violations and failed loads land here; the browser's own favicon probe does not count.
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) {
        uiErrors.push(`${m.text()} (${m.location().url})`);
      }
    });
    const res = await ui.goto(`${t.url}/ui/payments/${payment.id}`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-type']).toBe('text/html; charset=utf-8');
    await expect(ui.locator('#payment-id').innerText()).resolves.toBe(payment.id);
    await expect(ui.locator('#payment-status').innerText()).resolves.toBe('succeeded');
    await expect(ui.locator('#order-status').innerText()).resolves.toBe('paid');
    const badge = ui.locator('#resolved-via-badge');
    await expect(badge.getAttribute('class')).resolves.toContain('via-webhook');
    await expect(badge.innerText()).resolves.toMatch(/webhook/i);
    const titles = await ui.locator('#timeline .step h3').allInnerTexts();
    expect(titles).toEqual(
      expect.arrayContaining([
        'Payment created',
        'PSP accepted the payment',
        'Webhook received: payment.completed',
        'Signature verified, stored in the inbox',
        'Resolved: payment succeeded via webhook',
        'Order turned paid',
      ]),
    );
    await expect(ui.locator('#timeline .step.highlight h3').innerText()).resolves.toBe(
      'Resolved: payment succeeded via webhook',
    );
    await ui.screenshot({ path: TIMELINE_SHOT, fullPage: true });
    log(`screenshot: ${TIMELINE_SHOT}`);

    expect(res?.headers()['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    expect(uiErrors).toEqual([]);
    expect(docsErrors).toEqual([]);
    expect(pageErrors).toEqual([]);
  }
});
