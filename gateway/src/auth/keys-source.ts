// Loads keys.yaml from a file path and re-reads it when its content changes. A mounted Secret is updated
// by the kubelet through an atomic symlink swap (..data), which file watchers on the path miss, so the
// source polls: it reads the (small) file every pollMs and compares a content hash. A file that fails to
// parse never replaces the last good key set; until a first good file is read, no key is valid (a
// gateway with auth configured never falls back to anonymous access).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { ApiKeySet } from './key-set.js';
import { parseKeysFile } from './keys-file.js';

export interface KeysSourceOptions {
  logger: Logger;
  /** How often to re-read the file, ms. Default 1000. */
  pollMs?: number;
}

export class KeysFileSource {
  private current = new ApiKeySet([]);
  private lastHash: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly logger: Logger;
  private readonly pollMs: number;

  constructor(
    readonly path: string,
    options: KeysSourceOptions,
  ) {
    this.logger = options.logger;
    this.pollMs = options.pollMs ?? 1000;
  }

  /** The key set in force. */
  get keys(): ApiKeySet {
    return this.current;
  }

  /** Loads the file once, synchronously, then polls for changes. */
  start(): void {
    let text: string | undefined;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      this.logger.log('error', 'Cannot read API keys file', {
        path: this.path,
        error: (err as Error).message,
      });
    }
    if (text !== undefined) this.apply(text);
    this.timer = setInterval(() => void this.reload(), this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-reads the file now. Returns true when a new key set was applied. */
  async reload(): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      this.logger.log('warn', 'Cannot read API keys file, keeping the last good keys', {
        path: this.path,
        error: (err as NodeJS.ErrnoException).code ?? 'unknown',
      });
      return false;
    }
    return this.apply(text);
  }

  private apply(text: string): boolean {
    const hash = createHash('sha256').update(text).digest('hex');
    if (hash === this.lastHash) return false;
    this.lastHash = hash;
    try {
      this.current = this.current.succeededBy(parseKeysFile(text));
    } catch (err) {
      this.logger.log('warn', 'Refused API keys file, keeping the last good keys', {
        path: this.path,
        error: (err as Error).message,
      });
      return false;
    }
    this.logger.log('info', 'Loaded API keys', { path: this.path, keys: this.current.size });
    return true;
  }
}
