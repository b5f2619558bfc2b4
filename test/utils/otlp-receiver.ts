import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';

/** A span as the OTLP/HTTP JSON exporter sent it, flattened: its service, ids, kind, attributes and links. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  links: { traceId: string; spanId: string }[];
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };

/** OTLP/JSON ids are hex; a base64 one (the protobuf JSON mapping) is turned into hex too. */
const hexId = (id: string | undefined): string =>
  !id ? '' : /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');

const valueOf = (v: AnyValue): string | number | boolean =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue ?? ''));

const attributesOf = (kvs: KeyValue[] | undefined) =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, valueOf(kv.value)]));

/**
 * A local OTLP/HTTP receiver for tests: accepts `POST /v1/traces` in the JSON encoding
 * (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) and keeps every span, with the service name
 * of the process that exported it. `discard`: count the spans, keep none (a bench sink).
 */
export async function startOtlpReceiver({ discard = false }: { discard?: boolean } = {}) {
  const spans: ReceivedSpan[] = [];
  let received = 0;
  let exports = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        if (req.method !== 'POST' || req.url !== '/v1/traces') throw new Error(`${req.method} ${req.url}`);
        const doc = JSON.parse(body.toString('utf8')) as {
          resourceSpans?: {
            resource?: { attributes?: KeyValue[] };
            scopeSpans?: {
              spans?: {
                traceId: string;
                spanId: string;
                parentSpanId?: string;
                name: string;
                kind?: number;
                attributes?: KeyValue[];
                links?: { traceId: string; spanId: string }[];
              }[];
            }[];
          }[];
        };
        exports++;
        for (const rs of doc.resourceSpans ?? []) {
          const service = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              received++;
              if (discard) continue;
              spans.push({
                service,
                traceId: hexId(s.traceId),
                spanId: hexId(s.spanId),
                parentSpanId: s.parentSpanId ? hexId(s.parentSpanId) : null,
                name: s.name,
                kind: s.kind ?? 0,
                attributes: attributesOf(s.attributes),
                links: (s.links ?? []).map((l) => ({ traceId: hexId(l.traceId), spanId: hexId(l.spanId) })),
              });
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end((err as Error).message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    /** Spans received (kept or not) and export requests, since the start. */
    counts: () => ({ spans: received, exports }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The environment that turns tracing on in a spawned process, exporting to `receiverUrl` quickly. */
export function tracingEnv(receiverUrl: string): Record<string, string> {
  return {
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    // Exported every 100 ms rather than every 5 s: the test waits for spans, not a sleep.
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
}
