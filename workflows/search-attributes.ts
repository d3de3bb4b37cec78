import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes that let ops filter payments in the Temporal Web UI and the visibility API
 * (for example `PaymentStatus = "pending" AND MerchantId = "mer_…"`). The workflow keeps them current at every
 * transition; the platform registers them on the namespace at start-up. Never card data.
 */
export const SA_TID = defineSearchAttributeKey('Tid', SearchAttributeType.KEYWORD);
export const SA_MERCHANT_ID = defineSearchAttributeKey('MerchantId', SearchAttributeType.KEYWORD);
export const SA_MODE = defineSearchAttributeKey('PaymentMode', SearchAttributeType.KEYWORD);
export const SA_STATUS = defineSearchAttributeKey('PaymentStatus', SearchAttributeType.KEYWORD);
export const SA_AMOUNT = defineSearchAttributeKey('AmountMinor', SearchAttributeType.INT);

export const SEARCH_ATTRIBUTES = [SA_TID, SA_MERCHANT_ID, SA_MODE, SA_STATUS, SA_AMOUNT] as const;
