import type { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../../../config/env.js';

/** WEBHOOK_ALLOWED_CIDRS as a list ("none" or empty: no exception). */
export function allowedCidrs(config: ConfigService<AllConfig, true>): string[] {
  const raw = (config.get('WEBHOOK_ALLOWED_CIDRS', { infer: true }) ?? '').trim();
  if (raw === '' || raw === 'none') return [];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
