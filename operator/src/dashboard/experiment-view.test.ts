import { CONCLUDED_STATUS, experimentFixture } from '../../../testkit/experiment-fixture.js';
import { experimentView, type ExperimentView } from './experiment-view.js';

type Parts = [string, string][];
interface ExperimentPageModule {
  experimentPage: (v: ExperimentView | undefined, canAct: boolean) => Parts;
  intervalPlot: (metric: string, c: { lower?: number; upper?: number; improvement?: number }) => string;
}
interface PagesModule {
  overview: (views: Map<string, unknown>) => Parts;
}

// The page's own modules, as the browser loads them (plain ES modules without types).
const load = async <T>(file: string): Promise<T> => (await import(`./static/${file}`)) as T;
const page = (v: ExperimentView, canAct = true): Promise<string> =>
  load<ExperimentPageModule>('experiment.js').then((m) =>
    m
      .experimentPage(v, canAct)
      .map(([, html]) => html)
      .join('\n'),
  );

describe('experimentView', () => {
  test('carries the split, samples, means, comparisons and progress, never a variant template', () => {
    const v = experimentView(experimentFixture());
    expect(v).toMatchObject({
      key: 'experiment/llm/ab',
      route: 'chat',
      phase: 'Concluded',
      verdict: 'winner',
      winner: 'fast',
      health: 'progressing',
      metrics: ['latency-ms', 'error-rate'],
      plannedSamplesPerVariant: 400,
      collectedSamplesPerVariant: 350,
      awaitingPromotion: true,
    });
    expect(v.variants).toEqual([
      {
        name: 'control',
        backend: 'main',
        control: true,
        weight: 0.5,
        samples: { 'latency-ms': 420, 'error-rate': 430 },
        means: { 'latency-ms': 60.1, 'error-rate': 0.0093 },
      },
      {
        name: 'fast',
        backend: 'quick',
        control: false,
        weight: 0.5,
        samples: { 'latency-ms': 350, 'error-rate': 360 },
        means: { 'latency-ms': 5.2, 'error-rate': 0.0083 },
      },
    ]);
    expect(JSON.stringify(v)).not.toContain('a-private-system-prompt');
  });

  test('offers promotion only when concluded with a winner and manual promotion', () => {
    expect(experimentView(experimentFixture(CONCLUDED_STATUS, { promotion: 'auto' })).awaitingPromotion).toBe(
      false,
    );
    const noWinner = experimentFixture({ ...CONCLUDED_STATUS, verdict: 'no-difference' });
    delete noWinner.status?.winner;
    expect(experimentView(noWinner).awaitingPromotion).toBe(false);
    expect(
      experimentView(experimentFixture({ ...CONCLUDED_STATUS, phase: 'Running' })).awaitingPromotion,
    ).toBe(false);
    const fresh = experimentView(experimentFixture(null));
    expect(fresh).toMatchObject({ phase: 'Pending', collectedSamplesPerVariant: 0, comparisons: [] });
    expect(fresh.variants.map((x) => x.weight)).toEqual([undefined, undefined]);
  });
});

describe('the experiment page', () => {
  test('shows the figures: split, samples, mean, improvement, interval, p-value, progress, verdict', async () => {
    const html = await page(experimentView(experimentFixture()));
    expect(html).toContain('<span data-testid="experiment-winner">fast</span>');
    expect(html).toContain('<span class="badge winner">winner</span>');
    expect(html).toContain('<span data-testid="mean-control">60.1 ms</span>');
    expect(html).toContain('<span data-testid="mean-fast">5.2 ms</span>');
    expect(html).toContain('<span data-testid="improvement-fast">+54.9 ms</span>');
    expect(html).toContain('[+50.1 ms, +59.7 ms]');
    expect(html).toContain('<td class="num">0.0001</td>');
    expect(html).toContain('<td class="num">50.0%</td>');
    expect(html).toMatch(/<td class="num">420<\/td><td class="num">430<\/td>/);
    expect(html).toContain('350 of 400 (88%)');
    expect(html).toContain('<progress max="400" value="350"');
    expect(html).toMatch(
      /<svg class="interval better"[^>]*aria-label="improvement \+54\.9 ms, always-valid interval \+50\.1 ms to \+59\.7 ms, above 0"/,
    );
    expect(html).toContain('error-rate within 1.0%');
    expect(html).toContain('fast: latency-ms better by 54.9');
    expect(html).toMatch(
      /<button type="button" class="primary" data-action="promote">Promote winner fast<\/button>/,
    );
    expect(html).toContain('AwaitingPromotion');
  });

  test('draws the interval around 0: the zero mark between the bounds when it straddles', async () => {
    const { intervalPlot } = await load<ExperimentPageModule>('experiment.js');
    const svg = intervalPlot('latency-ms', { lower: -10, upper: 30, improvement: 10 });
    expect(svg).toContain('class="interval straddles"');
    const x = (cls: string) => Number(new RegExp(`class="${cls}" x1="([\\d.]+)"`).exec(svg)?.[1]);
    expect(x('zero')).toBeGreaterThan(x('ci'));
    expect(svg).toContain('which contains 0');
    expect(intervalPlot('error-rate', { lower: -0.05, upper: -0.01, improvement: -0.03 })).toContain(
      'interval worse',
    );
    expect(intervalPlot('latency-ms', {})).toContain('no interval yet');
  });

  test('escapes every text from the cluster', async () => {
    const v = experimentView(
      experimentFixture({
        ...CONCLUDED_STATUS,
        reasons: ['<img src=x onerror=alert(1)>'],
        message: '"><script>alert(2)</script>',
        comparisons: [{ variant: 'fast', standing: 'worse', breaches: ['error-rate <b>worse</b>'] }],
      }),
    );
    const html = await page({ ...v, name: '<svg onload=alert(3)>', winner: '<i>w</i>' });
    expect(html).not.toMatch(/<img|<script|<svg onload|<b>|<i>/);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(html).toContain('Experiment llm/&lt;svg onload=alert(3)&gt;');
    expect(html).toContain('error-rate &lt;b&gt;worse&lt;/b&gt;');
  });

  test('keeps promote disabled without a winner, and says the dashboard is read-only when it is', async () => {
    const running = experimentFixture({ ...CONCLUDED_STATUS, phase: 'Running', verdict: 'continue' });
    delete running.status?.winner;
    const html = await page(experimentView(running), false);
    expect(html).toContain('data-action="promote" disabled>Promote winner</button>');
    expect(html).toContain('Promote applies once the experiment has concluded with a winner');
    expect(html).toContain('Use <code>beastmode experiment promote|abort</code>');
  });

  test('the overview lists experiments with route, phase, verdict, winner and Ready', async () => {
    const v = experimentView(experimentFixture());
    const { overview } = await load<PagesModule>('pages.js');
    const part = overview(new Map([[v.key, v]])).find(([id]) => id === 'experiments')?.[1] ?? '';
    expect(part).toContain('<a href="#/experiment/llm/ab">ab</a>');
    for (const cell of [
      '<td>chat</td>',
      '<span class="badge Concluded">Concluded</span>',
      '<span class="badge winner">winner</span>',
      '<td>fast</td>',
      'AwaitingPromotion: winner fast',
    ])
      expect(part).toContain(cell);
  });
});
