// The names a PromQL expression refers to, for tests that check dashboards against the metrics the
// gateway and operator export: each selector's metric and the label names of its matchers, and the label
// names of each `by`/`without` grouping and `on`/`ignoring` join with the metrics they apply to. A small
// tokenizer, not a full parser: it understands what dashboard queries use (selectors, functions,
// aggregations, binary operators, Grafana variables) and throws on what it cannot read, so that a query it
// does not understand fails the test instead of passing unchecked.

export interface Selector {
  metric: string;
  /** Label names of its matchers (`__name__` left out). */
  labels: string[];
}

/** Label names that must exist on every metric of `metrics` (the expression they group or join). */
export interface LabelUse {
  clause: string;
  labels: string[];
  metrics: string[];
}

export interface PromqlNames {
  selectors: Selector[];
  labelUses: LabelUse[];
}

type Kind = 'ident' | 'string' | 'number' | 'variable' | 'op';
interface Token {
  kind: Kind;
  text: string;
}

const AGGREGATORS = new Set([
  ...['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values'],
  ...['bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio'],
]);
const KEYWORDS = new Set([
  ...AGGREGATORS,
  ...['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset'],
  ...['and', 'or', 'unless', 'atan2', 'inf', 'nan'],
]);

const PATTERNS: [Kind, RegExp][] = [
  ['string', /^"(?:[^"\\]|\\.)*"|^'(?:[^'\\]|\\.)*'|^`[^`]*`/],
  // Grafana's template variables: $name, ${name}, ${name:format}, [[name]].
  ['variable', /^\$\{[^}]+\}|^\$[A-Za-z_]\w*|^\[\[[^\]]+\]\]/],
  ['ident', /^[A-Za-z_:][\w:]*/],
  // Numbers and durations (`5m`, `1h30m`, `1e6`, `0.95`).
  [
    'number',
    /^(?:0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:ms|[smhdwy])?(?:\d+(?:ms|[smhdwy]))*)/,
  ],
  ['op', /^(?:=~|!~|!=|==|>=|<=|[-+*/%^<>=(){}[\],:@])/],
];

export function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let rest = expr;
  while ((rest = rest.replace(/^(?:\s+|#[^\n]*)/, '')) !== '') {
    const hit = PATTERNS.map(([kind, re]) => ({ kind, m: re.exec(rest) })).find((p) => p.m !== null);
    if (hit?.m === undefined || hit.m === null)
      throw new Error(`cannot read PromQL at "${rest.slice(0, 20)}" in: ${expr}`);
    tokens.push({ kind: hit.kind, text: hit.m[0] });
    rest = rest.slice(hit.m[0].length);
  }
  return tokens;
}

/** Index of the token closing the bracket opened at `open`. */
function closing(tokens: Token[], open: number): number {
  const pairs: Record<string, string> = { '(': ')', '{': '}', '[': ']' };
  const o = tokens[open]?.text ?? '';
  const c = pairs[o];
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const t = tokens[i]?.text;
    if (tokens[i]?.kind !== 'op') continue;
    if (t === o) depth++;
    else if (t === c && --depth === 0) return i;
  }
  throw new Error(`unbalanced "${o}" in PromQL`);
}

/** Index of the token opening the bracket closed at `close`. */
function opening(tokens: Token[], close: number): number {
  for (let i = close; i >= 0; i--) if (tokens[i]?.text === '(' && closing(tokens, i) === close) return i;
  throw new Error('unbalanced ")" in PromQL');
}

/** `( a, b )` at `open`: the names and the index after it. */
function labelList(tokens: Token[], open: number, expr: string): { labels: string[]; next: number } {
  if (tokens[open]?.text !== '(') throw new Error(`expected a label list in: ${expr}`);
  const end = closing(tokens, open);
  const inner = tokens.slice(open + 1, end).filter((t) => t.text !== ',');
  if (inner.some((t) => t.kind !== 'ident')) throw new Error(`unreadable label list in: ${expr}`);
  return { labels: inner.map((t) => t.text), next: end + 1 };
}

/** Matchers `{a="x", b=~"y"}` opening at `open`: label names, and the metric `__name__` names if any. */
function matchers(tokens: Token[], open: number, expr: string) {
  const end = closing(tokens, open);
  const labels: string[] = [];
  let name: string | undefined;
  for (let i = open + 1; i < end; i += 4) {
    const [label, op, value, sep] = [tokens[i], tokens[i + 1], tokens[i + 2], tokens[i + 3]];
    const ok =
      label?.kind === 'ident' &&
      ['=', '!=', '=~', '!~'].includes(op?.text ?? '') &&
      value?.kind === 'string' &&
      (i + 3 === end || sep?.text === ',');
    if (!ok) throw new Error(`unreadable label matcher in: ${expr}`);
    if (label.text !== '__name__') labels.push(label.text);
    else if (op?.text === '=') name = value.text.slice(1, -1);
    else throw new Error(`a metric name matched by pattern cannot be checked: ${expr}`);
  }
  return { labels, name, next: end + 1 };
}

interface Scoped {
  clause: string;
  labels: string[];
  from: number;
  to: number;
}

/** Brackets must pair up: a query cut short would otherwise read as a shorter, valid one. */
function checkBalanced(tokens: Token[], expr: string): void {
  const open: string[] = [];
  const pairs: Record<string, string> = { ')': '(', '}': '{', ']': '[' };
  for (const t of tokens.filter((t) => t.kind === 'op')) {
    if ('({['.includes(t.text)) open.push(t.text);
    else if (t.text in pairs && open.pop() !== pairs[t.text])
      throw new Error(`unbalanced "${t.text}" in: ${expr}`);
  }
  if (open.length > 0) throw new Error(`unbalanced "${open.at(-1) ?? ''}" in: ${expr}`);
}

/** The tokens of one expression and what has been read of them so far. */
interface Reading {
  expr: string;
  tokens: Token[];
  found: (Selector & { at: number })[];
  scoped: Scoped[];
}

const JOINS = new Set(['on', 'ignoring', 'group_left', 'group_right']);

/** `by (l)` or `without (l)` at `i`: `sum by (l) (expr)` groups the bracket after the list, `sum (expr)
 * by (l)` the one before it. */
function readGrouping(r: Reading, i: number): number {
  const { labels, next } = labelList(r.tokens, i + 1, r.expr);
  const [from, to] =
    r.tokens[i - 1]?.text === ')' ? [opening(r.tokens, i - 1), i - 1] : [next, closing(r.tokens, next)];
  r.scoped.push({ clause: r.tokens[i]?.text ?? '', labels, from, to });
  return next;
}

/** `on (l)`, `group_left (l)`, …: matched on both sides, so every metric of the expression must have them. */
function readJoin(r: Reading, i: number): number {
  if (r.tokens[i + 1]?.text !== '(') return i + 1;
  const { labels, next } = labelList(r.tokens, i + 1, r.expr);
  r.scoped.push({ clause: r.tokens[i]?.text ?? '', labels, from: -1, to: r.tokens.length });
  return next;
}

/** A selector: `name`, `name{matchers}` at `i`, or `{__name__="name", …}` when `named` is false. */
function readSelector(r: Reading, i: number, named: boolean): number {
  const open = named ? i + 1 : i;
  const m = r.tokens[open]?.text === '{' ? matchers(r.tokens, open, r.expr) : undefined;
  const metric = named ? r.tokens[i]?.text : m?.name;
  if (metric === undefined) throw new Error(`a selector without a metric name cannot be checked: ${r.expr}`);
  if (named && m?.name !== undefined) throw new Error(`a metric named twice in: ${r.expr}`);
  r.found.push({ metric, labels: m?.labels ?? [], at: i });
  return m?.next ?? i + 1;
}

/** Reads the token at `i`; returns the index of the next one to read. */
function step(r: Reading, i: number): number {
  const t = r.tokens[i] as Token;
  const next = r.tokens[i + 1]?.text;
  if (t.kind === 'op' && t.text === '[') return closing(r.tokens, i) + 1; // a range: durations, no names
  if (t.kind === 'op' && t.text === '{') return readSelector(r, i, false);
  if (t.kind === 'variable' && next === '{')
    throw new Error(`a metric named by a template variable cannot be checked: ${r.expr}`);
  if (t.kind !== 'ident') return i + 1; // operators, numbers, strings, variables
  if (t.text === 'by' || t.text === 'without') return readGrouping(r, i);
  if (JOINS.has(t.text)) return readJoin(r, i);
  if (KEYWORDS.has(t.text) || next === '(') return i + 1; // aggregators, keywords, functions
  return readSelector(r, i, true);
}

export function promqlNames(expr: string): PromqlNames {
  const tokens = tokenize(expr);
  checkBalanced(tokens, expr);
  const r: Reading = { expr, tokens, found: [], scoped: [] };
  for (let i = 0; i < tokens.length;) i = step(r, i);
  return {
    selectors: r.found.map(({ metric, labels }) => ({ metric, labels })),
    labelUses: r.scoped.map(({ clause, labels, from, to }) => ({
      clause,
      labels,
      metrics: [...new Set(r.found.filter((s) => s.at > from && s.at < to).map((s) => s.metric))],
    })),
  };
}
