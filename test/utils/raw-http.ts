import { request, type Agent } from 'node:http';

export type RawOutcome =
  | { ok: true; status: number; body: string; connection?: string; endedAt: number }
  | { ok: false; code: string; message: string; endedAt: number };

/**
 * One request — on a connection of its own, or through `agent` (keep-alive) — reporting how it
 * ended: a status, or the socket error code (ECONNREFUSED: never sent; ECONNRESET or
 * "socket hang up": sent and cut).
 */
export function rawRequest(
  url: string,
  {
    method = 'GET',
    headers = {},
    body,
    agent,
  }: { method?: string; headers?: Record<string, string>; body?: string; agent?: Agent } = {},
): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const req = request(url, { method, headers, agent: agent ?? false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () =>
        resolve({
          ok: true,
          status: res.statusCode ?? 0,
          body: text,
          connection: res.headers.connection,
          endedAt: Date.now(),
        }),
      );
      res.on('error', (err: NodeJS.ErrnoException) =>
        resolve({ ok: false, code: err.code ?? 'ERROR', message: err.message, endedAt: Date.now() }),
      );
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ ok: false, code: err.code ?? 'ERROR', message: err.message, endedAt: Date.now() }),
    );
    req.end(body);
  });
}
