import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Params, PinoLogger } from 'nestjs-pino';
import pino, { type BaseLogger as PinoBaseLogger, type LoggerOptions } from 'pino';
import type { Env } from '../config/env.js';
import { tracingOn } from '../telemetry/tracing.js';
import { activeTraceFields } from '../telemetry/trace-context.js';

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
    // With tracing on, a line logged inside a span names it (trace_id, span_id): from a log line to its trace.
    ...(tracingOn() ? { mixin: activeTraceFields } : {}),
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
 * Given to Fastify as its request id; installRequestLogging binds it to the request's lines and echoes it.
 */
export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * nestjs-pino: one JSON line per log call (pretty in development). Services add the
 * ids they know (orderId, paymentId, pspPaymentId, eventId) as fields, so one grep
 * follows a payment from PSP settle to order paid. The per-request part (request id
 * on every line, the access line) is not nestjs-pino's pino-http middleware but the
 * Fastify hooks of installRequestLogging: the middleware, run through Nest's bridge
 * (@fastify/middie), was the receiver's largest per-request cost
 * (docs/decisions/0014-request-hooks-and-security-headers.md).
 */
export function loggerParams(env: LogSettings): Params {
  return {
    // No middleware: installRequestLogging gives each request its logging context.
    forRoutes: [],
    pinoHttp: [
      {
        ...pinoOptions(env),
        // What the access line's `req` (a Fastify request) and `res` (the raw response)
        // become, after pino-http's standard serializers (which read either).
        serializers: {
          req: (req: { id: string; method: string; url: string; remoteAddress?: string }) => ({
            id: req.id,
            method: req.method,
            path: req.url.split('?')[0],
            remoteAddress: req.remoteAddress,
          }),
          res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        },
      },
      // process.stdout rather than pino's own fd writer, so the output is the process's one
      // stream; the lines of one event-loop turn go to it in one write.
      coalescedStdout(),
    ],
  };
}

/** A pino destination: pino calls write() with each line. */
export interface LineDestination {
  write(line: string): boolean;
  /** Writes what is buffered now. */
  flush(this: void): void;
}

/**
 * Lines given to write() go to `output` in one call at the end of the event-loop turn
 * that logged them (setImmediate), in order, or sooner through flush().
 */
export function coalescingDestination(output: (text: string) => void): LineDestination {
  let parts: string[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (parts.length === 0) return;
    const text = parts.join('');
    parts = [];
    output(text);
  };
  return {
    write(line: string): boolean {
      parts.push(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      return true;
    },
    flush,
  };
}

let stdoutDestination: LineDestination | null = null;

/**
 * The process's log destination: stdout (looked up at each write, so a test can tap
 * process.stdout.write), with the lines of one event-loop turn in a single write, and
 * whatever is buffered written on process exit. stdout to a file or pipe is a synchronous
 * write on Linux, one system call per line, and a worker logs three lines per event
 * applied (docs/decisions/0013-log-lines-one-write-per-turn.md). No line is held past the
 * turn that logged it.
 */
export function coalescedStdout(): LineDestination {
  if (!stdoutDestination) {
    const destination = coalescingDestination((text) => process.stdout.write(text));
    process.once('exit', destination.flush);
    stdoutDestination = destination;
  }
  return stdoutDestination;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's logger (its bindings: reqId), for the access line. */
    accessLogger: PinoBaseLogger | null;
  }
  interface FastifyContextConfig {
    /**
     * `failures`: only answers of 400 and above get an access line — for a route that
     * logs its own line for every request it takes (the webhook receiver's inbox line).
     */
    accessLog?: 'failures';
  }
}

/** Whether a finished request gets its own access line. */
function accessLogged(request: FastifyRequest, statusCode: number): boolean {
  if (statusCode < 400 && request.routeOptions.config?.accessLog === 'failures') return false;
  return !QUIET_PATHS.some((p) => request.url.startsWith(p));
}

/**
 * The per-request half of logging, as two Fastify hooks: every line logged while a
 * request is handled carries its `reqId` (Fastify's request id: X-Request-Id when it
 * is sane, else generated; echoed back), and a request ends with one access line —
 * `request completed` (`request errored` for a 5xx) with the path, status, duration
 * and, given `callerOf`, the `caller` (the key id that authenticated it, never the
 * header) — unless accessLogged() says it needs none.
 */
export function installRequestLogging(
  fastify: FastifyInstance,
  logger: PinoLogger,
  callerOf?: (request: FastifyRequest) => string,
): void {
  fastify.decorateRequest('accessLogger', null);
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    void reply.header('x-request-id', request.id);
    logger.runInContext(
      () => {
        request.accessLogger = logger.logger;
        done();
      },
      { bindings: { reqId: request.id } },
    );
  });
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const status = reply.statusCode;
    if (request.accessLogger && accessLogged(request, status)) {
      const fields = {
        // The shape pino's request serializer reads, with Fastify's request.ip as the address:
        // the client a proxy in TRUST_PROXY names, else the peer.
        req: { id: request.id, method: request.method, url: request.url, socket: { remoteAddress: request.ip } },
        res: reply.raw,
        responseTime: Math.round(reply.elapsedTime),
        ...(callerOf ? { caller: callerOf(request) } : {}),
      };
      if (status >= 500) request.accessLogger.error(fields, 'request errored');
      else if (status >= 400) request.accessLogger.warn(fields, 'request completed');
      else request.accessLogger.info(fields, 'request completed');
    }
    done();
  });
}
