import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { temporalConnectionOptions, temporalTlsOptions } from '../../src/temporal/connection-options';
import { makeCertificates } from '../../tools/certificates';
import { frontendAnswers } from '../support/temporal-reachability';
import { findPostgresBinDir } from '../../tools/postgres';
import { HISTORY_HOSTS, NUM_HISTORY_SHARDS } from '../../tools/temporal-cluster';
import { SA_STATUS } from '../../workflows/search-attributes';
import { eventually, paymentBody, post, useStackWithMerchant } from '../support/factories';
import { WebhookReceiver } from '../../tools/webhook-receiver';

/**
 * The cluster profile (SETTLEFLOW_STACK=cluster, tools/temporal-cluster.ts): payments go through a Temporal whose
 * services are separate processes on PostgreSQL, and the cluster is the shape it claims. On the dev server
 * profile there is no cluster to look at: the file is skipped.
 */
const onCluster = process.env.SETTLEFLOW_STACK === 'cluster';
const shop = useStackWithMerchant();
const receiver = new WebhookReceiver();
let callbackUrl: string;

beforeAll(async () => {
  if (onCluster) callbackUrl = await receiver.start();
});
afterAll(() => receiver.stop());

/** One SQL statement on the cluster's PostgreSQL, with psql (the test harness exports where it listens). */
function sql(database: string, statement: string): string {
  const port = process.env.SETTLEFLOW_TEST_POSTGRES_PORT;
  if (!port) throw new Error('SETTLEFLOW_TEST_POSTGRES_PORT is not set: is the suite running on the cluster profile?');
  const passwordFile = path.join(shop.stack.config.dataDir, 'temporal-cluster', 'postgres', 'password');
  const result = spawnSync(
    path.join(findPostgresBinDir(), 'psql'),
    ['-h', '127.0.0.1', '-p', port, '-U', 'temporal', '-d', database, '-tAc', statement],
    { encoding: 'utf8', env: { ...process.env, PGPASSWORD: readFileSync(passwordFile, 'utf8').trim() } },
  );
  if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`);
  return result.stdout.trim();
}

(onCluster ? describe : describe.skip)('the cluster profile', () => {
  it('takes a payment, a 3-D Secure payment and a refund, each recorded in SQL visibility', async () => {
    const { merchant, stack } = shop;
    const plain = paymentBody({ CallbackUrl: callbackUrl });
    const paid = await post(stack.apiUrl, 'payment', merchant.testKey, plain);
    expect(paid.body).toMatchObject({ Code: 0, Result: { Status: 'captured', '3DSecure': 'no' } });

    const secured = paymentBody({ '3DS': 'yes', ReturnUrl: 'https://shop.example/return', CallbackUrl: callbackUrl });
    const challenged = await post(stack.apiUrl, 'payment', merchant.testKey, secured);
    expect(challenged.body.Result).toMatchObject({ Status: 'pending', '3DSecure': 'yes' });
    const url = challenged.body.Result!['3DSecureUrl'] as string;
    const token = /name="token" value="([0-9a-f]{64})"/.exec(await (await fetch(url)).text())?.[1];
    const answered = await fetch(url, {
      method: 'POST',
      body: new URLSearchParams({ token: token!, result: 'approved' }),
      redirect: 'manual',
    });
    expect(await answered.text()).toContain('Payment complete');
    const status = await post(stack.apiUrl, 'status', merchant.testKey, { Tid: secured.Tid! });
    expect(status.body.Result).toMatchObject({ Status: 'captured' });

    const reference = paid.body.Result!.Reference as string;
    const refund = await post(stack.apiUrl, 'refund', merchant.testKey, { Reference: reference });
    expect(refund.body).toMatchObject({ Code: 0, Result: { OperationType: 'refund', Status: 'captured' } });

    // The workflows' search attributes, kept by the workflows at every transition, read back from PostgreSQL
    // (visibility is written behind the workflow, hence eventually).
    await eventually('both payments in SQL visibility', async () => {
      const { count } = await stack.temporal.workflow.count(`MerchantId = '${merchant.merchantId}'`);
      return count >= 2 ? count : undefined;
    });
    const described = await stack.temporal.workflow
      .getHandle(`payment-test-${merchant.merchantId}-${secured.Tid!}`)
      .describe();
    expect(described.typedSearchAttributes.get(SA_STATUS)).toBe('captured');
  });

  it('runs frontend, matching, worker and two history hosts as processes of their own, sharing the shards', () => {
    // Roles as the server numbers them: 1 frontend, 2 history, 3 matching, 4 worker (internal). A host is live
    // while it heartbeats (every 10 s or so); the server itself counts one as gone after 20 s without.
    const live = sql(
      'temporal',
      'SELECT role, count(*) FROM cluster_membership ' +
        "WHERE last_heartbeat > now() AT TIME ZONE 'UTC' - interval '20 seconds' GROUP BY role ORDER BY role",
    );
    expect(live.split('\n')).toEqual(['1|1', `2|${HISTORY_HOSTS}`, '3|1', '4|1']);
    // Every shard is owned, by one of the two history hosts, and both own some (the owner's address is in the
    // shard record, as plain text inside its encoded data).
    const owners = sql(
      'temporal',
      "SELECT count(*), count(DISTINCT substring(encode(data, 'escape') from '127\\.0\\.0\\.1:[0-9]+')) FROM shards",
    );
    expect(owners).toBe(`${NUM_HISTORY_SHARDS}|${HISTORY_HOSTS}`);
  });

  describe('its frontend, which requires mTLS', () => {
    const answers = (tls: TLSConfig | undefined) =>
      frontendAnswers({ address: shop.stack.config.temporal.address, ...(tls ? { tls } : {}) });

    it('answers a client with a certificate of the cluster CA, the one the stack gave its processes', async () => {
      const options = temporalConnectionOptions(shop.stack.config);
      expect(options.tls?.clientCertPair).toBeDefined();
      expect(await answers(options.tls)).toBe(true);
    });

    it('refuses a client without a certificate, with one of another CA, and one speaking plaintext', async () => {
      const ours = shop.stack.config.temporal.tls!;
      const foreignDir = mkdtempSync(path.join(os.tmpdir(), 'settleflow-foreign-ca-'));
      try {
        // A certificate for the same client name, signed by a CA the cluster never heard of.
        const foreign = makeCertificates(foreignDir, { clientName: 'settleflow' });
        const caOnly = temporalTlsOptions({ caFile: ours.caFile, serverName: ours.serverName });
        const otherCa = temporalTlsOptions({
          caFile: ours.caFile,
          serverName: ours.serverName,
          clientCertFile: foreign.clientCert,
          clientKeyFile: foreign.clientKey,
        });
        expect(await answers(caOnly)).toBe(false);
        expect(await answers(otherCa)).toBe(false);
        expect(await answers(undefined)).toBe(false);
        // The worker's connection (the SDK's Rust core) is refused alike without the client certificate.
        const address = shop.stack.config.temporal.address;
        await expect(NativeConnection.connect({ address, tls: caOnly })).rejects.toThrow();
        // And the same client certificate from the cluster CA is what makes the difference.
        expect(await answers(temporalTlsOptions(ours))).toBe(true);
      } finally {
        rmSync(foreignDir, { recursive: true, force: true });
      }
    });
  });
});
