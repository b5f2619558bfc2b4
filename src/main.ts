// First: tracing (when configured) must patch node:http, pg and ioredis before anything requires them.
import { stopTracing } from './telemetry/tracing.js';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp, logStartup, prepareDatabase, shutDown } from './bootstrap.js';
import { validateEnv } from './config/env.js';
import { devDefaultsInUse } from './config/production-secrets.js';

async function main(): Promise<void> {
  let env;
  try {
    env = validateEnv(process.env);
  } catch (err) {
    // A configuration error is the operator's to fix: name it, and stop.
    console.error((err as Error).message);
    process.exit(78); // EX_CONFIG
  }
  // Read before Nest's ConfigModule writes the defaults it applied into process.env.
  const devDefaults = devDefaultsInUse(process.env);
  await prepareDatabase(env);
  const app = await createApp(env);
  // SIGTERM (orchestrators, rolling restarts) and SIGINT (Ctrl-C) drain; a second signal changes nothing.
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      void shutDown(app, signal)
        .then(async (code) => {
          await stopTracing(); // the spans of the last requests exported before exit
          return code;
        })
        .then((code) => process.exit(code));
    });
  }
  await app.listen(env.PORT, env.HOST);
  const url = `${env.TLS_CERT_FILE !== undefined ? 'https' : 'http'}://${env.HOST === '0.0.0.0' ? '127.0.0.1' : env.HOST}:${env.PORT}`;
  logStartup(env, url, devDefaults);
}

main().catch((err: Error) => {
  new Logger('Hookline').fatal(`Startup failed: ${err.message}`, err.stack);
  process.exit(1);
});
