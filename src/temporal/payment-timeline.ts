import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { SA_STATUS } from '../../workflows/search-attributes';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payload = temporal.api.common.v1.IPayload;
const EventType = temporal.api.enums.v1.EventType;

/** The steps of a payment that only its workflow's history knows, with the time each happened. */
export interface HistoryStep {
  event: '3ds_requested' | '3ds_answered' | 'authorized' | 'captured' | 'failed' | 'cancelled' | 'refund_requested';
  at: Date;
  detail?: string;
}

export interface PaymentHistory {
  steps: HistoryStep[];
  /** The processor's reference of the authorization, from the authorize step's result. */
  processorReference?: string;
}

/** A payment's history is a few dozen events: one page, fetched within this bound or given up on. */
const HISTORY_DEADLINE_MS = 3_000;

function timeOf(event: HistoryEvent): Date {
  const ts = event.eventTime;
  return new Date(Number(ts?.seconds ?? 0) * 1000 + Math.floor((ts?.nanos ?? 0) / 1e6));
}

function decode(payload: Payload | null | undefined): unknown {
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(payload);
  } catch {
    return undefined;
  }
}

const STATUS_STEPS: Record<string, HistoryStep['event']> = {
  // The start sets `pending` through its options; a later move to `pending` is always the challenge's offer.
  pending: '3ds_requested',
  authorized: 'authorized',
  captured: 'captured',
  failed: 'failed',
  rejected_pw: 'failed',
  cancelled: 'cancelled',
};

/**
 * Reads the steps from the events the workflow leaves anyway: each status move is a search attribute upsert
 * (PaymentStatus), each cardholder answer or refund an accepted Update, and the authorize activity's result holds
 * the processor's reference. Only these payloads are decoded: status words, the challenge answer
 * (`approved`/`failed`) and the authorization outcome, none of which holds card data (there is none in a history).
 */
export function stepsFromHistory(events: readonly HistoryEvent[]): PaymentHistory {
  const steps: HistoryStep[] = [];
  const authorizeScheduled = new Set<string>();
  let processorReference: string | undefined;
  for (const event of events) {
    const at = timeOf(event);
    if (event.eventType === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) {
      const fields = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {};
      const raw = decode(fields[SA_STATUS.name]);
      const status: unknown = Array.isArray(raw) ? (raw as unknown[])[0] : raw;
      const step = typeof status === 'string' ? STATUS_STEPS[status] : undefined;
      if (step) steps.push({ event: step, at });
    } else if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) {
      const input = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
      if (input?.name === 'challengeResult') {
        const answer = decode(input.args?.payloads?.[0]);
        steps.push({ event: '3ds_answered', at, ...(typeof answer === 'string' ? { detail: answer } : {}) });
      } else if (input?.name === 'challengeReturned') {
        steps.push({ event: '3ds_answered', at, detail: 'returned from the processor' });
      } else if (input?.name === 'refund') {
        steps.push({ event: 'refund_requested', at });
      }
    } else if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
      if (name === 'authorizePayment' || name === 'checkAuthorization') authorizeScheduled.add(String(event.eventId));
    } else if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const attrs = event.activityTaskCompletedEventAttributes;
      if (attrs && authorizeScheduled.has(String(attrs.scheduledEventId))) {
        const outcome = decode(attrs.result?.payloads?.[0]) as { pspReference?: unknown } | undefined;
        if (typeof outcome?.pspReference === 'string' && outcome.pspReference !== '')
          processorReference = outcome.pspReference;
      }
    }
  }
  return { steps, ...(processorReference ? { processorReference } : {}) };
}

/**
 * The payment's history while Temporal still keeps it; undefined once retention removed the workflow, or when
 * Temporal does not answer in time (the dashboard then shows what the payment's record holds).
 */
export async function paymentHistory(client: Client, workflowId: string): Promise<PaymentHistory | undefined> {
  try {
    const history = await client.withDeadline(Date.now() + HISTORY_DEADLINE_MS, () =>
      client.workflow.getHandle(workflowId).fetchHistory(),
    );
    return stepsFromHistory(history.events ?? []);
  } catch {
    return undefined;
  }
}
