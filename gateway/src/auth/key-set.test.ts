import { ApiKeySet, REVOKED_MEMORY } from './key-set.js';
import { sha256, type HashedKey } from './keys-file.js';

const key = (name: string): HashedKey => ({
  digest: sha256(`sk-test-${name}-0123456789abcdef`),
  caller: { key: name, anonymous: false },
});
const secret = (name: string) => `sk-test-${name}-0123456789abcdef`;

describe('revoked keys', () => {
  test('are named after a later set drops them, and only then', () => {
    const first = new ApiKeySet([key('a'), key('b')]);
    expect(first.revokedName(secret('a'))).toBeUndefined();
    const second = first.succeededBy([key('b')]);
    expect(second.verify(secret('a'))).toBeUndefined();
    expect(second.revokedName(secret('a'))).toBe('a');
    expect(second.revokedName(secret('never'))).toBeUndefined();
    // Still remembered two rotations on; forgotten once the key is back.
    const third = second.succeededBy([key('c')]);
    expect(third.revokedName(secret('a'))).toBe('a');
    expect(third.revokedName(secret('b'))).toBe('b');
    const fourth = third.succeededBy([key('a')]);
    expect(fourth.verify(secret('a'))?.key).toBe('a');
    expect(fourth.revokedName(secret('a'))).toBeUndefined();
  });

  test('are remembered when a set larger than the bound rotates one key', () => {
    const many = Array.from({ length: REVOKED_MEMORY + 10 }, (_, i) => key(`m${i}`));
    const next = new ApiKeySet(many).succeededBy(many.slice(1));
    expect(next.revokedName(secret('m0'))).toBe('m0');
    expect(next.revokedName(secret('m1'))).toBeUndefined();
  });

  test('are remembered up to a bound, the most recently revoked kept', () => {
    let set = new ApiKeySet([]);
    for (let i = 0; i <= REVOKED_MEMORY; i++) set = set.succeededBy([key(`k${i}`)]);
    set = set.succeededBy([]);
    expect(set.revokedName(secret('k0'))).toBeUndefined();
    expect(set.revokedName(secret('k1'))).toBe('k1');
    expect(set.revokedName(secret(`k${REVOKED_MEMORY}`))).toBe(`k${REVOKED_MEMORY}`);
  });
});
