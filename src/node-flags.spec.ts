import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_FLAGS } from './node-flags.js';

const root = join(__dirname, '..');

describe('NODE_FLAGS', () => {
  it('are the flags of npm start and npm run start:prod', () => {
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const run = `node ${NODE_FLAGS.join(' ')} dist/src/main.js`;
    expect(scripts['start:prod']).toBe(run);
    expect(scripts.start).toBe(`npm run build && ${run}`);
  });

  it("are the flags of the Dockerfile's CMD", () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const cmd = dockerfile.split('\n').find((line) => line.startsWith('CMD '));
    expect(cmd && JSON.parse(cmd.slice('CMD '.length))).toEqual(['node', ...NODE_FLAGS, 'dist/src/main.js']);
  });
});
