import { Injectable, OnModuleDestroy } from '@nestjs/common';
import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { Counter } from 'prom-client';
import { MetricsRegistry } from './metrics-registry.js';

/** Which API a request belongs to, from its path: the PSP's, the webhook receiver, the shop's, or operations. */
export type TrafficApi = 'psp' | 'webhooks' | 'shop' | 'ops';
/** `server`: requests this process answered; `client`: requests it sent (undici). */
export type TrafficSide = 'server' | 'client';

export function trafficApi(path: string): TrafficApi {
  // The PSP mock's own API and its Stripe dialect (/v1, the SDK's paths).
  if (path.startsWith('/psp/') || path.startsWith('/v1/')) return 'psp';
  if (path.startsWith('/webhooks/')) return 'webhooks';
  if (path === '/metrics' || path.startsWith('/metrics?') || path.startsWith('/health')) return 'ops';
  return 'shop';
}

interface Tagged {
  key: string;
  read: number;
  written: number;
}

const SERVER_REQUEST = 'http.server.request.start';
const SERVER_FINISH = 'http.server.response.finish';
const CLIENT_SEND = 'undici:client:sendHeaders';

/**
 * HTTP requests and bytes on the wire, per side and API, for the polling-vs-webhooks
 * comparison (docs/webhooks-vs-polling.md): read once before and once after a run, so
 * the harness needs no scrape loop. Counted from Node's and undici's diagnostics
 * channels, with nothing in the request path: bytes are the sockets' own counters
 * (headers, bodies and TLS included), given to the API of the request a socket carried.
 * Process-wide: several apps in one test process each count all of its traffic.
 */
@Injectable()
export class HttpTrafficMetrics implements OnModuleDestroy {
  private readonly requests = new Map<string, number>();
  private readonly bytes = new Map<string, number>();
  private readonly tags = new WeakMap<Socket, Tagged>();
  private readonly live = new Set<Socket>();

  private readonly onServerRequest = (message: unknown) => {
    const { request, socket } = message as { request: { url?: string }; socket: Socket };
    this.start(socket, `server:${trafficApi(request.url ?? '/')}`);
  };
  private readonly onServerFinish = (message: unknown) => {
    this.flush((message as { socket: Socket }).socket);
  };
  private readonly onClientSend = (message: unknown) => {
    const { request, socket } = message as { request: { path?: string }; socket: Socket };
    this.flush(socket);
    this.start(socket, `client:${trafficApi(request.path ?? '/')}`);
  };

  constructor(registry: MetricsRegistry) {
    diagnostics.subscribe(SERVER_REQUEST, this.onServerRequest);
    diagnostics.subscribe(SERVER_FINISH, this.onServerFinish);
    diagnostics.subscribe(CLIENT_SEND, this.onClientSend);
    const { requests, bytes, live } = this;
    const flush = (socket: Socket) => this.flush(socket);
    new Counter({
      name: 'hookline_http_requests_total',
      help: 'HTTP requests this process answered (side=server) or sent (side=client), by API: psp, webhooks, shop, ops',
      labelNames: ['side', 'api'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [key, n] of requests) {
          const [side, api] = key.split(':');
          this.inc({ side, api }, n);
        }
      },
    });
    new Counter({
      name: 'hookline_http_bytes_total',
      help: 'Bytes on the sockets of those requests (headers, bodies, TLS), by side, API and direction (in, out)',
      labelNames: ['side', 'api', 'direction'],
      registers: [registry],
      collect() {
        for (const socket of live) flush(socket);
        this.reset();
        for (const [key, n] of bytes) {
          const [side, api, direction] = key.split(':');
          this.inc({ side, api, direction }, n);
        }
      },
    });
  }

  onModuleDestroy(): void {
    diagnostics.unsubscribe(SERVER_REQUEST, this.onServerRequest);
    diagnostics.unsubscribe(SERVER_FINISH, this.onServerFinish);
    diagnostics.unsubscribe(CLIENT_SEND, this.onClientSend);
  }

  private start(socket: Socket, key: string): void {
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const tagged = this.tags.get(socket);
    if (tagged) {
      tagged.key = key;
      return;
    }
    this.tags.set(socket, { key, read: 0, written: 0 });
    this.live.add(socket);
    socket.once('close', () => {
      this.flush(socket);
      this.live.delete(socket);
    });
  }

  /** Gives the socket's bytes since the last flush to the API of the request it carries. */
  private flush(socket: Socket): void {
    const tagged = this.tags.get(socket);
    if (!tagged) return;
    const read = socket.bytesRead ?? 0;
    const written = socket.bytesWritten ?? 0;
    this.add(`${tagged.key}:in`, read - tagged.read);
    this.add(`${tagged.key}:out`, written - tagged.written);
    tagged.read = read;
    tagged.written = written;
  }

  private add(key: string, n: number): void {
    if (n > 0) this.bytes.set(key, (this.bytes.get(key) ?? 0) + n);
  }
}
