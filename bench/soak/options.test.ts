// The soak's command line, parsed strictly.
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_MINUTES, DEFAULT_RATE, HELP, parseSoakOptions } from './options.js';

describe('soak options', () => {
  it('defaults to an hour at the default rate', () => {
    expect(parseSoakOptions([])).toEqual({ help: false, minutes: DEFAULT_MINUTES, rate: DEFAULT_RATE });
    expect(DEFAULT_MINUTES).toBe(60);
  });

  it('reads every option', () => {
    expect(parseSoakOptions(['--minutes', '5', '--rate', '200'])).toEqual({
      help: false,
      minutes: 5,
      rate: 200,
    });
    expect(parseSoakOptions(['--minutes=2']).minutes).toBe(2);
    expect(parseSoakOptions(['-h']).help).toBe(true);
    expect(parseSoakOptions(['--help']).help).toBe(true);
  });

  it('needs a warm-up minute and one more, and a whole positive rate', () => {
    expect(() => parseSoakOptions(['--minutes', '1'])).toThrow('--minutes takes a whole number ≥ 2 (got 1)');
    expect(() => parseSoakOptions(['--minutes', '2.5'])).toThrow('--minutes');
    expect(() => parseSoakOptions(['--rate', '0'])).toThrow('--rate takes a whole number ≥ 1 (got 0)');
    expect(() => parseSoakOptions(['--rate', 'fast'])).toThrow('--rate');
  });

  it('rejects unknown options and positionals', () => {
    expect(() => parseSoakOptions(['--hours', '1'])).toThrow(/--hours/);
    expect(() => parseSoakOptions(['5'])).toThrow(/5/);
  });

  it('names every option and its default in the help', () => {
    expect(HELP).toContain(`default ${DEFAULT_MINUTES}`);
    expect(HELP).toContain(`default ${DEFAULT_RATE}`);
    expect(HELP).toContain('npm run bench:soak --');
  });
});
