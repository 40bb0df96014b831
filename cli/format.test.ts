import { describe, expect, it } from '@jest/globals';
import { CANDIDATE_BACKEND, newCanaryFixture } from '../testkit/canary.js';
import { formatCanaryStatus } from './format.js';

describe('formatCanaryStatus', () => {
  it('shows phase, step, weight, figures per variant and conditions', () => {
    const f = newCanaryFixture();
    f.tick();
    f.advance();
    f.setRouteBackend(CANDIDATE_BACKEND).advance(3);
    const text = formatCanaryStatus(f.canary, f.now);
    expect(text).toContain('Phase:       Progressing');
    expect(text).toContain('Weight:      25% to the candidate');
    expect(text).toContain('Step:        3/5 (1 → 5 → 25 → 50 → 100)');
    expect(text).toContain('(model llama-3.1-8b)');
    expect(text).toMatch(/canary\s+200\s+0\.1%\s+120ms\s+60ms\s+\$0\.0001/);
    expect(text).toMatch(/Reconciling\s+True\s+Progressing\s+\d+s\s+Progressing: step 3\/5/);
  });

  it('shows a rollback with its failures', () => {
    const f = newCanaryFixture({
      analysis: { failureThreshold: 1, metrics: [{ name: 'error-rate', max: 0.01 }] },
    });
    f.tick();
    f.advance();
    f.setRouteBackend(CANDIDATE_BACKEND).advance();
    f.metrics = () => ({
      stable: { requests: 1000, errorRate: 0 },
      canary: { requests: 100, errorRate: 0.2 },
    });
    f.advance();
    const text = formatCanaryStatus(f.canary, f.now);
    expect(text).toContain('Phase:       RolledBack');
    expect(text).toContain('Rolled back: ');
    expect(text).toContain('! error-rate 0.2 > max 0.01');
    expect(text).toMatch(/Stalled\s+True\s+RolledBack/);
  });
});
