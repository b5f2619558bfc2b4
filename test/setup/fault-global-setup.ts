import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import e2eSetup from './global-setup'; // extensionless: globalSetup runs outside jest's module mapper

/**
 * The fault tests run the BUILT app (`node dist/src/main.js`) as child processes, so
 * `dist/` must be what the sources say: built here, once per run (about 5 s).
 */
export default async function globalSetup(): Promise<void> {
  await e2eSetup();
  const root = join(__dirname, '..', '..');
  execFileSync(join(root, 'node_modules', '.bin', 'nest'), ['build'], { cwd: root, stdio: 'inherit' });
}
