// The ingest baseline "what a NestJS user writes from the framework's docs": Nest on
// Express with `rawBody: true`, the `standardwebhooks` package's verifier, a TypeORM
// repository `save` of the inbox row (into its own copy of webhook_inbox) and an
// `@nestjs/bull` `queue.add` per request, each step as the docs show it, nothing tuned.
// Usage: node baseline-nest/main.js (PORT, BENCH_SECRET, DATABASE_URL, REDIS_URL,
// REDIS_PREFIX from the environment). Prints "ready" on stdout once listening.

import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';

async function main(): Promise<void> {
  for (const name of ['PORT', 'BENCH_SECRET', 'DATABASE_URL', 'REDIS_URL', 'REDIS_PREFIX']) {
    if (!process.env[name]) throw new Error(`${name} is required`);
  }
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { rawBody: true });
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  console.log('ready');
}

void main();
