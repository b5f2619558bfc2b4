// npm run docs:config — rewrites the configuration table of docs/configuration.md and .env.example
// from the validated configuration schema (src/config/env.ts). A unit test fails
// when they drift apart.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_DOC, renderConfigTable, renderEnvExample, withConfigTable } from '../src/config/config-docs.js';
import { configDocs } from '../src/config/env.js';

const root = process.cwd();
const docs = configDocs();
const docPath = join(root, CONFIG_DOC);
writeFileSync(docPath, withConfigTable(readFileSync(docPath, 'utf8'), renderConfigTable(docs)));
writeFileSync(join(root, '.env.example'), renderEnvExample(docs));
console.log(`Wrote the configuration of ${docs.length} variables to ${CONFIG_DOC} and .env.example`);
