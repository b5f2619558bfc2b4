import { CanActivate, ExecutionContext, HttpException, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import { safeEqual } from '../common/crypto/safe-equal.js';
import { splitList, type AllConfig } from '../config/env.js';

export const UI_REALM = 'Hookline';

/** No or wrong credentials for a UI page: answered as HTML with a Basic challenge (UiHtmlExceptionFilter). */
export class UiUnauthorizedException extends HttpException {
  constructor() {
    super('A shop API key is required', 401);
  }
}

/**
 * The key a request presents: `Authorization: Bearer <key>`, or HTTP Basic with the
 * key as the password (any user name) — what a browser sends after its login prompt,
 * since a navigation cannot carry a Bearer header. Null when there is none.
 */
export function presentedKey(header: string | undefined): string | null {
  if (!header) return null;
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/]+={0,2})$/i.exec(header);
  if (!basic) return null;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : decoded.slice(colon + 1);
}

/** Opens the operator's pages to a shop API key (API_KEYS), by Bearer or Basic auth. */
@Injectable()
export class UiAuthGuard implements CanActivate {
  private readonly keys: string[];

  constructor(config: ConfigService<AllConfig, true>) {
    this.keys = splitList(config.get('API_KEYS', { infer: true }));
  }

  canActivate(context: ExecutionContext): boolean {
    const key = presentedKey(context.switchToHttp().getRequest<FastifyRequest>().headers.authorization);
    if (key !== null) {
      // Every key is compared, so the time taken does not tell which one matched.
      let ok = false;
      for (const candidate of this.keys) ok = safeEqual(key, candidate) || ok;
      if (ok) return true;
    }
    throw new UiUnauthorizedException();
  }
}
