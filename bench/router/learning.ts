// The learning router against the static one, with whole subjects held out of the static model's training:
// (a) for each of k folds, the model trained on the other folds, the held-out fold replayed as a stream;
// (b) harder, the model trained on one fold, the other k − 1 replayed (prompts mostly unlike its training).
// Each replay seeded `seeds` times; the second-half figures are averaged over folds and seeds, and printed
// with the weak share of the best static threshold chosen in hindsight on the same rows (not deployable).
import { bundledDomainModel, classifyDomain } from '../../gateway/src/routing/domain-model.js';
import type { RouterRow } from '../../gateway/src/routing/router-data.js';
import { loadRouterModel, type RouterModel } from '../../gateway/src/routing/router-model.js';
import { replayRows, type ReplayReport } from '../../gateway/src/routing/router-replay.js';
import { DEFAULT_TRAIN, trainRouter } from '../../gateway/src/routing/router-train.js';

export interface ReplaySummary {
  protocol: string;
  replays: number;
  rowsPerReplay: number;
  static: { weakShare: number; qualityKept: number; regret: number };
  learning: { weakShare: number; qualityKept: number; regret: number; minQualityKept: number };
  hindsightStaticWeakShare: number;
}

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const r3 = (x: number) => Number(x.toFixed(3));

function summarise(protocol: string, reports: ReplayReport[]): ReplaySummary {
  return {
    protocol,
    replays: reports.length,
    rowsPerReplay: Math.round(avg(reports.map((r) => r.rows))),
    static: {
      weakShare: r3(avg(reports.map((r) => r.static.weakShare))),
      qualityKept: r3(avg(reports.map((r) => r.static.qualityKept))),
      regret: r3(avg(reports.map((r) => r.static.regret))),
    },
    learning: {
      weakShare: r3(avg(reports.map((r) => r.learning.weakShare))),
      qualityKept: r3(avg(reports.map((r) => r.learning.qualityKept))),
      regret: r3(avg(reports.map((r) => r.learning.regret))),
      minQualityKept: r3(Math.min(...reports.map((r) => r.learning.qualityKept))),
    },
    hindsightStaticWeakShare: r3(avg(reports.map((r) => r.hindsightStaticWeakShare))),
  };
}

export function replayHeldOut(
  folds: RouterRow[][],
  heldOutModels: RouterModel[],
  o: { quality: number; feedbackRate: number; seeds: number },
): ReplaySummary[] {
  const domains = bundledDomainModel();
  const clusterOf = (prompt: string) => classifyDomain(domains, prompt).domain;
  const replay = (rows: RouterRow[], model: RouterModel, seed: number) =>
    replayRows(rows, model, { targetQuality: o.quality, feedbackRate: o.feedbackRate, seed, clusterOf });
  const a: ReplayReport[] = [];
  const b: ReplayReport[] = [];
  folds.forEach((fold, i) => {
    const oneFold = loadRouterModel(
      trainRouter(fold, { ...DEFAULT_TRAIN, seed: DEFAULT_TRAIN.seed + i }).model,
    );
    const rest = folds.filter((_, j) => j !== i).flat();
    for (let s = 0; s < o.seeds; s++) {
      a.push(replay(fold, heldOutModels[i] as RouterModel, 100 * s + i));
      b.push(replay(rest, oneFold, 100 * s + i));
    }
  });
  return [
    summarise(`trained on ${folds.length - 1} folds, one held-out fold replayed`, a),
    summarise(`trained on 1 fold, the other ${folds.length - 1} replayed`, b),
  ];
}
