// DOM for the viewer. Span names, tags and logs are data a merchant's request can shape (a Tid is in the workflow
// id): every text goes in through textContent or an attribute, never as markup, so nothing of a trace is ever HTML.
import { formatDuration, isError, serviceOf, summarize, tagValue, timeSpan, waterfallRows } from './model.js';

/** An element with its class and children (strings become text nodes). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props))
    if (key === 'class') node.className = value;
    else if (key === 'style') Object.assign(node.style, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, String(value));
  for (const child of children.flat())
    if (child !== undefined && child !== null)
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  return node;
}

const time = (us) => new Date(us / 1_000).toLocaleString();

/** The list of traces: one row each, linking to the trace. */
export function traceListRows(traces) {
  return traces
    .map(summarize)
    .sort((a, b) => b.start - a.start)
    .map((t) =>
      el(
        'tr',
        { 'data-trace-id': t.traceID },
        el('td', {}, el('a', { href: `#trace=${encodeURIComponent(t.traceID)}` }, t.rootName)),
        el('td', {}, time(t.start)),
        el('td', {}, formatDuration(t.duration)),
        el(
          'td',
          {},
          String(t.spanCount),
          t.incomplete ? el('span', { class: 'note', title: 'a parent span is not in yet' }, ' (open)') : '',
        ),
        el('td', {}, t.services.join(', ')),
        el(
          'td',
          { class: t.errors > 0 ? 'error' : '' },
          t.errors > 0 ? `${t.errors} error${t.errors > 1 ? 's' : ''}` : '',
        ),
      ),
    );
}

/**
 * The waterfall: one row per span (or placeholder), indented by depth, its bar placed on the trace's shared time
 * axis. `onSelect(span)` runs when a span's row is clicked.
 */
export function waterfall(trace, onSelect) {
  const axis = timeSpan(trace);
  const scale = axis.duration > 0 ? axis.duration : 1;
  const pct = (us) => `${((us / scale) * 100).toFixed(3)}%`;
  const header = el(
    'div',
    { class: 'row axis' },
    el('div', { class: 'name' }, 'Span'),
    el('div', { class: 'service' }, 'Service'),
    el(
      'div',
      { class: 'timeline' },
      ...[0, 0.25, 0.5, 0.75].map((f) =>
        el('span', { style: { left: `${f * 100}%` } }, formatDuration(Math.round(f * axis.duration))),
      ),
    ),
    el('div', { class: 'duration' }, formatDuration(axis.duration)),
  );
  const rows = waterfallRows(trace).map((row) => {
    const indent = { paddingLeft: `${row.depth * 1.1 + 0.3}em` };
    if (row.placeholder !== undefined)
      return el(
        'div',
        { class: 'row placeholder', 'data-missing-span-id': row.placeholder, 'data-depth': row.depth },
        el('div', { class: 'name', style: indent }, row.label),
        el(
          'div',
          { class: 'timeline' },
          el('div', {
            class: 'bar',
            style: { left: pct(row.startTime - axis.start), width: pct(row.endTime - row.startTime) },
          }),
        ),
      );
    const span = row.span;
    const error = isError(span);
    const node = el(
      'div',
      {
        class: `row span${error ? ' error' : ''}`,
        'data-span-id': span.spanID,
        'data-depth': row.depth,
        tabindex: 0,
        role: 'button',
      },
      el('div', { class: 'name', style: indent, title: span.operationName }, error ? '⚠ ' : '', span.operationName),
      el('div', { class: 'service' }, serviceOf(trace, span)),
      el(
        'div',
        { class: 'timeline' },
        el('div', { class: 'bar', style: { left: pct(span.startTime - axis.start), width: pct(span.duration) } }),
      ),
      el('div', { class: 'duration' }, formatDuration(span.duration)),
    );
    const select = () => onSelect(span, node);
    node.addEventListener('click', select);
    node.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') select();
    });
    return node;
  });
  return [header, ...rows];
}

/** A span's details: its ids, timing, tags, logs (events) and its process's tags. */
export function spanDetail(trace, span) {
  const table = (pairs) =>
    el('table', {}, ...pairs.map(([key, value]) => el('tr', {}, el('th', {}, key), el('td', {}, display(value)))));
  const process = trace.processes?.[span.processID];
  const start = timeSpan(trace).start;
  return el(
    'div',
    {},
    el('h3', {}, span.operationName),
    table([
      ['service', serviceOf(trace, span)],
      ['span id', span.spanID],
      ['starts at', `+${formatDuration(span.startTime - start)}`],
      ['duration', formatDuration(span.duration)],
      ['kind', tagValue(span, 'span.kind') ?? ''],
    ]),
    el('h4', {}, 'Attributes'),
    table((span.tags ?? []).map((tag) => [tag.key, tag.value])),
    ...(span.logs?.length
      ? [
          el('h4', {}, 'Events'),
          ...span.logs.map((log) =>
            el(
              'div',
              { class: 'event' },
              el('div', { class: 'note' }, `+${formatDuration(log.timestamp - start)}`),
              table(log.fields.map((field) => [field.key, field.value])),
            ),
          ),
        ]
      : []),
    ...(span.warnings?.length
      ? [el('h4', {}, 'Jaeger says'), el('ul', {}, ...span.warnings.map((w) => el('li', {}, w)))]
      : []),
    el('h4', {}, 'Process'),
    table((process?.tags ?? []).map((tag) => [tag.key, tag.value])),
  );
}

function display(value) {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
