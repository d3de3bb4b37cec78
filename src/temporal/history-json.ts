import { createRequire } from 'node:module';
import { temporal } from '@temporalio/proto';

/**
 * Workflow histories to and from proto-JSON: the format of the Temporal Web UI's "Download", of
 * `temporal workflow show --output json`, and of test/replay/histories/.
 *
 * Why not `historyToJSON`/`historyFromJSON` from @temporalio/common: they throw "type must be a Type" whenever npm
 * installs @temporalio/proto and @temporalio/common with separate copies of protobufjs 8 (as it does here, because
 * @grpc/proto-loader holds protobufjs 7 at the top of node_modules): protojson checks `instanceof Type` against
 * its own copy. Taking protojson from the copy that @temporalio/proto itself resolves works in every layout.
 */

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }): unknown;
}

const protojson = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as ProtoJson;
/** @temporalio/proto is built from reflection: this class is at run time the protobufjs `Type` protojson expects. */
const historyType = temporal.api.history.v1.History;

/** What the SDK's clients return and its replay takes (the Worker's `History`). */
type History = temporal.api.history.v1.IHistory;

export function historyToJson(history: History): string {
  return JSON.stringify(protojson.toJson(historyType, historyType.fromObject(history)), null, 2);
}

/** Older exports (tctl, early UI versions) name enum values in PascalCase without their prefix. */
function constantCase(value: unknown, prefix: string): unknown {
  if (typeof value !== 'string' || value.startsWith(prefix)) return value;
  return `${prefix}_${value.replace(/(?<=.)([A-Z])/g, '_$1').toUpperCase()}`;
}

const ENUM_PREFIXES: Record<string, string> = {
  parentClosePolicy: 'PARENT_CLOSE_POLICY',
  workflowIdReusePolicy: 'WORKFLOW_ID_REUSE_POLICY',
  initiator: 'CONTINUE_AS_NEW_INITIATOR',
  retryState: 'RETRY_STATE',
};

function normalizeEvent(event: Record<string, unknown>): Record<string, unknown> {
  const attributesKey = Object.keys(event).find((key) => key.endsWith('EventAttributes'));
  if (!attributesKey) throw new TypeError(`history event ${String(event.eventId)} has no attributes`);
  const attributes = { ...(event[attributesKey] as Record<string, unknown>) };
  for (const [field, prefix] of Object.entries(ENUM_PREFIXES)) {
    if (field in attributes) attributes[field] = constantCase(attributes[field], prefix);
  }
  const taskQueue = attributes.taskQueue as Record<string, unknown> | undefined;
  if (taskQueue?.kind) attributes.taskQueue = { ...taskQueue, kind: constantCase(taskQueue.kind, 'TASK_QUEUE_KIND') };
  return { ...event, eventType: constantCase(event.eventType, 'EVENT_TYPE'), [attributesKey]: attributes };
}

export function historyFromJson(json: unknown): History {
  const events = (json as { events?: unknown } | null)?.events;
  if (!Array.isArray(events)) throw new TypeError('not a workflow history: expected an object with an "events" array');
  // Unknown fields are tolerated: a newer server or UI may add some, and replay does not need them.
  return protojson.fromJson(
    historyType,
    { events: events.map((e) => normalizeEvent(e as Record<string, unknown>)) },
    { ignoreUnknownFields: true },
  ) as History;
}
