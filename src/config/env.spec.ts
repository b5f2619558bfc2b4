import { validateEnv } from './env.js';

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
      expect(validateEnv({ NODE_ENV: 'production', METRICS_TOKEN: TOKEN }).METRICS_TOKEN).toBe(TOKEN);
      expect(validateEnv({ NODE_ENV: 'production', METRICS_PORT: '9464' })).toMatchObject({
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
      expect(validateEnv({ NODE_ENV: 'production', METRICS_TOKEN: TOKEN }).DOCS_ACCESS).toBe('off');
      expect(validateEnv({ NODE_ENV: 'production', METRICS_TOKEN: TOKEN, DOCS_ACCESS: 'admin' }).DOCS_ACCESS).toBe(
        'admin',
      );
      expect(() => validateEnv({ DOCS_ACCESS: 'private' })).toThrow(/- DOCS_ACCESS: /);
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
