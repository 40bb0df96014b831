// Structured JSON logs (winston). Messages in Kubernetes style: capitalised, no trailing period. Never
// pass API keys, Authorization headers or prompt bodies in fields.
import winston from 'winston';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  setLevel(level: LogLevel): void;
  isDebug(): boolean;
}

export function createLogger(level: LogLevel = 'info', silent = false): Logger {
  const w = winston.createLogger({
    level,
    silent,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { component: 'gateway' },
    transports: [new winston.transports.Console()],
  });
  return {
    log: (lvl, msg, fields = {}) => {
      if (w.isLevelEnabled(lvl)) w.log(lvl, msg, fields);
    },
    setLevel: (lvl) => {
      w.level = lvl;
    },
    isDebug: () => w.isLevelEnabled('debug'),
  };
}
