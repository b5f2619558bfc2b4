import helmet from '@fastify/helmet';
import { Logger, type RawBodyRequest } from '@nestjs/common';
import { Logger as PinoLogger } from 'nestjs-pino';
import { bootLogger, requestId } from './logging/logging.js';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from './common/errors/domain-error.js';
import { PROBLEM_CONTENT_TYPE, problemType } from './common/errors/problem.js';
import { MAX_JSON_DEPTH, jsonDepthExceeds } from './common/http/json-depth.js';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module.js';
import type { Env } from './config/env.js';
import { ensureDatabase } from './database/ensure-database.js';
import { runMigrations } from './database/migrate.js';

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
  const adapter = new FastifyAdapter({
    bodyLimit: env.WEBHOOK_MAX_BODY_BYTES,
    genReqId: requestId,
    requestIdHeader: false,
    // Errors Fastify's router raises before Nest sees the request (malformed or
    // over-long URL) still get problem+json.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const status = error.statusCode ?? 400;
      const code = status === 414 ? 'REQUEST.URI_TOO_LONG' : 'REQUEST.MALFORMED';
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
  app.useLogger(app.get(PinoLogger));
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: [`'self'`],
        styleSrc: [`'self'`, `'unsafe-inline'`],
        imgSrc: [`'self'`, 'data:'],
        scriptSrc: [`'self'`, `'unsafe-inline'`],
      },
    },
  });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    void reply.header('x-request-id', request.id);
    done();
  });
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
  app.enableShutdownHooks();
  setupSwagger(app);
  return app;
}

function setupSwagger(app: NestFastifyApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Hookline')
    .setDescription(
      'A shop that takes payment results from a PSP by signed webhook — the reference implementation. ' +
        'Shop routes take `Authorization: Bearer <API_KEYS entry>`; the PSP mock under /psp/v1 takes its own PSP_API_KEY. ' +
        'Errors are application/problem+json with a stable `code`.',
    )
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'A key from API_KEYS' }, 'shop')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'A key from ADMIN_API_KEYS' }, 'admin')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: "PSP_API_KEY (the PSP mock's own API)" }, 'psp')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
}

export function logStartup(env: Env, url: string): void {
  const logger = new Logger('Hookline');
  logger.log(`Role ${env.APP_ROLE} listening on ${url}`);
  logger.log(`API         ${url}/orders`);
  logger.log(`Swagger UI  ${url}/docs   (document: ${url}/docs-json)`);
  logger.log(`Health      ${url}/health/live, ${url}/health/ready, metrics ${url}/metrics`);
  logger.log(`Operators   ${url}/queues (admin key), ${url}/ui/payments/<id> (shop key)`);
  logger.log(`PSP mock    ${env.PSP_BASE_URL}/psp/v1, webhooks back to ${env.PUBLIC_BASE_URL}/webhooks/psp`);
}
