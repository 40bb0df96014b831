// What e2e tests share: the kubeconfig of the cluster under test, and kubectl/helm runners bound to it.
// The jest global setup sets E2E_KUBECONFIG (the local control plane, or a cluster the user points at).
import { execFile } from 'node:child_process';
import { repoRoot } from '../../cluster/paths.js';

export { repoRoot };

/** Path of the kubeconfig of the cluster the e2e suites run against. */
export function kubeconfigPath(): string {
  const path = process.env.E2E_KUBECONFIG;
  if (path === undefined || path === '') {
    throw new Error(
      'E2E_KUBECONFIG is not set: run e2e suites with `npm run test:e2e` (its global setup starts a cluster)',
    );
  }
  return path;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runCommand(
  command: string,
  args: string[],
  input?: string,
  timeoutMs = 120_000,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      {
        maxBuffer: 64 * 1024 * 1024,
        timeout: timeoutMs,
        env: { ...process.env, KUBECONFIG: kubeconfigPath() },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`${command} ${args.join(' ')}: ${error.message}`));
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

/** Runs the preinstalled kubectl against the cluster under test; never throws on a non-zero exit code. */
export function kubectl(args: string[], input?: string): Promise<CommandResult> {
  return runCommand('kubectl', ['--kubeconfig', kubeconfigPath(), ...args], input);
}

/** Path of the helm binary: $E2E_HELM (the global setup sets it to the one it built), else `helm` on PATH. */
export function helmPath(): string {
  return process.env.E2E_HELM ?? 'helm';
}

/** Runs helm against the cluster under test; never throws on a non-zero exit code. */
export function helm(args: string[], input?: string): Promise<CommandResult> {
  return runCommand(helmPath(), ['--kubeconfig', kubeconfigPath(), ...args], input);
}

/** Runs kubectl and returns its stdout; throws on a non-zero exit with kubectl's own message. */
export async function kubectlOk(args: string[], input?: string): Promise<string> {
  const res = await kubectl(args, input);
  if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${res.code}): ${res.stderr}`);
  return res.stdout;
}

/**
 * Polls `fn` until it returns a value. Errors count as "not yet" and the last one is reported on timeout,
 * so a test waiting for a condition says what it saw.
 */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 90_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
