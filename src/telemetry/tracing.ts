/**
 * Starts OpenTelemetry tracing before anything else of the app is loaded: main.ts
 * imports this module first, and the instrumentations must patch node:http, pg and
 * ioredis before those are required. Off unless an exporter is configured
 * (tracing-switch.ts): then the SDK is not even loaded, and the app's own spans
 * (@opentelemetry/api) are no-ops. See docs/tracing.md.
 */
import { defaultServiceName, serviceNamed, tracingEnabled } from './tracing-switch.js';

interface Sdk {
  shutdown(): Promise<void>;
}

let sdk: Sdk | null = null;

if (tracingEnabled(process.env)) {
  if (!serviceNamed(process.env)) process.env.OTEL_SERVICE_NAME = defaultServiceName(process.env.APP_ROLE);
  // Required, not imported: with tracing off the SDK's modules are never loaded.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startSdk } = require('./sdk.js') as typeof import('./sdk.js');
  sdk = startSdk();
}

/** Whether this process exports spans. */
export const tracingOn = (): boolean => sdk !== null;

/** Exports the spans still buffered, then stops the SDK (a no-op when tracing is off). Never throws. */
export async function stopTracing(): Promise<void> {
  const running = sdk;
  sdk = null;
  await running?.shutdown().catch(() => undefined);
}
