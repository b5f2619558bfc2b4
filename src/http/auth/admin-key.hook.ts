import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CallerIdentityResolver } from './caller-identity.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { PROBLEM_CONTENT_TYPE, domainProblem } from '../../common/errors/problem.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A Fastify onRequest hook for routes Nest's guards never see (raw plugins such as
 * Bull Board): only an admin key gets through, sent as `Authorization: Bearer <key>`
 * or — so that a person can open the page in a browser — HTTP Basic with any user
 * name and the key as password. The caller is resolved as everywhere else
 * (CallerIdentityResolver: constant-time, the same identity in the access log); a
 * refusal is 401 problem+json with a Basic challenge, so the browser asks for the key.
 */
export function adminKeyHook(identities: CallerIdentityResolver, realm: string) {
  const challenge = { 'www-authenticate': `Basic realm="${realm}"` };
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const caller = identities.resolve(request);
    if (caller.scheme === null) {
      return refuse(
        request,
        reply,
        new DomainError(
          'AUTH.MISSING_KEY',
          401,
          'Admin key required',
          'Send Authorization: Bearer <admin key>, or HTTP Basic with the admin key as password.',
          {},
          challenge,
        ),
      );
    }
    if (caller.kind !== 'key' || !caller.realms.includes('admin')) {
      return refuse(
        request,
        reply,
        new DomainError('AUTH.INVALID_KEY', 401, 'Invalid API key', 'The key is not a valid admin key.', {}, challenge),
      );
    }
    // A browser replays Basic credentials on requests other sites make it send: a
    // change must come from the board's own page (Bearer is never sent on its own).
    if (caller.scheme === 'basic' && !SAFE_METHODS.has(request.method) && isCrossSite(request)) {
      return refuse(
        request,
        reply,
        new DomainError(
          'AUTH.CROSS_SITE_REQUEST',
          403,
          'Cross-site request refused',
          'Changes with browser credentials must come from the same origin.',
        ),
      );
    }
    return undefined;
  };
}

function isCrossSite(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const origin = request.headers.origin;
  if (typeof origin !== 'string') return false;
  try {
    return new URL(origin).host !== request.headers.host;
  } catch {
    return true;
  }
}

function refuse(request: FastifyRequest, reply: FastifyReply, error: DomainError): FastifyReply {
  return reply
    .status(error.status)
    .headers(error.headers)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(domainProblem(error, request.url.split('?')[0].slice(0, 200))));
}
