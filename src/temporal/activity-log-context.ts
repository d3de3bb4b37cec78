import { defaultPayloadConverter } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { REQUEST_ID_HEADER } from '../../workflows/vocabulary';

/**
 * The worker's half of workflows/log-context.ts: reads the payment's API request id from the activity's header
 * and adds it to the activity's log lines (the SDK's "Activity failed"/"completed" lines included), so an
 * operator can follow one request from the API's log through every activity of its payment.
 */
export const activityLogContext: ActivityInterceptorsFactory = () => {
  let requestId: string | undefined;
  return {
    inbound: {
      execute(input, next) {
        const header = input.headers[REQUEST_ID_HEADER];
        if (header) requestId = defaultPayloadConverter.fromPayload<string>(header);
        return next(input);
      },
    },
    outbound: {
      getLogAttributes: (attributes, next) => next(requestId === undefined ? attributes : { ...attributes, requestId }),
    },
  };
};
