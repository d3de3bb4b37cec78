// The viewer's reading of Jaeger's query API JSON (`/api/traces…`): no DOM here, so the browser test can feed it
// traces of its own. Times in Jaeger's JSON are microseconds since the epoch.

/** A tag's value by key, or undefined. */
export function tagValue(span, key) {
  return span.tags?.find((tag) => tag.key === key)?.value;
}

/** OpenTelemetry's error status becomes Jaeger's `error=true` tag. */
export function isError(span) {
  const error = tagValue(span, 'error');
  return error === true || error === 'true';
}

export function parentId(span) {
  return span.references?.find((ref) => ref.refType === 'CHILD_OF')?.spanID;
}

export function serviceOf(trace, span) {
  return trace.processes?.[span.processID]?.serviceName ?? '?';
}

/**
 * What a placeholder row says about a parent span that is not in the trace. A payment's `RunWorkflow:…` span ends,
 * and so leaves the worker, only when its workflow closes at the end of the refund window (docs/tracing.md); the
 * spans it parents arrive long before. Those children are workflow spans: they carry the workflow's identity, so
 * the missing parent is named from it.
 */
export function missingParentLabel(spanId, children) {
  const workflow = children.find((child) => tagValue(child, 'workflowType') !== undefined);
  if (workflow)
    return (
      `RunWorkflow:${tagValue(workflow, 'workflowType')} span not received yet: the workflow ` +
      `${tagValue(workflow, 'workflowId') ?? ''} is still running; its span is exported when the workflow closes ` +
      `(span ${spanId})`
    );
  return `Span ${spanId} not received (yet): its children are shown under it`;
}

/**
 * The trace as a list of rows in display order, each with its depth: spans under their parent (by start time), and
 * for every parent id that no span of the trace has, a placeholder row holding its children instead of dropping
 * them or hanging them at the root. A placeholder spans the time of its children.
 */
export function waterfallRows(trace) {
  const spans = trace.spans ?? [];
  const ids = new Set(spans.map((span) => span.spanID));
  const children = new Map();
  const roots = [];
  const missing = new Map();
  for (const span of spans) {
    const parent = parentId(span);
    if (parent === undefined) roots.push({ span });
    else {
      if (!ids.has(parent) && !missing.has(parent)) missing.set(parent, { placeholder: parent });
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push({ span });
    }
  }
  for (const [id, node] of missing) {
    const kids = children.get(id).map((child) => child.span);
    node.label = missingParentLabel(id, kids);
    node.startTime = Math.min(...kids.map((s) => s.startTime));
    node.endTime = Math.max(...kids.map((s) => s.startTime + s.duration));
    roots.push(node);
  }
  const start = (node) => node.span?.startTime ?? node.startTime;
  const byStart = (a, b) => start(a) - start(b);
  const rows = [];
  const visit = (node, depth) => {
    rows.push({ ...node, depth });
    const id = node.span?.spanID ?? node.placeholder;
    for (const child of (children.get(id) ?? []).sort(byStart)) visit(child, depth + 1);
  };
  for (const root of roots.sort(byStart)) visit(root, 0);
  return rows;
}

/** Where the trace's time axis starts and how long it is (µs). */
export function timeSpan(trace) {
  const spans = trace.spans ?? [];
  if (spans.length === 0) return { start: 0, duration: 0 };
  const start = Math.min(...spans.map((s) => s.startTime));
  const end = Math.max(...spans.map((s) => s.startTime + s.duration));
  return { start, duration: end - start };
}

/** One row of the trace list. The root is the span without a parent, else the earliest one. */
export function summarize(trace) {
  const spans = trace.spans ?? [];
  const ids = new Set(spans.map((span) => span.spanID));
  const earliest = [...spans].sort((a, b) => a.startTime - b.startTime);
  const root = earliest.find((span) => parentId(span) === undefined) ?? earliest[0];
  const { start, duration } = timeSpan(trace);
  return {
    traceID: trace.traceID,
    rootName: root?.operationName ?? '(no spans)',
    start,
    duration,
    spanCount: spans.length,
    services: [...new Set(spans.map((span) => serviceOf(trace, span)))].sort(),
    errors: spans.filter(isError).length,
    incomplete: spans.some((span) => parentId(span) !== undefined && !ids.has(parentId(span)) && span !== root),
  };
}

/**
 * What the search box holds. The query API matches tags exactly, so: a trace id is opened; a workflow id
 * (`payment-{mode}-{merchantId}-{Tid}`) is searched as the `temporalWorkflowId` tag, which Temporal's client and
 * activity spans carry; anything else is a Tid or a request id, matched against the recent traces' workflow ids
 * (ending in `-{Tid}`) and `settleflow.request_id` tags in the browser, as the Tid alone is no tag of its own.
 */
export function classifyQuery(text) {
  const q = text.trim();
  if (q === '') return { kind: 'recent' };
  if (/^[0-9a-f]{16}$|^[0-9a-f]{32}$/i.test(q)) return { kind: 'traceId', value: q.toLowerCase() };
  if (q.startsWith('payment-')) return { kind: 'workflowId', value: q };
  return { kind: 'tidOrRequestId', value: q };
}

/** Whether a trace belongs to a Tid or a request id (the `tidOrRequestId` search). */
export function matchesTidOrRequestId(trace, value) {
  return (trace.spans ?? []).some((span) => {
    const workflowId = tagValue(span, 'temporalWorkflowId') ?? tagValue(span, 'workflowId');
    return (
      (typeof workflowId === 'string' && workflowId.endsWith(`-${value}`)) ||
      tagValue(span, 'settleflow.request_id') === value
    );
  });
}

/** A duration in µs, as a person reads it. */
export function formatDuration(us) {
  if (us < 1_000) return `${us} µs`;
  if (us < 1_000_000) return `${(us / 1_000).toFixed(us < 10_000 ? 2 : 1)} ms`;
  if (us < 60_000_000) return `${(us / 1_000_000).toFixed(2)} s`;
  return `${(us / 60_000_000).toFixed(1)} min`;
}
