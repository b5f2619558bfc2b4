import { Webhook } from 'standardwebhooks';
import { checkWebhook } from './event-schemas.js';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';

export interface SinkRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type SinkHandler = (
  req: SinkRequest,
  n: number,
) => Promise<{ status: number; body?: string; headers?: Record<string, string> }>;

/**
 * A loopback HTTP server that records every request and answers as the test says. Every
 * webhook it receives is validated against the event catalog (test/utils/event-schemas.ts).
 */
export async function startSink(handler: SinkHandler) {
  const requests: SinkRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(recorded);
      checkWebhook(req.headers, recorded.body);
      handler(recorded, requests.length).then(
        (answer) => {
          res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
          res.end(answer.body ?? '{}');
        },
        (err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A request to the PSP mock that creates a payment. A sink standing in front of the PSP
 * also sees the app's other PSP calls (polling, reconciliation), whenever they run.
 */
export function isPspPaymentCall(req: SinkRequest): boolean {
  return req.method === 'POST' && req.url === '/psp/v1/payments';
}

/** Whether a request a sink received carries a valid Standard Webhooks signature by `secret` (standardwebhooks). */
export function verifies(secret: string, req: SinkRequest): boolean {
  try {
    new Webhook(secret).verify(req.body, req.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

/** A started sink: its URL, what it received, and close(). */
export type Sink = Awaited<ReturnType<typeof startSink>>;
