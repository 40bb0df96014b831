import { jest } from '@jest/globals';
import { helpText, readFlags, type CommandSpec } from './flags.js';
import { main, USAGE } from './main.js';

async function capture(argv: string[]): Promise<{ code: number | undefined; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((c) => (out.push(String(c)), true));
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((c) => (err.push(String(c)), true));
  try {
    const code = await main(argv, {});
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('beastmode', () => {
  test.each([
    'operator',
    'gateway',
    'canary',
    'experiment',
    'simulator',
    'cluster',
    'router',
    'cache',
    'embeddings',
  ])(
    '%s answers --help with its usage and exit code 0',
    async (command) => {
      const r = await capture([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: beastmode ${command}`);
      expect(r.out).toContain('-h, --help');
    },
    20_000,
  );

  test('lists every command with --help, and exits 2 without one', async () => {
    const help = await capture(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['operator', 'gateway', 'canary', 'simulator', 'cluster', 'router', 'cache']) {
      expect(help.out).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
    const none = await capture([]);
    expect(none.code).toBe(2);
    expect(none.err).toBe(USAGE);
  });

  test('names an unknown command', async () => {
    const r = await capture(['gatway']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown command "gatway"');
  });

  test('refuses an unknown flag with exit code 2 and a pointer to --help', async () => {
    const r = await capture(['gateway', '--prot', '1']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--prot.*beastmode gateway --help/);
  });

  test.each([
    [
      'simulator',
      ['--prot', '1'],
      /beastmode simulator: invalid flags: .*--prot.*beastmode simulator --help/,
    ],
    ['embeddings', ['--threads', '0'], /beastmode embeddings: invalid flags: .*\n.*threads/],
  ])(
    '%s refuses a bad flag with exit code 2 and why, before starting anything',
    async (command, args, why) => {
      const r = await capture([command, ...args]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(why);
      expect(r.out).toBe('');
    },
  );
});

describe('readFlags', () => {
  const cmd: CommandSpec = {
    name: 'tool',
    usage: '[flags]',
    summary: 'A tool',
    flags: {
      port: { value: 'port', env: 'TOOL_PORT', default: '1', help: 'The port' },
      model: { value: 'name', env: 'TOOL_MODELS', multiple: true, help: 'A model' },
      watch: { boolean: true, env: 'TOOL_WATCH', help: 'Follow' },
    },
  };

  test('flags win over the environment; an empty variable counts as unset', () => {
    const r = readFlags(cmd, ['--port', '9'], { TOOL_PORT: '8', TOOL_MODELS: '', TOOL_WATCH: '1' });
    expect(r).toEqual({ kind: 'ok', values: { port: '9', watch: true }, positionals: [] });
  });

  test('a repeatable flag reads a comma list from its variable', () => {
    const r = readFlags(cmd, [], { TOOL_MODELS: 'a,b' });
    expect(r.kind === 'ok' && r.values.model).toEqual(['a', 'b']);
    const flags = readFlags(cmd, ['--model', 'x', '--model', 'y'], { TOOL_MODELS: 'a' });
    expect(flags.kind === 'ok' && flags.values.model).toEqual(['x', 'y']);
  });

  test('the help text shows every flag with its variable and default', () => {
    const text = helpText(cmd);
    expect(text).toMatch(/--port <port>\s+The port \(env TOOL_PORT, default 1\)/);
    expect(text).toMatch(/--model <name>\s+A model \(env TOOL_MODELS\)/);
    expect(text).toMatch(/--watch\s+Follow \(env TOOL_WATCH\)/);
  });
});
