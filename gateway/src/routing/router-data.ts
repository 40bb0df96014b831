// The router's data: rows in the RouteLLM evaluation format, one JSON object a line —
// {"benchmark", "subject", "prompt", "weak_correct", "strong_correct"} — and the rule that keeps grading
// errors out. A subject on which the strong model is right less than 10% of the time (over at least 50
// rows), while the weak one does better, is graded wrong, not hard: in the public RouteLLM data
// mmlu/high_school_mathematics has the strong model at 3% and the weak at 32%, which no model of these two
// explains. Such subjects are left out of training, calibration and evaluation, and named in the output.
import { z } from 'zod';

export const RouterRow = z.object({
  benchmark: z.string().min(1),
  subject: z.string().min(1),
  prompt: z.string(),
  weak_correct: z.boolean(),
  strong_correct: z.boolean(),
});
export type RouterRow = z.infer<typeof RouterRow>;

/** Parses JSONL whose lines `schema` validates; a bad line is an error naming its number. */
export function parseJsonLines<T>(text: string, schema: z.ZodType<T>): T[] {
  const rows: T[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new Error(`line ${i + 1}: not JSON`);
    }
    const r = schema.safeParse(json);
    if (!r.success) throw new Error(`line ${i + 1}: ${z.prettifyError(r.error)}`);
    rows.push(r.data);
  });
  return rows;
}

export const parseRows = (text: string): RouterRow[] => parseJsonLines(text, RouterRow);

const subjectOf = (r: RouterRow): string => `${r.benchmark}/${r.subject}`;

/** Subjects whose grading is broken (see the top of this file). */
export function misgradedSubjects(rows: readonly RouterRow[]): string[] {
  const by = new Map<string, { n: number; weak: number; strong: number }>();
  for (const r of rows) {
    const s = by.get(subjectOf(r)) ?? { n: 0, weak: 0, strong: 0 };
    s.n++;
    s.weak += r.weak_correct ? 1 : 0;
    s.strong += r.strong_correct ? 1 : 0;
    by.set(subjectOf(r), s);
  }
  return [...by]
    .filter(([, s]) => s.n >= 50 && s.strong / s.n < 0.1 && s.weak > s.strong)
    .map(([k]) => k)
    .sort();
}

/** The rows without misgraded subjects, and which were dropped. */
export function cleanRows(rows: readonly RouterRow[]): { rows: RouterRow[]; dropped: string[] } {
  const dropped = misgradedSubjects(rows);
  const drop = new Set(dropped);
  return { rows: rows.filter((r) => !drop.has(subjectOf(r))), dropped };
}

/** Whole subjects in `k` folds, the same ones every run (sorted subjects dealt round-robin). */
export function subjectFolds(rows: readonly RouterRow[], k: number): RouterRow[][] {
  const subjects = [...new Set(rows.map(subjectOf))].sort();
  const fold = new Map(subjects.map((s, i) => [s, i % k]));
  const out: RouterRow[][] = Array.from({ length: k }, () => []);
  for (const r of rows) out[fold.get(subjectOf(r)) ?? 0]?.push(r);
  return out;
}

/** The label the router learns: the weak model is no worse than the strong one on this prompt. */
export const weakSufficesLabel = (r: RouterRow): boolean => r.weak_correct || !r.strong_correct;
