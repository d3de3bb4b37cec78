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
  // Temporal connection options (src/temporal/connection-options.ts) logged whole, or inside another object: the
  // API key is a bearer credential, the client key the other half of mTLS.
  'tls.clientCertPair.key',
  '*.tls.clientCertPair.key',
  'temporal.apiKey',
  '*.temporal.apiKey',
];

/** Errors are logged under `err` (pino's serializer: type, message, stack), everywhere the same shape. */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name,
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

type SdkLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** Adapts pino to the Temporal SDK's logger interface, so worker output is one JSON stream with redaction. */
export function temporalLogger(logger: Logger) {
  const write = (level: SdkLevel, message: string, meta?: Record<string, unknown>) =>
    logger[level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error']({ sdk: true, ...meta }, message);
  return {
    log: write,
    trace: (message: string, meta?: Record<string, unknown>) => write('TRACE', message, meta),
    debug: (message: string, meta?: Record<string, unknown>) => write('DEBUG', message, meta),
    info: (message: string, meta?: Record<string, unknown>) => write('INFO', message, meta),
    warn: (message: string, meta?: Record<string, unknown>) => write('WARN', message, meta),
    error: (message: string, meta?: Record<string, unknown>) => write('ERROR', message, meta),
  };
}
