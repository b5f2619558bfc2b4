import { BullAdapter } from '@bull-board/api/bullAdapter';
import { FastifyAdapter as BoardFastifyAdapter } from '@bull-board/fastify';
import { BullBoardModule, InjectBullBoard, type BullBoardInstance } from '@bull-board/nestjs';
import { Module, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ModuleRef } from '@nestjs/core';
import type { FastifyPluginCallback, onRequestAsyncHookHandler } from 'fastify';
import { adminKeyHook } from '../http/auth/admin-key.hook.js';
import { callerIdentities } from '../http/auth/caller-identity.config.js';
import type { AllConfig } from '../config/env.js';
import { registeredQueues } from './registered-queues.js';

export const QUEUE_BOARD_ROUTE = '/queues';
const REALM = 'Hookline queues';

/**
 * Bull Board's Fastify adapter with a hook inside the board's own plugin context:
 * every board route (page, JSON API, static assets) runs it, and no other route does.
 */
function boardAdapterWith(hook: onRequestAsyncHookHandler) {
  return class GuardedBoardAdapter extends BoardFastifyAdapter {
    override registerPlugin(): FastifyPluginCallback {
      const board = super.registerPlugin();
      return (fastify, opts, done) => {
        fastify.addHook('onRequest', hook);
        board(fastify, opts, done);
      };
    }
  };
}

/**
 * The queue dashboard (Bull Board) at /queues, for admin keys only (Bearer, or Basic
 * with the key as password for a browser). It shows every Bull queue this process
 * role registered: the roles register different queues, so they are looked up
 * rather than listed (BullBoardModule.forFeature fails on a queue a role lacks).
 */
@Module({
  imports: [
    BullBoardModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<AllConfig, true>) => ({
        route: QUEUE_BOARD_ROUTE,
        adapter: boardAdapterWith(adminKeyHook(callerIdentities(config), REALM)),
        boardOptions: { uiConfig: { boardTitle: REALM } },
      }),
    }),
  ],
})
export class QueueBoardModule implements OnModuleInit {
  constructor(
    @InjectBullBoard() private readonly board: BullBoardInstance,
    private readonly moduleRef: ModuleRef,
  ) {}

  onModuleInit(): void {
    for (const queue of registeredQueues(this.moduleRef)) this.board.addQueue(new BullAdapter(queue));
  }
}
