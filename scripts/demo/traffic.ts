// Steady traffic through the gateway with the official openai client, at a fixed rate (open loop), from
// many simulated users. Every answer is recorded with the backend and variant that served it.
import OpenAI from 'openai';

export interface Sample {
  at: number;
  ok: boolean;
  status: number;
  latencyMs: number;
  backend: string;
  variant: string;
  cache: string;
  inputTokens: number;
  outputTokens: number;
}

export interface TrafficOptions {
  baseURL: string;
  apiKey: string;
  model: string;
  ratePerSecond: number;
  users: number;
  /** Share of requests that repeat a popular prompt (cache hits). */
  repeatShare: number;
  maxInFlight: number;
  onSample?: (s: Sample) => void;
  /** Score to send as feedback for an answer (0–1), or undefined to send none. */
  feedback?: (s: Sample) => number | undefined;
}

const POPULAR = [
  'What is Kubernetes?',
  'Summarise the benefits of canary releases in two sentences.',
  'Translate "good morning" into French.',
  'What is the capital of Australia?',
  'Explain what an HPA does.',
];

export class Traffic {
  readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private seq = 0;
  private readonly client: OpenAI;
  private readonly pending = new Set<Promise<void>>();
  dropped = 0;

  constructor(private readonly opts: TrafficOptions) {
    this.client = new OpenAI({ baseURL: opts.baseURL, apiKey: opts.apiKey, maxRetries: 0, timeout: 30_000 });
  }

  start(): void {
    const tickMs = 20;
    let credit = 0;
    this.timer = setInterval(() => {
      credit += (this.opts.ratePerSecond * tickMs) / 1000;
      while (credit >= 1) {
        credit -= 1;
        if (this.inFlight >= this.opts.maxInFlight) {
          this.dropped++;
          continue;
        }
        const p = this.one().finally(() => this.pending.delete(p));
        this.pending.add(p);
      }
    }, tickMs);
  }

  /** Changes the rate from the next tick on. */
  setRate(perSecond: number): void {
    this.opts.ratePerSecond = perSecond;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.allSettled([...this.pending]);
  }

  private async one(): Promise<void> {
    this.inFlight++;
    const n = this.seq++;
    const user = `user-${Math.floor(Math.random() * this.opts.users)}`;
    const prompt =
      Math.random() < this.opts.repeatShare
        ? (POPULAR[n % POPULAR.length] ?? 'Hello')
        : `Question ${n}: how would you explain request routing to a new engineer?`;
    const started = performance.now();
    const sample: Sample = {
      at: Date.now(),
      ok: false,
      status: 0,
      latencyMs: 0,
      backend: '',
      variant: '',
      cache: '',
      inputTokens: 0,
      outputTokens: 0,
    };
    let requestId: string | null = null;
    try {
      const { data, response } = await this.client.chat.completions
        .create({
          model: this.opts.model,
          messages: [{ role: 'user', content: prompt }],
          max_tokens: 64,
          user,
        })
        .withResponse();
      sample.ok = true;
      sample.status = response.status;
      sample.backend = response.headers.get('x-beastmode-backend') ?? '';
      sample.variant = response.headers.get('x-beastmode-variant') ?? '';
      sample.cache = response.headers.get('x-beastmode-cache') ?? '';
      requestId = response.headers.get('x-request-id');
      sample.inputTokens = data.usage?.prompt_tokens ?? 0;
      sample.outputTokens = data.usage?.completion_tokens ?? 0;
    } catch (err) {
      const status: unknown = err instanceof OpenAI.APIError ? err.status : 0;
      sample.status = typeof status === 'number' ? status : 0;
    } finally {
      sample.latencyMs = performance.now() - started;
      this.inFlight--;
    }
    this.samples.push(sample);
    this.opts.onSample?.(sample);
    const score = sample.ok && sample.cache !== 'hit' ? this.opts.feedback?.(sample) : undefined;
    if (score !== undefined && requestId) await this.sendFeedback(requestId, score);
  }

  private async sendFeedback(requestId: string, score: number): Promise<void> {
    try {
      await fetch(`${this.opts.baseURL}/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.opts.apiKey}` },
        body: JSON.stringify({ request_id: requestId, score }),
      });
    } catch {
      // Feedback is best effort, as from a real user.
    }
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}
