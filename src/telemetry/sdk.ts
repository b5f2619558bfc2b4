import { NodeSDK } from '@opentelemetry/sdk-node';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';

/** Requests too frequent and too dull to trace: probes and scrapes. */
const UNTRACED_PATHS = ['/health/', '/metrics'];

/**
 * The OpenTelemetry Node SDK, configured by the standard OTEL_* variables (exporter,
 * OTLP endpoint and protocol, sampler, batch delays), with the four instrumentations the
 * hops need: incoming and outgoing HTTP (node:http: Fastify's server), undici (the PSP
 * client and the webhook sender), pg and ioredis — the last two only inside a span
 * already running, so Bull's polling of Redis and the periodic tasks' queries make no
 * traces of their own (docs/decisions/1203-tracing-instrumentations.md). Loaded only
 * when tracing is on (tracing.ts).
 */
export function startSdk(): NodeSDK {
  const sdk = new NodeSDK({
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.some((p) => req.url?.startsWith(p) === true),
      }),
      new UndiciInstrumentation(),
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  return sdk;
}
