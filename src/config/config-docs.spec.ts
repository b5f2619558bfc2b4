import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigTable, renderEnvExample, withConfigTable } from './config-docs.js';
import { configDocs, validateEnv } from './env.js';

const root = join(__dirname, '..', '..');

describe('configuration docs', () => {
  const docs = configDocs();

  it('describe every validated variable', () => {
    const validated = Object.keys(validateEnv({}));
    expect(docs.map((d) => d.name).sort()).toEqual(validated.sort());
    for (const d of docs) expect(d.meaning.length).toBeGreaterThan(10);
  });

  it('are what README.md and .env.example say (run `npm run docs:config` after changing src/config/env.ts)', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(withConfigTable(readme, renderConfigTable(docs))).toBe(readme);
    expect(readFileSync(join(root, '.env.example'), 'utf8')).toBe(renderEnvExample(docs));
  });

  it('give the defaults validateEnv applies', () => {
    const env = validateEnv({}) as unknown as Record<string, unknown>;
    for (const d of docs) if (d.default !== null) expect(String(env[d.name])).toBe(d.default);
  });
});
