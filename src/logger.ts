import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Card data and secrets must never reach a log line (PCI-DSS). Handlers never log request bodies; these paths
 * are the safety net for anything that slips into a log object anyway.
 */
const REDACTED_PATHS = [
  'apiKey',
  'key',
  'secret',
  'webhookSecret',
  'vaultKey',
  'headers["epro-api-key"]',
  'req.headers["epro-api-key"]',
  '*.CardNumber',
  '*.CardCVV',
  '*.cardNumber',
  '*.cvv',
  '*.pan',
  '*.apiKey',
  '*.secret',
  '*.webhookSecret',
];

export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name,
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
