// The gateway's one logger: structured JSON (winston), used by the server and every policy module. Messages
// in Kubernetes style: capitalised, no trailing period. Never pass API keys, Authorization headers or prompt
// bodies in fields.
import type { Writable } from 'node:stream';
import winston from 'winston';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  setLevel(level: LogLevel): void;
  isDebug(): boolean;
}

/** Logs to stdout, or to `destination` (tests that read what was logged). */
export function createLogger(level: LogLevel = 'info', silent = false, destination?: Writable): Logger {
  const w = winston.createLogger({
    level,
    silent,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { component: 'gateway' },
    transports: [
      destination === undefined
        ? new winston.transports.Console()
        : new winston.transports.Stream({ stream: destination }),
    ],
  });
  // Asked on every request: kept as a boolean rather than asking winston each time.
  let debug = w.isLevelEnabled('debug');
  return {
    log: (lvl, msg, fields = {}) => {
      if (w.isLevelEnabled(lvl)) w.log(lvl, msg, fields);
    },
    setLevel: (lvl) => {
      w.level = lvl;
      debug = w.isLevelEnabled('debug');
    },
    isDebug: () => debug,
  };
}
