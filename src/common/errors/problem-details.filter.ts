import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, StoredResponse } from './domain-error.js';
import { isDatabaseUnavailable } from './unavailable.js';

/** What a 503 for an unreachable database asks the client to wait. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;
import { PROBLEM_CONTENT_TYPE, Problem, domainProblem, problemType } from './problem.js';

const CODES_BY_STATUS: Record<number, string> = {
  400: 'REQUEST.MALFORMED',
  401: 'AUTH.UNAUTHORIZED',
  403: 'AUTH.FORBIDDEN',
  404: 'ROUTE.NOT_FOUND',
  405: 'REQUEST.METHOD_NOT_ALLOWED',
  413: 'REQUEST.TOO_LARGE',
  414: 'REQUEST.URI_TOO_LONG',
  415: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
  429: 'REQUEST.RATE_LIMITED',
};

/** Fastify's own errors (body parsing, size limit) carry a statusCode and FST_ code. */
interface FastifyError extends Error {
  statusCode?: number;
  code?: string;
}

/**
 * One place that turns every error into RFC 9457 problem+json with a stable code.
 * Unknown errors are logged with context and answered as a generic 500 — their
 * message never reaches the client.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    if (exception instanceof StoredResponse) {
      void reply
        .status(exception.status)
        .headers({ ...exception.headers, 'content-type': exception.contentType, 'idempotency-replay': 'true' })
        .send(exception.body);
      return;
    }
    const { problem, headers } = this.toProblem(exception, req);
    problem.instance = req.url.split('?')[0];
    void reply
      .status(problem.status)
      .headers(headers)
      .header('content-type', PROBLEM_CONTENT_TYPE)
      .send(JSON.stringify(problem));
  }

  private toProblem(exception: unknown, req: FastifyRequest): { problem: Problem; headers: Record<string, string> } {
    if (exception instanceof DomainError) {
      return { problem: domainProblem(exception), headers: exception.headers };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const messages = typeof body === 'object' && body !== null && 'message' in body ? body.message : body;
      if (status === 400 && Array.isArray(messages)) {
        return {
          problem: {
            type: problemType('VALIDATION.FAILED'),
            title: 'Request validation failed',
            status,
            detail: messages.join('; '),
            code: 'VALIDATION.FAILED',
          },
          headers: {},
        };
      }
      const code = CODES_BY_STATUS[status] ?? `HTTP.${status}`;
      return {
        problem: {
          type: problemType(code),
          title: exception.message,
          status,
          detail: typeof messages === 'string' ? messages : undefined,
          code,
        },
        headers: {},
      };
    }
    const fst = exception as FastifyError;
    if (typeof fst?.statusCode === 'number' && fst.statusCode >= 400 && fst.statusCode < 500) {
      const code = CODES_BY_STATUS[fst.statusCode] ?? `HTTP.${fst.statusCode}`;
      return {
        problem: { type: problemType(code), title: fst.message, status: fst.statusCode, code },
        headers: {},
      };
    }
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn(
        `PostgreSQL unavailable on ${req.method} ${req.url.split('?')[0]}: ${(exception as Error)?.message ?? exception}`,
      );
      return {
        problem: {
          type: problemType('SERVICE.UNAVAILABLE'),
          title: 'Service temporarily unavailable',
          status: HttpStatus.SERVICE_UNAVAILABLE,
          detail: 'The database cannot be reached. Nothing was stored; retry after the Retry-After delay.',
          code: 'SERVICE.UNAVAILABLE',
        },
        headers: { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_S) },
      };
    }
    this.logger.error(
      `Unhandled error on ${req.method} ${req.url.split('?')[0]}: ${(exception as Error)?.message ?? exception}`,
      (exception as Error)?.stack,
    );
    return {
      problem: {
        type: problemType('INTERNAL'),
        title: 'Internal server error',
        status: HttpStatus.INTERNAL_SERVER_ERROR,
        code: 'INTERNAL',
      },
      headers: {},
    };
  }
}
