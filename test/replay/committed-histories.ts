import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { historyFromJson } from '../../src/temporal/history-json';

/**
 * The histories recorded by `npm run histories:capture`, at least one per lifecycle branch of the payment workflow:
 * `<branch>.json`, plus any older recording kept when a branch was re-recorded (`<branch>.<label>.json`).
 */
export const HISTORIES_DIR = path.join(__dirname, 'histories');

export interface CommittedHistory {
  /** The file name without `.json`: what a replay verdict names. */
  name: string;
  /** The branch, from the file name: `3ds-timeout` for 3ds-timeout.json and 3ds-timeout.v1.json. */
  branch: string;
  /** The file as committed, for scans. */
  json: string;
  /** Named after the file, so a replay verdict says which branch broke. */
  replayable: HistoryAndWorkflowId;
}

/** One history file, named by its path relative to test/replay/. */
export function historyFile(relative: string): HistoryAndWorkflowId {
  return {
    workflowId: relative,
    history: historyFromJson(JSON.parse(readFileSync(path.join(__dirname, relative), 'utf8'))),
  };
}

export function committedHistories(): CommittedHistory[] {
  return readdirSync(HISTORIES_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const json = readFileSync(path.join(HISTORIES_DIR, file), 'utf8');
      const name = path.basename(file, '.json');
      return {
        name,
        branch: name.split('.')[0]!,
        json,
        replayable: { workflowId: name, history: historyFromJson(JSON.parse(json)) },
      };
    });
}

interface JsonEvent {
  eventType: string;
  [attributes: string]: unknown;
}

export function eventsOf(history: CommittedHistory): JsonEvent[] {
  return (JSON.parse(history.json) as { events: JsonEvent[] }).events;
}

/** A payload's value: proto-JSON keeps payload data as base64 of the JSON the SDK's converter wrote. */
export function payloadValue(payload: { data: string }): unknown {
  return JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8'));
}
