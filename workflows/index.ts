// The workflow bundle's entry point: every workflow type the worker registers.
export { paymentWorkflow, paymentWorkflowV2 } from './payment-workflow';
export { selfCheckWorkflow } from './self-check-workflow';
