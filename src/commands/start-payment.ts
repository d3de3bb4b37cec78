import { errors } from '../epro/errors';
import type { Decision, PaymentInput, PaymentMemo } from '../../workflows/vocabulary';
import type { VaultedCard } from '../store/vault';
import type { StartResult } from '../temporal/payment-workflows';

/**
 * Starting a payment: the one place that decides what a payment request leaves behind (docs/architecture.md).
 *
 *   record for the Tid? ──yes──▶ 104 (a payment older than Temporal's retention)
 *        │ no
 *   vault the card (random token; an orphan expires through the worker's vault sweep)
 *        │
 *   start the workflow, wait for its decision ──decided──▶ the decision (Code 0)
 *        │            │                      └─budget out, start confirmed──▶ pending (Code 0)
 *        │            └─already started / closed──▶ drop our card, 104
 *        │ failed or uncertain
 *   does the workflow exist? ──yes──▶ keep the card (the workflow may be using it), 104
 *        │ (asked again for a few seconds while Temporal cannot tell: a shard moving, its database restarting)
 *        │ no, or still cannot tell
 *   drop the card, 9 (nothing recorded; the merchant retries with the same Tid)
 *
 * Nothing is written before the start but the vaulted card: the workflow writes the payment's record as its
 * first step, so no Tid is ever held without a workflow behind it, and the workflow is the record's only writer.
 * While the workflow exists, Temporal refuses a second start of its id (conflict policy FAIL, reuse policy
 * REJECT_DUPLICATE), which is what makes concurrent duplicates answer 104.
 */
/** What starting a payment needs from the store, the vault and Temporal: plain functions, so tests pass objects. */
export interface StartPaymentPorts {
  /** Whether a record exists for this payment key (any outcome, any age). */
  recordExists(paymentKey: string): Promise<boolean>;
  /** Seals the card; the worker's sweep deletes it after `ttlMs` if nothing else did. */
  vaultCard(paymentKey: string, card: Required<VaultedCard>, ttlMs: number): Promise<string>;
  deleteCard(vaultToken: string): Promise<void>;
  /** Update-with-start, waiting at most the wait budget. Throws when the start failed or may not have happened. */
  startWorkflow(input: PaymentInput, memo: PaymentMemo): Promise<StartResult>;
  /** Whether Temporal has the workflow; throws when that cannot be known (Temporal unreachable). */
  workflowExists(workflowId: string): Promise<boolean>;
}

export interface PaymentToStart {
  /** The workflow's input, without its vault token (the card is vaulted here). */
  input: Omit<PaymentInput, 'vaultToken'>;
  workflowId: string;
  card: Required<VaultedCard>;
  /** The API request's id, kept on the workflow (its memo) and on every activity log line of the payment. */
  requestId: string;
}

// Card data waits in the vault at most through a 3-D Secure challenge; the sweep removes it after this margin.
const VAULT_MARGIN_MS = 10 * 60_000;

export type StartAnswer = { kind: 'decided'; decision: Decision } | { kind: 'pending' };

export async function startPayment(ports: StartPaymentPorts, payment: PaymentToStart): Promise<StartAnswer> {
  const key = payment.input.paymentKey;
  if (await ports.recordExists(key)) throw errors.tidUsed();

  const vaultToken = await ports.vaultCard(key, payment.card, payment.input.threeDSTimeoutMs + VAULT_MARGIN_MS);
  let started: StartResult;
  try {
    started = await ports.startWorkflow({ ...payment.input, vaultToken }, { requestId: payment.requestId });
  } catch (err) {
    const exists = await ports.workflowExists(payment.workflowId).catch(() => undefined);
    // The start landed and only its answer was lost: the payment goes on (it may be reading this card), and a
    // retry would be told 104 anyway. It may also be a concurrent duplicate's workflow: 104 is true either way.
    if (exists === true) throw errors.tidUsed();
    // Not started, or unknown: without its card, a start that did land moves no money (it ends `failed`), so the
    // merchant's 9 stays true in what matters, and their retry with the same Tid is answered 104 in that case.
    await ports.deleteCard(vaultToken).catch(() => undefined);
    throw err;
  }
  if (started.kind === 'already_started') {
    await ports.deleteCard(vaultToken).catch(() => undefined);
    throw errors.tidUsed();
  }
  return started;
}
