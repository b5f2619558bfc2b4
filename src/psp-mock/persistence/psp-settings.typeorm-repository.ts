import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PspSetting } from '../psp-setting.entity.js';
import { PspSettingsRepository } from '../psp-settings.repository.js';

@Injectable()
export class TypeormPspSettingsRepository extends PspSettingsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {
    super();
  }

  async valueOf(key: string): Promise<Record<string, unknown> | null> {
    const row = await this.db.getRepository(PspSetting).findOneBy({ key });
    return row?.value ?? null;
  }

  /**
   * One statement: concurrent merges each keep their fields (save()'s read-then-insert
   * raced into a unique violation, a 500, when two came at once).
   */
  async merge(key: string, fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    const [row] = await this.db.query<{ value: Record<string, unknown> }[]>(
      `INSERT INTO psp_settings (key, value) VALUES ($1, $2::jsonb)
       ON CONFLICT (key) DO UPDATE SET value = psp_settings.value || EXCLUDED.value, updated_at = now()
       RETURNING value`,
      [key, JSON.stringify(fields)],
    );
    return row.value;
  }

  async remove(key: string): Promise<void> {
    await this.db.getRepository(PspSetting).delete({ key });
  }
}
