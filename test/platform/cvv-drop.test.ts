import { randomUUID } from 'node:crypto';
import { PspUnavailableError } from '../../activities/psp';
import { type AuthorizeOutcome } from '../../workflows/vocabulary';
import { openCard, type VaultDoc, vaultCard } from '../../src/store/vault';
import { useRealPaymentActivities } from '../support/stack-client';

/**
 * PCI-DSS: the CVV may be kept, sealed, only until authorization. The worker's own authorizePayment activity with
 * the sandbox simulator, against the test stack's FerretDB: once the processor has decided (approved or declined)
 * the vault entry has no sealed CVV; while it waits for 3-D Secure, or after a transient failure that will be
 * retried, the CVV stays, because the next authorization needs it. What the activity returns goes into Temporal
 * history: it must be the processor's outcome and nothing else.
 *
 * How it was shown to fail (each break made in activities/payment-real.activities.ts, the file run, reverted): with the dropCvv
 * call removed, all four tests fail (the sealed CVV is still there); with it made unconditional, the 3-D Secure
 * test fails (the CVV is gone before the authenticated authorization); with the activity returning
 * `{ ...outcome, securityCode: card.cvv }`, all four fail on the exact outcome.
 */
const real = useRealPaymentActivities();

const CVV = '737';

/** A card in the vault as the API puts it there, and the idempotency key its payment's workflow would use. */
async function vaulted(number: string) {
  const workflowId = `payment-test-mer_cvvdrop-${randomUUID()}`;
  const token = await vaultCard(
    real.stack.db,
    real.stack.config.vaultKeys,
    `test:mer_cvvdrop:${workflowId}`,
    { number, cvv: CVV, month: 12, year: 2040 },
    60_000,
  );
  const authorize = (authenticated = false) =>
    real.activities.authorizePayment({
      idempotencyKey: workflowId,
      vaultToken: token,
      connector: 'simulator',
      amount: 1234,
      currency: 'EUR',
      authenticated,
    });
  const entry = () => real.stack.db.collection<VaultDoc>('vault').findOne({ _id: token });
  return { token, authorize, entry };
}

const approved = { kind: 'approved', pspReference: expect.stringMatching(/^sim_[0-9a-f]{24}$/) as string };

async function expectCvvDropped(card: Awaited<ReturnType<typeof vaulted>>): Promise<void> {
  const entry = await card.entry();
  expect(entry).not.toBeNull();
  expect(entry).not.toHaveProperty('sealedCvv');
  // Only the CVV went: the card itself stays until the payment ends.
  expect(await openCard(real.stack.db, real.stack.config.vaultKeys, card.token)).toEqual({
    number: expect.any(String) as string,
    cvv: undefined,
    month: 12,
    year: 2040,
  });
}

async function expectCvvKept(card: Awaited<ReturnType<typeof vaulted>>): Promise<void> {
  expect((await card.entry())?.sealedCvv).toEqual(expect.any(String));
  expect((await openCard(real.stack.db, real.stack.config.vaultKeys, card.token))?.cvv).toBe(CVV);
}

it('drops the CVV once the processor approved', async () => {
  const card = await vaulted('4111111111111111');
  await expectCvvKept(card);
  expect(await card.authorize()).toEqual(approved);
  await expectCvvDropped(card);
});

it('drops the CVV once the processor declined', async () => {
  const card = await vaulted('4000000000000002');
  expect(await card.authorize()).toEqual<AuthorizeOutcome>({ kind: 'declined', message: 'Card declined' });
  await expectCvvDropped(card);
});

it('keeps the CVV while 3-D Secure is required, and drops it after the authenticated authorization', async () => {
  const card = await vaulted('4000000000003220');
  expect(await card.authorize(false)).toEqual<AuthorizeOutcome>({ kind: 'challenge_required' });
  await expectCvvKept(card);
  expect(await card.authorize(true)).toEqual(approved);
  await expectCvvDropped(card);

  // Declined after the challenge: dropped as well.
  const declined = await vaulted('4000008400001629');
  expect(await declined.authorize(false)).toEqual<AuthorizeOutcome>({ kind: 'challenge_required' });
  await expectCvvKept(declined);
  expect(await declined.authorize(true)).toEqual<AuthorizeOutcome>({ kind: 'declined', message: 'Card declined' });
  await expectCvvDropped(declined);
});

it('keeps the CVV through transient processor failures, which Temporal retries, and drops it after the answer', async () => {
  const card = await vaulted('4000000000000119');
  for (let attempt = 1; attempt <= 2; attempt++) {
    await expect(card.authorize()).rejects.toBeInstanceOf(PspUnavailableError);
    await expectCvvKept(card);
  }
  expect(await card.authorize()).toEqual(approved);
  await expectCvvDropped(card);
});
