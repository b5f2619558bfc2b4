import { InjectQueue } from '@nestjs/bull';
import {
  Controller,
  Headers,
  HttpCode,
  Post,
  Req,
  Res,
  UnauthorizedException,
  type RawBodyRequest,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import { Webhook } from 'standardwebhooks';
import { QueryFailedError, Repository } from 'typeorm';
import { InboxRow } from './inbox-row.entity.js';

interface PspEvent {
  event_id: string;
  type: string;
}

@Controller('webhooks')
export class WebhooksController {
  private readonly webhook = new Webhook(process.env.BENCH_SECRET ?? '');

  constructor(
    @InjectRepository(InboxRow) private readonly inbox: Repository<InboxRow>,
    @InjectQueue('webhook-inbox') private readonly queue: Queue,
  ) {}

  @Post('psp')
  @HttpCode(202)
  async receive(
    @Req() req: RawBodyRequest<{ rawBody?: Buffer }>,
    @Headers() headers: Record<string, string>,
    @Res({ passthrough: true }) res: { status(code: number): unknown },
  ): Promise<{ status: string; eventId: string }> {
    const receivedAt = new Date();
    let event: PspEvent;
    try {
      event = this.webhook.verify(req.rawBody ?? '', headers) as PspEvent;
    } catch {
      throw new UnauthorizedException('Invalid webhook signature');
    }
    let row: InboxRow;
    try {
      row = await this.inbox.save(
        this.inbox.create({
          source: 'psp',
          eventId: event.event_id,
          eventType: event.type,
          payload: event,
          receivedAt,
          verifiedAt: new Date(),
        }),
      );
    } catch (err) {
      if (err instanceof QueryFailedError && (err.driverError as { code?: string }).code === '23505') {
        res.status(200);
        return { status: 'duplicate', eventId: event.event_id };
      }
      throw err;
    }
    await this.queue.add(
      'apply-inbox-event',
      { inboxId: row.id },
      { jobId: row.id, attempts: 8, backoff: { type: 'exponential', delay: 500 }, removeOnComplete: 1000 },
    );
    return { status: 'accepted', eventId: event.event_id };
  }
}
