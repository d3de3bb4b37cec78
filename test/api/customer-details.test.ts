import { defaultPayloadConverter } from '@temporalio/common';
import { createPaymentActivities } from '../../activities/payment-activities';
import type { AuthorizeRequest, PspAdapter } from '../../activities/psp/adapter';
import { findPayment } from '../../src/store/payment-records';
import { deleteCard, vaultCard } from '../../src/store/vault';
import { type CustomerDetails, paymentKey, paymentWorkflowId } from '../../workflows/vocabulary';
import { paymentBody, post, useStackWithMerchant } from '../support/factories';
import { BILLING_CUSTOMER, BILLING_FIELDS } from '../support/billing';

/**
 * The customer and order fields a merchant sends (docs/fields.md) are validated, then kept on the payment record
 * and handed to the processor: API → payment document and workflow input → authorize activity → the connector's
 * AuthorizeRequest. Never card data.
 */
const shop = useStackWithMerchant();

it('a payment with billing fields keeps them on its record and passes them to the authorize activity', async () => {
  const body = paymentBody(BILLING_FIELDS);
  const paid = await post(shop.stack.apiUrl, 'payment', shop.merchant.testKey, body, 'form');
  expect(paid.body.Result).toMatchObject({ Status: 'captured' });

  const doc = await findPayment(shop.stack.db, paymentKey('test', shop.merchant.merchantId, body.Tid!));
  expect(doc?.customer).toEqual(BILLING_CUSTOMER);

  // What the workflow scheduled, read from its history on the real Temporal server.
  const history = await shop.stack.temporal.workflow
    .getHandle(paymentWorkflowId('test', shop.merchant.merchantId, body.Tid!))
    .fetchHistory();
  const authorizations = (history.events ?? [])
    .map((event) => event.activityTaskScheduledEventAttributes)
    .filter((scheduled) => scheduled?.activityType?.name === 'authorizePayment')
    .map((scheduled) =>
      defaultPayloadConverter.fromPayload<{ customer?: CustomerDetails }>(scheduled!.input!.payloads![0]!),
    );
  expect(authorizations).toHaveLength(1);
  expect(authorizations[0]!.customer).toEqual(BILLING_CUSTOMER);
});

it('the authorize activity hands the customer details to the processor connector, with the card from the vault', async () => {
  const received: AuthorizeRequest[] = [];
  const recording: PspAdapter = {
    name: 'recording',
    authorize: (request) => {
      received.push(request);
      return Promise.resolve({ kind: 'approved', pspReference: 'psp_recorded' });
    },
    checkAuthorization: () => Promise.resolve({ kind: 'approved', pspReference: 'psp_recorded' }),
    capture: () => Promise.resolve({ kind: 'captured' }),
    refund: () => Promise.resolve({ kind: 'refunded', pspReference: 'psp_refund' }),
    void: () => Promise.resolve({ kind: 'voided' }),
  };
  const activities = createPaymentActivities({
    db: shop.stack.db,
    vaultKeys: shop.stack.config.vaultKeys,
    connectors: { recording },
  });
  const card = { number: '4111111111111111', month: 12, year: new Date().getUTCFullYear() + 3, cvv: '123' };
  const vaultToken = await vaultCard(
    shop.stack.db,
    shop.stack.config.vaultKeys,
    `test:${shop.merchant.merchantId}:recording`,
    card,
    60_000,
  );
  try {
    const outcome = await activities.authorizePayment({
      idempotencyKey: 'recording-1',
      vaultToken,
      connector: 'recording',
      amount: 1234,
      currency: 'EUR',
      authenticated: false,
      customer: BILLING_CUSTOMER,
    });
    expect(outcome).toEqual({ kind: 'approved', pspReference: 'psp_recorded' });
  } finally {
    await deleteCard(shop.stack.db, vaultToken);
  }
  expect(received).toHaveLength(1);
  expect(received[0]).toMatchObject({
    amount: 1234,
    currency: 'EUR',
    customer: BILLING_CUSTOMER,
    card: { number: card.number, cvv: '123' },
  });
});
