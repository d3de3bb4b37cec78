import type { Db } from 'mongodb';
import type { Mode } from '../../workflows/vocabulary';

/**
 * A merchant's credentials at a processor, one document per merchant, mode and connector, kept apart from the
 * merchant document: that one is read by every request (and held in the API's verified-key cache), and nothing
 * that serves a request needs these but the processor calls and the processor's webhook route, which read them by
 * `_id`. Both secrets are sealed with the key ring's `processor-credentials` key, bound to this document's `_id`.
 */
export interface ProcessorWebhookSecretEntry {
  id: string;
  /** Sealed `whsec_…`. */
  sealed: string;
  /** Non-secret: its last 4 characters. */
  last4: string;
  addedAt: Date;
  /** Set when a newer secret replaced it: events signed with it still verify until then. */
  expiresAt: Date | null;
}

export interface ProcessorCredentialsDoc {
  /** `<merchantId>:<mode>:<connector>` (processorCredentialsId). */
  _id: string;
  merchantId: string;
  mode: Mode;
  connector: string;
  /** Sealed secret (or restricted) API key. */
  secretKey: string;
  /** Non-secret: the key's last 4 characters, and whether it is a restricted key (`rk_`) or a secret key (`sk_`). */
  keyLast4: string;
  restrictedKey: boolean;
  /** The current webhook signing secret first, then any previous one still inside its grace period. */
  webhookSecrets: ProcessorWebhookSecretEntry[];
  connectedAt: Date;
  /** When the credentials were last replaced by another `merchant connect`; null until then. */
  rotatedAt: Date | null;
  /** Changes with every `merchant connect`: the guard of its conditional write. */
  updatedAt: Date;
}

export const processorCredentialsCollection = (db: Db) =>
  db.collection<ProcessorCredentialsDoc>('processor_credentials');

export function processorCredentialsId(merchantId: string, mode: Mode, connector: string): string {
  return `${merchantId}:${mode}:${connector}`;
}

export function findProcessorCredentials(
  db: Db,
  merchantId: string,
  mode: Mode,
  connector: string,
): Promise<ProcessorCredentialsDoc | null> {
  return processorCredentialsCollection(db).findOne({ _id: processorCredentialsId(merchantId, mode, connector) });
}
