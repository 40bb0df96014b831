import {
  accuracy,
  forecast,
  forecastSteps,
  initialForecast,
  observe,
  type ForecastSettings,
  type ForecastState,
} from './forecast.js';

const MIN = 60_000;
const settings = (seasonSteps: number): ForecastSettings => ({
  stepMs: MIN,
  seasonMs: seasonSteps * MIN,
  alpha: 0.3,
  beta: 0.02,
  gamma: 0.2,
});

/** Feeds one observation per step (in the middle of it) from `series(step)`, for `steps` steps. */
function feed(s: ForecastSettings, steps: number, series: (i: number) => number, st = initialForecast(0, s)) {
  let state = st;
  for (let i = 0; i < steps; i++) state = observe(state, s, i * MIN + MIN / 2, series(i));
  return state;
}

describe('the request-rate forecaster', () => {
  test('forecasts a steady rate as itself', () => {
    const s = settings(60);
    const st = feed(s, 200, () => 100);
    expect(forecastSteps(st, 10)).toBeCloseTo(100, 5);
  });

  test('extrapolates a ramp before it has seen a whole season', () => {
    const s = settings(1440);
    const st = feed(s, 60, (i) => 10 + i);
    // The step being filled is 59 (value 69); ten steps on, a ramp of 1/step is near 78.
    const ahead = forecastSteps(st, 10);
    expect(ahead).toBeGreaterThan(69);
    expect(ahead).toBeLessThan(90);
  });

  test('learns a daily cycle and forecasts it ten steps ahead better than the last value does', () => {
    const m = 120;
    const s = settings(m);
    const rate = (i: number) => 200 + 150 * Math.sin((2 * Math.PI * i) / m);
    let st: ForecastState = initialForecast(0, s);
    let errForecast = 0;
    let errLastValue = 0;
    let scored = 0;
    const made = new Map<number, number>();
    for (let i = 0; i < 4 * m; i++) {
      st = observe(st, s, i * MIN + MIN / 2, rate(i));
      const f = forecast(st, s, 10 * MIN);
      st = f.state;
      made.set(i + 9, f.value);
      if (i >= 3 * m && made.has(i)) {
        errForecast += Math.abs((made.get(i) as number) - rate(i)) / rate(i);
        errLastValue += Math.abs(rate(i - 9) - rate(i)) / rate(i);
        scored++;
      }
    }
    const forecastAccuracy = 1 - errForecast / scored;
    expect(forecastAccuracy).toBeGreaterThan(0.95);
    expect(errForecast).toBeLessThan(errLastValue / 2);
    // The forecaster scores its own forecasts as their steps complete.
    expect(accuracy(st)).toBeGreaterThan(0.95);
  });

  test('reads a gap in the observations as the forecast, not as zero load', () => {
    const s = settings(60);
    const st = feed(s, 100, () => 100);
    // Nothing for ten steps, then one observation: the steps between are filled with the forecast.
    const after = observe(st, s, 110 * MIN + MIN / 2, 100);
    expect(forecastSteps(after, 1)).toBeGreaterThan(90);
  });

  test('never forecasts a negative rate', () => {
    const s = settings(1440);
    const st = feed(s, 30, (i) => Math.max(0, 300 - 20 * i));
    expect(forecastSteps(st, 60)).toBe(0);
  });

  test('is plain data: the state survives JSON and is never changed in place', () => {
    const s = settings(10);
    const st = feed(s, 25, (i) => 50 + (i % 10));
    const copy = JSON.parse(JSON.stringify(st)) as ForecastState;
    expect(copy).toEqual(st);
    const frozen = JSON.stringify(st);
    observe(st, s, 40 * MIN, 80);
    forecast(st, s, 5 * MIN);
    expect(JSON.stringify(st)).toBe(frozen);
  });

  test('has no accuracy before a forecast was scored', () => {
    const s = settings(10);
    expect(accuracy(feed(s, 5, () => 1))).toBeUndefined();
  });
});
