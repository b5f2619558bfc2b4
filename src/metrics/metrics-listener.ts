import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { DomainError } from '../common/errors/domain-error.js';
import { PROBLEM_CONTENT_TYPE, domainProblem, problemType } from '../common/errors/problem.js';
import type { AllConfig } from '../config/env.js';
import { metricsTokenRefusal } from './metrics-access.js';
import { MetricsRegistry } from './metrics-registry.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * With METRICS_PORT, /metrics is served here — a bare node:http listener on
 * METRICS_HOST (127.0.0.1 by default) — and not on the main port: the operator exposes
 * it to the scraper's network only. METRICS_TOKEN, when set, is required here too.
 * Opened at boot (a port in use stops the boot), closed when the app closes.
 */
@Injectable()
export class MetricsListener implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Metrics');
  private server?: Server;

  constructor(
    private readonly registry: MetricsRegistry,
    private readonly config: ConfigService<AllConfig, true>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.get('METRICS_PORT', { infer: true });
    if (port === undefined) return;
    const host = this.config.get('METRICS_HOST', { infer: true });
    const server = createServer((req, res) => void this.handle(req, res));
    // A scraper holds no connection open for long: a stuck one must not pin the process.
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.logger.log(`Metrics on their own listener: http://${host}:${port}/metrics`);
  }

  async onModuleDestroy(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** The port actually bound (METRICS_PORT), or undefined when there is no own listener. */
  address(): { host: string; port: number } | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object' ? { host: address.address, port: address.port } : undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      return problem(res, path, 404, 'ROUTE.NOT_FOUND', 'Not found', 'This listener serves /metrics only.');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return problem(res, path, 405, 'REQUEST.METHOD_NOT_ALLOWED', 'Method not allowed', 'Use GET.');
    }
    const refusal = metricsTokenRefusal(req.headers.authorization, this.config.get('METRICS_TOKEN', { infer: true }));
    if (refusal) return refused(res, path, refusal);
    try {
      const body = await this.registry.metrics();
      res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      this.logger.error(`Could not collect metrics: ${(err as Error).message}`, (err as Error).stack);
      problem(res, path, 500, 'INTERNAL', 'Internal server error');
    }
  }
}

function refused(res: ServerResponse, path: string, error: DomainError): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  send(res, error.status, JSON.stringify(domainProblem(error, path)));
}

function problem(
  res: ServerResponse,
  path: string,
  status: number,
  code: string,
  title: string,
  detail?: string,
): void {
  send(
    res,
    status,
    JSON.stringify({ type: problemType(code), title, status, detail, code, instance: path.slice(0, 200) }),
  );
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': PROBLEM_CONTENT_TYPE, 'x-content-type-options': 'nosniff' });
  res.end(body);
}
