// npm run bench:forecast: predictive against reactive scaling on a replayed trace. The trace is generated
// (seeded, so every run replays the same one): days of a diurnal request rate with noise and short surges.
// It prints the forecaster's accuracy at the horizon (1 − MAPE over the last days, surges included and
// excluded), then a replica simulation side by side: reactive (the HPA on the rate it sees, replicas ready a
// minute after it asks) and predictive (the HPA on the max of the rate and the forecast): minutes
// under-provisioned, replica-minutes spent, and the worst shortfall.
import { parseArgs } from 'node:util';
import { seededRandom } from '../../gateway/src/routing/seeded-random.js';
import {
  DEFAULT_SMOOTHING,
  forecast,
  initialForecast,
  observe,
  type ForecastSettings,
  type ForecastState,
} from '../../operator/src/autoscaling/forecast.js';

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '5' },
    horizon: { type: 'string', default: '10' },
    capacity: { type: 'string', default: '50' },
    seed: { type: 'string', default: '7' },
    'ready-minutes': { type: 'string', default: '3' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(
    `Usage: npm run bench:forecast -- [--days 5] [--horizon 10 (minutes)] [--capacity 50 (req/s per replica)] [--seed 7]\n`,
  );
  process.exit(0);
}
const DAYS = Number(values.days);
const HORIZON = Number(values.horizon);
const CAPACITY = Number(values.capacity);
const MIN = 60_000;
const DAY = 1440;
/** The HPA's target: replicas run at 80% of their capacity. */
const TARGET_UTILISATION = 0.8;
/** Minutes from a scale-up decision to the new replicas serving (a model server loads its weights). */
const READY_DELAY = Number(values['ready-minutes']);

/**
 * Requests/s per minute: a day's cycle (quiet night, a long day and an evening peak), 2% Gaussian noise per
 * minute (a rate of hundreds per second averaged over a minute is far smoother than that), and about three
 * unannounced surges a day (5–19 minutes at +60%), which no forecast can see coming.
 */
function trace(days: number, seed: number): { rate: number[]; surge: boolean[] } {
  const random = seededRandom(seed); // the same trace on every run
  const rate: number[] = [];
  const surge: boolean[] = [];
  let surgeLeft = 0;
  for (let i = 0; i < days * DAY; i++) {
    const h = (i % DAY) / 60;
    const diurnal =
      60 + 300 * Math.max(0, Math.sin((Math.PI * (h - 6)) / 16)) + 80 * Math.exp(-((h - 20) ** 2) / 2);
    if (surgeLeft === 0 && random() < 3 / DAY) surgeLeft = 5 + Math.floor(random() * 15);
    const boost = surgeLeft > 0 ? 1.6 : 1;
    surge.push(surgeLeft > 0);
    if (surgeLeft > 0) surgeLeft--;
    const gaussian = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    rate.push(diurnal * boost * (1 + 0.02 * gaussian));
  }
  return { rate, surge };
}

const replicasFor = (rate: number): number => Math.max(1, Math.ceil(rate / (CAPACITY * TARGET_UTILISATION)));

interface Outcome {
  underMinutes: number;
  replicaMinutes: number;
  worstShortfall: number;
}

/** Replays the trace through an HPA whose wanted replicas (per minute) are `wanted`. */
function simulate(rate: number[], wanted: number[], from: number): Outcome {
  let ready = wanted[from] ?? 1;
  const out: Outcome = { underMinutes: 0, replicaMinutes: 0, worstShortfall: 0 };
  for (let i = from; i < rate.length; i++) {
    // Scale-up takes READY_DELAY minutes; scale-down is immediate here (the HPA's window only delays it).
    const want = wanted[i - READY_DELAY] ?? ready;
    ready = want;
    const capacity = ready * CAPACITY;
    const r = rate[i] as number;
    out.replicaMinutes += ready;
    if (capacity < r) {
      out.underMinutes++;
      out.worstShortfall = Math.max(out.worstShortfall, (r - capacity) / r);
    }
  }
  return out;
}

function main(): void {
  const { rate, surge } = trace(DAYS, Number(values.seed));
  const s: ForecastSettings = { stepMs: MIN, seasonMs: DAY * MIN, ...DEFAULT_SMOOTHING };
  let st: ForecastState = initialForecast(0, s);
  const forecasts: number[] = [];
  for (let i = 0; i < rate.length; i++) {
    // The scrape at the end of minute i sees that minute's rate; the forecast is for minute i + HORIZON.
    st = observe(st, s, i * MIN + MIN / 2, rate[i] as number);
    const f = forecast(st, s, (HORIZON + 1) * MIN);
    st = f.state;
    forecasts[i + HORIZON] = f.value;
  }
  const from = 2 * DAY; // after a full season of learning and one more day
  let err = 0;
  let n = 0;
  let errCalm = 0;
  let nCalm = 0;
  for (let i = from; i < rate.length; i++) {
    const e = Math.abs((forecasts[i] ?? 0) - (rate[i] as number)) / (rate[i] as number);
    err += e;
    n++;
    if (!surge[i]) {
      errCalm += e;
      nCalm++;
    }
  }
  const reactive = rate.map(replicasFor);
  const predictive = rate.map((r, i) => replicasFor(Math.max(r, forecasts[i + HORIZON] ?? 0)));
  const a = simulate(rate, reactive, from);
  const b = simulate(rate, predictive, from);
  const days = (rate.length - from) / DAY;
  process.stdout.write(
    `Forecast benchmark: ${DAYS} days of a generated diurnal trace (seed ${values.seed}), 1-minute steps, ` +
      `horizon ${HORIZON} min, season 1 day, scored over the last ${days} days\n` +
      `forecast accuracy at the horizon (1 - MAPE): ${(100 * (1 - err / n)).toFixed(1)}% over every minute, ` +
      `${(100 * (1 - errCalm / nCalm)).toFixed(1)}% outside surges (${n - nCalm} surge minutes)\n\n` +
      `replicas: ${CAPACITY} req/s each, HPA target ${TARGET_UTILISATION * 100}% utilisation, new replicas serving ${READY_DELAY} min after the decision\n` +
      `${''.padEnd(12)}${'under-provisioned minutes'.padStart(28)}${'replica-minutes'.padStart(18)}${'worst shortfall'.padStart(18)}\n`,
  );
  for (const [name, o] of [
    ['reactive', a],
    ['predictive', b],
  ] as const) {
    process.stdout.write(
      `${name.padEnd(12)}${String(o.underMinutes).padStart(28)}${String(o.replicaMinutes).padStart(18)}${`${(100 * o.worstShortfall).toFixed(0)}%`.padStart(18)}\n`,
    );
  }
}

main();
