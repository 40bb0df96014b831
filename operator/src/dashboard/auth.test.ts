import type { KubeClient } from '../../../kube/client.js';
import { TokenReviewAuth } from './auth.js';

interface Call {
  path: string;
  body: { spec: Record<string, unknown> };
}

/** An API server that knows one token and allows `list` in the namespaces given. */
function fakeApi(allowed: Set<string>): { client: KubeClient; calls: Call[] } {
  const calls: Call[] = [];
  const client = {
    request: (_method: string, path: string, opts: { body: Call['body'] }) => {
      calls.push({ path, body: opts.body });
      if (path.endsWith('/tokenreviews')) {
        const ok = opts.body.spec.token === 'good-token';
        return Promise.resolve({
          status: ok
            ? { authenticated: true, user: { username: 'alice', groups: ['devs'] } }
            : { authenticated: false },
        });
      }
      const attrs = opts.body.spec.resourceAttributes as { namespace?: string; verb: string };
      return Promise.resolve({ status: { allowed: allowed.has(attrs.namespace ?? '*') } });
    },
  } as unknown as KubeClient;
  return { client, calls };
}

describe('TokenReviewAuth', () => {
  test('accepts a token the API server knows, for a viewer who may list canaries everywhere watched', async () => {
    const api = fakeApi(new Set(['a', 'b']));
    const r = await new TokenReviewAuth(api.client, ['a', 'b']).authenticate('good-token');
    expect(r).toEqual({
      principal: {
        user: 'alice',
        uid: undefined,
        groups: ['devs'],
        extra: undefined,
        credential: 'good-token',
      },
    });
    const sars = api.calls.filter((c) => c.path.endsWith('/subjectaccessreviews'));
    expect(sars.map((c) => c.body.spec)).toEqual([
      expect.objectContaining({
        user: 'alice',
        groups: ['devs'],
        resourceAttributes: expect.objectContaining({ verb: 'list', namespace: 'a', resource: 'canaries' }),
      }),
      expect.objectContaining({ resourceAttributes: expect.objectContaining({ namespace: 'b' }) }),
    ]);
  });

  test('refuses an unknown token with 401 and a viewer without the right with 403', async () => {
    const api = fakeApi(new Set(['a']));
    const auth = new TokenReviewAuth(api.client, ['a', 'b']);
    expect(await auth.authenticate('bad-token')).toEqual({
      refused: 'the API server did not accept this token',
      status: 401,
    });
    expect(await auth.authenticate('good-token')).toEqual({
      refused: 'alice may not list canaries.beastmode.dev in namespace b',
      status: 403,
    });
  });

  test('asks cluster-wide when the operator watches every namespace, and remembers answers briefly', async () => {
    let t = 0;
    const api = fakeApi(new Set(['*']));
    const auth = new TokenReviewAuth(api.client, undefined, () => t);
    expect('principal' in (await auth.authenticate('good-token'))).toBe(true);
    expect('principal' in (await auth.authenticate('good-token'))).toBe(true);
    expect(api.calls).toHaveLength(2);
    t = 31_000;
    await auth.authenticate('good-token');
    expect(api.calls).toHaveLength(4);
  });
});
