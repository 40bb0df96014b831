// What a gateway worker shares with the other workers of its pod, through the primary process: limits and
// budgets (when no Redis is configured), the feedback ledger, the learning routers' counts (without Redis
// too), the search for the worker that served a
// request, and the pod's aggregated metrics. A gateway that runs alone (one worker) has no PodState and
// keeps all of it in its own memory.
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { FeedbackLedger } from '../feedback/feedback.js';
import type { RecentRequests, ServedRecord } from '../feedback/recent-requests.js';
import type { AdjustRequest, LimitStore, ReserveRequest, ReserveResult } from '../limits/store.js';
import type { LearnerStore } from '../routing/learner-store.js';
import { isIpcMessage, PrimaryClient, type Channel } from './ipc.js';

export interface PodState {
  /** 1-based, as node:cluster numbers workers. */
  readonly workerId: number;
  /** The pod's one limit store, used when no Redis is configured. */
  readonly limits: LimitStore;
  /** The pod's one feedback ledger, used when no Redis is configured. */
  readonly ledger: FeedbackLedger;
  /** The pod's learning-router counts, used when no Redis is configured. */
  readonly learners: LearnerStore;
  /** Who served a request, when another worker of the pod did. */
  findServed(requestId: string): Promise<ServedRecord | undefined>;
  /** Every worker's metrics, aggregated: what /metrics serves, whichever worker is asked. */
  metricsText(): Promise<string>;
  /** Lets the primary see this worker's recent requests and metrics. */
  attach(recent: RecentRequests, registry: Registry): void;
}

class IpcLimitStore implements LimitStore {
  constructor(private readonly primary: PrimaryClient) {}

  reserve(req: ReserveRequest, nowMs: number): Promise<ReserveResult> {
    return this.primary.call('limits.reserve', { req, nowMs });
  }

  async adjust(req: AdjustRequest, nowMs: number): Promise<void> {
    await this.primary.call('limits.adjust', { req, nowMs });
  }
}

/** The PodState of this process when it is a node:cluster worker; undefined otherwise. */
export function connectToPod(): PodState | undefined {
  if (!cluster.isWorker || cluster.worker === undefined) return undefined;
  const channel: Channel = { send: (m) => process.send?.(m) };
  const primary = new PrimaryClient(channel);
  let recent: RecentRequests | undefined;
  process.on('message', (m: unknown) => {
    if (!isIpcMessage(m) || primary.receive(m) || m.bm !== 'lookup') return;
    channel.send({ bm: 'lookup-reply', id: m.id, served: recent?.get(m.requestId) ?? null });
  });
  return {
    workerId: cluster.worker.id,
    limits: new IpcLimitStore(primary),
    ledger: { claim: (requestId) => primary.call('feedback.claim', { requestId }) },
    learners: {
      exchange: (key, delta) => primary.call('learner.exchange', { key, delta }),
      clear: async (key) => {
        await primary.call('learner.clear', { key });
      },
    },
    findServed: async (requestId) => (await primary.call('served.find', { requestId })) ?? undefined,
    metricsText: () => primary.call('metrics', null),
    attach: (r, registry) => {
      recent = r;
      AggregatorRegistry.setRegistries([registry]);
      // Constructing one registers prom-client's answer to the primary's metrics requests.
      void new AggregatorRegistry();
    },
  };
}
