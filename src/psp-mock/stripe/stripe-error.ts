import { HttpException } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';

/** Stripe's error object: `{error: {type, code, message, param}}` with Stripe's status codes. */
export interface StripeErrorBody {
  error: {
    type: 'invalid_request_error' | 'card_error' | 'idempotency_error' | 'api_error' | 'authentication_error';
    code?: string;
    message: string;
    param?: string;
    doc_url?: string;
    [extra: string]: unknown;
  };
}

/** An error the dialect answers in Stripe's shape (the filter renders it). */
export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
  ) {
    super(body.error.message);
    this.name = 'StripeApiError';
  }
}

export const invalidRequest = (message: string, param?: string, code = 'parameter_invalid_string') =>
  new StripeApiError(400, { error: { type: 'invalid_request_error', code, message, ...(param ? { param } : {}) } });

export const missingParam = (param: string) =>
  invalidRequest(`Missing required param: ${param}.`, param, 'parameter_missing');

export const resourceMissing = (what: string, id: string, param = 'id') =>
  new StripeApiError(404, {
    error: {
      type: 'invalid_request_error',
      code: 'resource_missing',
      message: `No such ${what}: '${id}'`,
      param,
    },
  });

/** What Stripe answers for the errors the rest of the app raises on these routes (auth, idempotency, validation). */
export function toStripeError(err: unknown): StripeApiError | null {
  if (err instanceof StripeApiError) return err;
  if (err instanceof DomainError) {
    if (err.code.startsWith('AUTH.')) {
      return new StripeApiError(401, {
        error: { type: 'authentication_error', message: `Invalid API Key provided. ${err.message}` },
      });
    }
    if (err.code === 'IDEMPOTENCY.REQUEST_IN_PROGRESS') {
      return new StripeApiError(409, {
        error: {
          type: 'idempotency_error',
          code: 'idempotency_key_in_use',
          message: 'There is currently another in-progress request using this Idempotent Key. Please try again later.',
        },
      });
    }
    if (err.code.startsWith('IDEMPOTENCY.')) {
      return new StripeApiError(400, {
        error: {
          type: 'idempotency_error',
          message:
            'Keys for idempotent requests can only be used with the same parameters they were first used with. ' +
            err.message,
        },
      });
    }
    const status = err.status >= 500 ? 500 : err.status;
    return new StripeApiError(status, {
      error: { type: status >= 500 ? 'api_error' : 'invalid_request_error', code: err.code, message: err.message },
    });
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    return new StripeApiError(status, {
      error: { type: status >= 500 ? 'api_error' : 'invalid_request_error', message: err.message },
    });
  }
  return null;
}
