// The quick start's demo, run as a new user would: it starts its own control plane, operator, gateway and
// simulators, promotes a healthy version, rolls back a bad one, keeps everything running until Ctrl-C (the
// commands it prints still work a minute later), and leaves no process behind.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../cluster/paths.js';

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

function pgrep(pattern: string): Promise<string[]> {
  return new Promise((resolve) => {
    execFile('pgrep', ['-f', pattern], (_err, stdout) => resolve(stdout.split('\n').filter(Boolean)));
  });
}

/** Starts the demo as `./scripts/demo.sh` would (without --once), collecting its output. */
function startDemo(): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts', 'demo', 'main.ts')], {
    cwd: repoRoot,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  // 'close', not 'exit': the last lines it printed ("Stopped.") may still be in the pipe when it exits.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function waitForOutput(demo: ReturnType<typeof startDemo>, text: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!demo.output().includes(text)) {
    if (Date.now() > until) throw new Error(`the demo never printed "${text}":\n${demo.output()}`);
    if (demo.child.exitCode !== null) throw new Error(`the demo exited early:\n${demo.output()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function expectNothingLeft(): Promise<void> {
  // The control plane's processes carry the demo's directory in their arguments, and its Node children the
  // tether they are started with.
  await new Promise((r) => setTimeout(r, 1500));
  expect(await pgrep(join(repoRoot, '.beastmode', 'demo'))).toEqual([]);
  expect(await pgrep(join(repoRoot, 'scripts', 'lib', 'tether.ts'))).toEqual([]);
}

describe('demo', () => {
  it('tells its story, then keeps the cluster, gateway and operator answering until Ctrl-C', async () => {
    const demo = startDemo();
    await waitForOutput(demo, 'Running until Ctrl-C', 600_000);
    const out = demo.output();
    expect(out).toContain('Rollout 1: llama 3.1 → 3.2 (healthy): Succeeded');
    expect(out).toContain('Rollout 2: llama 3.2 → 3.3-rc (20% errors, 10× latency): RolledBack');
    expect(out).toMatch(/client error rate\s+0\.0% \(0 errors\)/);
    // The load surge: spilled over, the pool grown by its HPA, the traffic back on it, no client error.
    expect(out).toMatch(
      /Load surge: first request spilled to premium after [\d.]+s, pool grown to [2-4] replicas after [\d.]+s, traffic back on the pool after [\d.]+s .*, 0 client errors/,
    );
    // Learned routing: the easy domains moved to the small model, with no client error.
    expect(out).toMatch(/Learned routing: easy domains on llama \d+% → \d+%, .*, 0 client errors/);
    expect(out).toContain('demo: every step behaved');
    // The "Look around" commands it printed must still work a minute later.
    const kubectlLine = /kubectl --kubeconfig (\S+) -n (\S+) get (\S+)/.exec(out);
    const gatewayUrl = /curl -s (http:\/\/[\d.:]+)\/v1\/chat\/completions/.exec(out)?.[1];
    const operatorUrl = /operator: (http:\/\/[\d.:]+)\/metrics/.exec(out)?.[1];
    expect(kubectlLine).not.toBeNull();
    expect(gatewayUrl).toBeDefined();
    expect(operatorUrl).toBeDefined();
    await new Promise((r) => setTimeout(r, 60_000));
    expect(demo.child.exitCode).toBeNull();
    const [, kubeconfig, ns, kinds] = kubectlLine as RegExpExecArray;
    const listed = await run('kubectl', [
      '--kubeconfig',
      kubeconfig!,
      '-n',
      ns!,
      'get',
      kinds!,
      '-o',
      'name',
    ]);
    expect(listed).toContain('modelgateway.beastmode.dev/default');
    expect(listed).toContain('canary.beastmode.dev/chat-llama');
    const answer = await fetch(`${gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'Hello' }] }),
    });
    expect(answer.status).toBe(200);
    expect((await fetch(`${operatorUrl}/healthz`)).status).toBe(200);

    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(130);
    expect(demo.output()).toContain('Stopped.');
    await expectNothingLeft();
  }, 900_000);

  it('stops everything it started on Ctrl-C in the middle of a rollout', async () => {
    const demo = startDemo();
    await waitForOutput(demo, 'Rollout 1:', 240_000);
    await new Promise((r) => setTimeout(r, 3000));
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(130);
    expect(demo.output()).toContain('Stopped.');
    await expectNothingLeft();
  }, 300_000);
});
