// Structured JSON logs (winston) in Kubernetes style: capitalised messages without a trailing period, and
// `{kind, namespace, name}` on everything about an object. Never log Secret data or prompt bodies.
import winston from 'winston';

export type Logger = winston.Logger;

export function createLogger(level: string): Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: false }),
      winston.format.json(),
    ),
    defaultMeta: { component: 'operator' },
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}

/** A logger that drops everything: for unit tests. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true });
}
