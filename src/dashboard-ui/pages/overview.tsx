/**
 * The first screen of a merchant's day: volume and count per day, the approval rate, why payments were declined,
 * and how many wait for the cardholder's 3-D Secure answer now. Each chart has the same numbers as a table.
 */
import type { ChartConfiguration } from 'chart.js';
import { useLocation } from 'preact-iso';
import { useMemo } from 'preact/hooks';
import type { Mode, Overview } from '../api-types';
import { ChartCanvas } from '../chart';
import { formatAmount, formatDay, formatPercent, fromMinorUnits } from '../format';
import { useApiGet } from '../hooks';
import { PageTitle } from '../layout';
import { Table } from '../table';

const PERIODS = [7, 14, 30] as const;
const CAPTURED = '#2f7d46';
const DECLINED = '#c0392b';
const VOLUME = '#1d5fa8';

export function OverviewPage({ mode }: { mode: Mode }) {
  const location = useLocation();
  const days = PERIODS.find((d) => String(d) === location.query.days) ?? 14;
  const overview = useApiGet<Overview>(`/${mode}/overview?days=${days}`);
  const o = overview.data;

  const charts = useMemo(() => (o ? chartsOf(o) : null), [o]);

  return (
    <>
      <PageTitle title="Overview">Overview</PageTitle>
      <nav aria-label="Period">
        <ul>
          {PERIODS.map((d) => (
            <li key={d}>
              <a href={`/dashboard/${mode}/overview?days=${d}`} aria-current={d === days ? 'page' : undefined}>
                Last {d} days
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {overview.error && (
        <p role="alert" class="error">
          {overview.error}
        </p>
      )}
      {overview.loading && <p aria-busy="true">Loading the overview…</p>}
      {o && charts && (
        <>
          {o.partial && (
            <p role="status" class="notice">
              This period holds more payments than an overview reads at once: the figures below are those of its newest
              5,000 payments.
            </p>
          )}
          <section class="metrics" aria-label="Key figures">
            <article>
              <h2>Approval rate</h2>
              <p class="metric">{formatPercent(o.approvalRate)}</p>
              <small>Captured among finished payments, last {days} days</small>
            </article>
            <article>
              <h2>Captured volume</h2>
              <p class="metric">
                {formatAmount(
                  o.days.reduce((sum, d) => sum + d.capturedAmount, 0),
                  o.currency,
                )}
              </p>
              <small>Last {days} days</small>
            </article>
            <article>
              <h2>Pending 3-D Secure</h2>
              <p class="metric">{o.pending3DS}</p>
              <small>Waiting for the cardholder now</small>
            </article>
          </section>

          <section aria-labelledby="volume-title">
            <h2 id="volume-title">Captured volume per day ({o.currency})</h2>
            <ChartCanvas config={charts.volume} />
          </section>

          <section aria-labelledby="count-title">
            <h2 id="count-title">Payments per day</h2>
            <ChartCanvas config={charts.counts} />
            <details>
              <summary>Volume and payments per day as a table</summary>
              <DaysTable overview={o} />
            </details>
          </section>

          <section aria-labelledby="declines-title">
            <h2 id="declines-title">Declines by reason</h2>
            {o.declinesByReason.length === 0 ? (
              <p>No declined payment in this period.</p>
            ) : (
              <>
                <ChartCanvas config={charts.declines} />
                <Table
                  caption={`Declines by reason, last ${days} days`}
                  columns={['Reason', { label: 'Payments', amount: true }]}
                >
                  {o.declinesByReason.map((r) => (
                    <tr key={r.reason}>
                      <td>{r.reason}</td>
                      <td class="amount">{r.count}</td>
                    </tr>
                  ))}
                </Table>
              </>
            )}
          </section>
        </>
      )}
    </>
  );
}

function DaysTable({ overview }: { overview: Overview }) {
  return (
    <Table
      caption={`Per day (${overview.currency})`}
      columns={[
        'Day',
        { label: 'Payments', amount: true },
        { label: 'Captured', amount: true },
        { label: 'Declined', amount: true },
        { label: 'Captured volume', amount: true },
      ]}
    >
      {overview.days.map((d) => (
        <tr key={d.date}>
          <th scope="row">{formatDay(d.date)}</th>
          <td class="amount">{d.count}</td>
          <td class="amount">{d.captured}</td>
          <td class="amount">{d.declined}</td>
          <td class="amount">{formatAmount(d.capturedAmount, overview.currency)}</td>
        </tr>
      ))}
    </Table>
  );
}

function chartsOf(o: Overview): Record<'volume' | 'counts' | 'declines', ChartConfiguration> {
  const labels = o.days.map((d) => formatDay(d.date));
  return {
    volume: {
      type: 'bar',
      data: {
        labels,
        datasets: [
          {
            label: `Captured (${o.currency})`,
            data: o.days.map((d) => Number(fromMinorUnits(d.capturedAmount, o.currency))),
            backgroundColor: VOLUME,
          },
        ],
      },
      options: { plugins: { legend: { display: false } } },
    },
    counts: {
      type: 'line',
      data: {
        labels,
        datasets: [
          { label: 'All', data: o.days.map((d) => d.count), borderColor: VOLUME, backgroundColor: VOLUME },
          { label: 'Captured', data: o.days.map((d) => d.captured), borderColor: CAPTURED, backgroundColor: CAPTURED },
          { label: 'Declined', data: o.days.map((d) => d.declined), borderColor: DECLINED, backgroundColor: DECLINED },
        ],
      },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    },
    declines: {
      type: 'bar',
      data: {
        labels: o.declinesByReason.map((r) => r.reason),
        datasets: [{ label: 'Declines', data: o.declinesByReason.map((r) => r.count), backgroundColor: DECLINED }],
      },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { ticks: { precision: 0 } } } },
    },
  };
}
