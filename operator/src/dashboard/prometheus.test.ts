import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusSeries } from './prometheus.js';

let server: Server;
let url: string;
const queries: string[] = [];
let answer: (query: string, start: number, step: number) => unknown;

beforeAll(async () => {
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const q = u.searchParams.get('query') ?? '';
    queries.push(q);
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify(answer(q, Number(u.searchParams.get('start')), Number(u.searchParams.get('step')))),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => server.close());

describe('PrometheusSeries', () => {
  test('asks for the route by namespace and name and aligns the answers on one time axis', async () => {
    answer = (q, start, step) => ({
      status: 'success',
      data: {
        resultType: 'matrix',
        result: q.startsWith('sum by (backend, variant) (rate(beastmode_upstream_attempts_total{')
          ? [
              {
                metric: { backend: 'main', variant: 'stable' },
                values: [
                  [start + step, '2.5'],
                  [start + 3 * step, '3'],
                ],
              },
              { metric: { backend: 'main', variant: 'canary' }, values: [[start + 3 * step, 'NaN']] },
            ]
          : [],
      },
    });
    const s = await new PrometheusSeries(url, 15).route('llm', 'ch"at', 1_800_000_000_000);
    expect(queries.every((q) => q.includes('namespace="llm",route="ch\\"at"'))).toBe(true);
    expect(s.at).toHaveLength(3600 / 15 + 1);
    expect(s.at[1]! - s.at[0]!).toBe(15_000);
    expect(s.values['main/stable/rps']?.slice(0, 4)).toEqual([null, 2.5, null, 3]);
    expect(s.values['main/canary/rps']?.[3]).toBeNull();
  });

  test('passes on what Prometheus refuses', async () => {
    answer = () => ({ status: 'error', error: 'parse error at char 3' });
    await expect(new PrometheusSeries(url, 15).route('llm', 'chat', Date.now())).rejects.toThrow(
      /parse error at char 3/,
    );
  });
});
