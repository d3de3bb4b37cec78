// SettleFlow's trace viewer, served by Jaeger's own query service (docs/tracing.md): the page and the query API
// share an origin, so every request below is a relative URL, resolved against the page's <base>.
import { classifyQuery, matchesTidOrRequestId } from './model.js';
import { el, spanDetail, traceListRows, waterfall } from './render.js';

const $ = (id) => document.getElementById(id);
/** How many recent traces a list or a Tid search reads. */
const LIMIT = 200;

async function api(path) {
  const res = await fetch(path);
  if (res.status === 404) return { data: [] };
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

function status(text) {
  $('status').textContent = text;
}

/** The form's state lives in the URL's hash, so a search or a trace can be reloaded and shared. */
function readHash() {
  return new URLSearchParams(location.hash.slice(1));
}

async function loadServices(selected) {
  const { data } = await api('api/services');
  const services = (data ?? []).sort();
  const select = $('service');
  select.replaceChildren(...services.map((name) => el('option', { value: name }, name)));
  select.value =
    selected && services.includes(selected)
      ? selected
      : services.includes('settleflow-api')
        ? 'settleflow-api'
        : (services[0] ?? '');
}

const searchUrl = (service, lookback, tags) =>
  `api/traces?${new URLSearchParams({ service, lookback, limit: String(LIMIT), ...(tags ? { tags: JSON.stringify(tags) } : {}) })}`;

async function search(params) {
  // A page opened before the first trace arrived has no service to pick yet.
  if (!$('service').value) await loadServices(params.get('service'));
  const service = params.get('service') ?? $('service').value;
  const lookback = params.get('lookback') ?? '1h';
  const query = classifyQuery(params.get('q') ?? '');
  if (query.kind === 'traceId') return showTrace(query.value);
  if (!service) return status('No service has sent a trace yet.');
  status('Searching…');
  let traces;
  if (query.kind === 'workflowId') {
    // Both processes' Temporal spans carry the workflow id: the API's for the payment and for each refund sent to
    // it (a trace of its own), the worker's for every activity.
    const found = await Promise.all(
      ['settleflow-api', 'settleflow-worker'].map((s) =>
        api(searchUrl(s, lookback, { temporalWorkflowId: query.value })),
      ),
    );
    traces = [...new Map(found.flatMap((r) => r.data ?? []).map((t) => [t.traceID, t])).values()];
  } else {
    traces = (await api(searchUrl(service, lookback))).data ?? [];
    if (query.kind === 'tidOrRequestId') traces = traces.filter((t) => matchesTidOrRequestId(t, query.value));
  }
  $('trace').hidden = true;
  $('list').hidden = false;
  $('traces').replaceChildren(...traceListRows(traces));
  status(
    query.kind === 'recent'
      ? `${traces.length} recent trace(s) of ${service}`
      : `${traces.length} trace(s) for “${query.value}”`,
  );
}

async function showTrace(traceId) {
  status('Loading trace…');
  const { data } = await api(`api/traces/${encodeURIComponent(traceId)}`);
  const trace = data?.[0];
  $('list').hidden = true;
  if (!trace) {
    $('trace').hidden = true;
    return status(`No trace ${traceId} (yet): spans reach Jaeger a few seconds after they end.`);
  }
  $('trace-title').textContent = `Trace ${trace.traceID}`;
  const detail = $('detail');
  detail.hidden = true;
  let selected;
  $('waterfall').replaceChildren(
    ...waterfall(trace, (span, row) => {
      selected?.classList.remove('selected');
      selected = row;
      row.classList.add('selected');
      detail.replaceChildren(spanDetail(trace, span));
      detail.hidden = false;
    }),
  );
  $('trace').hidden = false;
  status(`${trace.spans.length} spans`);
}

async function route() {
  const params = readHash();
  // Back and forward change the hash: the form shows the search it names.
  if (!params.has('trace')) {
    $('q').value = params.get('q') ?? '';
    if (params.has('lookback')) $('lookback').value = params.get('lookback');
    if (params.has('service')) $('service').value = params.get('service');
  }
  try {
    if (params.has('trace')) await showTrace(params.get('trace'));
    else await search(params);
  } catch (err) {
    status(`Failed: ${err.message}`);
  }
}

async function main() {
  try {
    await loadServices(readHash().get('service'));
  } catch (err) {
    status(`Failed: ${err.message}`);
  }
  $('search').addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams({ service: $('service').value, lookback: $('lookback').value, q: $('q').value });
    // A new hash routes by itself; the same one (search again) does not.
    if (location.hash.slice(1) === next.toString()) void route();
    else location.hash = next.toString();
  });
  window.addEventListener('hashchange', () => void route());
  await route();
}

void main();
