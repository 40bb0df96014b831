// The chart's alert rules (charts/beastmode/rules/beastmode-alerts.yaml): promtool checks the file and runs
// its unit tests (rules/tests/: each alert fires on the traffic it is about and not on normal traffic);
// every metric a rule reads is one the gateway or the operator exports, with the labels the rule uses;
// every alert says how long, how bad and about what; and the chart ships the file as a PrometheusRule only
// when asked. promtool is built from the Go module proxy on a machine's first run (several minutes).
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { hasGo } from '../../../cluster/go-tools.js';
import { findHelm } from '../../../testkit/helm.js';
import { exportedCatalogue, problems, type Catalogue } from '../../../testkit/metric-catalogue.js';
import { ensurePromtool, PROMTOOL_VERSION } from './promtool.js';

const root = process.cwd();
const rulesDir = join(root, 'charts', 'beastmode', 'rules');
const rulesFile = join(rulesDir, 'beastmode-alerts.yaml');
const testFiles = readdirSync(join(rulesDir, 'tests'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join(rulesDir, 'tests', f));

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
const rules = (parse(readFileSync(rulesFile, 'utf8')) as RuleFile).groups.flatMap((g) => g.rules);

function run(bin: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { cwd: rulesDir }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

const cached = existsSync(join(homedir(), '.cache', 'beastmode', `promtool-${PROMTOOL_VERSION}`, 'promtool'));
const canPromtool = cached || hasGo();
if (!canPromtool)
  process.stderr.write(
    `alert-rules.test.ts: skipping promtool checks: Go is not installed to build promtool ${PROMTOOL_VERSION}\n`,
  );

(canPromtool ? describe : describe.skip)('promtool', () => {
  let promtool: string;
  beforeAll(async () => {
    const bin = await ensurePromtool((line) => process.stderr.write(`${line}\n`));
    if (bin === undefined) throw new Error('promtool could not be built');
    promtool = bin;
  }, 1_800_000);

  test('accepts the rules file', async () => {
    const r = await run(promtool, ['check', 'rules', rulesFile]);
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.code).toBe(0);
  });

  test('passes the rules unit tests: each alert fires on its traffic, none on normal traffic', async () => {
    const r = await run(promtool, ['test', 'rules', ...testFiles]);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });
});

describe('the alert rules', () => {
  let known: Catalogue;
  beforeAll(async () => {
    known = await exportedCatalogue();
  });

  test('read only metrics the gateway or the operator exports, with labels they carry', () => {
    expect(rules.flatMap((r) => problems(r.expr, known).map((p) => `${r.alert}: ${p}`))).toEqual([]);
  });

  test('tests every alert the file defines', () => {
    const tested = new Set(
      testFiles.flatMap((f) =>
        (parse(readFileSync(f, 'utf8')) as { tests: { alert_rule_test?: { alertname: string }[] }[] }).tests
          .flatMap((t) => t.alert_rule_test ?? [])
          .map((t) => t.alertname),
      ),
    );
    expect(rules.map((r) => r.alert).filter((a) => a !== undefined && !tested.has(a))).toEqual([]);
  });

  test('each wait, carry a severity and say what and about whom', () => {
    const found: string[] = [];
    for (const r of rules) {
      if (r.alert === undefined) continue;
      if (!/^\d+[smh]$/.test(r.for ?? '')) found.push(`${r.alert}: no for`);
      if (!['critical', 'warning', 'info'].includes(r.labels?.severity ?? ''))
        found.push(`${r.alert}: severity ${r.labels?.severity}`);
      for (const a of ['summary', 'description'])
        if ((r.annotations?.[a] ?? '') === '') found.push(`${r.alert}: no ${a}`);
      // An alert grouped by key names the key in what it says.
      if (/by \([^)]*\bkey\b/.test(r.expr) && !r.annotations?.summary?.includes('{{ $labels.key }}'))
        found.push(`${r.alert}: summary does not name the key`);
    }
    expect(found).toEqual([]);
    expect(rules.filter((r) => r.alert !== undefined).length).toBeGreaterThanOrEqual(6);
  });
});

const helm = findHelm(root);

(helm ? describe : describe.skip)('the chart', () => {
  const render = (...set: string[]) =>
    parseAllDocuments(
      execFileSync(helm as string, [
        ...['template', 'bm', join(root, 'charts', 'beastmode'), '--namespace', 'llm-system'],
        ...set.flatMap((s) => ['--set', s]),
      ]).toString(),
    )
      .map((d) => d.toJS() as { kind: string; metadata: Record<string, unknown>; spec: unknown } | null)
      .filter((d) => d !== null);

  test('renders no PrometheusRule by default (its CRD may not exist)', () => {
    expect(render().filter((d) => d.kind === 'PrometheusRule')).toEqual([]);
  });

  test('ships the rules file as written, with the labels Prometheus selects rules by', () => {
    const [rule, ...more] = render(
      'prometheusRule.enabled=true',
      'prometheusRule.namespace=monitoring',
      'prometheusRule.labels.release=kps',
    ).filter((d) => d.kind === 'PrometheusRule');
    expect(more).toEqual([]);
    expect(rule?.metadata).toMatchObject({ namespace: 'monitoring', labels: { release: 'kps' } });
    expect(rule?.spec).toEqual(parse(readFileSync(rulesFile, 'utf8')));
  });
});
