import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** How far reconciliation has read a source's events API. One row per source. */
@Entity('reconciliation_cursors')
export class ReconciliationCursor {
  @PrimaryColumn({ type: 'text' })
  source: string;

  /** The last event id read; null: from the beginning. */
  @Column({ type: 'text', nullable: true })
  cursor: string | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
