import { jest } from '@jest/globals';
import type http from 'node:http';
import { startFakeApiServer, sendJson, sendStatus, type FakeApiServer } from '../testkit/fake-apiserver.js';
import { CONCLUDED_STATUS, experimentFixture } from '../testkit/experiment-fixture.js';
import type { Experiment } from '../api/v1alpha1/index.js';
import { main } from './main.js';
import { experimentAbort, experimentPromote, experimentStatus } from './experiment.js';
import { experimentPromotionPatch } from './experiment-actions.js';
import { formatExperimentStatus } from './experiment-format.js';

async function capture(argv: string[]): Promise<{ code: number | undefined; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((c) => (out.push(String(c)), true));
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((c) => (err.push(String(c)), true));
  try {
    const code = await main(argv, {});
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const NOW = new Date('2026-01-01T00:12:00Z');

describe('beastmode experiment --help', () => {
  test('is listed among the commands', async () => {
    const r = await capture(['--help']);
    expect(r.out).toMatch(/^ {2}experiment +status \| promote \| abort an Experiment/m);
  });

  test.each([
    [['experiment', '--help'], 'beastmode experiment status|promote|abort <name>'],
    [['experiment', 'status', '--help'], 'beastmode experiment status <name>'],
    [['experiment', 'promote', '-h'], 'beastmode experiment promote <name>'],
    [['experiment', 'abort', '--help'], 'beastmode experiment abort <name>'],
  ])('%j answers with its usage and exit code 0', async (argv, usage) => {
    const r = await capture(argv);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Usage: ${usage}`);
    expect(r.out).toContain('-n, --namespace <ns>');
    expect(r.out).toContain('-h, --help');
  });

  test('promote --help says when it is refused; status offers --watch and promote does not', async () => {
    expect((await capture(['experiment', 'promote', '--help'])).out).toContain('Refused until');
    expect((await capture(['experiment', 'status', '--help'])).out).toContain('--watch');
    const r = await capture(['experiment', 'promote', 'ab', '--watch']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('beastmode experiment promote --help');
  });

  test('names a missing or unknown verb with exit code 2', async () => {
    expect((await capture(['experiment'])).code).toBe(2);
    const r = await capture(['experiment', 'promot', 'ab']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown verb "promot"');
  });
});

describe('formatExperimentStatus', () => {
  test('shows the variants, the comparison with its interval, the verdict and the progress', () => {
    const text = formatExperimentStatus(experimentFixture(), NOW);
    expect(text).toContain('Phase:       Concluded');
    expect(text).toContain('Verdict:     winner (winner fast)');
    expect(text).toContain('350 of 400 planned per variant (88%)');
    expect(text).toMatch(/^ {2}fast +quick +50% +350 +5\.2 +360 +0\.0083$/m);
    expect(text).toMatch(/^ {2}control \(control\) +main +50% +420 +60\.1 +430 +0\.0093$/m);
    expect(text).toMatch(/^ {2}fast +better +\+54\.9 +\[\+50\.1, \+59\.7\] +0\.0001 +-$/m);
    expect(text).toContain('Guardrails:  error-rate within 0.01');
    expect(text).toContain('  - fast: latency-ms better by 54.9');
    expect(text).toMatch(/Ready +False +AwaitingPromotion +2m/);
    expect(text).not.toContain('a-private-system-prompt');
  });

  test('reads an experiment that has not ticked yet', () => {
    const text = formatExperimentStatus(experimentFixture(null), NOW);
    expect(text).toContain('Phase:       Pending');
    expect(text).toContain('Verdict:     -');
    expect(text).toContain('0 per variant (no planned size yet)');
    expect(text).not.toContain('Variants:');
  });
});

describe('experimentPromotionPatch', () => {
  test('sets spec.promote to the winner of a concluded experiment', () => {
    expect(experimentPromotionPatch(experimentFixture())).toEqual({ promote: 'fast' });
  });

  test('is refused, saying why, without a winner, once promoted, and unless promotion is manual', () => {
    const running = experimentFixture({ ...CONCLUDED_STATUS, phase: 'Running', verdict: 'continue' });
    delete running.status?.winner;
    expect(() => experimentPromotionPatch(running)).toThrow(
      'experiment llm/ab has no winner to promote (phase Running, verdict continue)',
    );
    const none = experimentFixture({ ...CONCLUDED_STATUS, verdict: 'no-difference' });
    delete none.status?.winner;
    expect(() => experimentPromotionPatch(none)).toThrow(/no winner to promote/);
    const promoted = experimentFixture({ ...CONCLUDED_STATUS, phase: 'Promoted', promotedVariant: 'fast' });
    expect(() => experimentPromotionPatch(promoted)).toThrow('already promoted (fast serves everyone)');
    expect(() =>
      experimentPromotionPatch(experimentFixture(CONCLUDED_STATUS, { promotion: 'auto' })),
    ).toThrow(/promotion auto: the operator promotes the winner itself/);
    expect(() =>
      experimentPromotionPatch(experimentFixture(CONCLUDED_STATUS, { promotion: 'none' })),
    ).toThrow(/set spec.promotion to manual/);
  });
});

describe('the CLI against an API server', () => {
  let server: FakeApiServer;
  let object: Experiment;
  const patches: { url: string; type: string; body: unknown }[] = [];
  const out: string[] = [];
  const output = { write: (t: string) => void out.push(t) };
  const PATH = '/apis/beastmode.dev/v1alpha1/namespaces/llm/experiments/ab';

  async function body(req: http.IncomingMessage): Promise<string> {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    return Buffer.concat(parts).toString('utf8');
  }

  beforeAll(async () => {
    server = await startFakeApiServer((url, res, req) => {
      if (url.pathname !== PATH) return sendStatus(res, 404, 'NotFound', `${url.pathname} not found`);
      if (req.method === 'GET') return sendJson(res, object);
      if (req.method === 'PATCH') {
        void body(req).then((b) => {
          patches.push({ url: url.search, type: req.headers['content-type'] ?? '', body: JSON.parse(b) });
          sendJson(res, object);
        });
        return;
      }
      sendStatus(res, 405, 'MethodNotAllowed', 'no');
    });
  });
  afterAll(() => server.close());
  beforeEach(() => {
    patches.length = 0;
    out.length = 0;
  });

  const target = () => ({ kubeconfig: server.kubeconfig, name: 'ab' });

  test('status prints the table read from the server (the namespace from the kubeconfig)', async () => {
    object = experimentFixture();
    await experimentStatus(target(), output);
    expect(out.join('')).toContain('Experiment:  llm/ab  (route chat, subject user)');
    expect(out.join('')).toMatch(/fast +better +\+54\.9/);
  });

  test('promote refuses with no winner yet and patches nothing', async () => {
    object = experimentFixture({ ...CONCLUDED_STATUS, phase: 'Running', verdict: 'continue' });
    delete object.status?.winner;
    await expect(experimentPromote(target(), output)).rejects.toThrow(/has no winner to promote/);
    expect(patches).toEqual([]);
  });

  test('promote sets spec.promote to the winner, as beastmode-experiment, in one merge patch', async () => {
    object = experimentFixture();
    await experimentPromote(target(), output);
    expect(patches).toEqual([
      {
        url: '?fieldManager=beastmode-experiment',
        type: 'application/merge-patch+json',
        body: { spec: { promote: 'fast' } },
      },
    ]);
    expect(out.join('')).toContain('experiment llm/ab: promote fast set');
  });

  test('abort sets spec.abort', async () => {
    object = experimentFixture(null);
    await experimentAbort(target(), output);
    expect(patches.map((p) => p.body)).toEqual([{ spec: { abort: true } }]);
    expect(out.join('')).toContain('abort set');
  });

  test('names an experiment that does not exist', async () => {
    await expect(experimentStatus({ ...target(), name: 'nope' }, output)).rejects.toThrow(
      'experiment llm/nope not found',
    );
  });
});
