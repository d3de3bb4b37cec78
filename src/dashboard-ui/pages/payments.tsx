/**
 * The payments list, newest first: filters and search live in the page's own URL (shareable, and Back works),
 * the API's opaque cursor turns the page, and the CSV export carries the same filters.
 */
import { useLocation } from 'preact-iso';
import { API } from '../api';
import type { Mode, PaymentPage, PaymentStatus, PaymentSummary } from '../api-types';
import { formatAmount, formatDateTime, STATUS_LABELS, toMinorUnits } from '../format';
import { fieldText } from '../forms';
import { useApiGet, useMerchantCurrency } from '../hooks';
import { PageTitle } from '../layout';
import { Table } from '../table';

const STATUSES = Object.keys(STATUS_LABELS) as PaymentStatus[];
const PAGE_SIZE = 25;

interface PageQuery {
  q?: string;
  status?: string;
  from?: string;
  to?: string;
  min?: string;
  max?: string;
  threeDS?: string;
  cursor?: string;
}

/** The start (or the end) of a day picked in the browser's time zone, as the instant the API compares with. */
function dayBoundary(day: string, end: boolean): string | undefined {
  const date = new Date(`${day}T00:00:00`);
  if (Number.isNaN(date.getTime())) return undefined;
  if (end) date.setDate(date.getDate() + 1);
  return new Date(date.getTime() - (end ? 1 : 0)).toISOString();
}

/** The API's query for the page's filters (without the cursor). */
function apiFilters(query: PageQuery, currency: string): URLSearchParams {
  const params = new URLSearchParams();
  if (query.q?.trim()) params.set('q', query.q.trim());
  for (const status of (query.status ?? '').split(',').filter(Boolean)) params.append('status', status);
  const from = query.from && dayBoundary(query.from, false);
  const to = query.to && dayBoundary(query.to, true);
  if (from) params.set('from', from);
  if (to) params.set('to', to);
  const min = query.min ? toMinorUnits(query.min, currency) : undefined;
  const max = query.max ? toMinorUnits(query.max, currency) : undefined;
  if (min !== undefined) params.set('minAmount', String(min));
  if (max !== undefined) params.set('maxAmount', String(max));
  if (query.threeDS === 'yes' || query.threeDS === 'no') params.set('threeDS', query.threeDS);
  return params;
}

function pageUrl(mode: Mode, query: PageQuery): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value) params.set(key, String(value));
  const search = params.toString();
  return `/dashboard/${mode}/payments${search ? `?${search}` : ''}`;
}

export function paymentPath(mode: Mode, tid: string): string {
  return `/dashboard/${mode}/payments/${encodeURIComponent(tid)}`;
}

export function PaymentsPage({ mode }: { mode: Mode }) {
  const location = useLocation();
  const query = location.query as PageQuery;
  const currency = useMerchantCurrency(mode) ?? 'EUR';
  const filters = apiFilters(query, currency);
  const listQuery = new URLSearchParams(filters);
  listQuery.set('limit', String(PAGE_SIZE));
  if (query.cursor) listQuery.set('cursor', query.cursor);
  const list = useApiGet<PaymentPage>(`/${mode}/payments?${listQuery.toString()}`);
  const chosen = new Set((query.status ?? '').split(',').filter(Boolean));
  const filtered = [...filters.keys()].length > 0;

  const apply = (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => fieldText(form, name).trim() || undefined;
    location.route(
      pageUrl(mode, {
        q: text('q'),
        status: form.getAll('status').map(String).join(',') || undefined,
        from: text('from'),
        to: text('to'),
        min: text('min'),
        max: text('max'),
        threeDS: text('threeDS'),
      }),
    );
  };

  return (
    <>
      <PageTitle title="Payments">Payments</PageTitle>
      {/* The key makes the form take the URL's values again after Back or a cleared filter. */}
      <form class="filters" onSubmit={apply} key={location.url} aria-label="Find payments">
        <label>
          Search by Tid, Reference or Uid
          <input type="search" name="q" defaultValue={query.q ?? ''} placeholder="order-1042, pr_…, customer-42" />
        </label>
        <details open={filtered && !query.q}>
          <summary>Filters</summary>
          <fieldset class="statuses">
            <legend>Status</legend>
            {STATUSES.map((status) => (
              <label key={status}>
                <input type="checkbox" name="status" value={status} defaultChecked={chosen.has(status)} />
                {STATUS_LABELS[status]}
              </label>
            ))}
          </fieldset>
          <div class="grid">
            <label>
              Created from
              <input type="date" name="from" defaultValue={query.from ?? ''} />
            </label>
            <label>
              Created to
              <input type="date" name="to" defaultValue={query.to ?? ''} />
            </label>
          </div>
          <div class="grid">
            <AmountFilter name="min" label="Amount at least" currency={currency} value={query.min} />
            <AmountFilter name="max" label="Amount at most" currency={currency} value={query.max} />
            <label>
              3-D Secure
              <select name="threeDS" defaultValue={query.threeDS ?? ''}>
                <option value="">Any</option>
                <option value="yes">With 3-D Secure</option>
                <option value="no">Without 3-D Secure</option>
              </select>
            </label>
          </div>
        </details>
        <div class="actions">
          <button type="submit">Apply</button>
          <a href={`/dashboard/${mode}/payments`} role="button" class="secondary outline">
            Clear
          </a>
          <a href={`${API}/${mode}/payments.csv?${filters.toString()}`} download role="button" class="secondary">
            Export CSV
          </a>
        </div>
      </form>

      {list.error && (
        <p role="alert" class="error">
          {list.error}
        </p>
      )}
      {list.loading && <p aria-busy="true">Loading payments…</p>}
      {list.data && (
        <PaymentsTable
          mode={mode}
          payments={list.data.payments}
          filtered={filtered}
          caption={query.cursor ? 'Payments, continued (newest first)' : 'Payments, newest first'}
        />
      )}
      <nav class="pager" aria-label="Pages">
        {query.cursor && <a href={pageUrl(mode, { ...query, cursor: undefined })}>First page</a>}
        {list.data?.next && (
          <a href={pageUrl(mode, { ...query, cursor: list.data.next })} role="button" class="outline">
            Next page
          </a>
        )}
      </nav>
    </>
  );
}

/** An amount bound in the merchant's currency (12.50 or 12,50); toMinorUnits turns it into the API's minor units. */
function AmountFilter(props: { name: 'min' | 'max'; label: string; currency: string; value: string | undefined }) {
  return (
    <label>
      {props.label} ({props.currency})
      <input
        type="text"
        inputMode="decimal"
        name={props.name}
        defaultValue={props.value ?? ''}
        pattern="\d+([.,]\d+)?"
      />
    </label>
  );
}

function PaymentsTable(props: { mode: Mode; payments: PaymentSummary[]; filtered: boolean; caption: string }) {
  if (props.payments.length === 0)
    return <p>{props.filtered ? 'No payment matches these filters here.' : 'No payments yet in this mode.'}</p>;
  return (
    <Table
      scroll
      class="striped payments"
      caption={props.caption}
      columns={['Status', { label: 'Amount', amount: true }, 'Tid', 'Reference', 'Uid', 'Card', '3DS', 'Date']}
    >
      {props.payments.map((p) => (
        <tr key={p.tid}>
          <td>
            <StatusBadge status={p.status} />
            {p.refund && (
              <>
                {' '}
                <span class={`badge ${p.refund.status === 'captured' ? 'refunded' : 'failed'}`}>
                  {p.refund.status === 'captured' ? 'Refunded' : 'Refund failed'}
                </span>
              </>
            )}
          </td>
          <td class="amount">{formatAmount(p.amount, p.currency)}</td>
          <td>
            <a href={paymentPath(props.mode, p.tid)}>{p.tid}</a>
          </td>
          <td>
            <code>{p.reference}</code>
          </td>
          <td>{p.uid}</td>
          <td>
            {p.brand} {p.maskedPan}
          </td>
          <td>{p.threeDS ? 'Yes' : 'No'}</td>
          <td>
            <time dateTime={p.createdAt}>{formatDateTime(p.createdAt)}</time>
          </td>
        </tr>
      ))}
    </Table>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge ${status}`}>{STATUS_LABELS[status] ?? status}</span>;
}
