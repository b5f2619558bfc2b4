import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** The PSP mock's runtime settings (chaos), shared by all its replicas. */
@Entity('psp_settings')
export class PspSetting {
  @PrimaryColumn({ type: 'text' })
  key: string;

  @Column({ type: 'jsonb' })
  value: Record<string, unknown>;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
