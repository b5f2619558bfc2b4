import { ApiProblem } from '../../common/errors/api-problem.js';
import { CanActivate, ExecutionContext, Injectable, SetMetadata, UseGuards, applyDecorators } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ConfigService } from '@nestjs/config';
import { ApiBearerAuth } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { AllConfig } from '../../config/env.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { callerIdentities } from './caller-identity.config.js';
import type { CallerIdentityResolver, KeyRealm } from './caller-identity.js';

export type { KeyRealm } from './caller-identity.js';
const REALM = 'hookline:key-realm';

@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly identities: CallerIdentityResolver;

  constructor(
    private readonly reflector: Reflector,
    config: ConfigService<AllConfig, true>,
  ) {
    this.identities = callerIdentities(config);
  }

  canActivate(context: ExecutionContext): boolean {
    const realms = this.reflector.getAllAndOverride<KeyRealm[] | undefined>(REALM, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!realms) return true;
    const caller = this.identities.resolve(context.switchToHttp().getRequest<FastifyRequest>());
    // The API takes Bearer only (Basic is for the browser pages).
    if (caller.scheme !== 'bearer') {
      throw new DomainError(
        'AUTH.MISSING_KEY',
        401,
        'API key required',
        'Send Authorization: Bearer <key>.',
        {},
        {
          'www-authenticate': 'Bearer',
        },
      );
    }
    // Separate realms: a key of one never opens another.
    if (caller.kind !== 'key' || !realms.some((r) => caller.realms.includes(r))) {
      throw new DomainError(
        'AUTH.INVALID_KEY',
        401,
        'Invalid API key',
        `The key is not a valid ${realms.join(' or ')} key.`,
        {},
        {
          'www-authenticate': 'Bearer error="invalid_token"',
        },
      );
    }
    return true;
  }
}

/** Requires a key of `realm` (or of one of several) and documents the schemes and the 401 in Swagger. */
export const RequireKey = (realm: KeyRealm | KeyRealm[]) => {
  const realms = Array.isArray(realm) ? realm : [realm];
  return applyDecorators(
    SetMetadata(REALM, realms),
    UseGuards(ApiKeyGuard),
    ...realms.map((r) => ApiBearerAuth(r)),
    ApiProblem(401, `Missing or invalid ${realms.join(' or ')} API key`),
  );
};
