// The primary process of a gateway pod with several workers (`--workers N`): it forks the workers, which
// each serve the same port (SO_REUSEPORT: the kernel spreads connections), restarts one that dies, drains
// them all on SIGTERM, and holds what must be one per pod: limits and budgets when no Redis is configured,
// the feedback ledger, the learning routers' counts, the search for the worker that served a request, and
// the pod's aggregated metrics.
// It serves no request itself.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { ServedRecord } from '../feedback/recent-requests.js';
import { MemoryFeedbackLedger } from '../feedback/feedback.js';
import { MemoryLimitStore } from '../limits/memory-store.js';
import { MemoryLearnerStore } from '../routing/learner-store.js';
import type { Logger } from '../log.js';
import { isIpcMessage, type CallMessage, type Calls, type LookupReply } from './ipc.js';

export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  /** How long SIGTERM gives the workers to drain before they are killed. */
  drainSeconds: number;
}

/** A worker exits with this when its config cannot be served safely: the whole pod stops with it. */
export const EXIT_REFUSED_CONFIG = 78;
/** A worker that dies this soon after it started counts towards a crash loop. */
const QUICK_DEATH_MS = 5000;
const MAX_QUICK_DEATHS = 5;
const LOOKUP_TIMEOUT_MS = 1000;

interface Lookup {
  waiting: number;
  resolve: (served: ServedRecord | null) => void;
  timer: NodeJS.Timeout;
}

/** The pod-wide state and the answers to the workers' calls. */
class PodServices {
  private readonly limits = new MemoryLimitStore();
  private readonly ledger = new MemoryFeedbackLedger();
  private readonly learners = new MemoryLearnerStore();
  private readonly aggregator = new AggregatorRegistry();
  private readonly lookups = new Map<number, Lookup>();
  private nextLookup = 1;

  /** The answer to one call of a worker (its `result`, as Calls says for the method). */
  async answer(from: Worker, call: CallMessage): Promise<unknown> {
    switch (call.method) {
      case 'limits.reserve': {
        const p = call.params as Calls['limits.reserve']['params'];
        return this.limits.reserve(p.req, p.nowMs);
      }
      case 'limits.adjust': {
        const p = call.params as Calls['limits.adjust']['params'];
        this.limits.adjust(p.req, p.nowMs);
        return null;
      }
      case 'feedback.claim':
        return this.ledger.claim((call.params as Calls['feedback.claim']['params']).requestId);
      case 'served.find':
        return this.find(from, (call.params as Calls['served.find']['params']).requestId);
      case 'metrics':
        return this.aggregator.clusterMetrics();
      case 'learner.exchange': {
        const p = call.params as Calls['learner.exchange']['params'];
        return this.learners.exchange(p.key, p.delta);
      }
      case 'learner.clear':
        await this.learners.clear((call.params as Calls['learner.clear']['params']).key);
        return null;
      default: {
        const never: never = call.method;
        throw new Error(`unknown call ${String(never)}`);
      }
    }
  }

  /** Asks every other live worker; the first that served the request answers, else null. */
  private find(from: Worker, requestId: string): Promise<ServedRecord | null> {
    const others = Object.values(cluster.workers ?? {}).filter(
      (w): w is Worker => w !== undefined && w !== from && w.isConnected(),
    );
    if (others.length === 0) return Promise.resolve(null);
    const id = this.nextLookup++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(id, null), LOOKUP_TIMEOUT_MS);
      this.lookups.set(id, { waiting: others.length, resolve, timer });
      for (const w of others) w.send({ bm: 'lookup', id, requestId });
    });
  }

  lookupReply(m: LookupReply): void {
    const l = this.lookups.get(m.id);
    if (l === undefined) return;
    l.waiting--;
    if (m.served !== null || l.waiting === 0) this.settle(m.id, m.served);
  }

  private settle(id: number, served: ServedRecord | null): void {
    const l = this.lookups.get(id);
    if (l === undefined) return;
    this.lookups.delete(id);
    clearTimeout(l.timer);
    l.resolve(served);
  }
}

/** Forks the workers and keeps the pod running until SIGTERM/SIGINT; never returns on its own. */
export function runPrimary(opts: PrimaryOptions): void {
  const { logger } = opts;
  const services = new PodServices();
  const started = new Map<number, number>();
  let quickDeaths = 0;
  let stopping = false;

  cluster.on('message', (worker, m: unknown) => {
    if (!isIpcMessage(m)) return;
    if (m.bm === 'lookup-reply') return services.lookupReply(m);
    if (m.bm !== 'call') return;
    services.answer(worker, m).then(
      (result) => worker.isConnected() && worker.send({ bm: 'reply', id: m.id, result }),
      (err: unknown) => worker.isConnected() && worker.send({ bm: 'reply', id: m.id, error: String(err) }),
    );
  });
  const fork = (): void => {
    const w = cluster.fork();
    started.set(w.id, Date.now());
  };
  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (started.get(worker.id) ?? 0);
    started.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    if (code === EXIT_REFUSED_CONFIG) {
      logger.log('error', 'A gateway worker refused its config: stopping the pod', { worker: worker.id });
      stop('refused config');
      setTimeout(() => process.exit(EXIT_REFUSED_CONFIG), 100).unref();
      return;
    }
    logger.log('warn', 'Gateway worker exited, starting another', { worker: worker.id, code, signal });
    quickDeaths = lived < QUICK_DEATH_MS ? quickDeaths + 1 : 0;
    if (quickDeaths >= MAX_QUICK_DEATHS) {
      logger.log('error', 'Gateway workers keep exiting at start, giving up', { deaths: quickDeaths });
      process.exit(1);
    }
    fork();
  });
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.log('info', 'Shutting down the workers', { signal, workers: opts.workers });
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    setTimeout(() => process.exit(1), (opts.drainSeconds + 5) * 1000).unref();
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  for (let i = 0; i < opts.workers; i++) fork();
  logger.log('info', 'Gateway primary started its workers', { workers: opts.workers });
}
