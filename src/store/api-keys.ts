import type { Db } from 'mongodb';
import type { Mode } from '../../workflows/vocabulary';

export interface ApiKeyDoc {
  /** The key id embedded in the key itself. */
  _id: string;
  merchantId: string;
  mode: Mode;
  /** Argon2id hash of the whole key. */
  hash: string;
  createdAt: Date;
  /** End of the grace period after a rotation; null while the key is current. */
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export const apiKeys = (db: Db) => db.collection<ApiKeyDoc>('api_keys');
