import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { workflowExistsWithin } from '../../src/temporal/payment-workflows';

/**
 * A payment start whose outcome Temporal cannot tell loses its card (src/commands/start-payment.ts), so the API asks
 * again for a few seconds first: on a cluster, "cannot tell" is a shard moving or its database restarting.
 * The client is a plain object answering `describe` from a script.
 */
function clientAnswering(answers: (() => unknown)[]): { client: Client; asked: () => number } {
  let asked = 0;
  const client = {
    options: { namespace: 'settleflow' },
    withDeadline: (_deadline: number, call: () => Promise<unknown>) => call(),
    workflowService: { describeNamespace: () => Promise.resolve({}) },
    workflow: {
      getHandle: () => ({
        describe: () => {
          const answer = answers[Math.min(asked++, answers.length - 1)]!;
          return Promise.resolve().then(answer);
        },
      }),
    },
  };
  return { client: client as unknown as Client, asked: () => asked };
}

const unavailable = () => {
  throw Object.assign(new Error('14 UNAVAILABLE: shard status unknown'), { code: 14 });
};
const found = () => ({ status: { name: 'RUNNING' } });
const notFound = () => {
  throw new WorkflowNotFoundError('workflow not found', 'payment-test-mer_1-t1', undefined);
};

it('asks again while Temporal cannot tell, and answers once it can', async () => {
  const { client, asked } = clientAnswering([unavailable, unavailable, found]);
  await expect(workflowExistsWithin(client, 'payment-test-mer_1-t1', 10_000)).resolves.toBe(true);
  expect(asked()).toBe(3);
});

it('gives up with the last error when the patience runs out', async () => {
  const { client, asked } = clientAnswering([unavailable]);
  await expect(workflowExistsWithin(client, 'payment-test-mer_1-t1', 1_500)).rejects.toThrow(/shard status unknown/);
  expect(asked()).toBe(2);
});

it('a certain "not found" is an answer at once, not a reason to wait', async () => {
  const { client, asked } = clientAnswering([notFound]);
  await expect(workflowExistsWithin(client, 'payment-test-mer_1-t1', 10_000)).resolves.toBe(false);
  // workflowExists asks twice before it believes a "not found" (a server still loading says the same).
  expect(asked()).toBe(2);
});
