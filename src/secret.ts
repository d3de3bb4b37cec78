import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A credential held by the configuration (TEMPORAL_API_KEY). JSON, `util.inspect`, template strings and pino all
 * see `[redacted]`: a config object logged or printed whole by mistake shows no secret. The one caller that
 * must hand the value on (the connection options, src/temporal/connection-options.ts) calls `reveal()`.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}
