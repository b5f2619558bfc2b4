import type { ConfigService } from '@nestjs/config';
import { splitList, type AllConfig } from '../../config/env.js';
import { CallerIdentityResolver } from './caller-identity.js';

const byConfig = new WeakMap<object, CallerIdentityResolver>();

/**
 * The app's one caller resolver, built from API_KEYS, ADMIN_API_KEYS and PSP_API_KEY.
 * The throttler (an APP_GUARD, run before any route guard), ApiKeyGuard, the
 * idempotency interceptor and the access log all take it from here.
 */
export function callerIdentities(config: ConfigService<AllConfig, true>): CallerIdentityResolver {
  let resolver = byConfig.get(config);
  if (!resolver) {
    resolver = new CallerIdentityResolver({
      shop: splitList(config.get('API_KEYS', { infer: true })),
      admin: splitList(config.get('ADMIN_API_KEYS', { infer: true })),
      psp: [config.get('PSP_API_KEY', { infer: true })],
    });
    byConfig.set(config, resolver);
  }
  return resolver;
}
