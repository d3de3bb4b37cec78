import { Connection } from '@temporalio/client';
import type { TemporalConnectionOptions } from '../../src/temporal/connection-options';

/**
 * Whether a client with these connection options gets an answer from a Temporal frontend (getSystemInfo, which
 * the SDK also calls at connect): how the mTLS tests tell a client let through from one refused.
 */
export async function frontendAnswers(options: TemporalConnectionOptions): Promise<boolean> {
  const connection = await Connection.connect({ ...options, connectTimeout: '3s' }).catch(() => undefined);
  if (!connection) return false;
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection.close();
  }
}
