// One way to read a command line for every `beastmode` subcommand: a table of flags (each with its
// environment variable and a line of help) gives both the parser and the `--help` text, so the two never
// drift apart. Flags win over environment variables; an empty variable counts as unset (a Deployment may
// render `value: ""`). Values come back as strings for the command's zod schema to validate.
import { parseArgs } from 'node:util';
import { z } from 'zod';

export interface FlagSpec {
  /** One line for --help. */
  help: string;
  /** Environment variable read when the flag is absent. */
  env?: string;
  /** Placeholder shown in --help (`--port <port>`); absent for switches. */
  value?: string;
  /** A switch (`--watch`) rather than a flag with a value. */
  boolean?: boolean;
  /** May be given more than once (`--model a --model b`). */
  multiple?: boolean;
  /** Shown in --help; the schema holds the real default. */
  default?: string;
  short?: string;
}

export interface CommandSpec {
  /** `beastmode gateway`. */
  name: string;
  summary: string;
  /** Usage lines after the name, e.g. `--config <file> | --configmap <ns/name> [flags]`. */
  usage: string;
  flags: Record<string, FlagSpec>;
  /** Extra paragraphs after the flags (examples, signals). */
  notes?: string;
}

export type FlagValues = Record<string, string | string[] | boolean | undefined>;

export type ReadResult =
  | { kind: 'help'; text: string }
  | { kind: 'ok'; values: FlagValues; positionals: string[] }
  | { kind: 'error'; message: string };

function flagLabel(name: string, f: FlagSpec): string {
  const short = f.short !== undefined ? `-${f.short}, ` : '    ';
  return `${short}--${name}${f.value !== undefined ? ` <${f.value}>` : ''}`;
}

/** The --help text: usage, the flags with their environment variables and defaults, notes. */
export function helpText(cmd: CommandSpec): string {
  const rows = Object.entries(cmd.flags).map(([name, f]) => {
    const extra = [
      f.env !== undefined ? `env ${f.env}` : undefined,
      f.default !== undefined ? `default ${f.default}` : undefined,
    ].filter((s) => s !== undefined);
    return [flagLabel(name, f), f.help + (extra.length > 0 ? ` (${extra.join(', ')})` : '')] as const;
  });
  rows.push(['-h, --help', 'This help']);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  const lines = rows.map(([l, h]) => `  ${l.padEnd(width)}${h}`);
  return (
    `Usage: ${cmd.name} ${cmd.usage}\n\n${cmd.summary}\n\nFlags:\n${lines.join('\n')}\n` +
    (cmd.notes !== undefined ? `\n${cmd.notes.trimEnd()}\n` : '')
  );
}

/** Parses argv against the table, then fills what is missing from the environment. */
export function readFlags(cmd: CommandSpec, argv: readonly string[], env: NodeJS.ProcessEnv): ReadResult {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, f] of Object.entries(cmd.flags)) {
    options[name] = {
      type: f.boolean ? 'boolean' : 'string',
      ...(f.multiple ? { multiple: true } : {}),
      ...(f.short !== undefined ? { short: f.short } : {}),
    };
  }
  let parsed: { values: FlagValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    return { kind: 'error', message: `${(err as Error).message}; see ${cmd.name} --help` };
  }
  if (parsed.values.help === true) return { kind: 'help', text: helpText(cmd) };
  const values: FlagValues = {};
  for (const [name, f] of Object.entries(cmd.flags)) {
    const fromEnv = f.env !== undefined && env[f.env] !== '' ? env[f.env] : undefined;
    const v = parsed.values[name] ?? (fromEnv !== undefined && f.multiple ? fromEnv.split(',') : fromEnv);
    if (v !== undefined) values[name] = f.boolean && typeof v === 'string' ? v === 'true' || v === '1' : v;
  }
  return { kind: 'ok', values, positionals: parsed.positionals };
}

/**
 * readFlags, then the command's schema: the valid values, or the exit code once --help was printed (0) or a
 * bad flag explained on stderr (2). For server commands whose flags are all there is to read.
 */
export function readValidFlags<S extends z.ZodType>(
  cmd: CommandSpec,
  schema: S,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { values: z.infer<S> } | { exit: number } {
  const read = readFlags(cmd, argv, env);
  if (read.kind === 'help') {
    process.stdout.write(read.text);
    return { exit: 0 };
  }
  const parsed = read.kind === 'ok' ? schema.safeParse(read.values) : undefined;
  if (parsed === undefined || !parsed.success) {
    const why = parsed === undefined ? (read as { message: string }).message : z.prettifyError(parsed.error);
    process.stderr.write(`${cmd.name}: invalid flags: ${why}\n`);
    return { exit: 2 };
  }
  return { values: parsed.data };
}
