import { ApiProblem } from '../../common/errors/api-problem.js';
import { CanActivate, ExecutionContext, Injectable, SetMetadata, UseGuards, applyDecorators } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ConfigService } from '@nestjs/config';
import { ApiBearerAuth } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { AllConfig, splitList } from '../../config/env.js';
import { matchesAnyKey } from '../crypto/safe-equal.js';
import { DomainError } from '../errors/domain-error.js';

/** The three key realms: the shop's API, its admin API, and the PSP mock's own API. */
export type KeyRealm = 'shop' | 'admin' | 'psp';
const REALM = 'hookline:key-realm';

@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: Record<KeyRealm, string[]>;

  constructor(
    private readonly reflector: Reflector,
    config: ConfigService<AllConfig, true>,
  ) {
    // Separate realms: a key of one never opens another.
    this.keys = {
      shop: splitList(config.get('API_KEYS', { infer: true })),
      admin: splitList(config.get('ADMIN_API_KEYS', { infer: true })),
      psp: [config.get('PSP_API_KEY', { infer: true })],
    };
  }

  canActivate(context: ExecutionContext): boolean {
    const realm = this.reflector.getAllAndOverride<KeyRealm | undefined>(REALM, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!realm) return true;
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization;
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!match) {
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
    if (!matchesAnyKey(match[1], this.keys[realm])) {
      throw new DomainError(
        'AUTH.INVALID_KEY',
        401,
        'Invalid API key',
        `The key is not a valid ${realm} key.`,
        {},
        {
          'www-authenticate': 'Bearer error="invalid_token"',
        },
      );
    }
    return true;
  }
}

/** Requires a key of `realm` and documents the scheme and its 401 in Swagger. */
export const RequireKey = (realm: KeyRealm) =>
  applyDecorators(
    SetMetadata(REALM, realm),
    UseGuards(ApiKeyGuard),
    ApiBearerAuth(realm),
    ApiProblem(401, `Missing or invalid ${realm} API key`),
  );
