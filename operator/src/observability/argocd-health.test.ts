// Evaluates the Argo CD health checks shipped in charts/beastmode/argocd/health with a real Lua interpreter
// (Debian package lua5.4), against statuses the operator writes. Skipped when lua5.4 is not installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(process.cwd(), 'charts', 'beastmode', 'argocd', 'health');
const hasLua = spawnSync('lua5.4', ['-v']).status === 0;

/** A Lua table literal for a JSON value. */
function toLua(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `{${v.map(toLua).join(',')}}`;
  return `{${Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `[${JSON.stringify(k)}]=${toLua(x)}`)
    .join(',')}}`;
}

function health(kind: string, obj: unknown): { status: string; message: string } {
  const script = readFileSync(join(dir, `${kind}.lua`), 'utf8');
  const program = `obj = ${toLua(obj)}\nlocal function check()\n${script}\nend\nlocal hs = check()\nio.write(hs.status .. "\\n" .. (hs.message or ""))`;
  const out = execFileSync('lua5.4', ['-'], { input: program }).toString();
  const [status = '', message = ''] = out.split('\n');
  return { status, message };
}

const cond = (type: string, status: string, reason: string, message = '') => ({
  type,
  status,
  reason,
  message,
});
const obj = (
  generation: number,
  observedGeneration: number | undefined,
  conditions?: unknown[],
  extra = {},
) => ({
  metadata: { generation },
  status: conditions ? { observedGeneration, conditions, ...extra } : undefined,
});

(hasLua ? describe : describe.skip)('Argo CD health checks', () => {
  test.each(['modelgateway', 'modelroute', 'autoscalingpolicy', 'canary', 'experiment'])(
    '%s: no status yet is Progressing',
    (kind) => {
      expect(health(kind, obj(1, undefined)).status).toBe('Progressing');
    },
  );
  test.each(['modelgateway', 'modelroute', 'autoscalingpolicy', 'canary', 'experiment'])(
    '%s: Ready True is Healthy',
    (kind) => {
      expect(health(kind, obj(2, 2, [cond('Ready', 'True', 'Succeeded', 'all good')]))).toEqual({
        status: 'Healthy',
        message: 'all good',
      });
    },
  );
  test('a status of an older generation is Progressing, even if it said Ready', () => {
    expect(health('modelgateway', obj(3, 2, [cond('Ready', 'True', 'Succeeded')])).status).toBe(
      'Progressing',
    );
  });
  test('Stalled True is Degraded with its reason', () => {
    const route = obj(1, 1, [
      cond('Ready', 'False', 'SecretNotFound', 'Secret llm/openai not found'),
      cond('Stalled', 'True', 'SecretNotFound', 'Secret llm/openai not found'),
    ]);
    expect(health('modelroute', route)).toEqual({
      status: 'Degraded',
      message: 'SecretNotFound: Secret llm/openai not found',
    });
  });
  test('Reconciling True is Progressing with its message', () => {
    const gw = obj(1, 1, [
      cond('Ready', 'False', 'DeploymentNotReady', '1 of 2'),
      cond('Reconciling', 'True', 'Progressing', '1 of 2 pods available'),
    ]);
    expect(health('modelgateway', gw)).toEqual({ status: 'Progressing', message: '1 of 2 pods available' });
  });
  test('a paused canary is Suspended', () => {
    const c = obj(1, 1, [cond('Ready', 'False', 'Paused')], {
      phase: 'Paused',
      message: 'inconclusive past the deadline',
    });
    expect(health('canary', c)).toEqual({ status: 'Suspended', message: 'inconclusive past the deadline' });
  });
  test('an experiment whose winner awaits manual promotion is Suspended; with promotion none it is Healthy', () => {
    const concluded = (promotion: string, ready: string) => ({
      ...obj(1, 1, [cond('Ready', ready, 'AwaitingPromotion', 'winner b')], {
        phase: 'Concluded',
        verdict: 'winner',
        message: 'winner b',
      }),
      spec: { promotion },
    });
    expect(health('experiment', concluded('manual', 'False'))).toEqual({
      status: 'Suspended',
      message: 'winner b',
    });
    expect(health('experiment', concluded('none', 'True')).status).toBe('Healthy');
  });
});
