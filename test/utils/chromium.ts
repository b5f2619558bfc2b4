import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type BrowserContextOptions } from 'playwright-core';

/** Where browser specs put their screenshots (ignored by git). */
export const REPORTS = resolve(__dirname, '../../reports');

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Bound for any one UI interaction (a click, a response to appear). */
export const STEP_TIMEOUT_MS = 20_000;

export interface Chromium {
  context: BrowserContext;
  /** Closes the browser and removes its profile directory. */
  close(): Promise<void>;
}

/**
 * Debian's Chromium (or CHROMIUM_PATH), headless, in a throwaway profile, driven by
 * playwright-core; makes the reports directory for screenshots.
 */
export async function launchChromium(options: Pick<BrowserContextOptions, 'httpCredentials'> = {}): Promise<Chromium> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'hookline-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
      ...options,
    });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    mkdirSync(REPORTS, { recursive: true });
    return {
      context,
      close: async () => {
        await context.close();
        rmSync(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
}
