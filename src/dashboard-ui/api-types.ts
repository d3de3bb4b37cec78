/**
 * The dashboard JSON API's shapes, as the issue-16 contract defines them (docs/dashboard.md lists the endpoints).
 * The statuses come from the shared vocabulary, so a new payment status cannot be missed here.
 */
import type { PaymentStatus, RefundStatus } from '../../workflows/vocabulary';

export type { PaymentStatus, RefundStatus };
export type Mode = 'test' | 'live';
export type Role = 'admin' | 'viewer';

export interface User {
  email: string;
  role: Role;
  merchantId: string;
  merchantName: string;
  modes: Mode[];
}

export interface Session {
  user: User;
  csrfToken: string;
}

export interface PaymentSummary {
  tid: string;
  reference: string;
  uid: string;
  amount: number;
  currency: string;
  status: PaymentStatus;
  message: string;
  maskedPan: string;
  brand: string;
  threeDS: boolean;
  createdAt: string;
  updatedAt: string;
  refund?: { reference: string; status: RefundStatus; date: string };
}

export interface PaymentPage {
  payments: PaymentSummary[];
  next: string | null;
}

export type TimelineEvent =
  | 'accepted'
  | '3ds_requested'
  | '3ds_answered'
  | 'authorized'
  | 'captured'
  | 'failed'
  | 'cancelled'
  | 'refund_requested'
  | 'refunded'
  | 'refund_failed';

export interface WebhookAttempt {
  attempt: number;
  at: string;
  httpStatus?: number;
  durationMs: number;
  error?: string;
}

export interface WebhookDelivery {
  deliveryId: string;
  event: string;
  url: string;
  delivered: boolean;
  deliveredAt?: string;
  attempts: WebhookAttempt[];
}

export interface PaymentDetail extends PaymentSummary {
  customer?: Record<string, unknown>;
  processorReference?: string;
  timeline: { event: TimelineEvent; at: string; detail?: string }[];
  webhooks: WebhookDelivery[];
  refundable: boolean;
}

export interface Refund {
  reference: string;
  status: RefundStatus;
  message: string;
  date: string;
}

export interface Overview {
  currency: string;
  days: { date: string; count: number; captured: number; capturedAmount: number; declined: number }[];
  approvalRate: number | null;
  declinesByReason: { reason: string; count: number }[];
  pending3DS: number;
  /** The period held more payments than one overview reads: the figures are those of the newest ones. */
  partial: boolean;
}

export interface ApiKeyInfo {
  keyId: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  state: 'current' | 'expiring' | 'expired' | 'revoked';
}

export interface Developers {
  keys: ApiKeyInfo[];
  webhookSecrets: { id: string; createdAt: string; expiresAt: string | null }[];
}

export interface RotatedKey {
  key: string;
  keyId: string;
  oldKeysExpireAt: string | null;
}

export interface RotatedWebhookSecret {
  webhookSecret: string;
  oldSecretsExpireAt: string | null;
}

export interface WebhookTestResult {
  httpStatus?: number;
  durationMs: number;
  error?: string;
}
