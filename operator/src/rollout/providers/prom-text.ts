// A small parser for the Prometheus text exposition format (version 0.0.4): enough for counters, gauges
// and histograms as prom-client writes them. Comments and TYPE/HELP lines are skipped.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseValue(text: string): number {
  switch (text) {
    case '+Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
    case 'NaN':
      return Number.NaN;
    default:
      return Number(text);
  }
}

/** Parses `{a="x",b="y\"z"}` starting at `i` (the `{`); returns the labels and the index after `}`. */
function parseLabels(line: string, i: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let p = i + 1;
  for (;;) {
    while (line[p] === ' ' || line[p] === ',') p++;
    if (line[p] === '}') return [labels, p + 1];
    const eq = line.indexOf('=', p);
    if (eq < 0 || line[eq + 1] !== '"') throw new Error(`bad label at ${p}`);
    const name = line.slice(p, eq).trim();
    let value = '';
    p = eq + 2;
    while (p < line.length && line[p] !== '"') {
      if (line[p] === '\\') {
        const next = line[p + 1];
        value += next === 'n' ? '\n' : (next ?? '');
        p += 2;
      } else {
        value += line[p];
        p++;
      }
    }
    if (p >= line.length) throw new Error('unterminated label value');
    labels[name] = value;
    p++;
  }
}

/** Every sample in the text; a malformed line throws with its line number. */
export function parsePrometheusText(text: string, keep?: (name: string) => boolean): Sample[] {
  const out: Sample[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = (lines[n] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!m) throw new Error(`line ${n + 1}: no metric name`);
    const name = m[0];
    if (keep && !keep(name)) continue;
    let rest = name.length;
    let labels: Record<string, string> = {};
    try {
      if (line[rest] === '{') [labels, rest] = parseLabels(line, rest);
    } catch (err) {
      throw new Error(`line ${n + 1}: ${(err as Error).message}`);
    }
    const fields = line.slice(rest).trim().split(/\s+/);
    const value = parseValue(fields[0] ?? '');
    if (fields[0] === undefined || fields[0] === '' || (Number.isNaN(value) && fields[0] !== 'NaN')) {
      throw new Error(`line ${n + 1}: bad value`);
    }
    out.push({ name, labels, value });
  }
  return out;
}
