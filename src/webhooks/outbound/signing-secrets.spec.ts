import { randomBytes, randomUUID } from 'node:crypto';
import type { ConfigService } from '@nestjs/config';
import { SecretSealer } from '../../common/crypto/secret-sealer.js';
import type { AllConfig } from '../../config/env.js';
import type { EndpointsRepository } from './endpoints.repository.js';
import { OPENED_SECRETS_CACHE, SigningSecrets } from './signing-secrets.js';

const KEYS = `k1:${randomBytes(32).toString('base64')}`;
const config = { get: () => KEYS } as unknown as ConfigService<AllConfig, true>;

function make() {
  const secrets = new SigningSecrets({} as EndpointsRepository, config);
  const opened = jest.spyOn(SecretSealer.prototype, 'open');
  return { secrets, opened };
}

describe('SigningSecrets', () => {
  afterEach(() => jest.restoreAllMocks());

  it('opens an endpoint once while its sealed values stay the same, and again once they change', () => {
    const { secrets, opened } = make();
    const id = randomUUID();
    const row = { id, ...secrets.seal(id, { secret: 'whsec_one', previousSecret: 'whsec_zero' }) };
    for (let i = 0; i < 5; i++) expect(secrets.open({ ...row })).toMatchObject({ secret: 'whsec_one' });
    expect(opened).toHaveBeenCalledTimes(2); // current and previous, once
    const rotated = { id, ...secrets.seal(id, { secret: 'whsec_two', previousSecret: 'whsec_one' }) };
    expect(secrets.open(rotated)).toMatchObject({ secret: 'whsec_two', previousSecret: 'whsec_one' });
    expect(opened).toHaveBeenCalledTimes(4);
  });

  it(`keeps at most ${OPENED_SECRETS_CACHE} endpoints, dropping the least recently used`, () => {
    const { secrets, opened } = make();
    const rows = Array.from({ length: OPENED_SECRETS_CACHE + 1 }, () => {
      const id = randomUUID();
      return { id, ...secrets.seal(id, { secret: 'whsec_x', previousSecret: null }) };
    });
    secrets.open(rows[0]);
    for (const r of rows.slice(2)) secrets.open(r); // fills the cache: rows[0] is the oldest
    secrets.open(rows[0]); // still there, now the most recent
    expect(opened).toHaveBeenCalledTimes(OPENED_SECRETS_CACHE);
    secrets.open(rows[1]); // one more endpoint: the least recently used (rows[2]) goes
    secrets.open(rows[2]);
    expect(opened).toHaveBeenCalledTimes(OPENED_SECRETS_CACHE + 2);
    expect((secrets as unknown as { cache: Map<string, unknown> }).cache.size).toBe(OPENED_SECRETS_CACHE);
  });
});
