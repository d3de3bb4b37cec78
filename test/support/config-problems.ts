import { ConfigError, loadConfig } from '../../src/config';

/** The problems of the ConfigError that loadConfig throws; fails the test if it does not throw one. */
export function problemsOf(input: Record<string, string | undefined>): string[] {
  try {
    loadConfig(input);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('loadConfig accepted the configuration');
}
