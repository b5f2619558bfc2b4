import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_DOC, renderConfigTable, renderEnvExample, withConfigTable } from './config-docs.js';
import { configDocs, validateEnv } from './env.js';

const root = join(__dirname, '..', '..');

describe('configuration docs', () => {
  const docs = configDocs();

  it('describe every validated variable', () => {
    const validated = Object.keys(validateEnv({}));
    expect(docs.map((d) => d.name).sort()).toEqual(validated.sort());
    for (const d of docs) expect(d.meaning.length).toBeGreaterThan(10);
  });

  it(`are what ${CONFIG_DOC} and .env.example say (run \`npm run docs:config\` after changing src/config/env.ts)`, () => {
    const doc = readFileSync(join(root, CONFIG_DOC), 'utf8');
    expect(withConfigTable(doc, renderConfigTable(docs))).toBe(doc);
    expect(readFileSync(join(root, '.env.example'), 'utf8')).toBe(renderEnvExample(docs));
  });

  it('give the defaults validateEnv applies', () => {
    const env = validateEnv({}) as unknown as Record<string, unknown>;
    for (const d of docs) if (d.default !== null) expect(String(env[d.name])).toBe(d.default);
  });
});
