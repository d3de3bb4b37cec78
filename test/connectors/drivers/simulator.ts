import { createConnectors } from '../../../activities/psp';
import { type PspAdapter, PspUnavailableError } from '../../../activities/psp/adapter';
import { simulatorLedger } from '../../../activities/psp/simulator';
import { simulatorCalls } from '../../../activities/psp/simulator-calls';
import { connectToStack, type StackClients } from '../../support/stack-client';
import type { ConformanceDriver, Operation, PaymentAtProcessor } from '../conformance';

/**
 * The sandbox simulator (activities/psp/simulator.ts) in the conformance suite: it plays each scenario with the
 * test cards of docs/sandbox.md, in the shared test stack's FerretDB, wrapped in its call log as the worker builds
 * it (createConnectors). What it received is its call log (simulator-calls.ts); what it did is its ledger.
 *
 * The simulator runs inside the worker: there is no connection between the two to cut. A lost answer is played
 * by letting the call go through and losing its answer on the way back, which is what the activity sees when it
 * times out after the simulator acted (or when its worker dies then).
 */
export function simulatorDriver(): ConformanceDriver {
  let stack: StackClients;
  let losing: Operation | undefined;

  /** The answer of the next call of the operation armed is lost, once the simulator has acted on it. */
  function losingAnswers(simulator: PspAdapter): PspAdapter {
    const answered = async <T>(operation: Operation, answer: Promise<T>): Promise<T> => {
      const outcome = await answer;
      if (losing === operation) {
        losing = undefined;
        throw new PspUnavailableError(`simulator: the answer to ${operation} was lost on its way back`);
      }
      return outcome;
    };
    return {
      name: simulator.name,
      authorize: (request) => answered('authorize', simulator.authorize(request)),
      checkAuthorization: (request) => simulator.checkAuthorization(request),
      capture: (request) => answered('capture', simulator.capture(request)),
      void: (request) => answered('void', simulator.void(request)),
      refund: (request) => answered('refund', simulator.refund(request)),
    };
  }

  /** The authorization is found by its key (the workflow id); what is done on it, by its reference. */
  const about = (operation: Operation, payment: PaymentAtProcessor) =>
    operation === 'authorize'
      ? { operation, idempotencyKey: payment.workflowId }
      : { operation, pspReference: payment.pspReference };

  return {
    mode: 'test',
    async start() {
      stack = await connectToStack();
      return losingAnswers(createConnectors(stack.db).simulator!);
    },
    stop: () => stack.close(),
    reset() {
      losing = undefined;
    },
    plays: {
      approve: { card: '4111111111111111' },
      declines: {
        generic: { card: '4000000000000002', message: 'Card declined' },
        'insufficient funds': { card: '4000000000009995', message: 'Insufficient funds' },
        'expired card': { card: '4000000000000069', message: 'Expired card' },
      },
      // Fails transiently on its first two authorization attempts under a key, then approves.
      transientFault: { card: '4000000000000119' },
      // The issuer demands 3-D Secure; SettleFlow's page challenges, then the workflow authorizes `authenticated`.
      challengeApproved: { card: '4000000000003220' },
      // A cardholder who fails SettleFlow's page never reaches the simulator (the workflow ends `rejected_pw`):
      // what the simulator plays is the issuer declining after a completed challenge.
      challengeDeclined: { card: '4000008400001629', authenticationFailed: false },
      processing: { unsupported: 'the simulator decides every authorization at once, it never answers processing' },
      // Approved, then the capture is declined.
      captureRefused: { card: '4000000000000267' },
      refundRefused: {
        unsupported:
          'the simulator refunds every captured payment: no sandbox card or reference refuses a refund (docs/sandbox.md)',
      },
      lostAnswer: {
        lose(operation) {
          losing = operation;
        },
      },
    },
    async seen(operation, payment) {
      const calls = await simulatorCalls(stack.db).find(about(operation, payment)).sort({ receivedAt: 1 }).toArray();
      return { calls: calls.length, keys: calls.map((call) => call.idempotencyKey) };
    },
    // A declined capture or a failed void moves nothing: only entries whose outcome did something count.
    performed: (operation, payment) =>
      simulatorLedger(stack.db).countDocuments({
        ...about(operation, payment),
        'outcome.kind': { $in: ['approved', 'captured', 'voided', 'refunded'] },
      }),
  };
}
