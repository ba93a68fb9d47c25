import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout. Secrets (keys, tokens) are redacted wherever they appear. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'heartbeat' },
    redact: {
      paths: ['authorization', '*.authorization', 'headers.authorization', 'key', '*.key', 'token'],
      censor: '[redacted]',
    },
  });
}
