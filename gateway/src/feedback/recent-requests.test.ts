import { RecentRequests, type ServedRecord } from './recent-requests.js';

const served = (backend: string, caller = 'k1'): ServedRecord => ({
  namespace: 'llm',
  route: 'chat',
  model: 'chat',
  backend,
  variant: 'stable',
  caller,
});

/** A clock at 1,000 s that the tests move. */
function clock() {
  const c = { ms: 1_000_000, now: () => c.ms };
  return c;
}
const at = (ms: number) => ({ at: ms });

describe('RecentRequests', () => {
  test('finds who served a request by its id, and when, in whole seconds', () => {
    const c = clock();
    const r = new RecentRequests(10, c.now);
    r.record('a', served('premium'));
    c.ms += 2_700;
    r.record('b', served('local', 'k2'));
    expect(r.get('a')).toEqual({ ...served('premium'), ...at(1_000_000) });
    expect(r.get('b')).toEqual({ ...served('local', 'k2'), ...at(1_002_000) });
    expect(r.get('c')).toBeUndefined();
    expect(r.size).toBe(2);
  });

  test('keeps the last `capacity` requests, forgetting the oldest first', () => {
    const r = new RecentRequests(1000, clock().now);
    for (let i = 0; i < 2500; i++) r.record(`id-${i}`, served(`b${i % 7}`));
    expect(r.size).toBe(1000);
    expect(r.get('id-1499')).toBeUndefined();
    expect(r.get('id-1500')).toEqual({ ...served('b2'), ...at(1_000_000) });
    for (let i = 1500; i < 2500; i++) expect(r.get(`id-${i}`)?.backend).toBe(`b${i % 7}`);
  });

  test('shares one record among requests served alike', () => {
    const r = new RecentRequests(10);
    r.record('a', served('premium'));
    r.record('b', served('premium'));
    r.record('c', served('local'));
    expect(r.size).toBe(3);
    expect((r as unknown as { records: ServedRecord[] }).records).toEqual([
      served('premium'),
      served('local'),
    ]);
  });

  test('a client-chosen id reused later answers for its latest request', () => {
    const r = new RecentRequests(10);
    r.record('same', served('premium'));
    r.record('same', served('local'));
    expect(r.get('same')?.backend).toBe('local');
  });

  test('stores nothing with capacity 0', () => {
    const r = new RecentRequests(0);
    r.record('a', served('premium'));
    expect(r.get('a')).toBeUndefined();
    expect(r.size).toBe(0);
  });

  test('asks elsewhere (the pod) only for ids it does not know', async () => {
    const r = new RecentRequests(10);
    r.record('here', served('premium'));
    const asked: string[] = [];
    r.elsewhere = (id) => {
      asked.push(id);
      return Promise.resolve(id === 'there' ? served('local') : undefined);
    };
    expect((await r.find('here'))?.backend).toBe('premium');
    expect((await r.find('there'))?.backend).toBe('local');
    expect(await r.find('nowhere')).toBeUndefined();
    expect(asked).toEqual(['there', 'nowhere']);
  });
});
