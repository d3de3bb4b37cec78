import type { Db, ObjectId } from 'mongodb';
import type { AuthorizeRequest, MovementRequest, PspAdapter } from './adapter';

/**
 * The simulator's attempts log: one document for EVERY call the simulator receives, a repeat under the same
 * idempotency key included (the ledger keeps only the first, and answers repeats from it). This is what lets a test
 * see that a capture was asked for twice even when the second one moved no money, and see the processor faults
 * (thrown, then retried) that the ledger never records.
 */
export interface SimulatorCallDoc {
  _id?: ObjectId;
  operation: 'authorize' | 'capture' | 'refund' | 'void';
  idempotencyKey: string;
  /** The payment's authorization: the one moved on, or the one an authorization call returned (if approved). */
  pspReference?: string;
  amount: number;
  currency: string;
  /** What the caller got back; `unavailable` when the call threw (a transient fault the caller retries). */
  outcome: { kind: string; message?: string };
  receivedAt: Date;
  answeredAt: Date;
}

export const simulatorCalls = (db: Db) => db.collection<SimulatorCallDoc>('simulator_calls');

/** Wraps the simulator so that each call is logged once it has been answered (or has thrown). */
export function withCallLog(simulator: PspAdapter, db: Db): PspAdapter {
  async function logged<T extends { kind: string }>(
    operation: SimulatorCallDoc['operation'],
    request: AuthorizeRequest | MovementRequest,
    call: () => Promise<T>,
  ): Promise<T> {
    const receivedAt = new Date();
    let answer: { result: T } | { error: unknown };
    try {
      answer = { result: await call() };
    } catch (error) {
      answer = { error };
    }
    const outcome =
      'result' in answer
        ? answer.result
        : { kind: 'unavailable', message: answer.error instanceof Error ? answer.error.message : String(answer.error) };
    const pspReference =
      'pspReference' in request
        ? request.pspReference
        : 'pspReference' in outcome
          ? String(outcome.pspReference)
          : undefined;
    // Awaited, and allowed to fail the call: a call missing from the log would be a hole in the evidence, and the
    // caller's retry is answered from the ledger anyway. Only facts about money go in, never card data.
    await simulatorCalls(db).insertOne({
      operation,
      idempotencyKey: request.idempotencyKey,
      ...(pspReference ? { pspReference } : {}),
      amount: request.amount,
      currency: request.currency,
      outcome,
      receivedAt,
      answeredAt: new Date(),
    });
    if ('error' in answer) throw answer.error;
    return answer.result;
  }

  return {
    name: simulator.name,
    authorize: (request) => logged('authorize', request, () => simulator.authorize(request)),
    // A check moves no money and changes nothing: the attempts log is about calls that could.
    checkAuthorization: (request) => simulator.checkAuthorization(request),
    capture: (request) => logged('capture', request, () => simulator.capture(request)),
    refund: (request) => logged('refund', request, () => simulator.refund(request)),
    void: (request) => logged('void', request, () => simulator.void(request)),
  };
}
