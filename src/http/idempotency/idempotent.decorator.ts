import { ApiProblem } from '../../common/errors/api-problem.js';
import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { IdempotencyOnRowInterceptor } from './idempotency-on-row.interceptor.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';

const KEY_HEADER_DOC = {
  name: 'Idempotency-Key',
  required: false,
  description:
    'Up to 255 printable characters, scoped to your API key and kept 24 h. A repeat with the same body gets the ' +
    'first answer again (with `Idempotency-Replay: true`) and changes nothing.',
};

const IN_PROGRESS_DOC =
  'IDEMPOTENCY.REQUEST_IN_PROGRESS — the first request with this key is still running (Retry-After)';
const KEY_REUSED_DOC = 'IDEMPOTENCY.KEY_REUSED — the key was used for a different request';

/**
 * Honours `Idempotency-Key` on this route (Stripe semantics), with its Swagger documentation:
 * the claim and the answer are kept in idempotency_keys (two statements a request).
 */
export const Idempotent = () =>
  applyDecorators(
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader(KEY_HEADER_DOC),
    ApiProblem(409, IN_PROGRESS_DOC),
    ApiProblem(422, KEY_REUSED_DOC),
  );

/**
 * Honours `Idempotency-Key` on a route that keeps the key on the row it creates (the
 * handler takes it with `@RowKey()` and throws KeyAlreadyUsed for a repeat): the same
 * semantics as `@Idempotent()` without a statement of its own
 * (docs/decisions/0031-shop-idempotency-on-row.md). `inFlight`: whether the route can
 * have a first request still running (it answers 409 then).
 */
export const IdempotentOnRow = ({ inFlight }: { inFlight: boolean }) =>
  applyDecorators(
    UseInterceptors(IdempotencyOnRowInterceptor),
    ApiHeader({
      ...KEY_HEADER_DOC,
      description: `${KEY_HEADER_DOC.description} A request that failed stores nothing: a retry with the key runs again.`,
    }),
    ...(inFlight ? [ApiProblem(409, IN_PROGRESS_DOC)] : []),
    ApiProblem(422, KEY_REUSED_DOC),
  );
