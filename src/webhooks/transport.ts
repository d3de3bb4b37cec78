import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { Agent } from 'undici';
import { isNonPublicAddress } from '../epro/url-rules';

/**
 * How a webhook reaches a merchant's endpoint, and what of its answer the worker is willing to hold
 * (docs/webhooks.md, "Where webhooks go" and "What is kept of your answer").
 */

/** Resolves a host name to all its addresses (injectable, so tests can make a name point anywhere). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

/** A target no retry can make acceptable: the delivery stops for good. */
export class RefusedTarget extends Error {}

/**
 * Past this many bytes of response body the dispatcher itself drops the connection, whoever reads the body:
 * the bound on what one delivery can make the worker hold, behind the short read in `readPrefix`.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** Why a target is refused before any connection is tried, or undefined. Names are checked at connect time. */
export function refusalBeforeConnect(
  url: URL,
  { httpsOnly, publicOnly }: { httpsOnly: boolean; publicOnly: boolean },
): string | undefined {
  if (httpsOnly && url.protocol !== 'https:') return 'refused: live webhooks go to https URLs only';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // An address literal is connected to without any lookup, so the connect-time check below never sees it.
  if (publicOnly && ipaddr.isValid(host) && isNonPublicAddress(host)) return `refused: ${host} is not a public address`;
  return undefined;
}

/**
 * One delivery's connection pool. With `publicOnly` the check is on the addresses actually connected to, not on
 * the name (which could resolve differently a second later): every address of the name must be public, and the
 * connection uses exactly those.
 */
export function webhookDispatcher({
  publicOnly,
  resolve,
  timeoutMs,
}: {
  publicOnly: boolean;
  resolve: Resolver;
  timeoutMs: number;
}): Agent {
  return new Agent({
    maxResponseSize: MAX_RESPONSE_BYTES,
    connect: {
      timeout: timeoutMs,
      ...(publicOnly
        ? {
            lookup: (
              hostname: string,
              options: { all?: boolean },
              callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
            ) => {
              resolve(hostname).then(
                (addresses) => {
                  const refused = addresses.find((a) => isNonPublicAddress(a.address));
                  if (addresses.length === 0 || refused) {
                    callback(
                      new RefusedTarget(
                        `refused: ${hostname} resolves to non-public address ${refused?.address ?? '(none)'}`,
                      ),
                      '',
                      4,
                    );
                  } else if (options.all) {
                    callback(null, addresses);
                  } else {
                    callback(null, addresses[0]!.address, addresses[0]!.family);
                  }
                },
                (err: Error) => callback(err, '', 4),
              );
            },
          }
        : {}),
    },
  });
}

/**
 * Reads at most about `maxBytes` of a response body, then cancels the stream, which drops the connection: an
 * endpoint that streams without end costs one chunk, never its whole answer. A body that fails part way (reset,
 * the dispatcher's cap, the attempt's timeout) leaves what was read.
 */
export async function readPrefix(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    while (length < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.byteLength;
    }
  } catch {
    // What was read before the failure is still the prefix.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, maxBytes);
}
