// The keys.yaml format of the Secret a ModelGateway names in auth.apiKeysSecretRef, and its parser into
// the hashed form the gateway holds. Plaintext keys are hashed here and never kept.
import { hash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Caller } from '../policy/types.js';

const name = z
  .string()
  .min(1)
  .max(128)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'must be letters, digits and . _ -, starting with a letter or digit',
  );

export const KeyEntry = z
  .object({
    name: name.describe('Shown in metrics (key label), logs and errors; never the key itself'),
    team: name.optional().describe('Team the key belongs to, for team limits, budgets and cache scope'),
    models: z
      .array(z.string().min(1).max(128))
      .max(256)
      .optional()
      .describe('Client-facing model names the key may call; omitted = every model'),
    key: z.string().min(16).max(512).optional().describe('The key in plaintext (hashed on load)'),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits')
      .optional()
      .describe('Hex SHA-256 of the key, so the Secret need not hold it'),
  })
  .strict()
  .refine((k) => (k.key === undefined) !== (k.sha256 === undefined), {
    message: 'a key needs exactly one of key or sha256',
  });
export type KeyEntry = z.infer<typeof KeyEntry>;

export const KeysFile = z
  .object({ keys: z.array(KeyEntry).max(100_000) })
  .strict()
  .superRefine((f, ctx) => {
    const names = new Set<string>();
    for (const [i, k] of f.keys.entries()) {
      if (names.has(k.name))
        ctx.addIssue({ code: 'custom', message: `duplicate key name ${k.name}`, path: ['keys', i] });
      names.add(k.name);
    }
  });
export type KeysFile = z.infer<typeof KeysFile>;

/** The file name inside the Secret. */
export const KEYS_FILE_KEY = 'keys.yaml';

export interface HashedKey {
  digest: Buffer;
  caller: Caller;
}

/** One-shot (no Hash object): every authenticated request hashes the key it presents. */
export function sha256(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

/**
 * Parses and validates keys.yaml. Throws an error naming what to fix; messages never quote a key (zod
 * issues carry no input values by default, and the duplicate check reports names only).
 */
export function parseKeysFile(text: string): HashedKey[] {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new Error(`keys.yaml is not valid YAML: ${(err as Error).name}`);
  }
  const result = KeysFile.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`keys.yaml is invalid at ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'unknown'}`);
  }
  const seen = new Map<string, string>();
  return result.data.keys.map((k) => {
    const digest = k.key !== undefined ? sha256(k.key) : Buffer.from(k.sha256 ?? '', 'hex');
    const hex = digest.toString('hex');
    const other = seen.get(hex);
    if (other !== undefined) throw new Error(`keys.yaml: keys ${other} and ${k.name} are the same key`);
    seen.set(hex, k.name);
    const caller: Caller = { key: k.name, anonymous: false };
    if (k.team !== undefined) caller.team = k.team;
    if (k.models !== undefined) caller.models = Object.freeze([...k.models]);
    return { digest, caller: Object.freeze(caller) };
  });
}
