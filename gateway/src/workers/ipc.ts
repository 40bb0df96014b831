// The messages between a gateway's primary process and its workers (node:cluster IPC): a worker asks, the
// primary answers once. Used only for what must be one per pod — limits and budgets without Redis, the
// feedback ledger, the learning routers' counts without Redis, finding which worker served a request, and
// the pod's aggregated metrics — never on the
// path of a request that configures none of them.
import type { ServedRecord } from '../feedback/recent-requests.js';
import type { AdjustRequest, ReserveRequest, ReserveResult } from '../limits/store.js';
import type { LearnerCounts } from '../routing/router-learner.js';

/** What a worker may ask the primary, and what it answers. */
export interface Calls {
  'limits.reserve': { params: { req: ReserveRequest; nowMs: number }; result: ReserveResult };
  'limits.adjust': { params: { req: AdjustRequest; nowMs: number }; result: null };
  'feedback.claim': { params: { requestId: string }; result: boolean };
  /** Asks every other worker whether it served the request. */
  'served.find': { params: { requestId: string }; result: ServedRecord | null };
  /** The pod's metrics: every worker's registry, aggregated. */
  metrics: { params: null; result: string };
  /** Adds a worker's learner counts to the pod's and returns the pod's (routing/learner-store.ts). */
  'learner.exchange': { params: { key: string; delta: LearnerCounts }; result: LearnerCounts };
  'learner.clear': { params: { key: string }; result: null };
}
export type Method = keyof Calls;

export interface CallMessage<M extends Method = Method> {
  bm: 'call';
  id: number;
  method: M;
  params: Calls[M]['params'];
}

export interface ReplyMessage {
  bm: 'reply';
  id: number;
  result?: unknown;
  error?: string;
}

/** The primary asks a worker whether it served a request. */
export interface LookupMessage {
  bm: 'lookup';
  id: number;
  requestId: string;
}

export interface LookupReply {
  bm: 'lookup-reply';
  id: number;
  served: ServedRecord | null;
}

export type IpcMessage = CallMessage | ReplyMessage | LookupMessage | LookupReply;

export function isIpcMessage(m: unknown): m is IpcMessage {
  return typeof m === 'object' && m !== null && typeof (m as { bm?: unknown }).bm === 'string';
}

/** The send side of an IPC channel (process in a worker, a Worker in the primary). */
export interface Channel {
  send(message: IpcMessage): unknown;
}

const CALL_TIMEOUT_MS = 2000;

/** A worker's calls to the primary: one pending promise per id, failing after a timeout. */
export class PrimaryClient {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();

  constructor(private readonly channel: Channel) {}

  call<M extends Method>(method: M, params: Calls[M]['params']): Promise<Calls[M]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new Error(`the gateway's primary process did not answer ${method} within ${CALL_TIMEOUT_MS} ms`),
        );
      }, CALL_TIMEOUT_MS);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.channel.send({ bm: 'call', id, method, params });
    });
  }

  /** Feeds a reply from the primary; returns whether it was one. */
  receive(m: IpcMessage): boolean {
    if (m.bm !== 'reply') return false;
    const p = this.pending.get(m.id);
    if (p === undefined) return true;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.result);
    return true;
  }
}
