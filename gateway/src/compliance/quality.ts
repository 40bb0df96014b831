// Scores the detectors against a labelled corpus: a detection counts only when its span and detector both
// match a label exactly, so a span cut short or read as the wrong kind is a miss and a false alarm.
import { detect, DETECTORS, type DetectorName, type Span } from './detectors.js';

export interface Labelled {
  id: string;
  text: string;
  spans: readonly Span[];
}

export interface DetectorScore {
  detector: DetectorName;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number;
  recall: number;
}

/** Per detector; a miss or false alarm is listed by entry id and span (never the value) for debugging. */
export function scoreCorpus(corpus: readonly Labelled[]): { scores: DetectorScore[]; errors: string[] } {
  const tally = new Map(DETECTORS.map((d) => [d, { tp: 0, fp: 0, fn: 0 }]));
  const errors: string[] = [];
  const key = (s: Span): string => `${s.start}:${s.end}:${s.detector}`;
  for (const entry of corpus) {
    const found = detect(entry.text);
    const labels = new Set(entry.spans.map(key));
    const got = new Set(found.map(key));
    for (const s of found) {
      const t = tally.get(s.detector)!;
      if (labels.has(key(s))) t.tp++;
      else {
        t.fp++;
        errors.push(`false ${s.detector} in ${entry.id} at ${s.start}-${s.end}`);
      }
    }
    for (const s of entry.spans) {
      if (got.has(key(s))) continue;
      tally.get(s.detector)!.fn++;
      errors.push(`missed ${s.detector} in ${entry.id} at ${s.start}-${s.end}`);
    }
  }
  const scores = DETECTORS.map((detector) => {
    const { tp, fp, fn } = tally.get(detector)!;
    return {
      detector,
      truePositives: tp,
      falsePositives: fp,
      falseNegatives: fn,
      precision: tp + fp === 0 ? 1 : tp / (tp + fp),
      recall: tp + fn === 0 ? 1 : tp / (tp + fn),
    };
  });
  return { scores, errors };
}

export function formatScores(scores: readonly DetectorScore[]): string {
  const rows = scores.map(
    (s) =>
      `| ${s.detector.padEnd(8)} | ${String(s.truePositives).padStart(4)} | ${String(s.falsePositives).padStart(3)} | ` +
      `${String(s.falseNegatives).padStart(3)} | ${s.precision.toFixed(3)} | ${s.recall.toFixed(3)} |`,
  );
  return ['| detector |   TP |  FP |  FN | precision | recall |', '|---|---|---|---|---|---|', ...rows].join(
    '\n',
  );
}
