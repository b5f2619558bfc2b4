import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type {
  DataSource,
  EntityManager,
  EntitySubscriberInterface,
  TransactionCommitEvent,
  TransactionRollbackEvent,
} from 'typeorm';

const KEY = 'hooklineAfterCommit';
type Hook = () => void | Promise<void>;

/**
 * Runs `hook` once `manager`'s transaction has committed (at once when `manager` is not
 * in a transaction); a rollback drops it. For what must follow a commit and never
 * precede it: enqueueing the outbox, counting what became true.
 */
export function afterCommit(manager: EntityManager, hook: Hook): void | Promise<void> {
  const runner = manager.queryRunner;
  if (!runner?.isTransactionActive) return hook();
  runner.data ??= {};
  ((runner.data[KEY] ??= []) as Hook[]).push(hook);
}

/** The TypeORM subscriber that runs the hooks `afterCommit` collected; registered once per app. */
@Injectable()
export class AfterCommitSubscriber implements EntitySubscriberInterface {
  private readonly logger = new Logger('AfterCommit');

  constructor(@InjectDataSource() db: DataSource) {
    db.subscribers.push(this);
  }

  async afterTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    const hooks = event.queryRunner.data?.[KEY] as Hook[] | undefined;
    if (!hooks) return;
    delete event.queryRunner.data[KEY];
    for (const hook of hooks) {
      try {
        await hook();
      } catch (err) {
        this.logger.error(`An after-commit step failed: ${(err as Error).message}`);
      }
    }
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    if (event.queryRunner.data) delete event.queryRunner.data[KEY];
  }
}
