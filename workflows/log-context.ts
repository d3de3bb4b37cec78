import {
  defaultPayloadConverter,
  type Headers,
  type WorkflowInterceptorsFactory,
  workflowInfo,
} from '@temporalio/workflow';
import { REQUEST_ID_HEADER } from './vocabulary';

/**
 * Carries the API request id of a payment (its workflow's memo, docs/runbook.md "Following one payment") into the
 * workflow's own log lines and, as a header, into every activity it schedules, where the worker's activity
 * interceptor (src/temporal/activity-log-context.ts) puts it on the activity's log lines. Headers and log
 * attributes are not part of what replay compares, so payments started before this replay unchanged.
 */
function requestIdOfRun(): string | undefined {
  const requestId = workflowInfo().memo?.requestId;
  return typeof requestId === 'string' ? requestId : undefined;
}

function withRequestIdHeader(headers: Headers): Headers {
  const requestId = requestIdOfRun();
  return requestId === undefined
    ? headers
    : { ...headers, [REQUEST_ID_HEADER]: defaultPayloadConverter.toPayload(requestId) };
}

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      getLogAttributes(attributes, next) {
        const requestId = requestIdOfRun();
        return next(requestId === undefined ? attributes : { ...attributes, requestId });
      },
      scheduleActivity: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers) }),
      scheduleLocalActivity: (input, next) => next({ ...input, headers: withRequestIdHeader(input.headers) }),
    },
  ],
});
