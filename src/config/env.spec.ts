import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_SEALING_KEYS, validateEnv } from './env.js';

/** NODE_ENV=production with fresh secrets, which production requires (production-secrets.spec.ts). */
const PRODUCTION = {
  NODE_ENV: 'production',
  API_KEYS: `sk_shop_${randomBytes(32).toString('base64url')}`,
  ADMIN_API_KEYS: `sk_admin_${randomBytes(32).toString('base64url')}`,
  PSP_API_KEY: `sk_psp_${randomBytes(32).toString('base64url')}`,
  PSP_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
  SEALING_KEYS: `k1:${randomBytes(32).toString('base64')}`,
};

describe('validateEnv', () => {
  it('gives working defaults for a machine with local PostgreSQL and Redis', () => {
    const env = validateEnv({});
    expect(env).toMatchObject({
      APP_ROLE: 'all',
      PORT: 3000,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/hookline',
      REDIS_URL: 'redis://127.0.0.1:6379',
      WEBHOOK_TOLERANCE_S: 300,
      PUBLIC_BASE_URL: 'http://127.0.0.1:3000',
      PSP_BASE_URL: 'http://127.0.0.1:3000',
      DB_MIGRATE_ON_BOOT: true,
    });
  });

  it('converts numbers and booleans', () => {
    expect(validateEnv({ PORT: '4000', DB_MIGRATE_ON_BOOT: 'false' })).toMatchObject({
      PORT: 4000,
      DB_MIGRATE_ON_BOOT: false,
      PUBLIC_BASE_URL: 'http://127.0.0.1:4000',
    });
  });

  it.each([
    ['APP_ROLE', 'everything'],
    ['PORT', 'eighty'],
    ['DATABASE_URL', 'mysql://x/y'],
    ['REDIS_URL', 'localhost'],
    ['PSP_WEBHOOK_SECRET', 'not-a-secret'],
    ['PUBLIC_BASE_URL', 'http://shop.example/path'],
    ['DB_MIGRATE_ON_BOOT', 'maybe'],
    ['API_KEYS', 'short'],
  ])('names %s when it is malformed', (name, value) => {
    expect(() => validateEnv({ [name]: value })).toThrow(new RegExp(`- ${name}:`));
  });

  it('lists every problem at once', () => {
    expect(() => validateEnv({ PORT: 'x', APP_ROLE: 'y' })).toThrow(/PORT[\s\S]*APP_ROLE|APP_ROLE[\s\S]*PORT/);
  });

  it('never prints the value of a secret', () => {
    expect(() => validateEnv({ PSP_WEBHOOK_SECRET: 'leaky-secret-value' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('leaky-secret-value') }),
    );
  });

  it('rejects an inverted delivery-delay range', () => {
    expect(() => validateEnv({ PSP_DELIVERY_DELAY_MIN_MS: '500', PSP_DELIVERY_DELAY_MAX_MS: '10' })).toThrow(
      /PSP_DELIVERY_DELAY_MIN_MS/,
    );
  });

  it.each(['0d', '59m', '30 days'])('rejects WEBHOOK_RETENTION=%s (a duration of at least 1h)', (value) => {
    expect(() => validateEnv({ WEBHOOK_RETENTION: value })).toThrow(/- WEBHOOK_RETENTION:/);
  });

  it('takes WEBHOOK_RETENTION=1h', () => {
    expect(validateEnv({ WEBHOOK_RETENTION: '1h' }).WEBHOOK_RETENTION).toBe('1h');
  });

  it.each(['2d', '71h'])('rejects INBOX_RETENTION=%s (a duration of at least 3d)', (value) => {
    expect(() => validateEnv({ INBOX_RETENTION: value })).toThrow(
      /- INBOX_RETENTION: must be at least 3d, longer than/,
    );
  });

  it('rejects INBOX_RETENTION=1 week (not a duration)', () => {
    expect(() => validateEnv({ INBOX_RETENTION: '1 week' })).toThrow(/- INBOX_RETENTION: .*must be a duration/);
  });

  it('takes INBOX_RETENTION=72h and defaults to 30d', () => {
    expect(validateEnv({ INBOX_RETENTION: '72h' }).INBOX_RETENTION).toBe('72h');
    expect(validateEnv({}).INBOX_RETENTION).toBe('30d');
  });

  it('takes HOUSEKEEPING_DELAY_MS from 0 to 15 min and defaults to one minute', () => {
    expect(validateEnv({}).HOUSEKEEPING_DELAY_MS).toBe(60_000);
    expect(validateEnv({ HOUSEKEEPING_DELAY_MS: '0' }).HOUSEKEEPING_DELAY_MS).toBe(0);
    expect(validateEnv({ HOUSEKEEPING_DELAY_MS: '900000' }).HOUSEKEEPING_DELAY_MS).toBe(900_000);
    expect(() => validateEnv({ HOUSEKEEPING_DELAY_MS: '900001' })).toThrow(/- HOUSEKEEPING_DELAY_MS: /);
    expect(() => validateEnv({ HOUSEKEEPING_DELAY_MS: '-1' })).toThrow(/- HOUSEKEEPING_DELAY_MS: /);
  });

  it('rejects an inverted settle-delay range', () => {
    expect(() => validateEnv({ PSP_SETTLE_DELAY_MIN_MS: '900', PSP_SETTLE_DELAY_MAX_MS: '100' })).toThrow(
      /PSP_SETTLE_DELAY_MIN_MS/,
    );
  });

  describe('operational surfaces', () => {
    const TOKEN = 'mt_0123456789abcdefghijklmnopqrstuvwxyz';

    it('refuses to boot in production with /metrics open, naming both ways to protect it', () => {
      expect(() => validateEnv({ NODE_ENV: 'production' })).toThrow(
        /- METRICS_TOKEN, METRICS_PORT: in production set one/,
      );
      expect(validateEnv({ ...PRODUCTION, METRICS_TOKEN: TOKEN }).METRICS_TOKEN).toBe(TOKEN);
      expect(validateEnv({ ...PRODUCTION, METRICS_PORT: '9464' })).toMatchObject({
        METRICS_PORT: 9464,
        METRICS_HOST: '127.0.0.1',
      });
      expect(validateEnv({}).METRICS_TOKEN).toBeUndefined();
    });

    it('refuses a short METRICS_TOKEN without echoing it', () => {
      expect(() => validateEnv({ METRICS_TOKEN: 'short-token-value' })).toThrow(/- METRICS_TOKEN: /);
      expect(() => validateEnv({ METRICS_TOKEN: 'short-token-value' })).not.toThrow(/short-token-value/);
      expect(() => validateEnv({ METRICS_TOKEN: `${TOKEN} with spaces` })).toThrow(/- METRICS_TOKEN: /);
      expect(() => validateEnv({ METRICS_PORT: '70000' })).toThrow(/- METRICS_PORT: /);
    });

    it('serves the docs publicly by default, not at all in production, as DOCS_ACCESS says otherwise', () => {
      expect(validateEnv({}).DOCS_ACCESS).toBe('public');
      expect(validateEnv({ ...PRODUCTION, METRICS_TOKEN: TOKEN }).DOCS_ACCESS).toBe('off');
      expect(validateEnv({ ...PRODUCTION, METRICS_TOKEN: TOKEN, DOCS_ACCESS: 'admin' }).DOCS_ACCESS).toBe('admin');
      expect(() => validateEnv({ DOCS_ACCESS: 'private' })).toThrow(/- DOCS_ACCESS: /);
    });

    it('requires https merchant endpoints by default in production only', () => {
      expect(validateEnv({}).WEBHOOK_HTTPS_ONLY).toBe(false);
      expect(validateEnv({ ...PRODUCTION, METRICS_TOKEN: TOKEN }).WEBHOOK_HTTPS_ONLY).toBe(true);
      expect(validateEnv({ ...PRODUCTION, METRICS_TOKEN: TOKEN, WEBHOOK_HTTPS_ONLY: 'false' }).WEBHOOK_HTTPS_ONLY).toBe(
        false,
      );
    });

    it('takes TLS_CERT_FILE and TLS_KEY_FILE together, readable, and then defaults the URLs to https', () => {
      const dir = mkdtempSync(join(tmpdir(), 'hookline-env-'));
      const pem = join(dir, 'x.pem');
      writeFileSync(pem, '-----BEGIN CERTIFICATE-----\n');
      try {
        expect(() => validateEnv({ TLS_CERT_FILE: pem })).toThrow(/- TLS_CERT_FILE, TLS_KEY_FILE: set both/);
        expect(() => validateEnv({ TLS_CERT_FILE: pem, TLS_KEY_FILE: join(dir, 'missing.pem') })).toThrow(
          /- TLS_KEY_FILE: cannot read .*missing\.pem \(ENOENT\)/,
        );
        writeFileSync(join(dir, 'empty.pem'), 'nothing');
        expect(() => validateEnv({ OUTBOUND_CA_FILE: join(dir, 'empty.pem') })).toThrow(
          /- OUTBOUND_CA_FILE: .* no PEM/,
        );
        const env = validateEnv({ TLS_CERT_FILE: pem, TLS_KEY_FILE: pem, PORT: '3443' });
        expect(env.PUBLIC_BASE_URL).toBe('https://127.0.0.1:3443');
        expect(env.PSP_BASE_URL).toBe('https://127.0.0.1:3443');
        expect(validateEnv({}).PUBLIC_BASE_URL).toBe('http://127.0.0.1:3000');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('trusts no proxy by default and takes addresses and CIDRs', () => {
      expect(validateEnv({}).TRUST_PROXY).toBe('none');
      expect(validateEnv({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1' }).TRUST_PROXY).toBe('10.0.0.0/8, 127.0.0.1,::1');
      for (const value of ['true', '*', '2', 'proxy.internal', 'deadbeef', '10.0.0.0/33']) {
        expect(() => validateEnv({ TRUST_PROXY: value })).toThrow(/- TRUST_PROXY: /);
      }
    });
  });
});

describe('validateEnv bounds (docs/decisions/0401-bounded-configuration.md)', () => {
  const DAY = 86_400_000;
  // Every number and duration: its largest accepted value and the smallest refused one.
  const bounds: [name: string, max: string, over: string][] = [
    ['PORT', '65535', '65536'],
    ['WEBHOOK_TOLERANCE_S', '3600', '3601'],
    ['WEBHOOK_MAX_BODY_BYTES', String(10 * 1024 * 1024), String(10 * 1024 * 1024 + 1)],
    ['INBOX_BACKLOG_LIMIT', '2147483647', '2147483648'],
    ['INBOX_SWEEP_INTERVAL_MS', String(DAY), String(DAY + 1)],
    ['INBOX_SWEEP_STALE_MS', String(DAY), String(DAY + 1)],
    ['ENQUEUE_TIMEOUT_MS', '30000', '30001'],
    ['INBOX_RETENTION', '3650d', '3651d'],
    ['HOUSEKEEPING_DELAY_MS', '900000', '900001'],
    ['IDEMPOTENCY_TTL_H', '720', '721'],
    ['WEBHOOK_DEADLINE_MS', String(DAY), String(DAY + 1)],
    ['SHORT_POLL_INTERVAL_MS', '3600000', '3600001'],
    ['LONG_POLL_WAIT_S', '30', '31'],
    ['POLL_GIVE_UP_MS', String(7 * DAY), String(7 * DAY + 1)],
    ['RECONCILE_INTERVAL_MS', String(DAY), String(DAY + 1)],
    ['RATE_LIMIT_MAX', '1000000', '1000001'],
    ['RATE_LIMIT_WINDOW_S', '3600', '3601'],
    ['WEBHOOK_RETRY_SCHEDULE', '7d', '7d,1ms,604800001ms'],
    ['WEBHOOK_ATTEMPT_TIMEOUT_MS', '120000', '120001'],
    ['WEBHOOK_ROTATION_GRACE', '30d', '721h'],
    ['WEBHOOK_DISABLE_AFTER', '30d', '43201m'],
    ['WEBHOOK_RETENTION', '3650d', '87601h'],
    ['WEBHOOK_DELIVERY_CONCURRENCY', '1000', '1001'],
    ['WEBHOOK_ENDPOINT_CONCURRENCY', '1000', '1001'],
    ['WEBHOOK_SWEEP_INTERVAL_MS', String(DAY), String(DAY + 1)],
    ['WEBHOOK_SWEEP_STALE_MS', String(DAY), String(DAY + 1)],
    ['PSP_SETTLE_DELAY_MAX_MS', String(DAY), String(DAY + 1)],
    ['PSP_DECLINE_RATE', '1', '1.01'],
    ['PSP_DROP_RATE', '1', '1.01'],
    ['PSP_DUPLICATE_RATE', '1', '1.01'],
    ['PSP_REORDER_RATE', '1', '1.01'],
    ['PSP_TAMPER_RATE', '1', '1.01'],
    ['PSP_DELIVERY_DELAY_MAX_MS', '600000', '600001'],
    ['PSP_DELIVERY_ATTEMPTS', '21', '22'], // with the default backoff of 1000 ms: 1000·2^19 ms ≤ 7d
    ['PSP_TIMEOUT_MS', '120000', '120001'],
  ];

  it.each(bounds)('takes %s=%s (its maximum)', (name, max) => {
    const env = validateEnv({ [name]: max }) as unknown as Record<string, unknown>;
    expect(String(env[name])).toBe(max);
  });

  it.each(bounds)('refuses %s above its maximum, naming it with the allowed range', (name, _max, over) => {
    expect(() => validateEnv({ [name]: over })).toThrow(new RegExp(`- ${name}(, [A-Z_]+)?: .*(from|at most) `));
  });

  it('takes the minimum of a pair at the pair maximum', () => {
    expect(validateEnv({ PSP_SETTLE_DELAY_MIN_MS: String(DAY), PSP_SETTLE_DELAY_MAX_MS: String(DAY) })).toMatchObject({
      PSP_SETTLE_DELAY_MIN_MS: DAY,
    });
    expect(() => validateEnv({ PSP_SETTLE_DELAY_MIN_MS: String(DAY + 1) })).toThrow(/- PSP_SETTLE_DELAY_MIN_MS: /);
    expect(() => validateEnv({ PSP_DELIVERY_DELAY_MIN_MS: '600001' })).toThrow(/- PSP_DELIVERY_DELAY_MIN_MS: /);
  });

  it('refuses the 30-day retry step that overflowed an int, and a schedule of more than 100 waits', () => {
    expect(() => validateEnv({ WEBHOOK_RETRY_SCHEDULE: '5s,5m,30d' })).toThrow(
      /- WEBHOOK_RETRY_SCHEDULE: WEBHOOK_RETRY_SCHEDULE must list 1 to 100 waits, each from 0ms to 7d \(got "5s,5m,30d"\)/,
    );
    expect(validateEnv({ WEBHOOK_RETRY_SCHEDULE: Array(100).fill('1s').join(',') }).WEBHOOK_RETRY_SCHEDULE).toContain(
      '1s',
    );
    expect(() => validateEnv({ WEBHOOK_RETRY_SCHEDULE: Array(101).fill('1s').join(',') })).toThrow(
      /- WEBHOOK_RETRY_SCHEDULE: /,
    );
  });

  it('refuses numbers too long for a double and durations that overflow', () => {
    expect(() => validateEnv({ WEBHOOK_SWEEP_INTERVAL_MS: '9'.repeat(400) })).toThrow(/- WEBHOOK_SWEEP_INTERVAL_MS: /);
    expect(() => validateEnv({ WEBHOOK_RETENTION: `${'9'.repeat(400)}d` })).toThrow(/- WEBHOOK_RETENTION: /);
  });

  it('bounds the PSP mock last backoff step, naming both variables and the attempts allowed', () => {
    expect(validateEnv({ PSP_DELIVERY_ATTEMPTS: '27', PSP_DELIVERY_BACKOFF_MS: '10' }).PSP_DELIVERY_ATTEMPTS).toBe(27);
    expect(() => validateEnv({ PSP_DELIVERY_ATTEMPTS: '28', PSP_DELIVERY_BACKOFF_MS: '10' })).toThrow(/from 1 to 27/);
    expect(() => validateEnv({ PSP_DELIVERY_ATTEMPTS: '30' })).toThrow(
      /- PSP_DELIVERY_ATTEMPTS, PSP_DELIVERY_BACKOFF_MS: .*PSP_DELIVERY_ATTEMPTS must be from 1 to 21 \(got 30/,
    );
    expect(validateEnv({ PSP_DELIVERY_ATTEMPTS: '2', PSP_DELIVERY_BACKOFF_MS: String(7 * DAY) })).toMatchObject({
      PSP_DELIVERY_BACKOFF_MS: 7 * DAY,
    });
    expect(() => validateEnv({ PSP_DELIVERY_ATTEMPTS: '2', PSP_DELIVERY_BACKOFF_MS: String(7 * DAY + 1) })).toThrow(
      /- PSP_DELIVERY_BACKOFF_MS: PSP_DELIVERY_BACKOFF_MS must be from 10 to 604800000 \(7d\)/,
    );
  });

  it('names every offending variable at once', () => {
    let message = '';
    try {
      validateEnv({
        WEBHOOK_RETRY_SCHEDULE: '30d',
        PSP_TIMEOUT_MS: '99999999999',
        WEBHOOK_SWEEP_INTERVAL_MS: '3000000000',
        WEBHOOK_ROTATION_GRACE: '365d',
        PSP_DELIVERY_ATTEMPTS: '30',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const name of [
      'WEBHOOK_RETRY_SCHEDULE',
      'PSP_TIMEOUT_MS',
      'WEBHOOK_SWEEP_INTERVAL_MS',
      'WEBHOOK_ROTATION_GRACE',
      'PSP_DELIVERY_ATTEMPTS, PSP_DELIVERY_BACKOFF_MS',
    ]) {
      expect(message).toContain(`- ${name}: `);
    }
  });
});

describe('SEALING_KEYS', () => {
  const key = Buffer.alloc(32, 3).toString('base64');

  it('defaults to the development key outside production', () => {
    expect(validateEnv({}).SEALING_KEYS).toBe(DEV_SEALING_KEYS);
    expect(DEV_SEALING_KEYS).toMatch(/^dev:[A-Za-z0-9+/]{43}=$/);
  });

  it('is required when NODE_ENV=production, and taken when set there', () => {
    expect(() => validateEnv({ NODE_ENV: 'production' })).toThrow(/- SEALING_KEYS: not set/);
    const keys = `k2:${randomBytes(32).toString('base64')},k1:${randomBytes(32).toString('base64')}`;
    const secrets = {
      API_KEYS: `sk_shop_${randomBytes(32).toString('base64url')}`,
      ADMIN_API_KEYS: `sk_admin_${randomBytes(32).toString('base64url')}`,
      PSP_API_KEY: `sk_psp_${randomBytes(32).toString('base64url')}`,
      PSP_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
      METRICS_TOKEN: randomBytes(32).toString('base64url'),
    };
    expect(validateEnv({ NODE_ENV: 'production', ...secrets, SEALING_KEYS: keys }).SEALING_KEYS).toBe(keys);
  });

  it.each([
    ['a key of 31 bytes', `k1:${Buffer.alloc(31, 1).toString('base64')}`, /exactly 32 bytes/],
    ['no key id', key, /not <keyId>:<base64 key>/],
    ['a bad key id', `Key_1:${key}`, /key id must be/],
    ['a duplicate key id', `k1:${key},k1:${Buffer.alloc(32, 2).toString('base64')}`, /same key id/],
  ])('names the variable for %s, never its value', (_what, value, why) => {
    let message = '';
    try {
      validateEnv({ SEALING_KEYS: value });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/- SEALING_KEYS: /);
    expect(message).toMatch(why);
    expect(message).not.toContain(value.split(',')[0].split(':').pop()!);
  });
});
