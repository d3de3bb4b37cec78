/**
 * One payment: what it is, what happened to it and when, every webhook delivery attempt, and the two actions an
 * admin may take — resend a webhook, refund (the same refund command and rules as POST /v1/refund/direct). A
 * viewer sees no buttons; the server refuses them anyway.
 */
import { useState } from 'preact/hooks';
import { api, ApiError, describeError } from '../api';
import type { Mode, PaymentDetail, Refund, WebhookAttempt, WebhookDelivery } from '../api-types';
import { ConfirmDialog } from '../confirm';
import { formatAmount, formatDateTime, formatDuration, TIMELINE_LABELS } from '../format';
import { useApiGet } from '../hooks';
import { PageTitle } from '../layout';
import { useSession } from '../session';
import { Table } from '../table';
import { StatusBadge } from './payments';

export function PaymentPage({ mode, tid }: { mode: Mode; tid: string }) {
  const { session } = useSession();
  const admin = session.user.role === 'admin';
  const path = `/${mode}/payments/${encodeURIComponent(tid)}`;
  const payment = useApiGet<PaymentDetail>(path);
  const [confirming, setConfirming] = useState(false);
  const [refunding, setRefunding] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);

  const refund = async () => {
    setRefunding(true);
    try {
      const answer = await api<{ refund: Refund }>('POST', `${path}/refund`, {});
      setOutcome({
        ok: answer.refund.status === 'captured',
        text: `Refund ${answer.refund.reference}: ${answer.refund.message}`,
      });
      payment.reload();
    } catch (err) {
      const eproCode = err instanceof ApiError ? err.body.eproCode : undefined;
      const code = typeof eproCode === 'string' || typeof eproCode === 'number' ? ` (code ${eproCode})` : '';
      setOutcome({ ok: false, text: `Refund refused: ${describeError(err)}${code}` });
    } finally {
      setRefunding(false);
      setConfirming(false);
    }
  };

  const p = payment.data;
  return (
    <>
      <nav aria-label="Breadcrumb">
        <ul>
          <li>
            <a href={`/dashboard/${mode}/payments`}>Payments</a>
          </li>
          <li>{tid}</li>
        </ul>
      </nav>
      <PageTitle title={`Payment ${tid}`}>Payment {tid}</PageTitle>
      {payment.error && (
        <p role="alert" class="error">
          {payment.error}
        </p>
      )}
      {payment.loading && <p aria-busy="true">Loading the payment…</p>}
      {outcome && (
        <p role="status" class={outcome.ok ? 'ok' : 'error'}>
          {outcome.text}
        </p>
      )}
      {p && (
        <>
          <section aria-labelledby="summary-title">
            <h2 id="summary-title">Summary</h2>
            <dl class="summary">
              <dt>Status</dt>
              <dd>
                <StatusBadge status={p.status} /> {p.message}
              </dd>
              <dt>Amount</dt>
              <dd>{formatAmount(p.amount, p.currency)}</dd>
              <dt>Reference</dt>
              <dd>
                <code>{p.reference}</code>
              </dd>
              <dt>Customer (Uid)</dt>
              <dd>{p.uid}</dd>
              <dt>Card</dt>
              <dd>
                {p.brand} {p.maskedPan}
              </dd>
              <dt>3-D Secure</dt>
              <dd>{p.threeDS ? 'Yes' : 'No'}</dd>
              <dt>Processor reference</dt>
              <dd>{p.processorReference ? <code>{p.processorReference}</code> : '—'}</dd>
              <dt>Created</dt>
              <dd>{formatDateTime(p.createdAt)}</dd>
              <dt>Updated</dt>
              <dd>{formatDateTime(p.updatedAt)}</dd>
              {p.refund && (
                <>
                  <dt>Refund</dt>
                  <dd>
                    <code>{p.refund.reference}</code> — {p.refund.status === 'captured' ? 'refunded' : 'failed'} on{' '}
                    {formatDateTime(p.refund.date)}
                  </dd>
                </>
              )}
            </dl>
            {admin ? (
              p.refundable && (
                <button type="button" class="danger" onClick={() => setConfirming(true)}>
                  Refund {formatAmount(p.amount, p.currency)}
                </button>
              )
            ) : (
              <p>
                <small>Your role is viewer: refunds and webhook resends are for admins.</small>
              </p>
            )}
          </section>

          <section aria-labelledby="timeline-title">
            <h2 id="timeline-title">Timeline</h2>
            <ol class="timeline">
              {p.timeline.map((step, i) => (
                <li key={i}>
                  <time dateTime={step.at}>{formatDateTime(step.at)}</time> —{' '}
                  <strong>{TIMELINE_LABELS[step.event] ?? step.event}</strong>
                  {step.detail && <>: {step.detail}</>}
                </li>
              ))}
            </ol>
          </section>

          <section aria-labelledby="webhooks-title">
            <h2 id="webhooks-title">Webhooks</h2>
            {p.webhooks.length === 0 && <p>No webhook was sent for this payment (no CallbackUrl).</p>}
            {p.webhooks.map((delivery) => (
              <Delivery key={delivery.deliveryId} delivery={delivery} path={path} admin={admin} />
            ))}
          </section>

          {admin && (
            <ConfirmDialog
              open={confirming}
              title="Refund this payment?"
              confirmLabel="Refund"
              danger
              busy={refunding}
              onConfirm={() => void refund()}
              onCancel={() => setConfirming(false)}
            >
              <p>
                {formatAmount(p.amount, p.currency)} goes back to the card {p.maskedPan}. A refund cannot be undone.
              </p>
            </ConfirmDialog>
          )}
        </>
      )}
    </>
  );
}

function Delivery({ delivery, path, admin }: { delivery: WebhookDelivery; path: string; admin: boolean }) {
  const [attempts, setAttempts] = useState<WebhookAttempt[]>(delivery.attempts);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const headingId = `delivery-${delivery.deliveryId}`;

  const resend = async () => {
    setBusy(true);
    try {
      const { attempt } = await api<{ attempt: WebhookAttempt }>(
        'POST',
        `${path}/webhooks/${encodeURIComponent(delivery.deliveryId)}/resend`,
      );
      setAttempts((list) => [...list, attempt]);
      setMessage({
        ok: attempt.httpStatus !== undefined && attempt.httpStatus < 300,
        text: `Resent: ${attempt.httpStatus !== undefined ? `HTTP ${attempt.httpStatus}` : (attempt.error ?? 'no answer')} in ${formatDuration(attempt.durationMs)}.`,
      });
    } catch (err) {
      setMessage({ ok: false, text: describeError(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <article aria-labelledby={headingId}>
      <header>
        <h3 id={headingId}>
          {delivery.event}{' '}
          <span class={`badge ${delivery.delivered ? 'captured' : 'failed'}`}>
            {delivery.delivered ? 'Delivered' : 'Not delivered'}
          </span>
        </h3>
        <small>
          to <code>{delivery.url}</code>
          {delivery.deliveredAt && <> · delivered {formatDateTime(delivery.deliveredAt)}</>}
        </small>
      </header>
      <Table
        scroll
        caption={`Attempts of ${delivery.event}`}
        columns={['#', 'Time', 'HTTP status', 'Duration', 'Error']}
      >
        {attempts.map((a) => (
          <tr key={`${a.attempt}-${a.at}`}>
            <td>{a.attempt}</td>
            <td>
              <time dateTime={a.at}>{formatDateTime(a.at)}</time>
            </td>
            <td>{a.httpStatus ?? '—'}</td>
            <td>{formatDuration(a.durationMs)}</td>
            <td>{a.error ?? ''}</td>
          </tr>
        ))}
      </Table>
      {admin && (
        <footer class="actions">
          <button type="button" class="outline" onClick={() => void resend()} aria-busy={busy} disabled={busy}>
            Resend {delivery.event}
          </button>
          {message && (
            <span role="status" class={message.ok ? 'ok' : 'error'}>
              {message.text}
            </span>
          )}
        </footer>
      )}
    </article>
  );
}
