import { ArgumentsHost, Catch } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { StoredResponse } from '../../common/errors/domain-error.js';
import { ProblemDetailsFilter } from '../../common/errors/problem-details.filter.js';
import { toStripeError } from './stripe-error.js';

/**
 * The dialect's routes answer errors as Stripe does (`{error: {type, code, message,
 * param}}`), so the SDK raises its own typed errors; what Stripe has no shape for (an
 * idempotent replay, an unexpected failure) goes to the app's problem+json filter.
 */
@Catch()
export class StripeErrorFilter extends ProblemDetailsFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    const stripe = exception instanceof StoredResponse ? null : toStripeError(exception);
    if (!stripe) return super.catch(exception, host);
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    void reply.status(stripe.status).header('content-type', 'application/json').send(JSON.stringify(stripe.body));
  }
}
