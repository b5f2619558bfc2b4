import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestMethod } from '@nestjs/common';
import type { Params } from 'nestjs-pino';
import pino, { type LoggerOptions } from 'pino';
import type { Env } from '../config/env.js';

export type LogSettings = Pick<Env, 'APP_ROLE' | 'LOG_LEVEL' | 'LOG_FORMAT'>;

const LEVELS: Record<string, pino.Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};
const REQUEST_ID = /^[\w.:-]{1,100}$/;
/** Requests too frequent and too dull to log one line each. */
const QUIET_PATHS = ['/health/', '/metrics'];

/**
 * Never let a credential reach a log line: request headers are not serialised at
 * all, and these paths are redacted in case anything logs them anyway.
 */
export const REDACT = [
  'req.headers.authorization',
  'req.headers["webhook-signature"]',
  'req.headers["stripe-signature"]',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
];

function pretty(env: LogSettings): boolean {
  if (env.LOG_FORMAT !== 'auto') return env.LOG_FORMAT === 'pretty';
  return process.stdout.isTTY === true && process.env.NODE_ENV !== 'production';
}

export function pinoOptions(env: LogSettings): LoggerOptions {
  return {
    level: LEVELS[env.LOG_LEVEL] ?? 'info',
    base: { role: env.APP_ROLE },
    redact: { paths: REDACT, censor: '[redacted]' },
    ...(pretty(env)
      ? {
          transport: {
            target: 'pino-pretty',
            options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
          },
        }
      : {}),
  };
}

/** A plain pino logger for the boot phase (database creation, migrations) before Nest runs. */
export function bootLogger(env: LogSettings): { log(message: string): void; warn(message: string): void } {
  const logger = pino(pinoOptions(env), pino.destination(1));
  return {
    log: (message) => logger.info({ context: 'Boot' }, message),
    warn: (message) => logger.warn({ context: 'Boot' }, message),
  };
}

/**
 * The request id: X-Request-Id when the caller sent a sane one, else a new UUID.
 * Given to Fastify (which puts it on the request that pino-http logs) and echoed back.
 */
export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * nestjs-pino: one JSON line per log call (pretty in development), a request id on
 * every line logged while a request is handled (taken from X-Request-Id when it is
 * sane, else generated, and echoed back), one line per request with its status and
 * duration. Services add the ids they know (orderId, paymentId, pspPaymentId,
 * eventId) as fields, so one grep follows a payment from PSP settle to order paid.
 */
export function loggerParams(env: LogSettings): Params {
  return {
    // Nest 12 on Fastify matches middleware by this pattern; nestjs-pino's default does not match.
    forRoutes: [{ path: '*path', method: RequestMethod.ALL }],
    pinoHttp: [
      {
        ...pinoOptions(env),
        serializers: {
          req: (req: { id: string; method: string; url: string; remoteAddress?: string }) => ({
            id: req.id,
            method: req.method,
            path: req.url.split('?')[0],
            remoteAddress: req.remoteAddress,
          }),
          res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        },
        customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
          err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
        // pino-http invents an Error with a stack for every 5xx; the status says it already.
        customErrorObject: (_req: IncomingMessage, _res: ServerResponse, err: Error, val: Record<string, unknown>) =>
          err.message.startsWith('failed with status code') ? { ...val, err: undefined } : val,
        autoLogging: { ignore: (req: IncomingMessage) => QUIET_PATHS.some((p) => (req.url ?? '').startsWith(p)) },
        quietReqLogger: true,
      },
      // process.stdout rather than pino's own fd writer, so the output is the process's one stream.
      process.stdout,
    ],
  };
}
