// Leader election on a coordination.k8s.io/v1 Lease, with client-go's timings and semantics: a candidate
// tries every retryPeriod; a lease is free when its holder has not renewed it for leaseDuration, measured
// on our own clock from when we last saw the record change (no clock-skew assumptions); a leader that
// cannot renew within renewDeadline steps down (each attempt is cut off at that deadline, however the request
// hangs) and does not campaign again; release() empties the holder so a peer takes over at once.
import { isConflict, isNotFound, type KubeClient, type KubeObject } from '../../../kube/client.js';
import { R } from '../../../kube/resources.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  onError?: (err: unknown) => void;
}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}
type Lease = KubeObject & { spec?: LeaseSpec };

const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private leading = false;
  private observed: { record: string; at: number } | undefined;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderElectionOptions,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  /** The next attempt after retryPeriod, or sooner when leading: at the renew deadline, to step down on time. */
  private schedule(): void {
    if (this.stopped) return;
    const untilDeadline = this.lastRenew + this.opts.renewDeadlineMs - Date.now();
    const delayMs = this.leading
      ? Math.max(0, Math.min(this.opts.retryPeriodMs, untilDeadline))
      : this.opts.retryPeriodMs;
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  /**
   * One attempt to acquire or renew, bounded by the renew deadline: a request on a dead connection (a silent
   * API server) gets no answer for a minute or more (undici's HTTP/2 ping, its 300 s headers timeout), and
   * would keep a leader that can no longer renew in charge long after its standby took the lease over. A renewal counts from
   * when it was sent (the renewTime it wrote), never from a late answer.
   */
  private async tick(): Promise<void> {
    const sentAt = Date.now();
    const budgetMs = this.leading
      ? this.lastRenew + this.opts.renewDeadlineMs - sentAt
      : this.opts.renewDeadlineMs;
    const attempt = AbortSignal.timeout(Math.max(1, budgetMs));
    try {
      const ok = await this.tryAcquireOrRenew(sentAt, attempt);
      if (ok) this.lastRenew = sentAt;
      if (ok && !this.leading) {
        this.leading = true;
        this.opts.onStartedLeading();
      }
    } catch (e) {
      this.opts.onError?.(
        attempt.aborted
          ? new Error(`lease ${this.opts.namespace}/${this.opts.name}: no answer within ${budgetMs} ms`)
          : e,
      );
    }
    if (this.leading && Date.now() - this.lastRenew >= this.opts.renewDeadlineMs) {
      // No second campaign from this instance, as client-go: its caches may be stale (the cut that cost it
      // the lease may have cost it its watches too). It exits; a fresh one campaigns.
      this.leading = false;
      this.stopped = true;
      this.opts.onStoppedLeading();
    }
    this.schedule();
  }

  private async tryAcquireOrRenew(now: number, signal: AbortSignal): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const spec: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.round(this.opts.leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    let lease: Lease;
    try {
      lease = await this.client.get<Lease>(R.Lease, namespace, name, { signal });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      try {
        await this.client.create(
          R.Lease,
          {
            metadata: { name, namespace },
            spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
          },
          undefined,
          { signal },
        );
        return true;
      } catch (ce) {
        if (isConflict(ce)) return false;
        throw ce;
      }
    }
    const cur = lease.spec ?? {};
    const record = `${cur.holderIdentity ?? ''}/${cur.renewTime ?? ''}`;
    if (this.observed?.record !== record) this.observed = { record, at: now };
    const held = cur.holderIdentity !== undefined && cur.holderIdentity !== null && cur.holderIdentity !== '';
    const expired = now - this.observed.at > (cur.leaseDurationSeconds ?? 15) * 1000;
    const mine = cur.holderIdentity === identity;
    if (held && !mine && !expired) return false;
    const next: LeaseSpec = mine
      ? { ...cur, ...spec }
      : { ...cur, ...spec, acquireTime: microTime(now), leaseTransitions: (cur.leaseTransitions ?? 0) + 1 };
    try {
      await this.client.replace(R.Lease, { ...lease, spec: next }, undefined, { signal });
      this.observed = { record: `${identity}/${next.renewTime}`, at: now };
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }

  /** Stops campaigning; when leading, gives the lease up so a peer takes over within one retry period. */
  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.client.get<Lease>(R.Lease, this.opts.namespace, this.opts.name);
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      await this.client.replace(R.Lease, {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: null,
          leaseDurationSeconds: 1,
          renewTime: microTime(Date.now()),
        },
      });
    } catch (e) {
      this.opts.onError?.(e);
    }
  }
}
