import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { runInNewContext } from 'node:vm';
import { signatureHeader } from '../../src/webhooks/sign';

/**
 * The verification snippet merchants copy from docs/webhooks.md must work as printed, with nothing but Node:
 * it is taken from the page, run on its own, and checked against headers made by the real signing code.
 */
type Verify = (
  rawBody: string | Buffer,
  header: string | undefined,
  secrets: string[],
  toleranceSeconds?: number,
) => boolean;

const page = readFileSync(path.join(__dirname, '..', '..', 'docs', 'webhooks.md'), 'utf8');
const snippet = [...page.matchAll(/```js\n([\s\S]*?)```/g)]
  .map((m) => m[1]!)
  .find((code) => code.includes('function verifySettleFlowSignature'));

const requireFromHere = createRequire(__filename);
// Only Node's own modules are reachable: a snippet needing a package would fail here.
const nodeOnly = (name: string): unknown => {
  if (!name.startsWith('node:')) throw new Error(`the snippet requires ${name}, which a merchant does not have`);
  return requireFromHere(name);
};
const verify = (): Verify =>
  runInNewContext(`${snippet!}\nverifySettleFlowSignature`, { require: nodeOnly, Buffer }) as Verify;

const secret = 'whsec_current';
const previous = 'whsec_previous';
const body = '{"Code":0,"Result":{"OperationType":"payment","Status":"captured","Tid":"order-1","Amount":12.34}}';
const now = () => Math.floor(Date.now() / 1000);

describe('the Node verification snippet of docs/webhooks.md', () => {
  it('is on the page and needs no package', () => {
    expect(snippet).toBeDefined();
    expect(() => verify()).not.toThrow();
  });

  it('accepts a header made by the signing code, for a string or a Buffer body', () => {
    const header = signatureHeader(body, [secret], now());
    expect(verify()(body, header, [secret])).toBe(true);
    expect(verify()(Buffer.from(body), header, [secret])).toBe(true);
  });

  it('accepts either secret during a rotation', () => {
    const header = signatureHeader(body, [secret, previous], now());
    expect(verify()(body, header, [previous])).toBe(true);
    expect(verify()(body, signatureHeader(body, [previous], now()), [secret, previous])).toBe(true);
  });

  it.each([
    ['a tampered body', () => [body.replace('order-1', 'order-2'), signatureHeader(body, [secret], now()), [secret]]],
    ['another secret', () => [body, signatureHeader(body, ['whsec_other'], now()), [secret]]],
    ['a timestamp older than 300 s', () => [body, signatureHeader(body, [secret], now() - 301), [secret]]],
    ['no header', () => [body, undefined, [secret]]],
    ['no secret configured', () => [body, signatureHeader(body, [secret], now()), []]],
  ] as [string, () => Parameters<Verify>][])('refuses %s', (_name, args) => {
    expect(verify()(...args())).toBe(false);
  });
});
