import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { DEV_SECRETS } from '../../src/config/production-secrets.js';
import { ADMIN_KEY, PSP_KEY, SHOP_KEY, WEBHOOK_SECRET } from '../utils/test-env.js';
import { bootUntilExit, spawnApp, testRedisPrefix } from '../utils/spawn-app.js';

const SECRETS = Object.keys(DEV_SECRETS);
const EX_CONFIG = 78;
jest.setTimeout(60_000);

/** What `sh scripts/new-env.sh` writes for a fresh deployment. */
function freshSecrets(): Record<string, string> {
  const text = execFileSync('sh', [join(__dirname, '..', '..', 'scripts', 'new-env.sh'), '--stdout'], {
    encoding: 'utf8',
  });
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/**
 * The built app (node dist/src/main.js) started with NODE_ENV=production as the image
 * starts it: it refuses every published, missing or weak secret before it touches
 * storage or opens a port, naming every offending variable in one message.
 */
describe('production boot', () => {
  const unset = Object.fromEntries(SECRETS.map((name) => [name, '']));

  it('refuses to boot with the secrets unset, naming each', async () => {
    const { code, output } = await bootUntilExit({ NODE_ENV: 'production', ...unset });
    expect(code).toBe(EX_CONFIG);
    for (const name of SECRETS) expect(output).toContain(`- ${name}: not set`);
    expect(output).toContain('sh scripts/new-env.sh');
    expect(output).not.toContain('listening on');
  });

  it.each([
    ['the development defaults (.env.example, the old compose defaults)', { ...DEV_SECRETS }],
    [
      'the test keys',
      { API_KEYS: SHOP_KEY, ADMIN_API_KEYS: ADMIN_KEY, PSP_API_KEY: PSP_KEY, PSP_WEBHOOK_SECRET: WEBHOOK_SECRET },
    ],
  ])('refuses to boot on %s, naming every published value', async (_what, published) => {
    const { code, output } = await bootUntilExit({ ...freshSecrets(), NODE_ENV: 'production', ...published });
    expect(code).toBe(EX_CONFIG);
    for (const [name, value] of Object.entries(published)) {
      expect(output).toContain(`- ${name}: is a value published in the repository`);
      expect(output).not.toContain(value);
    }
  });

  it.each(SECRETS)('refuses to boot when only %s is published', async (name) => {
    const { code, output } = await bootUntilExit({
      ...freshSecrets(),
      NODE_ENV: 'production',
      [name]: DEV_SECRETS[name as keyof typeof DEV_SECRETS],
    });
    expect(code).toBe(EX_CONFIG);
    expect(new Set(output.match(/ - [A-Z_]+: /g))).toEqual(new Set([` - ${name}: `]));
  });

  it('boots with fresh secrets', async () => {
    const app = await spawnApp('all', { ...freshSecrets(), NODE_ENV: 'production', REDIS_PREFIX: testRedisPrefix() });
    try {
      expect(app.output()).not.toContain('development defaults');
    } finally {
      await app.stop();
    }
  });

  it('runs on the development defaults outside production, and says so once', async () => {
    // Absent, as on a laptop running npm start (not empty: Nest's ConfigModule then writes
    // the defaults into process.env, and a notice computed after it would see none).
    const absent = Object.fromEntries(SECRETS.map((name) => [name, undefined]));
    const app = await spawnApp('all', { ...absent, LOG_LEVEL: 'log', REDIS_PREFIX: testRedisPrefix() });
    try {
      const notices = app.output().match(/Running on the development defaults of ([A-Z_, ]+):/g) ?? [];
      expect(notices).toEqual([`Running on the development defaults of ${SECRETS.join(', ')}:`]);
    } finally {
      await app.stop();
    }
  });
});
