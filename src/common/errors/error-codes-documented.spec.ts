import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

// Clients branch on a problem's `code` (DomainError: "stable and documented"): every code
// the source can answer must be in docs/api.md's table, by name or by its domain's `X.*` row.

const ROOT = resolve(__dirname, '../../..');
/** Codes that never reach a client, and why. */
const INTERNAL: Record<string, string> = {
  'PSP.IN_PROGRESS': 'the PSP adapters throw it; payments.service answers PAYMENT.IN_PROGRESS instead',
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [path] : [];
  });
}

function codesInSource(): Set<string> {
  const codes = new Set<string>();
  for (const file of sources(join(ROOT, 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/['`]([A-Z][A-Z0-9_]*\.[A-Z][A-Z0-9_]*)['`]/g)) {
      codes.add(m[1]);
    }
  }
  return codes;
}

describe('error codes in docs/api.md', () => {
  const api = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
  const codes = codesInSource();
  const documented = (code: string) =>
    api.includes(`\`${code}\``) || api.includes(`\`${code.slice(0, code.indexOf('.'))}.*\``);

  it('finds the codes the source answers', () => {
    // A sanity floor, so a broken scan cannot pass by finding nothing.
    expect(codes.size).toBeGreaterThan(40);
    expect(codes).toContain('ORDER.NOT_FOUND');
  });

  it('documents every code a client can receive', () => {
    const missing = [...codes].filter((c) => !(c in INTERNAL) && !documented(c)).sort();
    expect(missing).toEqual([]);
  });

  it('keeps no internal exception for a code the source no longer has', () => {
    expect(Object.keys(INTERNAL).filter((c) => !codes.has(c))).toEqual([]);
  });
});
