// The demo's fourth chapter: learned routing. A second model name, "assistant", is served by the premium
// model and a small in-cluster one, chosen per prompt by the learned quality/cost router at 95% of the
// premium model's quality, with code prompts sent to a code model by a domain route. A mixed stream of
// prompts from eleven domains runs through it; simulated users score most answers — the small model
// does well on chat, support, writing, humanities and social science, and badly on math, law, medicine,
// science and finance. The learning router is told those scores and moves each domain to the backend that
// serves it well enough: its weak share and the cost saved versus always using the premium model are shown
// window by window, with the users' scores.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEADERS } from '../../api/v1alpha1/index.js';
import type { Cluster } from './cluster.js';
import type { View } from './view.js';
import { PRICES, type SimulatorUrls } from './manifests.js';

/** Domains the small model answers well (scored 0.9 on average); on the others it scores 0.3. */
const EASY = new Set([
  'general-chat',
  'customer-support',
  'creative-writing',
  'humanities',
  'social-science',
]);

export function learningRouteManifest(sims: SimulatorUrls): string {
  const price = (p: { input: number; output: number } | undefined) =>
    `{ inputPerMillionTokens: ${p?.input ?? 0}, outputPerMillionTokens: ${p?.output ?? 0} }`;
  return `
apiVersion: beastmode.dev/v1alpha1
kind: ModelRoute
metadata:
  name: assistant
spec:
  gatewayRef: { name: default }
  model: assistant
  backends:
    - { name: premium, provider: openai, url: ${sims.premium}, pricing: ${price(PRICES.premium)} }
    - { name: llama, provider: openai-compatible, url: ${sims.llamaV1}, pricing: ${price(PRICES.llama)} }
    - { name: coder, provider: openai-compatible, url: ${sims.llamaV1}, pricing: ${price(PRICES.llama)} }
  selection:
    policy: quality-cost
    qualityCost:
      strongBackend: premium
      weakBackend: llama
      targetQuality: 0.95
      learning: { exploration: 0.2, goodScore: 0.5 }
    domains:
      - { domains: [code], backend: coder, minConfidence: 0.5 }
  retry: { attempts: 0 }
`;
}

interface Labelled {
  domain: string;
  prompt: string;
}

interface Answer {
  domain: string;
  backend: string;
  ok: boolean;
  score: number;
  tokens: { input: number; output: number };
}

export interface LearningResult {
  requests: number;
  errors: number;
  /** Per window: share of the quality-cost decisions sent to llama, cost saved, mean user score. */
  windows: {
    weakShare: number;
    easyWeakShare: number;
    hardWeakShare: number;
    saved: number;
    score: number;
  }[];
  problems: string[];
}

export interface LearningOptions {
  cluster: Cluster;
  sims: SimulatorUrls;
  gatewayUrl: string;
  line: (text: string) => void;
  ratePerSecond: number;
  windows: number;
  windowSeconds: number;
}

function prompts(): Labelled[] {
  const file = join(import.meta.dirname, '..', '..', 'gateway', 'src', 'routing', 'domains', 'test.jsonl');
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Labelled);
}

/** What a simulated user thinks of an answer of `backend` to a prompt of `domain`. */
function userScore(domain: string, backend: string): number {
  const mean = backend === 'llama' && !EASY.has(domain) ? 0.3 : 0.9;
  return Math.max(0, Math.min(1, mean + (Math.random() - 0.5) * 0.4));
}

const cost = (backend: string, t: { input: number; output: number }): number => {
  const p = PRICES[backend === 'coder' ? 'llama' : backend] ?? { input: 0, output: 0 };
  return (p.input * t.input + p.output * t.output) / 1e6;
};

async function ask(gatewayUrl: string, item: Labelled): Promise<Answer> {
  const res = await fetch(`${gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'assistant', messages: [{ role: 'user', content: item.prompt }] }),
  });
  const body = (await res.json()) as { usage?: { prompt_tokens?: number; completion_tokens?: number } };
  const backend = res.headers.get(HEADERS.backend) ?? 'none';
  const score = userScore(item.domain, backend);
  // Most users score the answer.
  if (res.ok && Math.random() < 0.8) {
    const id = res.headers.get(HEADERS.requestId);
    void fetch(`${gatewayUrl}/v1/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request_id: id, score }),
    }).catch(() => undefined);
  }
  const tokens = { input: body.usage?.prompt_tokens ?? 0, output: body.usage?.completion_tokens ?? 0 };
  return { domain: item.domain, backend, ok: res.ok, score, tokens };
}

function summarise(answers: Answer[]): LearningResult['windows'][number] {
  const qc = answers.filter((a) => a.ok && a.backend !== 'coder');
  const weak = (xs: Answer[]) => xs.filter((a) => a.backend === 'llama').length / Math.max(1, xs.length);
  const spent = answers.reduce((s, a) => s + cost(a.backend, a.tokens), 0);
  const premium = answers.reduce((s, a) => s + cost('premium', a.tokens), 0);
  return {
    weakShare: weak(qc),
    easyWeakShare: weak(qc.filter((a) => EASY.has(a.domain))),
    hardWeakShare: weak(qc.filter((a) => !EASY.has(a.domain))),
    saved: premium === 0 ? 0 : 1 - spent / premium,
    score: answers.reduce((s, a) => s + a.score, 0) / Math.max(1, answers.length),
  };
}

/** Applies the route, runs the stream window by window, and judges what the router learnt. */
export async function runLearning(o: LearningOptions): Promise<LearningResult> {
  await o.cluster.apply(learningRouteManifest(o.sims));
  await o.cluster.waitReady('modelroute', 'assistant', 30_000);
  return streamPrompts(o);
}

/** The mixed prompt stream through the "assistant" model, `windows` windows of `windowSeconds`. */
export async function streamPrompts(
  o: Pick<LearningOptions, 'gatewayUrl' | 'line' | 'ratePerSecond' | 'windows' | 'windowSeconds'>,
): Promise<LearningResult> {
  const items = prompts();
  // The gateway loads the new config about a second after the route is accepted.
  for (let i = 0; i < 50; i++) {
    if ((await ask(o.gatewayUrl, items[0] as Labelled).catch(() => undefined))?.ok === true) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const result: LearningResult = { requests: 0, errors: 0, windows: [], problems: [] };
  o.line('window  requests  to llama (easy / hard domains)  cost saved vs premium  mean user score');
  for (let w = 0; w < o.windows; w++) {
    const pending: Promise<Answer | undefined>[] = [];
    const start = Date.now();
    const total = o.ratePerSecond * o.windowSeconds;
    for (let k = 0; k < total; k++) {
      const item = items[Math.floor(Math.random() * items.length)] as Labelled;
      pending.push(ask(o.gatewayUrl, item).catch(() => undefined));
      const due = start + ((k + 1) * 1000) / o.ratePerSecond;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    const answers = await Promise.all(pending);
    const got = answers.filter((a): a is Answer => a !== undefined);
    result.requests += answers.length;
    result.errors += answers.length - got.filter((a) => a.ok).length;
    const s = summarise(got);
    result.windows.push(s);
    const pct = (x: number) => `${(x * 100).toFixed(0)}%`.padStart(4);
    o.line(
      `${String(w + 1).padStart(6)}  ${String(answers.length).padStart(8)}  ` +
        `${pct(s.weakShare)} (${pct(s.easyWeakShare)} / ${pct(s.hardWeakShare)})${' '.repeat(15)}` +
        `${pct(s.saved)}${' '.repeat(18)}${s.score.toFixed(2)}`,
    );
  }
  judge(result);
  return result;
}

/** What the chapter must show: the easy domains moving to llama, the hard ones not, the users as happy. */
function judge(r: LearningResult): void {
  const first = r.windows[0];
  const [a, b] = r.windows.slice(-2);
  if (first === undefined || a === undefined || b === undefined) return;
  // The last two windows together: one window of 250 answers is noisy.
  const last = {
    easyWeakShare: (a.easyWeakShare + b.easyWeakShare) / 2,
    hardWeakShare: (a.hardWeakShare + b.hardWeakShare) / 2,
    score: (a.score + b.score) / 2,
  };
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  if (r.errors > 0) r.problems.push(`learned routing: ${r.errors} client errors`);
  if (last.easyWeakShare < first.easyWeakShare + 0.2)
    r.problems.push(
      `learned routing: easy domains on llama went from ${pct(first.easyWeakShare)} to ${pct(last.easyWeakShare)} only`,
    );
  if (last.hardWeakShare > 0.2)
    r.problems.push(`learned routing: ${pct(last.hardWeakShare)} of hard domains still on llama at the end`);
  if (last.score < first.score - 0.03)
    r.problems.push('learned routing: the users liked the answers less at the end than at the start');
}

/** The chapter as the demo shows it: its title, the windows as they come, and a one-line outcome. */
export async function learnedRouting(
  view: Pick<View, 'section' | 'line'>,
  o: Pick<LearningOptions, 'cluster' | 'sims' | 'gatewayUrl'>,
): Promise<LearningResult> {
  view.section(
    'Learned routing: model "assistant" — premium or llama per prompt at 95% of premium\'s quality, code to a code model',
  );
  const result = await runLearning({
    ...o,
    line: (text) => view.line(text),
    ratePerSecond: 50,
    windows: 16,
    windowSeconds: 5,
  });
  const first = result.windows[0];
  const last = result.windows.at(-1);
  const pct = (x: number | undefined) => `${((x ?? 0) * 100).toFixed(0)}%`;
  view.line(
    `Learned routing: easy domains on llama ${pct(first?.easyWeakShare)} → ${pct(last?.easyWeakShare)}, ` +
      `hard ${pct(first?.hardWeakShare)} → ${pct(last?.hardWeakShare)}, cost saved vs premium ` +
      `${pct(first?.saved)} → ${pct(last?.saved)}, mean user score ${first?.score.toFixed(2)} → ` +
      `${last?.score.toFixed(2)}; ${result.requests} requests, ${result.errors} client errors ` +
      `(see \`beastmode router state --gateway ${o.gatewayUrl}\`)`,
  );
  return result;
}
