import { createHash } from 'node:crypto';
import * as realCrypto from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { captureLogger } from '../../../testkit/policy-fixtures.js';

// Spy on timingSafeEqual as the auth modules see it (ESM: mock before they are imported).
const timingSafeEqual = jest.fn(realCrypto.timingSafeEqual);
jest.unstable_mockModule('node:crypto', () => ({ ...realCrypto, default: realCrypto, timingSafeEqual }));
const { authenticate, authorizeModel } = await import('./authenticate.js');
const { ApiKeySet } = await import('./key-set.js');
const { KeysFileSource } = await import('./keys-source.js');
const { parseKeysFile } = await import('./keys-file.js');

const ALICE_KEY = 'sk-alice-0123456789abcdef';
const BOB_KEY = 'sk-bob-0123456789abcdef00';
const KEYS_YAML = `
keys:
  - name: alice
    team: red
    models: [chat]
    key: ${ALICE_KEY}
  - name: bob
    sha256: ${createHash('sha256').update(BOB_KEY).digest('hex')}
`;

describe('authenticate', () => {
  const keys = new ApiKeySet(parseKeysFile(KEYS_YAML));

  it('accepts a key as a Bearer token or in x-api-key', () => {
    expect(authenticate({ authorization: `Bearer ${ALICE_KEY}` }, keys)).toMatchObject({
      ok: true,
      caller: { key: 'alice', team: 'red', anonymous: false },
    });
    expect(authenticate({ 'x-api-key': BOB_KEY }, keys)).toMatchObject({ ok: true, caller: { key: 'bob' } });
  });

  it('refuses a missing or wrong key with an OpenAI-style 401, never anonymous', () => {
    for (const headers of [
      {},
      { authorization: 'Bearer sk-wrong-0123456789' },
      { authorization: ALICE_KEY },
    ]) {
      const r = authenticate(headers, keys);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.refusal.status).toBe(401);
      expect(r.refusal.error).toEqual({
        message: expect.any(String),
        type: 'invalid_request_error',
        code: 'invalid_api_key',
        param: null,
      });
    }
    // Auth configured with an empty key set (no good keys file yet): still 401.
    expect(authenticate({ 'x-api-key': ALICE_KEY }, new ApiKeySet([])).ok).toBe(false);
  });

  it('is anonymous only when auth is not configured', () => {
    expect(authenticate({}, undefined)).toMatchObject({
      ok: true,
      caller: { key: 'anonymous', anonymous: true },
    });
  });

  it('compares digests with crypto.timingSafeEqual', () => {
    timingSafeEqual.mockClear();
    authenticate({ authorization: `Bearer ${ALICE_KEY}` }, keys);
    expect(timingSafeEqual).toHaveBeenCalledTimes(1);
    const [a, b] = timingSafeEqual.mock.calls[0]!;
    expect((a as Buffer).length).toBe(32);
    expect((b as Buffer).length).toBe(32);
  });

  it('refuses a model outside the key scopes with 403 model_not_allowed', () => {
    const alice = authenticate({ 'x-api-key': ALICE_KEY }, keys);
    const bob = authenticate({ 'x-api-key': BOB_KEY }, keys);
    if (!alice.ok || !bob.ok) throw new Error('expected callers');
    expect(authorizeModel(alice.caller, 'chat')).toBeUndefined();
    expect(authorizeModel(alice.caller, 'gpt-big')).toMatchObject({
      status: 403,
      error: { code: 'model_not_allowed' },
    });
    expect(authorizeModel(bob.caller, 'gpt-big')).toBeUndefined();
  });
});

describe('keys.yaml', () => {
  it('needs exactly one of key and sha256, and unique names', () => {
    expect(() => parseKeysFile('keys: [{name: a}]')).toThrow(/exactly one of key or sha256/);
    expect(() => parseKeysFile(`keys: [{name: a, key: ${ALICE_KEY}}, {name: a, key: ${BOB_KEY}}]`)).toThrow(
      /duplicate key name a/,
    );
    expect(() => parseKeysFile(`keys: [{name: a, key: ${ALICE_KEY}}, {name: b, key: ${ALICE_KEY}}]`)).toThrow(
      /same key/,
    );
  });

  it('never quotes a key in an error', () => {
    for (const text of [
      `keys: [{name: a, key: ${ALICE_KEY}, sha256: abc}]`,
      `keys: [{name: "bad name", key: ${ALICE_KEY}}]`,
    ]) {
      expect(() => parseKeysFile(text)).toThrow();
      try {
        parseKeysFile(text);
      } catch (err) {
        expect((err as Error).message).not.toContain(ALICE_KEY);
      }
    }
  });
});

describe('KeysFileSource', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bm-keys-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('rotates keys when the file is rewritten, keeps the last good set on a bad file, and logs no key', async () => {
    const path = join(dir, 'keys.yaml');
    await writeFile(path, KEYS_YAML);
    const { logger, lines } = captureLogger();
    const source = new KeysFileSource(path, { logger, pollMs: 20 });
    source.start();
    try {
      expect(source.keys.verify(ALICE_KEY)?.key).toBe('alice');
      const NEW_KEY = 'sk-alice-rotated-000000000';
      await writeFile(path, `keys:\n  - name: alice\n    key: ${NEW_KEY}\n`);
      const deadline = Date.now() + 3000;
      while (source.keys.verify(NEW_KEY) === undefined && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(source.keys.verify(NEW_KEY)?.key).toBe('alice');
      expect(source.keys.verify(ALICE_KEY)).toBeUndefined();
      // A broken file does not replace the good one.
      await writeFile(path, `keys:\n  - name: alice\n    key: short\n`);
      expect(await source.reload()).toBe(false);
      await writeFile(path, 'keys: [unterminated');
      expect(await source.reload()).toBe(false);
      expect(source.keys.verify(NEW_KEY)?.key).toBe('alice');
      expect(lines.some((l) => l.includes('Refused API keys file'))).toBe(true);
      for (const l of lines) {
        expect(l).not.toContain(ALICE_KEY);
        expect(l).not.toContain(NEW_KEY);
        expect(l).not.toContain('short');
      }
    } finally {
      source.stop();
    }
  });

  it('starts with no valid key when the file is missing', () => {
    const { logger } = captureLogger();
    const source = new KeysFileSource(join(dir, 'missing.yaml'), { logger });
    source.start();
    source.stop();
    expect(source.keys.size).toBe(0);
  });
});
