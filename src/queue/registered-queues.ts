import { getQueueToken } from '@nestjs/bull';
import type { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bull';
import { QueueName } from './queues.js';

/**
 * The Bull queues this process registered. Each role registers only its own (the
 * psp role the PSP mock's, the shop roles the shop's), so a name without a provider
 * is skipped rather than an error.
 */
export function registeredQueues(moduleRef: ModuleRef): Queue[] {
  return Object.values(QueueName).flatMap((name) => {
    try {
      return [moduleRef.get<Queue>(getQueueToken(name), { strict: false })];
    } catch {
      return [];
    }
  });
}
