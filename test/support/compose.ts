import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/**
 * Reading a Compose file the way Compose does, for the tests that check the compose files without a Docker engine
 * (test/unit/docker-compose.test.ts, test/unit/production-compose.test.ts): the YAML with its anchors and merge
 * keys, `${NAME:?message}` and `${NAME:-default}` references, and the short port syntax.
 */

/** A bind mount in the long syntax, the only form the production-shaped file uses for files. */
export interface ComposeMount {
  type: string;
  source: string;
  target: string;
  read_only?: boolean;
}

export interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string };
  pull_policy?: string;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  volumes?: (string | ComposeMount)[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  restart?: string;
  network_mode?: string;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
}

/** The file's text and its parse; Compose shares settings through YAML anchors and merge keys (`<<`). */
export function readCompose(file: string): { text: string; compose: ComposeFile } {
  const text = readFileSync(file, 'utf8');
  return { text, compose: parse(text, { merge: true }) as ComposeFile };
}

/** Compose's `${NAME:?message}` (required) and `${NAME:-default}` references, the two forms the files use. */
export const REFERENCE = /\$\{(\w+)(?::([?-])([^}]*))?\}/g;

/** A value as the container sees it, with the host's variables substituted; throws where Compose would refuse. */
export function interpolate(value: string, host: Record<string, string>): string {
  return value.replace(REFERENCE, (_all, variable: string, kind?: string, rest?: string) => {
    const given = host[variable];
    if (given !== undefined && given !== '') return given;
    if (kind === '?') throw new Error(`compose refuses to start: ${variable} unset (${rest})`);
    return kind === '-' ? (rest ?? '') : '';
  });
}

/** References with a non-empty default: a credential committed that way would protect nothing. */
export function defaultedReferences(text: string): string[] {
  return [...text.matchAll(REFERENCE)]
    .filter(([, , kind, rest]) => kind === '-' && rest !== '')
    .map(([reference]) => reference);
}

/** Short port syntax `[host_ip:]published:target[/proto]`; `hostIp` is empty when none is given (every interface). */
export function publishedPorts(service: ComposeService): { hostIp: string; published: number; target: number }[] {
  return (service.ports ?? []).map((spec) => {
    const parts = String(spec)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    return {
      hostIp: parts.length > 2 ? parts.slice(0, -2).join(':') : '',
      published: Number(parts.at(-2)),
      target: Number(parts.at(-1)),
    };
  });
}
