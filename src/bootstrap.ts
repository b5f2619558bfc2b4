import { Server as NetServer } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import { Logger, type RawBodyRequest } from '@nestjs/common';
import { Logger as NestPinoLogger, PinoLogger } from 'nestjs-pino';
import { bootLogger, installRequestLogging, requestId } from './logging/logging.js';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { callerIdentities } from './http/auth/caller-identity.config.js';
import { callerLabel } from './http/auth/caller-identity.js';
import { DomainError } from './common/errors/domain-error.js';
import { PROBLEM_CONTENT_TYPE, problemType } from './common/errors/problem.js';
import { MAX_JSON_DEPTH, jsonDepthExceeds } from './common/http/json-depth.js';
import { getQueueToken } from '@nestjs/bull';
import { ConfigService } from '@nestjs/config';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { Queue } from 'bull';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module.js';
import type { OnDrain } from './boot-contribution.js';
import { splitList, type Env } from './config/env.js';
import { ensureDatabase } from './database/ensure-database.js';
import { runMigrations } from './database/migrate.js';
import { QueueName } from './queue/queues.js';
import { SecurityHeaders } from './http/security-headers.js';
import { serverTlsOptions, watchCertificates } from './http/tls-listener.js';
import { adminKeyHook } from './http/auth/admin-key.hook.js';
import { tracingOn } from './telemetry/tracing.js';
import { nameServerSpan } from './telemetry/trace-context.js';

/** How long a SIGTERM/SIGINT drain may take before the process gives up and exits with code 1. */
export const SHUTDOWN_TIMEOUT_MS = 15_000;

/**
 * After the listener closes, how long connections already accepted may still deliver
 * their first request (and keep-alive ones one more) before idle connections are closed.
 */
export const DRAIN_GRACE_MS = 500;

/** Apps that are draining: their responses carry `Connection: close`. */
const draining = new WeakSet<object>();

/** TRUST_PROXY as Fastify's trustProxy: false for none, else the list of addresses and CIDRs. */
export function trustedProxies(value: string): false | string[] {
  return value.trim() === 'none' ? false : splitList(value);
}

/** Prepares storage: creates the database if missing and runs pending migrations (unless disabled). */
export async function prepareDatabase(env: Env): Promise<void> {
  const logger = bootLogger(env);
  await ensureDatabase(env.DATABASE_URL, logger);
  if (env.DB_MIGRATE_ON_BOOT) await runMigrations(env.DATABASE_URL, logger);
}

/**
 * Builds the application exactly as production runs it; `main.ts` and the e2e
 * tests both call this, so they share raw-body parsing, limits, pipes and filters.
 */
export async function createApp(env: Env): Promise<NestFastifyApplication> {
  const securityHeaders = new SecurityHeaders();
  // TLS_CERT_FILE + TLS_KEY_FILE: the port speaks HTTPS only (docs/deploying-behind-tls.md).
  const https = serverTlsOptions(env);
  const adapter = new FastifyAdapter({
    ...(https && { https }),
    bodyLimit: env.WEBHOOK_MAX_BODY_BYTES,
    // X-Forwarded-For/-Proto count only from these peers (request.ip, request.protocol).
    trustProxy: trustedProxies(env.TRUST_PROXY),
    genReqId: requestId,
    requestIdHeader: false,
    // Draining (shutDown): requests that still arrive on an open keep-alive connection
    // are served, not refused with 503, while the listener is already closed…
    return503OnClosing: false,
    // …and idle keep-alive connections are closed at once rather than after keepAliveTimeout.
    forceCloseConnections: 'idle',
    // Errors Fastify's router raises before Nest sees the request (malformed or
    // over-long URL) still get problem+json.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const status = error.statusCode ?? 400;
      const code = status === 414 ? 'REQUEST.URI_TOO_LONG' : 'REQUEST.MALFORMED';
      securityHeaders.hook(request, reply.raw);
      void reply
        .status(status)
        .header('content-type', PROBLEM_CONTENT_TYPE)
        .send(
          JSON.stringify({
            type: problemType(code),
            title: status === 414 ? 'URI too long' : 'Malformed request',
            status,
            detail: error.message,
            code,
            instance: request.url.split('?')[0].slice(0, 200),
          }),
        );
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRole(env.APP_ROLE), adapter, {
    rawBody: true,
    bufferLogs: true,
  });
  app.useLogger(app.get(NestPinoLogger));
  // helmet 8's headers, computed once at boot (@fastify/helmet rebuilt its middleware and
  // parsed the CSP on every request: about 5 % of the receiver's CPU); one of two sets per
  // request, by whether it arrived over TLS. Where app.useSecurityHeaders() would put its hook.
  adapter.registerSecurityHook(securityHeaders.hook);
  const fastify = app.getHttpAdapter().getInstance();
  if (https) {
    const stopWatching = watchCertificates(app.getHttpServer() as unknown as TlsServer, {
      TLS_CERT_FILE: env.TLS_CERT_FILE!,
      TLS_KEY_FILE: env.TLS_KEY_FILE!,
    });
    fastify.addHook('onClose', (_instance, done) => {
      stopWatching();
      done();
    });
  }
  const callers = callerIdentities(app.get(ConfigService));
  installRequestLogging(fastify, await app.resolve(PinoLogger), (request) => callerLabel(callers.resolve(request)));
  if (tracingOn()) {
    fastify.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
      nameServerSpan(request.method, request.routeOptions.url);
      done();
    });
  }
  // A body nested deeper than any real payload is refused before the validators walk it.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook(
      'preValidation',
      (request: RawBodyRequest<FastifyRequest>, _reply: FastifyReply, done: (err?: Error) => void) => {
        if (request.rawBody && jsonDepthExceeds(request.rawBody)) {
          done(
            new DomainError(
              'REQUEST.MALFORMED',
              400,
              'JSON nested too deeply',
              `The body nests deeper than ${MAX_JSON_DEPTH} levels.`,
            ),
          );
          return;
        }
        done();
      },
    );
  // While draining, every response closes its connection, so a keep-alive client moves
  // on (to another replica) instead of holding the old process open.
  fastify.addHook('onSend', (_request: FastifyRequest, reply: FastifyReply, payload: unknown, done) => {
    if (draining.has(app)) void reply.header('connection', 'close');
    done(null, payload);
  });
  // No enableShutdownHooks(): Nest's own handler would run the module destroy hooks
  // before the HTTP server stops; main.ts calls shutDown() on SIGTERM/SIGINT instead.
  setupSwagger(app, env);
  return app;
}

/**
 * Graceful shutdown, in the order that loses nothing:
 * 1. scheduled tasks stop; the HTTP listener closes (new connections are refused);
 *    after a short grace idle keep-alive connections are closed; in-flight requests
 *    are answered (with `Connection: close`); at the same time every Bull worker stops taking jobs and
 *    finishes its active ones;
 * 2. the queues close, then Nest's hooks release the rest (HTTP clients, Redis, the pool).
 * Resolves 0 when done; after `timeoutMs` it logs and exits the process with code 1.
 */
export async function shutDown(
  app: NestFastifyApplication,
  signal: string,
  timeoutMs = SHUTDOWN_TIMEOUT_MS,
): Promise<number> {
  const logger = new Logger('Shutdown');
  const started = Date.now();
  logger.log(`${signal}: draining (in-flight requests and jobs, at most ${timeoutMs} ms)`);
  const timer = setTimeout(() => {
    logger.error(`Shutdown did not finish within ${timeoutMs} ms; exiting with code 1`);
    process.exit(1);
  }, timeoutMs);
  try {
    draining.add(app);
    stopScheduledTasks(app);
    for (const contribution of AppModule.contributions) {
      for (const token of contribution.onDrain ?? []) provided<OnDrain>(app, token)?.onDrain();
    }
    const queues = bullQueues(app);
    await Promise.all([
      drainHttp(app),
      // Local pause: this process takes no new job and waits for its active ones.
      ...queues.map((q) => q.pause(true).catch(() => undefined)),
    ]);
    await Promise.all(queues.map((q) => q.close()));
    await app.close();
    logger.log(`Shut down cleanly in ${Date.now() - started} ms`);
    return 0;
  } catch (err) {
    logger.error(`Shutdown failed: ${(err as Error).message}`, (err as Error).stack);
    return 1;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closes the listening socket first (new connections are refused) without touching
 * open connections: http.Server.close() would at once destroy every connection without
 * a request in progress — including one just accepted whose request is on its way,
 * which its client sees as a reset. After DRAIN_GRACE_MS, Fastify's close closes the
 * idle connections and waits for the in-flight requests.
 */
async function drainHttp(app: NestFastifyApplication): Promise<void> {
  const server = app.getHttpServer() as NetServer;
  NetServer.prototype.close.call(server);
  await new Promise((r) => setTimeout(r, DRAIN_GRACE_MS));
  await app.getHttpAdapter().close();
}

function stopScheduledTasks(app: NestFastifyApplication): void {
  const registry = provided<SchedulerRegistry>(app, SchedulerRegistry);
  if (!registry) return;
  for (const name of registry.getIntervals()) clearInterval(registry.getInterval(name));
  for (const name of registry.getTimeouts()) clearTimeout(registry.getTimeout(name));
  for (const job of registry.getCronJobs().values()) void job.stop();
}

/** The Bull queues this process's role registered. */
function bullQueues(app: NestFastifyApplication): Queue[] {
  return Object.values(QueueName)
    .map((name) => provided<Queue>(app, getQueueToken(name)))
    .filter((q): q is Queue => q !== undefined);
}

/** A provider if some module has it (app.get() of a missing one would abort the process). */
function provided<T>(
  app: NestFastifyApplication,
  token: string | (abstract new (...args: never[]) => unknown),
): T | undefined {
  for (const module of app.get(ModulesContainer).values()) {
    const wrapper = module.providers.get(token);
    if (wrapper?.instance) return wrapper.instance as T;
  }
  return undefined;
}

/**
 * Swagger UI and the OpenAPI document, as DOCS_ACCESS says: public, behind an admin key
 * (Bearer, or Basic so that a browser can open it), or not mounted at all (404). A
 * browser keeps the keys typed into Swagger UI (persistAuthorization) only outside
 * production (docs/decisions/0702-docs-access.md).
 */
function setupSwagger(app: NestFastifyApplication, env: Env): void {
  const access = env.DOCS_ACCESS ?? 'public';
  if (access === 'off') return;
  if (access === 'admin') {
    const requireAdmin = adminKeyHook(
      callerIdentities(app.get(ConfigService<Env, true>)),
      'Hookline API documentation',
    );
    // Added before SwaggerModule registers its routes and static files, so it covers them all.
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) =>
        isDocsRoute(request.routeOptions.url) ? requireAdmin(request, reply) : undefined,
      );
  }
  const builder = new DocumentBuilder()
    .setTitle('Hookline')
    .setDescription(
      'A shop that takes payment results from a PSP by signed webhook — the reference implementation. ' +
        'Shop routes take `Authorization: Bearer <API_KEYS entry>`; the PSP mock under /psp/v1 takes its own PSP_API_KEY. ' +
        'Errors are application/problem+json with a stable `code`.',
    )
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'A key from API_KEYS' }, 'shop')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'A key from ADMIN_API_KEYS' }, 'admin');
  for (const { name, description } of AppModule.contributions.flatMap((c) => c.bearerSchemes ?? [])) {
    builder.addBearerAuth({ type: 'http', scheme: 'bearer', description }, name);
  }
  // OpenAPI 3.1 for its webhooks section: what Hookline sends to merchants' endpoints.
  const webhooks = Object.assign({}, ...AppModule.contributions.map((c) => c.openApiWebhooks?.() ?? {})) as Record<
    string,
    object
  >;
  if (Object.keys(webhooks).length > 0) builder.setOpenAPIVersion('3.1.0');
  const document = SwaggerModule.createDocument(app, { ...builder.build(), webhooks });
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: process.env.NODE_ENV !== 'production' },
  });
}

/** Routes SwaggerModule mounts: /docs, everything under /docs/ (the init script holds the document), the raw documents. */
export function isDocsRoute(routeUrl: string | undefined): boolean {
  if (routeUrl === undefined) return false;
  return (
    routeUrl === '/docs' || routeUrl.startsWith('/docs/') || routeUrl === '/docs-json' || routeUrl === '/docs-yaml'
  );
}

export function logStartup(env: Env, url: string, devDefaults: string[] = []): void {
  const logger = new Logger('Hookline');
  if (devDefaults.length > 0) {
    logger.warn(
      `Running on the development defaults of ${devDefaults.join(', ')}: published in the repository, ` +
        'fine on this machine, refused when NODE_ENV=production (sh scripts/new-env.sh writes fresh secrets)',
    );
  }
  logger.log(`Role ${env.APP_ROLE} listening on ${url}`);
  logger.log(`API         ${url}/orders`);
  const docs = env.DOCS_ACCESS ?? 'public';
  logger.log(
    docs === 'off'
      ? 'Swagger UI  off (DOCS_ACCESS=off)'
      : `Swagger UI  ${url}/docs   (document: ${url}/docs-json)${docs === 'admin' ? ', admin key' : ''}`,
  );
  const metrics =
    env.METRICS_PORT !== undefined
      ? `http://${env.METRICS_HOST}:${env.METRICS_PORT}/metrics (own listener)`
      : `${url}/metrics${env.METRICS_TOKEN !== undefined ? ' (METRICS_TOKEN)' : ''}`;
  logger.log(`Health      ${url}/health/live, ${url}/health/ready, metrics ${metrics}`);
  logger.log(`Operators   ${url}/queues (admin key), ${url}/ui/payments/<id> (shop key)`);
  for (const line of AppModule.contributions.flatMap((c) => c.startupLines?.(env, url) ?? [])) logger.log(line);
}
