// The quick start's demo, run as a new user would with --once: it starts its own control plane, operator,
// gateway and simulators, promotes a healthy version, rolls back a bad one, and exits non-zero if any step
// misbehaves. This test also checks that it leaves no process behind.
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './harness/paths.js';

function pgrep(pattern: string): Promise<string[]> {
  return new Promise((resolve) => {
    execFile('pgrep', ['-f', pattern], (_err, stdout) => resolve(stdout.split('\n').filter(Boolean)));
  });
}

describe('demo --once', () => {
  it('promotes the healthy version, rolls back the bad one, and stops everything it started', async () => {
    const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
    const child = spawn(tsx, [join(repoRoot, 'scripts', 'demo', 'main.ts'), '--once'], {
      cwd: repoRoot,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) console.log(out);
    expect(code).toBe(0);
    expect(out).toContain('Rollout 1: llama 3.1 → 3.2 (healthy): Succeeded');
    expect(out).toContain('Rollout 2: llama 3.2 → 3.3-rc (20% errors, 10× latency): RolledBack');
    expect(out).toMatch(/client error rate\s+0\.0% \(0 errors\)/);
    expect(out).toContain('demo --once: every step behaved');
    // Nothing the demo started survives it: the control plane's processes carry the demo's directory in their
    // arguments, and its Node children the tether they are started with.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await pgrep(join(repoRoot, '.beastmode', 'demo'))).toEqual([]);
    expect(await pgrep(join(repoRoot, 'scripts', 'lib', 'tether.ts'))).toEqual([]);
  }, 600_000);

  it('stops everything it started on Ctrl-C in the middle of a rollout', async () => {
    const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
    const child = spawn(tsx, [join(repoRoot, 'scripts', 'demo', 'main.ts')], {
      cwd: repoRoot,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the rollout did not start:\n${out}`)), 240_000);
      const onData = (d: Buffer): void => {
        out += d.toString();
        if (out.includes('Rollout 1:')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    });
    await new Promise((r) => setTimeout(r, 3000));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(out).toContain('Stopped.');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await pgrep(join(repoRoot, '.beastmode', 'demo'))).toEqual([]);
    expect(await pgrep(join(repoRoot, 'scripts', 'lib', 'tether.ts'))).toEqual([]);
  }, 300_000);
});
