// The implementation-complexity row, computed from the source tree and the manifest
// (scripts/compare/complexity-manifest.ts): per strategy, the files and lines of code it
// needs (shop side beyond the shared core, and PSP side), its moving parts, and its
// failure modes with the test covering each. Throws when a file or a test is missing.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST, SHARED_CORE, type StrategyManifest } from './complexity-manifest.js';

export interface Complexity {
  scenario: string;
  shopFiles: number;
  shopLines: number;
  pspFiles: number;
  pspLines: number;
  movingParts: string[];
  failureModes: number;
}

/** Lines of code: not blank, not only a comment. */
export function codeLines(text: string): number {
  let n = 0;
  let inBlock = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (inBlock) {
      if (line.includes('*/')) inBlock = false;
      continue;
    }
    if (line === '' || line.startsWith('//')) continue;
    if (line.startsWith('/*')) {
      inBlock = !line.includes('*/');
      continue;
    }
    n++;
  }
  return n;
}

function lines(root: string, files: string[]): number {
  return files.reduce((acc, f) => {
    const path = join(root, f);
    if (!existsSync(path)) throw new Error(`complexity manifest: ${f} does not exist`);
    return acc + codeLines(readFileSync(path, 'utf8'));
  }, 0);
}

/** Every covering test named in the manifest, checked to exist in its file. */
export function checkTests(root: string, manifest: StrategyManifest[] = MANIFEST): void {
  for (const s of manifest) {
    for (const { failure, test } of s.failureModes) {
      const path = join(root, test.file);
      if (!existsSync(path)) throw new Error(`complexity manifest: ${test.file} (${failure}) does not exist`);
      const text = readFileSync(path, 'utf8');
      if (![`'${test.name}'`, `"${test.name}"`, `\`${test.name}\``].some((q) => text.includes(q))) {
        throw new Error(`complexity manifest: no test "${test.name}" in ${test.file} (${failure})`);
      }
    }
  }
}

export function complexity(root: string, manifest: StrategyManifest[] = MANIFEST): Complexity[] {
  checkTests(root, manifest);
  return manifest.map((s) => ({
    scenario: s.scenario,
    shopFiles: s.shopFiles.length,
    shopLines: lines(root, s.shopFiles),
    pspFiles: s.pspFiles.length,
    pspLines: lines(root, s.pspFiles),
    movingParts: s.movingParts,
    failureModes: s.failureModes.length,
  }));
}

export const sharedCore = (root: string) => ({ files: SHARED_CORE.length, lines: lines(root, SHARED_CORE) });
