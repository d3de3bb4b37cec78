import { isAcceptableLiveUrl, isNonPublicAddress, parseHttpUrl } from '../../src/epro/url-rules';

/**
 * ReturnUrl / CallbackUrl rules (docs/fields.md): absolute http(s) URLs; with a live key, https only and never
 * an address that is loopback, private, link-local or otherwise non-public. No internet here: every live case
 * uses an IP literal or a name refused by its shape alone, so no DNS lookup decides a result.
 */

describe('isNonPublicAddress', () => {
  it.each([
    ['127.0.0.1', 'IPv4 loopback'],
    ['127.255.255.254', 'the rest of 127/8'],
    ['10.1.2.3', 'private 10/8'],
    ['172.16.0.1', 'private 172.16/12'],
    ['172.31.255.255', 'the top of 172.16/12'],
    ['192.168.1.1', 'private 192.168/16'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['fe80::1', 'IPv6 link-local'],
    ['fc00::1', 'IPv6 unique local'],
    ['fd12:3456::1', 'IPv6 unique local (fd)'],
    ['ff02::1', 'IPv6 multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::ffff:169.254.169.254', 'IPv4-mapped link-local'],
  ])('%s is non-public (%s)', (address) => {
    expect(isNonPublicAddress(address)).toBe(true);
  });

  it.each([
    ['8.8.8.8', 'Google DNS'],
    ['1.1.1.1', 'Cloudflare DNS'],
    ['93.184.216.34', 'a public web host'],
    ['172.32.0.1', 'just above 172.16/12'],
    ['2606:4700:4700::1111', 'Cloudflare DNS over IPv6'],
    ['::ffff:8.8.8.8', 'IPv4-mapped public address'],
  ])('%s is public (%s)', (address) => {
    expect(isNonPublicAddress(address)).toBe(false);
  });

  it.each(['', 'localhost', 'example.com', '999.1.1.1', '1.2.3.4.5'])(
    'treats %j, which is not an IP address, as non-public',
    (value) => {
      expect(isNonPublicAddress(value)).toBe(true);
    },
  );
});

describe('parseHttpUrl', () => {
  it.each([
    'https://shop.example.com/return?x=1',
    'http://localhost:8080/return',
    'HTTPS://SHOP.EXAMPLE.COM/',
    'https://[::1]:8443/',
  ])('accepts the absolute http(s) URL %s', (value) => {
    expect(parseHttpUrl(value)).toBeInstanceOf(URL);
  });

  it.each([
    ['an ftp URL', 'ftp://x'],
    ['free text', 'not a url'],
    ['a relative path', '/webhooks/settleflow'],
    ['a scheme-relative URL', '//shop.example.com/return'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a data: URL', 'data:text/html,hi'],
    ['a file: URL', 'file:///etc/passwd'],
    ['a URL with credentials', 'https://user:secret@shop.example.com/'],
    ['a URL with a user name only', 'https://user@shop.example.com/'],
    ['an empty string', ''],
  ])('refuses %s (%j)', (_label, value) => {
    expect(parseHttpUrl(value)).toBeUndefined();
  });
});

describe('isAcceptableLiveUrl', () => {
  const acceptable = (value: string) => isAcceptableLiveUrl(new URL(value));

  it.each(['https://8.8.8.8/hook', 'https://93.184.216.34:8443/return?order=1', 'https://[2606:4700:4700::1111]/hook'])(
    'accepts https to the public IP literal in %s',
    async (value) => {
      await expect(acceptable(value)).resolves.toBe(true);
    },
  );

  it.each(['http://8.8.8.8/hook', 'http://shop.example.com/return', 'http://localhost/'])(
    'refuses plain http (%s)',
    async (value) => {
      await expect(acceptable(value)).resolves.toBe(false);
    },
  );

  it.each([
    ['loopback', 'https://127.0.0.1/'],
    ['loopback with a port', 'https://127.0.0.1:8443/hook'],
    ['loopback in short form', 'https://127.1/'],
    ['loopback as one hexadecimal number', 'https://0x7f000001/'],
    ['private 10/8', 'https://10.0.0.1/'],
    ['private 172.16/12', 'https://172.16.5.4/'],
    ['private 192.168/16', 'https://192.168.1.1/'],
    ['the metadata address', 'https://169.254.169.254/latest/meta-data/'],
    ['carrier-grade NAT', 'https://100.64.0.1/'],
    ['unspecified', 'https://0.0.0.0/'],
    ['IPv6 loopback', 'https://[::1]/'],
    ['IPv6 link-local', 'https://[fe80::1]/'],
    ['IPv6 unique local', 'https://[fc00::1]/'],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/'],
    ['IPv4-mapped private', 'https://[::ffff:10.0.0.1]/'],
  ])('refuses https to a non-public address: %s (%s)', async (_label, value) => {
    await expect(acceptable(value)).resolves.toBe(false);
  });

  it.each([
    ['localhost', 'https://localhost/'],
    ['LOCALHOST in capitals', 'https://LOCALHOST/'],
    ['localhost with a trailing dot', 'https://localhost./'],
    ['a .localhost name', 'https://shop.localhost/'],
    ['an .internal name', 'https://shop.internal/'],
    ['a .local name', 'https://printer.local/'],
    ['a .home.arpa name', 'https://router.home.arpa/'],
    ['a .lan name', 'https://nas.lan/'],
    ['a single-label name', 'https://intranet/'],
  ])('refuses https to an internal name: %s (%s)', async (_label, value) => {
    await expect(acceptable(value)).resolves.toBe(false);
  });
});
