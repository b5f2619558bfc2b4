// npm run docs:config — rewrites the README's configuration table and .env.example
// from the validated configuration schema (src/config/env.ts). A unit test fails
// when they drift apart.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigTable, renderEnvExample, withConfigTable } from '../src/config/config-docs.js';
import { configDocs } from '../src/config/env.js';

const root = process.cwd();
const docs = configDocs();
const readmePath = join(root, 'README.md');
writeFileSync(readmePath, withConfigTable(readFileSync(readmePath, 'utf8'), renderConfigTable(docs)));
writeFileSync(join(root, '.env.example'), renderEnvExample(docs));
console.log(`Wrote the configuration of ${docs.length} variables to README.md and .env.example`);
