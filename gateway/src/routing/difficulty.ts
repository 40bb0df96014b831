// The quality-cost policy's prompt difficulty score: a small, transparent heuristic in [0, 1].
// It is deliberately explainable (each signal adds a fixed share) rather than clever; a learned router
// replaces it later behind the same signature.
//
//   length      up to 0.35   grows with the prompt's length, saturating at ~2,000 characters
//   code        0.25         code fences, or several programming keywords/symbols
//   maths       0.2          equations, LaTeX, or maths vocabulary (prove, integral, derivative…)
//   multi-step  0.2          "step by step", numbered lists, or several task verbs joined by "then"
//   reasoning   0.1          "why", "explain", "compare", "analyse", "trade-off"
//
// The sum is capped at 1. A greeting scores ~0; a long multi-step coding task scores close to 1.

const CODE =
  /```|\b(function|def|class|import|return|const|let|var|SELECT|public static)\b|=>|\{\s*\}|;\s*$/gm;
const MATHS =
  /\\(frac|int|sum|sqrt)|\b(prove|proof|theorem|integral|derivative|equation|matrix|eigen\w*|probability|lemma)\b|[=<>]\s*-?\d+\s*[+\-*/^]\s*\d+|\d+\s*[+\-*/^]\s*\d+\s*=/gi;
const MULTI_STEP = /\bstep[- ]by[- ]step\b|^\s*\d+[.)]\s|\b(first|then|next|finally|afterwards)\b/gim;
const REASONING = /\b(why|explain|compare|analy[sz]e|trade-?offs?|evaluate|justify)\b/gi;

function count(re: RegExp, text: string): number {
  re.lastIndex = 0;
  return text.match(re)?.length ?? 0;
}

export interface DifficultySignals {
  length: number;
  code: number;
  maths: number;
  multiStep: number;
  reasoning: number;
}

/** The signals of a prompt, each already weighted; their sum (capped at 1) is the score. */
export function difficultySignals(prompt: string): DifficultySignals {
  const text = prompt.length > 20_000 ? prompt.slice(0, 20_000) : prompt;
  return {
    length: 0.35 * Math.min(1, text.length / 2000),
    code: count(CODE, text) >= 2 ? 0.25 : 0,
    maths: count(MATHS, text) >= 1 ? 0.2 : 0,
    multiStep: count(MULTI_STEP, text) >= 2 ? 0.2 : 0,
    reasoning: count(REASONING, text) >= 1 ? 0.1 : 0,
  };
}

/** The difficulty of a prompt in [0, 1]. */
export function scoreDifficulty(prompt: string): number {
  const s = difficultySignals(prompt);
  return Math.min(1, s.length + s.code + s.maths + s.multiStep + s.reasoning);
}
