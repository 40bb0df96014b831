// The command line parsed strictly, its defaults taken from the machine, and the cores each --pin gives.
import { describe, expect, it } from '@jest/globals';
import { cpuLayout, HELP, ONLY, parseBenchOptions } from './options.js';

const twoCores = { hasTaskset: true, cpuCount: 2 };

describe('gateway benchmark options', () => {
  it('defaults to a full run, pinning the generator when taskset and two cores are there', () => {
    expect(parseBenchOptions([], twoCores)).toEqual({
      help: false,
      quick: false,
      only: undefined,
      loadgen: undefined,
      pin: 'loadgen',
    });
    expect(parseBenchOptions([], { hasTaskset: false, cpuCount: 8 }).pin).toBe('none');
    expect(parseBenchOptions([], { hasTaskset: true, cpuCount: 1 }).pin).toBe('none');
  });

  it('reads every option', () => {
    const argv = ['--quick', '--only', 'cache', '--loadgen', 'node', '--pin', 'split'];
    expect(parseBenchOptions(argv, twoCores)).toEqual({
      help: false,
      quick: true,
      only: 'cache',
      loadgen: 'node',
      pin: 'split',
    });
    expect(parseBenchOptions(['--only', 'router'], twoCores).only).toBe('router');
    expect(parseBenchOptions(['-h'], twoCores).help).toBe(true);
  });

  it('rejects unknown options, positionals and values outside each choice', () => {
    expect(() => parseBenchOptions(['--fast'], twoCores)).toThrow(/--fast/);
    expect(() => parseBenchOptions(['cache'], twoCores)).toThrow(/cache/);
    expect(() => parseBenchOptions(['--loadgen', 'wrk'], twoCores)).toThrow(
      '--loadgen takes node | vegeta (got wrk)',
    );
    expect(() => parseBenchOptions(['--only', 'latency'], twoCores)).toThrow(
      '--only takes cache | router (got latency)',
    );
  });

  it('names every --only value in the help', () => {
    expect(HELP).toContain(`--only ${ONLY.join('|')} `);
  });

  it('refuses pinning without taskset, but accepts --pin none', () => {
    const noTaskset = { hasTaskset: false, cpuCount: 2 };
    expect(() => parseBenchOptions(['--pin', 'loadgen'], noTaskset)).toThrow('--pin needs taskset');
    expect(parseBenchOptions(['--pin', 'none'], noTaskset).pin).toBe('none');
  });

  it('gives the generator the last core and, split, the servers the others', () => {
    expect(cpuLayout('none', 4)).toEqual({ servers: undefined, loadgen: undefined });
    expect(cpuLayout('loadgen', 4)).toEqual({ servers: undefined, loadgen: '3' });
    expect(cpuLayout('split', 4)).toEqual({ servers: '0-2', loadgen: '3' });
    expect(cpuLayout('split', 2)).toEqual({ servers: '0', loadgen: '1' });
  });
});
