import type { BootContribution } from '../../boot-contribution.js';
import { catalogWebhooks } from './event-catalog.openapi.js';

/** What the outbound webhooks add to the process: the event catalog in the OpenAPI document. */
export const OUTBOUND_BOOT: BootContribution = {
  openApiWebhooks: catalogWebhooks,
};
