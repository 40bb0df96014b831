import type http from 'node:http';
import {
  startFakeApiServer,
  sendJson,
  sendStatus,
  type FakeApiServer,
} from '../../../testkit/fake-apiserver.js';
import { CONCLUDED_STATUS, experimentFixture } from '../../../testkit/experiment-fixture.js';
import type { Experiment } from '../../../api/v1alpha1/index.js';
import { viewerClients } from './actions.js';
import type { Authenticator } from './auth.js';
import { runExperimentAction } from './experiment-actions.js';
import { staticDir } from './index.js';
import { DashboardServer, type ActionTarget } from './server.js';
import { frame, SseHub } from './sse.js';

const PATH = '/apis/beastmode.dev/v1alpha1/namespaces/llm/experiments/ab';

describe('experiment actions as the viewer', () => {
  let api: FakeApiServer;
  let object: Experiment;
  let forbid = false;
  const seen: { method: string; authorization: string; body?: unknown }[] = [];

  async function body(req: http.IncomingMessage): Promise<unknown> {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    return JSON.parse(Buffer.concat(parts).toString('utf8'));
  }

  beforeAll(async () => {
    api = await startFakeApiServer((url, res, req) => {
      const authorization = req.headers.authorization ?? '';
      if (url.pathname !== PATH) return sendStatus(res, 404, 'NotFound', 'not found');
      if (req.method === 'GET') {
        seen.push({ method: 'GET', authorization });
        return sendJson(res, object);
      }
      void body(req).then((b) => {
        seen.push({ method: req.method ?? '', authorization, body: b });
        if (forbid)
          return sendStatus(
            res,
            403,
            'Forbidden',
            'experiments.beastmode.dev "ab" is forbidden: User "system:serviceaccount:llm:viewer" cannot patch resource "experiments"',
          );
        sendJson(res, object);
      });
    });
  });
  afterAll(() => api.close());
  beforeEach(() => {
    seen.length = 0;
    forbid = false;
  });

  const client = () => viewerClients(api.kubeconfig)('the-viewers-own-token');

  test('promote without a winner is refused with 409 and patches nothing', async () => {
    object = experimentFixture({ ...CONCLUDED_STATUS, phase: 'Running', verdict: 'continue' });
    delete object.status?.winner;
    const out = await runExperimentAction(client(), 'promote', 'llm', 'ab');
    expect(out.status).toBe(409);
    expect(out.message).toContain('experiment llm/ab has no winner to promote (phase Running');
    expect(seen.map((s) => s.method)).toEqual(['GET']);
  });

  test("promote sets spec.promote to the winner with the viewer's token only", async () => {
    object = experimentFixture();
    const out = await runExperimentAction(client(), 'promote', 'llm', 'ab');
    expect(out).toEqual({ status: 200, message: 'promote fast set; every subject gets it next' });
    expect(seen).toEqual([
      { method: 'GET', authorization: 'Bearer the-viewers-own-token' },
      {
        method: 'PATCH',
        authorization: 'Bearer the-viewers-own-token',
        body: { spec: { promote: 'fast' } },
      },
    ]);
  });

  test("abort passes the API server's 403 through, with its message", async () => {
    object = experimentFixture();
    forbid = true;
    const out = await runExperimentAction(client(), 'abort', 'llm', 'ab');
    expect(out.status).toBe(403);
    expect(out.message).toContain('cannot patch resource "experiments"');
    expect(seen.at(-1)?.body).toEqual({ spec: { abort: true } });
  });
});

describe('the dashboard server routes experiment actions', () => {
  const auth: Authenticator = {
    mode: 'tokenreview',
    authenticate: (token) =>
      Promise.resolve(
        token === 'good-token'
          ? { principal: { user: 'alice', groups: [], credential: token } }
          : { refused: 'no', status: 401 },
      ),
  };
  const calls: [string, string, string, ActionTarget][] = [];
  let server: DashboardServer | undefined;

  async function start(act: boolean): Promise<string> {
    server = new DashboardServer({
      port: 0,
      host: '127.0.0.1',
      staticDir: staticDir(),
      auth,
      hub: new SseHub(),
      source: {
        snapshot: () => ({ views: [] }),
        snapshotFrame: () => frame('snapshot', { views: [] }),
        series: () => Promise.resolve(undefined),
      },
      act: act
        ? (_p, action, ns, name, target) => {
            calls.push([action, ns, name, target]);
            return Promise.resolve({ status: 409, message: 'experiment llm/ab has no winner to promote' });
          }
        : undefined,
    });
    return `http://127.0.0.1:${await server.listen()}`;
  }
  afterEach(() => server?.close());

  const post = (base: string, path: string) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: 'Bearer good-token', 'x-beastmode-dashboard': 'action' },
    });

  test('to the experiment action, and answers its refusal as it came', async () => {
    const base = await start(true);
    const res = await post(base, '/api/experiments/llm/ab/promote');
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ error: 'experiment llm/ab has no winner to promote' });
    expect(calls).toEqual([['promote', 'llm', 'ab', 'experiments']]);
    expect((await post(base, '/api/experiments/llm/ab/explode')).status).toBe(404);
  });

  test('read-only mode points at the experiment CLI and serves the page module', async () => {
    const base = await start(false);
    const res = await post(base, '/api/experiments/llm/ab/abort');
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('`beastmode experiment`');
    const js = await fetch(`${base}/experiment.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    expect(await js.text()).toContain('export function experimentPage');
  });
});
