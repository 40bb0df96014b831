// The step timeline of each Canary, as the operator saw its status change: every move of phase, weight or
// step and every analysis window, with the verdict and the figures behind it. The Canary status holds only
// the latest analysis, so the dashboard keeps the history itself, bounded per canary; it starts when the
// operator starts. Pure: the caller passes the time.
import type { CanaryView } from './views.js';

export interface TimelineEntry {
  at: number;
  phase: string;
  weight: number;
  step: number | undefined;
  revision: string | undefined;
  /** Set when this entry records an analysis window. */
  analysis: CanaryView['lastAnalysis'];
  message: string | undefined;
}

export const MAX_TIMELINE_ENTRIES = 64;

interface Seen {
  phase: string;
  weight: number;
  step: number | undefined;
  revision: string | undefined;
  analysisId: string;
}

const analysisId = (v: CanaryView): string => JSON.stringify(v.lastAnalysis ?? null);

export class CanaryTimelines {
  private readonly entries = new Map<string, TimelineEntry[]>();
  private readonly seen = new Map<string, Seen>();

  constructor(private readonly max = MAX_TIMELINE_ENTRIES) {}

  /** Records what changed in `v` since the last call for its key; true when an entry was added. */
  observe(v: CanaryView, at: number): boolean {
    const prev = this.seen.get(v.key);
    const now: Seen = {
      phase: v.phase,
      weight: v.weight,
      step: v.currentStep,
      revision: v.candidateRevision,
      analysisId: analysisId(v),
    };
    this.seen.set(v.key, now);
    const moved =
      prev === undefined ||
      prev.phase !== now.phase ||
      prev.weight !== now.weight ||
      prev.step !== now.step ||
      prev.revision !== now.revision;
    const analysed = prev !== undefined && prev.analysisId !== now.analysisId && v.lastAnalysis !== undefined;
    if (!moved && !analysed) return false;
    const list = this.entries.get(v.key) ?? [];
    list.push({
      at,
      phase: v.phase,
      weight: v.weight,
      step: v.currentStep,
      revision: v.candidateRevision,
      analysis: analysed || prev === undefined ? v.lastAnalysis : undefined,
      message: v.message,
    });
    if (list.length > this.max) list.splice(0, list.length - this.max);
    this.entries.set(v.key, list);
    return true;
  }

  of(key: string): TimelineEntry[] {
    return this.entries.get(key) ?? [];
  }

  forget(key: string): void {
    this.entries.delete(key);
    this.seen.delete(key);
  }
}
