import { createServer as createNetServer, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { CertFiles } from './test-pki.js';

/** A loopback HTTPS server with the given certificate that answers 200 and counts the requests it got. */
export async function startHttpsSink(files: CertFiles) {
  let received = 0;
  const server = createServer({ cert: readFileSync(files.cert), key: readFileSync(files.key) }, (req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    received: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TCP server that accepts connections and never says a word: a TLS handshake with it never finishes. */
export async function startSilentServer() {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    accepted: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
