// A Canary's status seen over time, for the canary suites: polled every 100 ms, each change of phase, weight
// or candidate revision recorded with the time it was first seen.
import type { CanaryStatus } from '../../api/v1alpha1/index.js';

export interface CanaryStatusEntry {
  at: number;
  phase: string;
  weight: number;
  revision: string | undefined;
}

export class CanaryStatusLog {
  entries: CanaryStatusEntry[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly read: () => Promise<CanaryStatus>) {}

  start(): void {
    const poll = async () => {
      try {
        const st = await this.read();
        const e = {
          at: Date.now(),
          phase: st.phase ?? '',
          weight: st.canaryWeight ?? 0,
          revision: st.candidateRevision,
        };
        const last = this.entries.at(-1);
        if (!last || last.phase !== e.phase || last.weight !== e.weight || last.revision !== e.revision)
          this.entries.push(e);
      } catch {
        // the operator or API server is busy: the next poll catches up
      }
      this.timer = setTimeout(() => void poll(), 100);
    };
    void poll();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  since(t: number): CanaryStatusEntry[] {
    return this.entries.filter((e) => e.at >= t);
  }
}
