import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { InboxService } from './inbox.service.js';

/** Rows older than this and still unprocessed are assumed lost from the queue. */
export const INBOX_STALE_AFTER_MS = 30_000;

@Injectable()
export class InboxSweeperTask {
  private readonly logger = new Logger('InboxSweeper');

  constructor(private readonly inbox: InboxService) {}

  @Interval('inbox-sweeper', 10_000)
  async run(): Promise<void> {
    try {
      await this.inbox.sweep(INBOX_STALE_AFTER_MS);
    } catch (err) {
      this.logger.error(`Inbox sweep failed: ${(err as Error).message}`);
    }
  }
}
