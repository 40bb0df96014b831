// The demo's dashboard: the operator serves it on a free loopback port, in token mode with a random token
// written to a file only the user can read, so the story (the canaries stepping, rolling back, the surge)
// can be watched in a browser while the terminal view runs.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../cluster/control-plane.js';

export interface DemoDashboard {
  url: string;
  token: string;
  tokenFile: string;
  /** The operator flags that turn it on. */
  args: string[];
}

export async function demoDashboard(dir: string): Promise<DemoDashboard> {
  const port = await freePort();
  const token = randomBytes(24).toString('base64url');
  const tokenFile = join(dir, 'dashboard-token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  return {
    url: `http://127.0.0.1:${port}/`,
    token,
    tokenFile,
    args: [
      ...['--dashboard-port', String(port), '--dashboard-address', '127.0.0.1'],
      ...['--dashboard-auth', 'token', '--dashboard-token-file', tokenFile],
    ],
  };
}

/** What to print: where to open it and how to log in. */
export const dashboardLine = (d: DemoDashboard): string =>
  `dashboard: ${d.url}  (log in with the token ${d.token}, also in ${d.tokenFile})`;
