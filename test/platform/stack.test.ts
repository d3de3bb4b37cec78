import { randomUUID } from 'node:crypto';
import { selfChecks } from '../../src/store/self-checks';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { DEFAULT_TASK_QUEUE } from '../../workflows/vocabulary';
import type { selfCheckWorkflow } from '../../workflows/self-check-workflow';
import { connectToStack, type StackClients } from '../support/stack-client';

let stack: StackClients;
beforeAll(async () => {
  stack = await connectToStack();
});
afterAll(() => stack.close());

describe('the running platform', () => {
  it('runs a workflow on the real Temporal server whose activity writes to the real MongoDB-wire server', async () => {
    const checkId = `check-${randomUUID()}`;
    const result = await stack.temporal.workflow.execute<typeof selfCheckWorkflow>('selfCheckWorkflow', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId: `self-check-${checkId}`,
      args: [{ checkId }],
    });
    expect(result.checkId).toBe(checkId);
    // The worker is a separate process: the document proves the activity ran there and reached the database.
    const doc = await selfChecks(stack.db).findOne({ _id: checkId });
    expect(doc).toMatchObject({ checkId, worker: result.worker });
    expect(result.worker).not.toContain(`:${process.pid}`);
  });

  it('reports ready only when Temporal and MongoDB answer', async () => {
    const res = await fetch(`${stack.apiUrl}/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', temporal: 'ok', mongo: 'ok' });
    const health = await fetch(`${stack.apiUrl}/health`);
    expect(health.status).toBe(200);
  });

  it('registered every search attribute the workflows use', async () => {
    const listed = await stack.temporal.connection.operatorService.listSearchAttributes({
      namespace: stack.config.temporal.namespace,
    });
    const names = Object.keys(listed.customAttributes ?? {});
    for (const key of SEARCH_ATTRIBUTES) expect(names).toContain(key.name);
  });

  it('uses the shared task queue name by default', () => {
    expect(stack.config.temporal.taskQueue).toBe(DEFAULT_TASK_QUEUE);
  });

  it('echoes a caller X-Request-Id and makes one up otherwise', async () => {
    const echoed = await fetch(`${stack.apiUrl}/health`, { headers: { 'X-Request-Id': 'merchant-req-42' } });
    expect(echoed.headers.get('x-request-id')).toBe('merchant-req-42');
    const generated = await fetch(`${stack.apiUrl}/health`);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
