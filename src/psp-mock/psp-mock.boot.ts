import type { BootContribution } from '../boot-contribution.js';
import { SettlementNotifier } from './settlement-notifier.js';

/** The PSP mock's part of the process: its API key in Swagger, its startup line, its long polls released on drain. */
export const PSP_MOCK_BOOT: BootContribution = {
  bearerSchemes: [{ name: 'psp', description: "PSP_API_KEY (the PSP mock's own API)" }],
  startupLines: (env) => [
    `PSP mock    ${env.PSP_BASE_URL}/psp/v1, webhooks back to ${env.PUBLIC_BASE_URL}/webhooks/psp`,
  ],
  onDrain: [SettlementNotifier],
};
