// bench:scale's command line: defaults, and a clear refusal of what it cannot run.
import { describe, expect, it } from '@jest/globals';
import { readOptions, USAGE } from './options.js';

const refusal = (args: string[]): string => {
  const r = readOptions(args);
  if (r.ok) throw new Error(`accepted ${args.join(' ')}`);
  expect(r.exit).toBe(2);
  expect(r.text).toContain(USAGE);
  return r.text.split('\n')[0] as string;
};

describe('bench:scale options', () => {
  it('defaults to the rate steps of policy on, gateway counts scaled to the machine', () => {
    const r = readOptions([]);
    expect(r.ok && r.options).toMatchObject({
      gateways: undefined,
      mode: 'processes',
      policies: ['on'],
      together: false,
      latency: false,
      seconds: 10,
      warmUp: 15,
      start: 1000,
      p99Ms: 25,
      maxSteps: 8,
      rounds: 9,
      perRound: 1000,
    });
  });

  it('reads lists and numbers', () => {
    const r = readOptions([
      '--gateways',
      '1,4',
      '--policy',
      'bare,on,full',
      '--together',
      '--warm-up',
      '0',
      '--per-round',
      '20',
    ]);
    expect(r.ok && r.options).toMatchObject({
      gateways: [1, 4],
      policies: ['bare', 'on', 'full'],
      together: true,
      warmUp: 0,
      perRound: 20,
    });
  });

  it('answers --help with the usage, exit 0', () => {
    expect(readOptions(['--help'])).toEqual({ ok: false, exit: 0, text: USAGE });
  });

  it('refuses what it cannot run, saying which option and why', () => {
    expect(refusal(['--mode', 'threads'])).toBe(
      'bench:scale: --mode takes processes or workers (got threads)',
    );
    expect(refusal(['--policy', 'on,on'])).toContain('--policy takes distinct modes of bare, off, on, full');
    expect(refusal(['--policy', 'fast'])).toContain('(got fast)');
    expect(refusal(['--together'])).toBe('bench:scale: --together compares two --policy modes or more');
    expect(refusal(['--gateways', '2,x'])).toContain('--gateways takes whole numbers above zero');
    expect(refusal(['--seconds', '0'])).toBe('bench:scale: --seconds takes a number above zero (got 0)');
    expect(refusal(['--per-round', 'many'])).toContain('--per-round takes a number above zero');
    expect(refusal(['--warm-up=-1'])).toContain('--warm-up takes zero seconds or more');
    expect(refusal(['--unknown'])).toContain("Unknown option '--unknown'");
  });
});
