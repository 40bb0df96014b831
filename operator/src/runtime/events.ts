// Kubernetes Events (events.k8s.io/v1) for notable transitions. Fire-and-forget: an Event that cannot be
// written is logged, never fails a reconcile. The same event for the same object is not repeated within
// ten minutes, so a hot loop cannot flood the API server.
import { randomBytes } from 'node:crypto';
import type { KubeClient, KubeObject } from '../../../kube/client.js';
import { R } from '../../../kube/resources.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  emit(regarding: KubeObject, type: EventType, reason: string, action: string, note: string): void;
}

const REPEAT_WINDOW_MS = 10 * 60_000;

/** MicroTime: RFC 3339 with six fractional digits. */
const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class ApiEventRecorder implements EventRecorder {
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly client: KubeClient,
    private readonly instance: string,
    private readonly onError: (err: unknown) => void,
    private readonly enabled: () => boolean = () => true,
  ) {}

  emit(regarding: KubeObject, type: EventType, reason: string, action: string, note: string): void {
    if (!this.enabled()) return;
    const now = Date.now();
    const dedupe = `${regarding.metadata.uid ?? regarding.metadata.name}/${reason}/${note}`;
    const last = this.recent.get(dedupe);
    if (last !== undefined && now - last < REPEAT_WINDOW_MS) return;
    this.recent.set(dedupe, now);
    if (this.recent.size > 10_000) {
      for (const [k, t] of this.recent) if (now - t > REPEAT_WINDOW_MS) this.recent.delete(k);
    }
    const ns = regarding.metadata.namespace ?? 'default';
    const event: KubeObject = {
      metadata: { name: `${regarding.metadata.name}.${randomBytes(8).toString('hex')}`, namespace: ns },
      eventTime: microTime(new Date(now)),
      reportingController: 'beastmode.dev/operator',
      reportingInstance: this.instance,
      action,
      reason,
      type,
      note: note.slice(0, 1024),
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        name: regarding.metadata.name,
        namespace: ns,
        uid: regarding.metadata.uid,
        resourceVersion: regarding.metadata.resourceVersion,
      },
    };
    this.client.create(R.Event, event).catch(this.onError);
  }
}
