import { type Connection, isGrpcServiceError } from '@temporalio/client';
import { google, temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

/**
 * The gRPC status codes the raw service calls below answer with. Their numbers are fixed by the gRPC protocol; the
 * SDK's public API has no enum for them, and its transport (@grpc/grpc-js) is not a dependency of ours.
 */
const GRPC_NOT_FOUND = 5;
const GRPC_ALREADY_EXISTS = 6;

function grpcCodeOf(err: unknown): number | undefined {
  return isGrpcServiceError(err) ? err.code : undefined;
}

/**
 * Makes a Temporal server ready for SettleFlow: the namespace exists and the custom search attributes are
 * registered. Idempotent, so it runs at every start, also against an existing database file or a production
 * cluster where an operator may already have done it.
 */
export async function ensureNamespace(connection: Connection, namespace: string, retentionDays = 30): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return;
  } catch (err) {
    if (grpcCodeOf(err) !== GRPC_NOT_FOUND) throw err;
  }
  try {
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: google.protobuf.Duration.fromObject({ seconds: retentionDays * 24 * 60 * 60 }),
    });
  } catch (err) {
    if (grpcCodeOf(err) !== GRPC_ALREADY_EXISTS) throw err;
  }
}

/** Registers whichever of our search attributes the namespace lacks; returns the names it added. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = SEARCH_ATTRIBUTES.filter((key) => !known.has(key.name));
  if (missing.length === 0) return [];
  const searchAttributes = Object.fromEntries(
    // The SDK's names (KEYWORD, INT, …) are the service enum's without its prefix.
    missing.map((key) => [key.name, temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`]]),
  );
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  return missing.map((key) => key.name);
}
