import { Module } from '@nestjs/common';
import { RedisConnections } from './redis-connections.js';

/** Redis connections for any module that needs one of its own (not Bull's: BullModule opens those). */
@Module({ providers: [RedisConnections], exports: [RedisConnections] })
export class RedisModule {}
