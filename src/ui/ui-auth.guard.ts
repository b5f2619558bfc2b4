import { CanActivate, ExecutionContext, HttpException, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import { presentedCredential } from '../http/auth/presented-credential.js';
import { matchesAnyKey } from '../common/crypto/safe-equal.js';
import { splitList, type AllConfig } from '../config/env.js';

export const UI_REALM = 'Hookline';

/** No or wrong credentials for a UI page: answered as HTML with a Basic challenge (UiHtmlExceptionFilter). */
export class UiUnauthorizedException extends HttpException {
  constructor() {
    super('An API key is required', 401);
  }
}

/** The key of a Bearer or Basic header (see presentedCredential); null when there is none to check. */
export function presentedKey(header: string | undefined): string | null {
  const presented = presentedCredential(header);
  return presented && presented.key !== '' ? presented.key : null;
}

/** Opens a page to the keys of one realm, by Bearer or Basic auth. */
abstract class UiKeyGuard implements CanActivate {
  constructor(private readonly keys: readonly string[]) {}

  canActivate(context: ExecutionContext): boolean {
    const key = presentedKey(context.switchToHttp().getRequest<FastifyRequest>().headers.authorization);
    if (key !== null && matchesAnyKey(key, this.keys)) return true;
    throw new UiUnauthorizedException();
  }
}

/** Opens the operator's payment pages to a shop API key (API_KEYS). */
@Injectable()
export class UiAuthGuard extends UiKeyGuard {
  constructor(config: ConfigService<AllConfig, true>) {
    super(splitList(config.get('API_KEYS', { infer: true })));
  }
}

/** Opens the webhook endpoint pages to an admin key (ADMIN_API_KEYS), as the management API. */
@Injectable()
export class UiAdminGuard extends UiKeyGuard {
  constructor(config: ConfigService<AllConfig, true>) {
    super(splitList(config.get('ADMIN_API_KEYS', { infer: true })));
  }
}
