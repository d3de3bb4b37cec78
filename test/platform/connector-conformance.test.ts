import { describeConnectorConformance } from '../connectors/conformance';
import { simulatorDriver } from '../connectors/drivers/simulator';
import { stripeDriver } from '../connectors/drivers/stripe';

/**
 * Every connector passes one conformance suite (test/connectors/conformance.ts, docs/connectors.md): the sandbox
 * simulator against the shared stack's FerretDB, Stripe against stripe-mock behind a recording proxy. A scenario a
 * processor cannot play is reported as skipped, with the reason in its title.
 */
jest.setTimeout(60_000);

describeConnectorConformance('simulator', simulatorDriver());
describeConnectorConformance('stripe', stripeDriver());
