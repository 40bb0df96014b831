// Continuous chat traffic for the rollout suites (canary, shadow, experiment): workers send requests to a
// gateway through the official openai client and record, for every answer, who asked, which variant and
// experiment arm the gateway assigned and which model answered; a failed request is recorded with its error.
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { HEADERS } from '../../api/v1alpha1/index.js';

export interface TrafficSample {
  at: number;
  user: string;
  /** The canary variant header ("stable", "canary"), `?` when absent or on error. */
  variant: string;
  /** The experiment header ("<experiment>/<variant>"), empty when absent or on error. */
  arm: string;
  model: string;
  error?: string;
}

export interface TrafficOptions {
  /** The gateway's base URL (without `/v1`). */
  gatewayUrl: string;
  /** The model every request names, i.e. the route. */
  model: string;
  /** Draw each request's user from a pool of this many (sticky assignment); absent: a new user each time. */
  userPool?: number;
}

/**
 * How workers pace themselves: a total rate over all workers (each wait jittered between half and one and a
 * half times the mean), or a fixed pause after each answer.
 */
export type TrafficPace = { rps: number } | { pauseMs: number };

export class Traffic {
  samples: TrafficSample[] = [];
  private running = false;
  private workers: Promise<void>[] = [];
  private readonly openai: OpenAI;
  private readonly users: string[] | undefined;

  constructor(private readonly options: TrafficOptions) {
    this.openai = new OpenAI({
      apiKey: 'unused',
      baseURL: `${options.gatewayUrl}/v1`,
      maxRetries: 0,
      timeout: 10_000,
    });
    this.users =
      options.userPool === undefined
        ? undefined
        : Array.from({ length: options.userPool }, () => `user-${randomUUID()}`);
  }

  start(workers: number, pace: TrafficPace): void {
    this.running = true;
    for (let i = 0; i < workers; i++) this.workers.push(this.loop(workers, pace));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    this.workers = [];
  }

  /** Samples recorded in [from, to). */
  between(from: number, to: number): TrafficSample[] {
    return this.samples.filter((s) => s.at >= from && s.at < to);
  }

  /** Failed requests recorded from `from` on. */
  errors(from = 0): TrafficSample[] {
    return this.samples.filter((s) => s.at >= from && s.error !== undefined);
  }

  private nextUser(): string {
    if (this.users === undefined) return randomUUID();
    return this.users[Math.floor(Math.random() * this.users.length)] ?? 'user';
  }

  private async loop(workers: number, pace: TrafficPace): Promise<void> {
    while (this.running) {
      const t0 = Date.now();
      const user = this.nextUser();
      try {
        const { data, response } = await this.openai.chat.completions
          .create({
            model: this.options.model,
            messages: [{ role: 'user', content: 'hello' }],
            max_tokens: 4,
            user,
          })
          .withResponse();
        this.samples.push({
          at: Date.now(),
          user,
          variant: response.headers.get(HEADERS.variant) ?? '?',
          arm: response.headers.get(HEADERS.experiment) ?? '',
          model: data.model,
        });
      } catch (e) {
        this.samples.push({
          at: Date.now(),
          user,
          variant: '?',
          arm: '',
          model: '?',
          error: (e as Error).message,
        });
      }
      const wait =
        'rps' in pace
          ? ((1000 * workers) / pace.rps) * (0.5 + Math.random()) - (Date.now() - t0)
          : pace.pauseMs;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
}
