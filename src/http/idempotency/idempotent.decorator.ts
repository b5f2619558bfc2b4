import { ApiProblem } from '../../common/errors/api-problem.js';
import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';

const KEY_HEADER_DOC = {
  name: 'Idempotency-Key',
  required: false,
  description:
    'Up to 255 printable characters, scoped to your API key and kept 24 h. A repeat with the same body gets the ' +
    'first answer again (with `Idempotency-Replay: true`) and changes nothing.',
};

/** Honours `Idempotency-Key` on this route (Stripe semantics), with its Swagger documentation. */
export const Idempotent = () =>
  applyDecorators(
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader(KEY_HEADER_DOC),
    ApiProblem(409, 'IDEMPOTENCY.REQUEST_IN_PROGRESS — the first request with this key is still running (Retry-After)'),
    ApiProblem(422, 'IDEMPOTENCY.KEY_REUSED — the key was used for a different request'),
  );

/**
 * The Swagger documentation of `Idempotency-Key` for a route that keeps the key on the row
 * its one INSERT makes (NativeIdempotency): the same semantics, without a 409 (no in-flight state).
 */
export const IdempotentNatively = () =>
  applyDecorators(
    ApiHeader(KEY_HEADER_DOC),
    ApiProblem(422, 'IDEMPOTENCY.KEY_REUSED — the key was used for a different request'),
  );
