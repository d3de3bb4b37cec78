/**
 * Everything the API, the worker and the admin command share about talking to workflows: the task queue and
 * the message definitions. Kept free of Node APIs so workflow code can import it.
 */
export const DEFAULT_TASK_QUEUE = 'settleflow-payments';

/** Input of the platform self-check: a marker the activity writes to MongoDB for the caller to read back. */
export interface SelfCheckInput {
  checkId: string;
}

export interface SelfCheckResult {
  checkId: string;
  /** Identity of the worker that ran the activity (hostname and pid). */
  worker: string;
  /** When the activity wrote its document, ISO 8601. */
  writtenAt: string;
}
