import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  ApiAcceptedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  IntersectionType,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { IsISO8601, IsOptional, IsString, Length } from 'class-validator';
import type { FastifyRequest } from 'fastify';
import type { AllConfig } from '../../config/env.js';
import { RequireKey } from '../../http/auth/api-key.guard.js';
import { callerIdentities } from '../../http/auth/caller-identity.config.js';
import { callerLabel } from '../../http/auth/caller-identity.js';
import { ApiProblem } from '../../common/errors/api-problem.js';
import { PageQuery } from '../../common/pagination/page.query.js';
import { InboxDeadLetters, REPLAY_DEAD_MAX } from './inbox-dead-letters.js';
import type { DeadRow } from './inbox.repository.js';

export class DeadFilterDto {
  @ApiPropertyOptional({ example: 'psp' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  source?: string;

  @ApiPropertyOptional({ example: 'payment.completed' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  type?: string;

  @ApiPropertyOptional({ example: '2026-11-28T00:00:00Z', description: 'Dead at or after this time' })
  @IsOptional()
  @IsISO8601({ strict: true })
  since?: string;

  @ApiPropertyOptional({ example: '2026-11-29T00:00:00Z', description: 'Dead before this time' })
  @IsOptional()
  @IsISO8601({ strict: true })
  until?: string;
}

export class DeadInboxQuery extends IntersectionType(PageQuery, DeadFilterDto) {}

export class DeadInboxRowDto {
  @ApiProperty() id: string;
  @ApiProperty() source: string;
  @ApiProperty() eventId: string;
  @ApiProperty() type: string;
  @ApiProperty({ description: 'Failed attempts to apply it' }) attempts: number;
  @ApiProperty({ nullable: true, type: String, description: 'The last attempt’s error' }) lastError: string | null;
  @ApiProperty() receivedAt: string;
  @ApiProperty() deadAt: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The event as stored' })
  payload: Record<string, unknown>;

  static from(row: DeadRow): DeadInboxRowDto {
    return { ...row, receivedAt: row.receivedAt.toISOString(), deadAt: row.deadAt.toISOString() };
  }
}

export class DeadInboxPageDto {
  @ApiProperty({ type: [DeadInboxRowDto] }) data: DeadInboxRowDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export class ReplayedRowDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['received'] }) status: 'received';
}

export class ReplayedCountDto {
  @ApiProperty({ description: `Rows put back to be applied (at most ${REPLAY_DEAD_MAX} a call)` }) replayed: number;
}

/** Dead inbound events (inbox rows that failed INBOX_MAX_ATTEMPTS times): list, replay, discard. Admin key. */
@ApiTags('webhooks (inbound)')
@RequireKey('admin')
@Controller('webhooks/inbox')
export class InboxAdminController {
  constructor(
    private readonly dead: InboxDeadLetters,
    private readonly config: ConfigService<AllConfig, true>,
  ) {}

  @Get('dead')
  @HttpCode(200)
  @ApiOperation({ summary: 'List dead inbound events, most recent death first' })
  @ApiOkResponse({ type: DeadInboxPageDto })
  @ApiProblem(400, 'VALIDATION.FAILED | WEBHOOK_INBOX.INVALID_CURSOR')
  async list(@Query() q: DeadInboxQuery): Promise<DeadInboxPageDto> {
    const page = await this.dead.list(q, q.limit ?? 20, q.cursor);
    return { data: page.data.map((r) => DeadInboxRowDto.from(r)), nextCursor: page.nextCursor };
  }

  @Post('replay-dead')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Replay every dead inbound event matching a filter',
    description: 'Each is set back to received with its attempts reset and queued; answers how many.',
  })
  @ApiOkResponse({ type: ReplayedCountDto })
  @ApiProblem(400, 'VALIDATION.FAILED')
  async replayAll(@Body() filter: DeadFilterDto): Promise<ReplayedCountDto> {
    return this.dead.replayAll(filter);
  }

  @Post(':id/replay')
  @HttpCode(202)
  @ApiOperation({ summary: 'Replay one dead inbound event (back to received, attempts reset, queued)' })
  @ApiAcceptedResponse({ type: ReplayedRowDto })
  @ApiProblem(404, 'WEBHOOK_INBOX.NOT_FOUND')
  @ApiProblem(409, 'WEBHOOK_INBOX.NOT_DEAD — the row is received, processed or ignored')
  async replay(@Param('id') id: string): Promise<ReplayedRowDto> {
    return this.dead.replay(id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Discard one dead inbound event (delete it; final)',
    description:
      'For an event judged never to apply: the inbox row and the event it stored are deleted, and nothing ' +
      'replays it. Only a dead row is deleted; one a replay took first is not. A dead event was never applied, ' +
      "so the payment's timeline keeps only its webhook_dead entry. A redelivery of the same event id is then " +
      'stored as a new event. Logged with the event and the caller.',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblem(404, 'WEBHOOK_INBOX.NOT_FOUND')
  @ApiProblem(409, 'WEBHOOK_INBOX.NOT_DEAD — the row is received, processed or ignored')
  async discard(@Param('id') id: string, @Req() req: FastifyRequest): Promise<void> {
    await this.dead.discard(id, callerLabel(callerIdentities(this.config).resolve(req)));
  }
}
