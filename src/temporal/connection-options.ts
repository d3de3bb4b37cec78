import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { Config, TemporalTlsConfig } from '../config';

/**
 * What every connection to Temporal is made with — the API's and the admin command's `Connection`, the worker's
 * `NativeConnection`, the local stack's set-up — built in this one place from the configuration, so that no
 * process reaches the frontend with weaker settings than the others (docs/deploying.md, "Connecting securely").
 * The shape is common to the client's ConnectionOptions and the worker's NativeConnectionOptions.
 */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

/**
 * Reads the PEM files named by the configuration now, at connect time: loadConfig has checked that they read and
 * parse, and a certificate renewed on disk is picked up by the next process start without a config change.
 */
export function temporalConnectionOptions(config: Config): TemporalConnectionOptions {
  const { address, tls, apiKey } = config.temporal;
  const options: TemporalConnectionOptions = { address };
  if (tls !== undefined) options.tls = temporalTlsOptions(tls);
  if (apiKey !== undefined) options.apiKey = apiKey.reveal();
  return options;
}

/** The SDK's TLS options for the TEMPORAL_TLS_* files (also what the local cluster's own tools connect with). */
export function temporalTlsOptions(tls: TemporalTlsConfig): TLSConfig {
  return {
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
    ...(tls.caFile ? { serverRootCACertificate: readFileSync(tls.caFile) } : {}),
    ...(tls.clientCertFile && tls.clientKeyFile
      ? { clientCertPair: { crt: readFileSync(tls.clientCertFile), key: readFileSync(tls.clientKeyFile) } }
      : {}),
  };
}
