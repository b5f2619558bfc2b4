import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { launchChromium, REPORTS, type Chromium } from '../utils/chromium.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';

/**
 * In a real browser (Debian's Chromium, playwright-core): a merchant opens Swagger UI,
 * finds the Webhooks section (OpenAPI 3.1) and opens order.paid: its signature headers and
 * its payload schema are shown. Screenshot in reports/.
 */

jest.setTimeout(120_000);

describe('browser: Swagger UI shows the webhooks Hookline sends', () => {
  let t: TestApp;
  let browser: Chromium;
  let context: BrowserContext;

  beforeAll(async () => {
    t = await createTestApp();
    browser = await launchChromium();
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('opens order.paid in the Webhooks section: headers, schema and example', async () => {
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    try {
      await page.goto(`${t.url}/docs`);
      const section = page.locator('.webhooks');
      await section.waitFor({ state: 'visible' });
      const op = section.locator('.opblock').filter({ hasText: 'order.paid' }).first();
      await op.locator('.opblock-summary').first().click();
      const body = op.locator('.opblock-body');
      await body.waitFor({ state: 'visible' });
      for (const header of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
        await body.locator('.parameters .parameter__name', { hasText: header }).first().waitFor({ state: 'visible' });
      }
      // The request body's example: the payload of an order.paid event.
      await body.locator('.body-param__example, .microlight', { hasText: '"order_id"' }).first().waitFor();
      expect(await body.innerText()).toContain('order.paid');
      await page.screenshot({ path: join(REPORTS, 'browser-swagger-webhook-order-paid.png'), fullPage: true });
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await page
        .screenshot({ path: join(REPORTS, 'browser-webhooks-failure.png'), fullPage: true })
        .catch(() => undefined);
      throw err;
    }
  });
});
