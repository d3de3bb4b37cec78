// The workflow bundle's entry point: every workflow type the worker registers.
export { paymentWorkflow } from './payment';
export { selfCheckWorkflow } from './self-check';
