import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { eventually, paymentBody, post, useStackWithMerchant } from '../support/factories';
import { paymentWorkflowId } from '../../workflows/vocabulary';

/**
 * One request id from the merchant's X-Request-Id to the workflow's memo and the worker's log lines of that
 * payment's activities (docs/runbook.md, "Following one payment"). The sandbox card that fails transiently twice
 * makes the worker log two "Activity failed" lines for authorizePayment: they must name the request.
 */
jest.setTimeout(60_000);

const shop = useStackWithMerchant();

interface LogLine {
  msg?: string;
  requestId?: string;
  activityType?: string;
  workflowId?: string;
}

function workerLogLines(): LogLine[] {
  const text = readFileSync(path.join(shop.stack.config.dataDir, 'logs', 'worker.log'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

it('the request id of a payment is on its workflow memo and on its activities log lines', async () => {
  const requestId = `trace-${randomUUID()}`;
  const body = paymentBody({ CardNumber: '4000000000000119' });
  const answer = await post(shop.stack.apiUrl, 'payment', shop.merchant.testKey, body, 'json', {
    'X-Request-Id': requestId,
  });
  expect(answer.requestId).toBe(requestId);
  expect(answer.body.Result).toMatchObject({ Status: 'captured' });

  const workflowId = paymentWorkflowId('test', shop.merchant.merchantId, body.Tid!);
  const described = await shop.stack.temporal.workflow.getHandle(workflowId).describe();
  expect(described.memo).toEqual({ requestId });

  const failedAttempts = await eventually('the retried authorization logged', () => {
    const lines = workerLogLines().filter((line) => line.workflowId === workflowId && line.msg === 'Activity failed');
    return Promise.resolve(lines.length >= 2 ? lines : undefined);
  });
  for (const line of failedAttempts) expect(line).toMatchObject({ activityType: 'authorizePayment', requestId });
  // No line of this payment names another request.
  const others = workerLogLines().filter((line) => line.workflowId === workflowId && line.requestId !== requestId);
  expect(others).toEqual([]);
});
