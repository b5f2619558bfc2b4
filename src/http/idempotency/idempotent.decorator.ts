import { ApiProblem } from '../../common/errors/api-problem.js';
import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';

/** Honours `Idempotency-Key` on this route (Stripe semantics), with its Swagger documentation. */
export const Idempotent = () =>
  applyDecorators(
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Up to 255 printable characters, scoped to your API key and kept 24 h. A repeat with the same body gets the ' +
        'first answer again (with `Idempotency-Replay: true`) and changes nothing.',
    }),
    ApiProblem(409, 'IDEMPOTENCY.REQUEST_IN_PROGRESS — the first request with this key is still running (Retry-After)'),
    ApiProblem(422, 'IDEMPOTENCY.KEY_REUSED — the key was used for a different request'),
  );
