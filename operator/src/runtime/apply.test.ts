import { applyNeeded, HASH_ANNOTATION } from './apply.js';
import { hashOf, isContainedIn, mergePatchFor, stableStringify } from './compare.js';
import type { KubeObject } from '../../../kube/client.js';

const desired: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'gw', namespace: 'llm', labels: { a: 'b' } },
  spec: { selector: { app: 'gw' }, ports: [{ name: 'http', port: 8080, targetPort: 'http' }] },
};
const hash = hashOf(desired);
const stamped = { ...desired, metadata: { ...desired.metadata, annotations: { [HASH_ANNOTATION]: hash } } };
/** What the API server returns: defaults added, fields we never sent. */
const live: KubeObject = {
  ...stamped,
  metadata: { ...stamped.metadata, resourceVersion: '42', uid: 'u' },
  spec: {
    type: 'ClusterIP',
    clusterIP: '10.0.0.7',
    sessionAffinity: 'None',
    selector: { app: 'gw' },
    ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }],
  },
};

describe('applyNeeded', () => {
  test('skips an unchanged object despite server defaults', () => {
    expect(applyNeeded(stamped, hash, live, undefined)).toBeUndefined();
  });
  test('skips when our last apply produced the live version', () => {
    expect(applyNeeded(stamped, hash, live, { hash, version: '42' })).toBeUndefined();
  });
  test('skips while the cache still shows an object older than our own last write', () => {
    const stale = { ...live, metadata: { ...live.metadata, resourceVersion: '40', annotations: {} } };
    expect(applyNeeded(stamped, hash, stale, { hash, version: '41', resourceVersion: '41' })).toBeUndefined();
    expect(applyNeeded(stamped, hash, stale, { hash, version: '39', resourceVersion: '39' })).toBe('changed');
  });
  test('applies a missing object', () => {
    expect(applyNeeded(stamped, hash, undefined, undefined)).toBe('missing');
  });
  test('applies when the desired object changed', () => {
    expect(applyNeeded(stamped, 'other', live, undefined)).toBe('changed');
  });
  test('repairs drift by hand in a field we own', () => {
    const edited = {
      ...live,
      metadata: { ...live.metadata, resourceVersion: '43' },
      spec: { ...(live.spec as object), selector: { app: 'x' } },
    };
    expect(applyNeeded(stamped, hash, edited, { hash, version: '42' })).toBe('drifted');
  });
});

describe('compare', () => {
  test('containment ignores extra live fields but not missing ones', () => {
    expect(isContainedIn({ a: 1, b: [{ c: 2 }] }, { a: 1, z: 0, b: [{ c: 2, d: 3 }] })).toBe(true);
    expect(isContainedIn({ a: 1, b: [{ c: 2 }] }, { a: 1, b: [] })).toBe(false);
    expect(isContainedIn({ port: 80 }, { port: '80' })).toBe(true);
  });
  test('stable stringify ignores key order', () => {
    expect(stableStringify({ b: 1, a: { d: 1, c: 2 } })).toBe(stableStringify({ a: { c: 2, d: 1 }, b: 1 }));
  });
  test('a merge patch nulls removed keys', () => {
    expect(mergePatchFor({ a: 1, b: 2 }, { a: 3 })).toEqual({ a: 3, b: null });
  });
});
