// Line charts as small hand-written SVG: one chart per figure, one line per series, the last hour on the
// x axis. The chart carries a text summary (role="img" with a label) for screen readers.
import { esc } from './render.js';

/** Line colours with at least 4.5:1 contrast on white, told apart also by the legend's order. */
const COLOURS = ['#0b57d0', '#b3261e', '#146c2e', '#7d4e00', '#6f42c1', '#0a7c86'];
const W = 360;
const H = 150;
const PAD = { l: 44, r: 8, t: 8, b: 20 };

const fmtTime = (t) => new Date(t).toISOString().slice(11, 16);

/**
 * @param {{title: string, unit: string, format: (v: number) => string, lines: {name: string, at: number[], values: (number|null)[]}[]}} c
 */
export function lineChart(c) {
  const all = c.lines.flatMap((l) => l.values.filter((v) => v !== null));
  const times = c.lines.flatMap((l) => l.at);
  if (all.length === 0 || times.length === 0) {
    return `<figure class="chart"><figcaption>${esc(c.title)}</figcaption><p class="muted">No samples yet.</p></figure>`;
  }
  const t1 = Math.max(...times);
  const t0 = Math.min(Math.min(...times), t1 - 60_000);
  const hi = Math.max(...all) || 1;
  const x = (t) => PAD.l + ((t - t0) / (t1 - t0 || 1)) * (W - PAD.l - PAD.r);
  const y = (v) => H - PAD.b - (v / hi) * (H - PAD.t - PAD.b);
  const paths = c.lines.map((l, i) => {
    let d = '';
    let pen = false;
    l.values.forEach((v, j) => {
      if (v === null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${x(l.at[j]).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    return `<path d="${d}" fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="1.8"/>`;
  });
  const latest = c.lines
    .map((l) => {
      const v = [...l.values].reverse().find((u) => u !== null);
      return `${l.name} ${v === undefined ? 'no value' : c.format(v)}`;
    })
    .join(', ');
  const label = `${c.title}, last hour; latest: ${latest}`;
  const legend = c.lines
    .map(
      (l, i) =>
        `<li><svg class="swatch" width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="${COLOURS[i % COLOURS.length]}"/></svg>${esc(l.name)}</li>`,
    )
    .join('');
  return `<figure class="chart"><figcaption>${esc(c.title)}</figcaption>
<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}">
<line x1="${PAD.l}" y1="${H - PAD.b}" x2="${W - PAD.r}" y2="${H - PAD.b}" stroke="#8c959f"/>
<line x1="${PAD.l}" y1="${PAD.t}" x2="${PAD.l}" y2="${H - PAD.b}" stroke="#8c959f"/>
<text x="${PAD.l - 4}" y="${PAD.t + 8}" text-anchor="end">${esc(c.format(hi))}</text>
<text x="${PAD.l - 4}" y="${H - PAD.b}" text-anchor="end">0</text>
<text x="${PAD.l}" y="${H - 4}">${fmtTime(t0)}</text>
<text x="${W - PAD.r}" y="${H - 4}" text-anchor="end">${fmtTime(t1)}</text>
${paths.join('\n')}
</svg><ul class="legend">${legend}</ul></figure>`;
}
