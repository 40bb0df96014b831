// The soak as CI runs it: `bench/soak/main.ts --minutes 5` (one gateway CLI process, the simulator, vegeta
// at the default rate) as a child process, which must exit 0: no errors, no growth of descriptors, p99 or
// event-loop delay from minutes 2–3 (after the warm-up) to minutes 4–5, and no growth of resident memory or
// the live heap from the middle of the run (minute 3) to its end. Its every line is printed.
import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const MINUTES = 5;

let child: ReturnType<typeof spawn> | undefined;

afterAll(() => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
});

test(`a ${MINUTES}-minute soak of one gateway process finds no leak, no drift and no error`, async () => {
  const started = Date.now();
  child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/soak/main.ts', '--minutes', String(MINUTES)],
    // NODE_OPTIONS of jest (--experimental-vm-modules) must not reach the soak and its gateway.
    { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child?.once('exit', resolve));
  console.log(`${output}\nsoak exited ${code} after ${((Date.now() - started) / 1000).toFixed(0)} s`);
  expect(output).toMatch(
    /^Verdict, minutes 2–3 against minutes 4–5, the best of each; memory on minute 3 against minute 5: OK$/m,
  );
  expect(output).toMatch(/^ {2}ok {6}live heap: [\d.]+ MiB → [\d.]+ MiB/m);
  expect(code).toBe(0);
}, 480_000);
