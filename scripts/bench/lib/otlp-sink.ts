import { createServer } from 'node:http';

/**
 * A local OTLP/HTTP endpoint that takes every export (any encoding) and discards it,
 * counting requests and bytes: what the bench's traced Hookline exports to, so that the
 * cost measured is Hookline's (spans made, batched, serialised and sent), not a backend's.
 */
export async function startDiscardingOtlpSink() {
  let exports = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/json' });
      res.end(req.headers['content-type']?.includes('json') ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ exports, bytes }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
