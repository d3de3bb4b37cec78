import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { luhnValid } from '../../src/epro/card';
import { PAYMENT_WORKFLOW_TYPES_CLAUSE } from '../../workflows/vocabulary';

/**
 * PCI-DSS scan: no PAN and no CVV in anything the system wrote. ONE rule, used by the card-data test, the chaos
 * run and the history checks of the replay and ops tests, on every place they look (collections, logs, histories,
 * webhook bodies, processor traffic):
 *
 * - a PAN is any 13–19-digit number passing Luhn, written plain or with single spaces or dashes between digits,
 *   anywhere in any text (field names do not matter, nor nesting, nor whether the text is JSON);
 * - a CVV is a 3–4-digit value under a key that names a CVV, CVC or security code (any case, any position in the
 *   key, quoted or not, `:` or `=`), or a 3–4-digit group right after a PAN (`4111… 123`, `4111…|12/30|123`).
 *
 * Two narrowings keep legitimate values from passing Luhn by chance (one digit run in ten does). Without them the
 * scan test failed in one run of two: a request id `12b95ff3-4617-4203-9726-8c3d…` in a history read as the
 * Luhn-valid `3-4617-4203-9726-8`. So a digit run glued to a letter is part of a hex or base64 token (request ids,
 * digests, signatures, build ids), not a card number written out; and a canonical UUID (delivery ids, run ids, the
 * tests' Tids) is an id, whose leading all-digit groups joined by its dashes would otherwise read as one number.
 * The price: a PAN glued to letters (`pan4111…`) or to more digits (`4111…1111123`) is missed. The masked form
 * (6 digits, `*`s, 4 digits) is two short runs: not a PAN.
 */

const MIN_PAN = 13;
const MAX_PAN = 19;
/** Digits joined by single spaces or dashes: `4111111111111111`, `4111 1111 1111 1111`, `4111-1111-1111-1111`. */
const DIGIT_RUN = /\d+(?:[ -]\d+)*/g;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const ALNUM = /[A-Za-z0-9]/;
/** A 3–4-digit group right after a PAN, possibly past an expiry date: `4111… 123`, `4111…,12/30,123`. */
const CVV_AFTER_PAN = /^[\s,;|:/]{1,3}(?:\d{1,2}[/|-]\d{2,4}[\s,;|:/]{1,3})?(\d{3,4})(?![\d])/;
/**
 * A key naming a CVV/CVC/security code (`CardCVV`, `cvc`, `card_cvc2`, `securityCode`, `Security-Code`), in JSON
 * (quotes possibly escaped, as in JSON inside a string), a form body or a `key: value` text, with a 3–4-digit value.
 */
const CVV_KEY =
  /[A-Za-z0-9_$.-]*(?:cvv|cvc|cvn|csc|cv2|security[ _-]?code|verification[ _-]?(?:code|value))[A-Za-z0-9_$.-]*\\*["']?\s*[:=]\s*\\*["']?(\d{3,4})(?![A-Za-z0-9+/=_]|\.\d)/gi;

export interface CardDataHit {
  kind: 'pan' | 'cvv';
  /** What matched, as it was written. */
  value: string;
  /** Some text around it, to find the place. */
  context: string;
}

function around(text: string, index: number, length: number): string {
  return text.slice(Math.max(0, index - 40), index + length + 40).replace(/\s+/g, ' ');
}

/** Every PAN and CVV in `text` by the rule above. */
export function findCardData(text: string): CardDataHit[] {
  const hits: CardDataHit[] = [];
  // Same length, so indexes still point into the original text.
  const scanned = text.replace(UUID, (uuid) => 'u'.repeat(uuid.length));
  for (const run of scanned.matchAll(DIGIT_RUN)) {
    const start = run.index;
    const end = start + run[0].length;
    // Maximal runs: the characters either side are not digits. A letter there makes the run part of a token.
    const gluedBefore = start > 0 && ALNUM.test(scanned[start - 1]!);
    const gluedAfter = end < scanned.length && ALNUM.test(scanned[end]!);
    const groups = [...run[0].matchAll(/\d+/g)];
    // Any span of whole groups can be the PAN: a CVV or an amount written after it joins the run through a space.
    for (let first = 0; first < groups.length; first++) {
      if (first === 0 && gluedBefore) continue;
      let digits = '';
      for (let last = first; last < groups.length; last++) {
        digits += groups[last]![0];
        if (digits.length > MAX_PAN) break;
        if (digits.length < MIN_PAN || (last === groups.length - 1 && gluedAfter) || !luhnValid(digits)) continue;
        const from = start + groups[first]!.index;
        const to = start + groups[last]!.index + groups[last]![0].length;
        hits.push({ kind: 'pan', value: text.slice(from, to), context: around(text, from, to - from) });
        const cvv = CVV_AFTER_PAN.exec(text.slice(to, to + 16));
        if (cvv)
          hits.push({
            kind: 'cvv',
            value: `${text.slice(from, to)}${cvv[0]}`,
            context: around(text, from, to - from + cvv[0].length),
          });
      }
    }
  }
  for (const match of text.matchAll(CVV_KEY))
    hits.push({ kind: 'cvv', value: match[0], context: around(text, match.index, match[0].length) });
  return hits;
}

/** One line per hit, prefixed with where the text came from; empty when the text is clean. */
export function cardDataIn(where: string, text: string): string[] {
  return findCardData(text).map(
    (hit) => `${where}: ${hit.kind === 'pan' ? 'card number' : 'CVV'} "${hit.value}" in …${hit.context}…`,
  );
}

const isSerializedBuffer = (value: unknown): value is { type: 'Buffer'; data: number[] } =>
  typeof value === 'object' &&
  value !== null &&
  (value as { type?: unknown }).type === 'Buffer' &&
  Array.isArray((value as { data?: unknown }).data);

/**
 * A Temporal history as text, every payload decoded: `fetchHistory()` gives payload bytes (data and metadata) as
 * base64 strings (or bytes, from other sources), and a card number in them would not show in the plain JSON.
 */
export function decodedHistory(history: unknown): string {
  return JSON.stringify(history, (key, value: unknown) => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    // A Buffer has been through its toJSON before the replacer sees it.
    if (isSerializedBuffer(value)) return Buffer.from(value.data).toString('utf8');
    if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
    if (key === 'metadata' && value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          k,
          typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v,
        ]),
      );
    }
    return value;
  });
}

/** Every file under `dir`, at any depth (a missing directory has none). */
export function filesUnder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return [];
  }
  return names.map((name) => path.join(dir, name)).filter((file) => statSync(file).isFile());
}

export interface ScanReport {
  /** Histories read (every payment workflow the server lists, and every id asked for). */
  histories: number;
  /** Collections read, with their document counts: all that the database has, found with listCollections. */
  collections: Record<string, number>;
  /** Log files read, with their sizes in bytes. */
  logFiles: Record<string, number>;
  /** Whether the masked form was seen in a history: proof that the payloads were decoded. */
  sawMaskedPan: boolean;
  findings: string[];
}

export interface ScanOptions {
  /** Workflows whose histories must be read even if visibility does not list them yet (the payments a test made). */
  workflowIds?: string[];
}

/**
 * Scans every payment history on the server, every collection of the database, every log file under `logDir` and
 * the extra texts (webhook bodies, answers) with the one rule above.
 */
export async function scanForCardData(
  temporal: Client,
  db: Db,
  logDir: string,
  extra: { where: string; text: string }[] = [],
  options: ScanOptions = {},
): Promise<ScanReport> {
  const report: ScanReport = { histories: 0, collections: {}, logFiles: {}, sawMaskedPan: false, findings: [] };
  const note = (where: string, text: string) => report.findings.push(...cardDataIn(where, text));

  const workflowIds = new Set(options.workflowIds);
  for await (const execution of temporal.workflow.list({ query: PAYMENT_WORKFLOW_TYPES_CLAUSE }))
    workflowIds.add(execution.workflowId);
  for (const workflowId of workflowIds) {
    const text = decodedHistory(await temporal.workflow.getHandle(workflowId).fetchHistory());
    note(`the history of ${workflowId}`, text);
    report.sawMaskedPan ||= /\d{6}\*{3,9}\d{4}/.test(text);
    report.histories++;
  }

  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    const docs = await db.collection(name).find({}).toArray();
    report.collections[name] = docs.length;
    note(`the ${name} collection`, `${name} ${JSON.stringify(docs)}`);
  }

  for (const file of filesUnder(logDir)) {
    const text = readFileSync(file, 'utf8');
    report.logFiles[path.relative(logDir, file)] = Buffer.byteLength(text);
    note(`log ${path.relative(logDir, file)}`, text);
  }

  for (const { where, text } of extra) note(where, text);
  return report;
}
