import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { validateEnv } from './env.js';
import { DEV_SECRETS, devDefaultsInUse, productionSecretProblems } from './production-secrets.js';

const ROOT = join(__dirname, '..', '..');
const fresh = (prefix: string) => `${prefix}${randomBytes(32).toString('base64url')}`;

/** Secrets as `sh scripts/new-env.sh` writes them. */
function freshSecrets(): Record<string, string> {
  return {
    API_KEYS: fresh('sk_shop_'),
    ADMIN_API_KEYS: fresh('sk_admin_'),
    PSP_API_KEY: fresh('sk_psp_'),
    PSP_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
    SEALING_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    METRICS_TOKEN: randomBytes(32).toString('base64url'),
  };
}

const production = (vars: Record<string, string>) => ({ NODE_ENV: 'production', ...freshSecrets(), ...vars });

/** Secret-shaped strings in every file the repository publishes (git ls-files). */
function publishedCandidates(): { value: string; file: string }[] {
  const files = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && !f.endsWith('package-lock.json') && !/\.(png|jpg|ico)$/.test(f));
  const shapes =
    /\b(?:sk|pk|rk)_[A-Za-z0-9_.-]{8,}|whsec_[A-Za-z0-9+/]{8,}={0,2}|\b[a-z0-9-]{1,32}:[A-Za-z0-9+/]{43}=/g;
  const found: { value: string; file: string }[] = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const match of text.matchAll(shapes)) found.push({ value: match[0], file });
  }
  return found;
}

describe('production secrets', () => {
  it('boots with fresh random secrets', () => {
    expect(() => validateEnv(production({}))).not.toThrow();
  });

  it('refuses every secret left unset, naming each in one message', () => {
    let message = '';
    try {
      validateEnv({ NODE_ENV: 'production' });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const name of Object.keys(DEV_SECRETS)) expect(message).toContain(`- ${name}: not set`);
    expect(message).toContain('sh scripts/new-env.sh');
  });

  it.each(Object.entries(DEV_SECRETS))('refuses the published development %s', (name, value) => {
    expect(() => validateEnv(production({ [name]: value }))).toThrow(
      new RegExp(`- ${name}: is a value published in the repository`),
    );
  });

  it('refuses a published key hidden in a list beside a good one', () => {
    const vars = production({ API_KEYS: `${fresh('sk_shop_')},sk_shop_test_0123456789abcdef` });
    expect(productionSecretProblems(vars)).toContain('  - API_KEYS: is a value published in the repository');
  });

  it.each([
    ['API_KEYS', 'sk_shop_0123456789abcdefghijkl'],
    ['ADMIN_API_KEYS', 'k'.repeat(31)],
    ['PSP_API_KEY', 'sk_psp_short_but_16chars'],
    ['PSP_WEBHOOK_SECRET', `whsec_${randomBytes(23).toString('base64')}`],
    ['METRICS_TOKEN', 'x'.repeat(20)],
  ])('refuses %s too short to be a secret', (name, value) => {
    expect(productionSecretProblems(production({ [name]: value }))).toEqual([
      expect.stringMatching(new RegExp(`^  - ${name}: too short to be a secret`)),
    ]);
  });

  it.each(['sk_live_changeme_0123456789abcdefghijk', 'sk_shop_example_0123456789abcdefghijk'])(
    'refuses the placeholder %s',
    (value) => {
      expect(productionSecretProblems(production({ API_KEYS: value }))).toEqual([
        expect.stringContaining('API_KEYS: looks like a placeholder'),
      ]);
    },
  );

  it('refuses one key given to two realms', () => {
    const key = fresh('sk_');
    expect(productionSecretProblems(production({ API_KEYS: key, ADMIN_API_KEYS: key }))).toEqual([
      '  - ADMIN_API_KEYS: repeats a value of API_KEYS; each secret must be its own',
    ]);
  });

  it('never prints a refused value', () => {
    const vars = production({ API_KEYS: DEV_SECRETS.API_KEYS, PSP_API_KEY: 'sk_psp_short_but_16chars' });
    expect(() => validateEnv(vars)).toThrow(
      expect.objectContaining({
        message: expect.not.stringMatching(new RegExp(`${DEV_SECRETS.API_KEYS}|sk_psp_short_but_16chars`)),
      }),
    );
  });

  it('keeps the development defaults outside production, and says which are in use', () => {
    expect(validateEnv({}).API_KEYS).toBe(DEV_SECRETS.API_KEYS);
    expect(devDefaultsInUse({ API_KEYS: 'sk_mine_0123456789abcdef' })).toEqual([
      'ADMIN_API_KEYS',
      'PSP_API_KEY',
      'PSP_WEBHOOK_SECRET',
      'SEALING_KEYS',
    ]);
    expect(devDefaultsInUse(freshSecrets())).toEqual([]);
  });

  // The list of published values cannot fall behind the repository: every secret-shaped
  // string in a tracked file (examples, tests, scripts, docs) is refused by production.
  it('refuses every secret-shaped value published in the repository', () => {
    const candidates = publishedCandidates();
    expect(candidates.length).toBeGreaterThan(20);
    const accepted = candidates.filter(({ value }) => {
      const name = value.startsWith('whsec_')
        ? 'PSP_WEBHOOK_SECRET'
        : /^[a-z0-9-]+:/.test(value)
          ? 'SEALING_KEYS'
          : 'API_KEYS';
      return productionSecretProblems(production({ [name]: value })).length === 0;
    });
    expect(accepted).toEqual([]);
  });

  describe('scripts/new-env.sh', () => {
    const run = (...args: string[]) =>
      execFileSync('sh', [join(ROOT, 'scripts', 'new-env.sh'), ...args], { encoding: 'utf8' });
    const parse = (text: string) =>
      Object.fromEntries(
        text
          .split('\n')
          .filter((line) => /^[A-Z_]+=/.test(line))
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );

    it('writes secrets that production accepts, fresh each time', () => {
      const first = parse(run('--stdout'));
      const second = parse(run('--stdout'));
      for (const name of Object.keys(DEV_SECRETS)) {
        expect(first[name]).toBeTruthy();
        expect(first[name]).not.toBe(second[name]);
      }
      expect(first.POSTGRES_PASSWORD).toMatch(/^[\w-]{32}$/);
      expect(() => validateEnv({ NODE_ENV: 'production', ...first })).not.toThrow();
    });

    it('writes .env readable by its owner only, and never overwrites one', () => {
      const file = join(mkdtempSync(join(tmpdir(), 'new-env-')), '.env');
      run(file);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const written = readFileSync(file, 'utf8');
      expect(() => run(file)).toThrow(/exists; not overwriting/);
      expect(readFileSync(file, 'utf8')).toBe(written);
    });
  });

  it('leaves the compose stack no default for any secret', () => {
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    for (const name of [...Object.keys(DEV_SECRETS), 'POSTGRES_PASSWORD']) {
      const uses = [...compose.matchAll(new RegExp(`\\$\\{${name}(:?[-?][^}]*)?\\}`, 'g'))];
      expect(uses.length).toBeGreaterThan(0);
      for (const use of uses) expect(use[1]).toMatch(/^:\?/);
    }
    expect(compose).not.toMatch(/POSTGRES_PASSWORD: postgres|:postgres@/);
    expect(compose).not.toMatch(/^\s+- '\d+(-\d+)?:\d+'$/m); // a host port on every interface
  });

  describe('with PSP_PROVIDER=stripe', () => {
    const stripe = { PSP_PROVIDER: 'stripe', STRIPE_SECRET_KEY: fresh('sk_live_') };

    it('boots in production with fresh Stripe secrets', () => {
      expect(() =>
        validateEnv(production({ ...stripe, STRIPE_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}` })),
      ).not.toThrow();
    });

    it('needs STRIPE_SECRET_KEY, in production or not', () => {
      expect(() => validateEnv({ PSP_PROVIDER: 'stripe' })).toThrow(
        /- STRIPE_SECRET_KEY: required with PSP_PROVIDER=stripe/,
      );
      expect(() => validateEnv(production({ PSP_PROVIDER: 'stripe' }))).toThrow(/- STRIPE_SECRET_KEY: required/);
    });

    it('refuses STRIPE_API_BASE in production only (it points the SDK at the mock)', () => {
      const base = { ...stripe, STRIPE_API_BASE: 'http://127.0.0.1:3000' };
      expect(() => validateEnv(production(base))).toThrow(/- STRIPE_API_BASE: production calls Stripe itself/);
      expect(() => validateEnv(base)).not.toThrow();
    });

    it('refuses a published or short Stripe secret, naming the variable', () => {
      expect(() =>
        validateEnv(production({ ...stripe, STRIPE_WEBHOOK_SECRET: DEV_SECRETS.PSP_WEBHOOK_SECRET })),
      ).toThrow(/- STRIPE_WEBHOOK_SECRET: is a value published in the repository/);
      expect(() =>
        validateEnv(production({ PSP_PROVIDER: 'stripe', STRIPE_SECRET_KEY: 'sk_live_short1234567' })),
      ).toThrow(/- STRIPE_SECRET_KEY: too short to be a secret/);
    });
  });
});
