import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';

/**
 * The span context Hookline stores beside a row (inbox event, outbound message, PSP
 * payment) so that work done later, in another process or in a batch, joins the trace
 * that caused it: a W3C `traceparent` string, null when tracing is off
 * (docs/decisions/1202-trace-context-per-row.md). Everything here goes through
 * @opentelemetry/api only: without the SDK it is a no-op and costs a property read.
 */

export const tracer = trace.getTracer('hookline');

export { SpanKind };
export type { Span };

/** TraceFlags.SAMPLED, as a number (the flags are a bit field). */
const SAMPLED: number = TraceFlags.SAMPLED;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** `traceparent` of a span context, or null for an invalid (no-op) one. */
export function formatTraceparent(sc: SpanContext | undefined): string | null {
  if (!sc || !trace.isSpanContextValid(sc)) return null;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & SAMPLED) === SAMPLED ? '01' : '00'}`;
}

/** `traceparent` of the span running now: null when there is none (tracing off, or outside any span). */
export function activeTraceparent(): string | null {
  return formatTraceparent(trace.getActiveSpan()?.spanContext());
}

/** `traceparent` of a span (null when tracing is off). */
export function traceparentOf(span: Span | null | undefined): string | null {
  return formatTraceparent(span?.spanContext());
}

/** The span context a stored `traceparent` names (remote), or null. */
export function parseTraceparent(value: string | null | undefined): SpanContext | null {
  const m = value ? TRACEPARENT.exec(value) : null;
  if (!m) return null;
  const sc: SpanContext = { traceId: m[1], spanId: m[2], traceFlags: parseInt(m[3], 16), isRemote: true };
  return trace.isSpanContextValid(sc) ? sc : null;
}

/** A context whose parent is the stored `traceparent` (null when there is none to continue). */
export function contextFrom(value: string | null | undefined): Context | null {
  const sc = parseTraceparent(value);
  return sc ? trace.setSpanContext(ROOT_CONTEXT, sc) : null;
}

/** A span link to the stored `traceparent`, or none. */
export function linksTo(value: string | null | undefined, attributes?: Attributes): Link[] {
  const sc = parseTraceparent(value);
  return sc ? [{ context: sc, ...(attributes && { attributes }) }] : [];
}

/**
 * Starts a span as the child of a stored `traceparent`; null (nothing started) when
 * there is none — so a row stored with tracing off costs nothing later.
 */
export function startChildSpan(
  name: string,
  parent: string | null | undefined,
  attributes: Attributes,
  kind: SpanKind = SpanKind.INTERNAL,
): Span | null {
  const ctx = contextFrom(parent);
  return ctx ? tracer.startSpan(name, { kind, attributes }, ctx) : null;
}

/** Runs `fn` with `span` active (outgoing requests made in it are its children); just runs it when span is null. */
export function withSpan<T>(span: Span | null, fn: () => T): T {
  return span ? context.with(trace.setSpan(context.active(), span), fn) : fn();
}

/** Ends a span after an error: the exception recorded, the status ERROR. */
export function endWithError(span: Span | null, err: unknown): void {
  if (!span) return;
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
  span.end();
}

/** The trace id of the span running now, or null. */
export function activeTraceId(): string | null {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && trace.isSpanContextValid(sc) ? sc.traceId : null;
}

/** The active span, for attributes on the request's server span (undefined when tracing is off). */
export const activeSpan = (): Span | undefined => trace.getActiveSpan();

/** `trace_id` and `span_id` of the span running now, for a log line (empty outside any span). */
export function activeTraceFields(): Record<string, string> {
  return traceFieldsOf(trace.getActiveSpan());
}

/** `trace_id` and `span_id` of a span, for a log line about it (empty without one). */
export function traceFieldsOf(span: Span | null | undefined): Record<string, string> {
  const sc = span?.spanContext();
  return sc && trace.isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

/**
 * Names a request's server span after its route (`POST /orders/:id/payments`) and sets
 * `http.route`: node:http's instrumentation knows only the method. Called from a Fastify
 * onRequest hook, only with tracing on.
 */
export function nameServerSpan(method: string, route: string | undefined): void {
  const span = trace.getActiveSpan();
  if (!span || !route) return;
  span.updateName(`${method} ${route}`);
  span.setAttribute('http.route', route);
}
