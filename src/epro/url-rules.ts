import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

/**
 * Merchant-supplied URLs (ReturnUrl, CallbackUrl). Sandbox keys may use any http(s) URL, including localhost,
 * so merchants can test against their own machine. Live keys must use https to a public address: a callback
 * to an internal address would let anyone with a live key probe our network (SSRF). Webhook delivery checks the
 * resolved address again at send time; this check gives the merchant an early, clear answer.
 */

const NON_PUBLIC_SUFFIXES = ['.localhost', '.local', '.internal', '.home.arpa', '.lan'];
const DNS_TIMEOUT_MS = 2000;

export function parseHttpUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    if (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.hostname !== '' &&
      !url.username &&
      !url.password
    ) {
      return url;
    }
  } catch {
    // not a URL at all
  }
  return undefined;
}

/** True for any address that is not ordinary public unicast: loopback, private, link-local, CGNAT, multicast… */
export function isNonPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return true;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return parsed.range() !== 'unicast';
}

async function resolveAll(hostname: string): Promise<string[] | undefined> {
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), DNS_TIMEOUT_MS).unref());
  const answer = lookup(hostname, { all: true, verbatim: true }).then(
    (records) => records.map((r) => r.address),
    () => undefined,
  );
  return Promise.race([answer, timeout]);
}

/**
 * Whether a live-mode URL is acceptable: https, not an internal name, and no resolved address non-public.
 * A name that does not resolve right now is accepted: delivery re-checks the address it actually connects to.
 */
export async function isAcceptableLiveUrl(url: URL): Promise<boolean> {
  if (url.protocol !== 'https:') return false;
  const host = url.hostname
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.$/, '');
  if (ipaddr.isValid(host)) return !isNonPublicAddress(host);
  if (host === 'localhost' || !host.includes('.') || NON_PUBLIC_SUFFIXES.some((suffix) => host.endsWith(suffix)))
    return false;
  const addresses = await resolveAll(host);
  return addresses === undefined || addresses.every((address) => !isNonPublicAddress(address));
}
