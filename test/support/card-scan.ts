import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';

/**
 * PCI-DSS scan: no PAN, no CVV in what the system wrote. Used by the card-data test and by the chaos run.
 * History payloads are base64 JSON and are decoded first, or a leak would hide in plain sight.
 */
export const CONTRACT_CARDS = [
  '4111111111111111', '4242424242424242', '5555555555554444', '4000000000000002', '4000000000009995',
  '4000000000000069', '4000000000000119', '4000000000003220', '4000008400001629', '6759649826438453', '4000000000000267',
];
const CARD_FIELD = /"(CardNumber|CardCVV|cardNumber|cvv|pan)"\s*:\s*"?\d/;

export function decodedHistory(history: unknown): string {
  return JSON.stringify(history, (key, value: unknown) => {
    if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
    if (key === 'data' && value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    return value;
  });
}

export function cardDataIn(where: string, text: string): string | undefined {
  const card = CONTRACT_CARDS.find((c) => text.includes(c));
  if (card) return `${where} contains the card number ${card}`;
  if (CARD_FIELD.test(text)) return `${where} contains a card field: ${CARD_FIELD.exec(text)![0]}`;
  return undefined;
}

export interface ScanReport {
  histories: number;
  sawMaskedPan: boolean;
  findings: string[];
}

/** Scans every payment history on the server, the projections, references, webhook log and vault, and the logs. */
export async function scanForCardData(temporal: Client, db: Db, logDir: string, extra: { where: string; text: string }[] = []): Promise<ScanReport> {
  const report: ScanReport = { histories: 0, sawMaskedPan: false, findings: [] };
  const note = (finding: string | undefined) => finding && report.findings.push(finding);
  for await (const execution of temporal.workflow.list({ query: 'WorkflowType = "paymentWorkflow"' })) {
    const text = decodedHistory(await temporal.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory());
    note(cardDataIn(`the history of ${execution.workflowId}`, text));
    report.sawMaskedPan ||= /\d{6}\*{6}\d{4}/.test(text);
    report.histories++;
  }
  for (const collection of ['payments', 'references', 'webhook_events', 'webhook_attempts', 'vault']) {
    note(cardDataIn(`the ${collection} collection`, JSON.stringify(await db.collection(collection).find({}).toArray())));
  }
  for (const file of readdirSync(logDir)) note(cardDataIn(`log ${file}`, readFileSync(path.join(logDir, file), 'utf8')));
  for (const { where, text } of extra) note(cardDataIn(where, text));
  return report;
}
