import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** The baseline's own copy of webhook_inbox (the bench creates it LIKE webhook_inbox). */
export const NEST_TABLE = 'bench_nest_inbox';

@Entity(NEST_TABLE)
export class InboxRow {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  source: string;

  @Column({ name: 'event_id', type: 'text' })
  eventId: string;

  @Column({ name: 'event_type', type: 'text' })
  eventType: string;

  @Column({ type: 'jsonb' })
  payload: unknown;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt: Date;

  @Column({ name: 'verified_at', type: 'timestamptz' })
  verifiedAt: Date;
}
