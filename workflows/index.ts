// The workflow bundle's entry point: every workflow type the worker registers.
export { paymentWorkflow } from './payment-workflow';
export { selfCheckWorkflow } from './self-check-workflow';
