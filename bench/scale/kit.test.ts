// The scale benchmark's kit, built and run as it is on a machine without the repository: unpacked by its
// run.sh outside any checkout, with xz or with Python where xz is missing, its gateways, simulator, bare
// proxies and vegeta serving real requests.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../cluster/paths.js';
import { ensureVegeta } from '../lib/vegeta.js';
import { KIT_DIR, buildKit, type Kit } from './kit.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kit-test-'));
const out = path.join(scratch, 'out');
const unpack = path.join(scratch, 'unpacked');
/** The machine's own tools and this Node (the kit is built without one), and nothing of the repository. */
const PATH = `${path.dirname(process.execPath)}:/usr/bin:/bin`;
let vegeta: string;
let kit: Kit;

const which = (tool: string): string | undefined => {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

/** run.sh with `args`, from a directory outside the checkout. */
function runKit(args: string[], env: Record<string, string> = {}) {
  return spawnSync(kit.runner, args, {
    cwd: scratch,
    encoding: 'utf8',
    env: { PATH, BEASTMODE_KIT_UNPACK: unpack, ...env },
    timeout: 120_000,
  });
}

const build = () => buildKit({ repoRoot, out, vegeta, node: undefined, xzLevel: 0 });

beforeAll(async () => {
  const bin = await ensureVegeta(() => undefined);
  if (bin === undefined) throw new Error('the kit carries vegeta, which needs Go to build');
  vegeta = bin;
  kit = await build();
}, 300_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('bench:kit', () => {
  it('holds the bundles, vegeta and the token ranks, and says what it was built from', () => {
    const listing = spawnSync('tar', ['-tJf', kit.archive], { encoding: 'utf8' }).stdout.split('\n');
    for (const f of [
      'bench-scale.mjs',
      'beastmode.mjs',
      'bare-proxy.mjs',
      'vegeta',
      'kit.json',
      'node_modules/gpt-tokenizer/cjs/bpeRanks/o200k_base.js',
    ])
      expect(listing).toContain(`${KIT_DIR}/${f}`);
    // Built without --node: no Node in it, and the manifest says so.
    expect(listing).not.toContain(`${KIT_DIR}/node`);
    expect(kit.manifest.node).toBeUndefined();
    expect(kit.manifest.commit).toMatch(/^([0-9a-f]{12}(\+changes)?|unknown)$/);
    expect(JSON.parse(readFileSync(path.join(out, 'kit.json'), 'utf8'))).toEqual(kit.manifest);
  });

  it('runs the benchmark outside the repository: every policy mode together, a gateway with workers, and the latency at concurrency 1', () => {
    const help = runKit(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--together');
    // A fixed-rate step too small to fail on a busy machine: what is asserted is that every program of
    // the kit started, served and was measured, not how fast.
    const step = ['--gateways', '1', '--seconds', '2', '--start', '50', '--max-steps', '1', '--warm-up', '1'];
    const together = runKit([...step, '--policy', 'bare,on,full', '--together', '--p99-ms', '60000']);
    expect(together.stderr).toBe('');
    expect(together.status).toBe(0);
    expect(together.stdout).toContain(`running a kit of ${kit.manifest.commit}`);
    expect(together.stdout).toMatch(/^direct .* errors 0 {2}pass/m);
    // "full" counts tokens for its limit with the ranks the kit carries, and authenticates with its key.
    expect(together.stdout).toMatch(
      /^1 gateway each offered +50\/s each .* errors 0 {2}pass {2}µs\/request: bare \d+, on \d+ \(\d+\.\d\d×\), full \d+ \(\d+\.\d\d×\)/m,
    );
    const workers = runKit([...step, '--policy', 'full', '--mode', 'workers', '--p99-ms', '60000']);
    expect(workers.status).toBe(0);
    expect(workers.stdout).toMatch(/^1 worker +offered +50\/s .* errors 0 {2}pass/m);
    const latency = runKit([
      '--latency',
      '--policy',
      'bare,full',
      '--rounds',
      '1',
      '--per-round',
      '20',
      '--warm-up',
      '0',
    ]);
    expect(latency.stderr).toBe('');
    expect(latency.stdout).toMatch(
      /^round {2}1 {2}direct \d+\.\d{3} {2}bare \+-?\d+\.\d{3} {2}full \+-?\d+\.\d{3} \(-?\d+\.\d\d× bare\)/m,
    );
    expect(latency.stdout).toMatch(/^ {2}policy full +-?\d+\.\d{3} ms {2}-?\d+\.\d\d× bare$/m);
  }, 240_000);

  it('unpacks once, and again when the kit beside run.sh is another build', async () => {
    const marker = path.join(unpack, 'marker');
    writeFileSync(marker, '');
    expect(runKit(['--help']).status).toBe(0);
    expect(existsSync(marker)).toBe(true);
    kit = await build();
    expect(runKit(['--help']).status).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(path.join(unpack, KIT_DIR, 'kit.json'), 'utf8')).toBe(
      readFileSync(path.join(out, 'kit.json'), 'utf8'),
    );
  }, 120_000);

  // The interpreter itself, not a version manager's shim (a shell script that needs more than this PATH).
  const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  const python3 = python.status === 0 ? python.stdout.trim() : undefined;
  (python3 === undefined ? it.skip : it)('unpacks with Python where the machine has no xz', () => {
    // A PATH with what run.sh calls but xz and tar: Python's tarfile and lzma unpack the archive.
    const bin = path.join(scratch, 'bin');
    mkdirSync(bin);
    for (const tool of ['dirname', 'cmp', 'rm', 'mkdir'])
      symlinkSync(which(tool) as string, path.join(bin, tool));
    symlinkSync(python3 as string, path.join(bin, 'python3'));
    symlinkSync(process.execPath, path.join(bin, 'node'));
    expect(
      spawnSync('sh', ['-c', 'command -v xz || command -v tar'], { env: { PATH: bin } }).status,
    ).not.toBe(0);
    rmSync(unpack, { recursive: true, force: true });
    const r = runKit(['--help'], { PATH: bin });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('--together');
    expect(existsSync(path.join(unpack, KIT_DIR, 'vegeta'))).toBe(true);
  });
});
