// The `beastmode` of a scale-benchmark kit (kit.ts): the gateway and the simulator, the two commands the
// benchmark runs, bundled into one file with what they import (cli/main.ts would bring the operator and the
// embeddings server too).
import { runGateway } from '../../gateway/src/main.js';
import { runSimulator } from '../../simulator/main.js';

const COMMANDS: Record<string, typeof runGateway> = { gateway: runGateway, simulator: runSimulator };

const [name, ...rest] = process.argv.slice(2);
const run = name === undefined ? undefined : COMMANDS[name];
if (run === undefined) {
  process.stderr.write('Usage: beastmode.mjs gateway|simulator [flags]   (a scale-benchmark kit)\n');
  process.exitCode = 2;
} else {
  try {
    const code = await run(rest, process.env);
    if (code !== undefined) process.exitCode = code;
  } catch (e) {
    process.stderr.write(`beastmode ${name}: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
