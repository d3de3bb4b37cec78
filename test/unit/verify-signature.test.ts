import { createHmac } from 'node:crypto';
import { verifySignature } from '../../src/webhooks/verify';

const secret = 'whsec_current';
const old = 'whsec_previous';
const body = '{"Code":0,"Result":{"Tid":"order-1"}}';
const now = 1_800_000_000;
const sign = (t: number, s: string, b = body) => createHmac('sha256', s).update(`${t}.${b}`).digest('hex');

describe('verifySignature, the helper merchants use', () => {
  it('accepts a fresh signature made with the secret', () => {
    expect(verifySignature(body, `t=${now},v1=${sign(now, secret)}`, [secret], { now })).toBe(true);
    expect(verifySignature(Buffer.from(body), `t=${now},v1=${sign(now, secret)}`, [secret], { now })).toBe(true);
  });

  it('accepts any matching v1 during a rotation, with either secret configured', () => {
    const header = `t=${now},v1=${sign(now, secret)},v1=${sign(now, old)}`;
    expect(verifySignature(body, header, [secret], { now })).toBe(true);
    expect(verifySignature(body, header, [old], { now })).toBe(true);
    expect(verifySignature(body, `t=${now},v1=${sign(now, old)}`, [secret, old], { now })).toBe(true);
  });

  it.each([
    ['a tampered body', `t=${now},v1=${sign(now, secret)}`, body.replace('order-1', 'order-2')],
    ['another secret', `t=${now},v1=${sign(now, 'whsec_other')}`, body],
    ['a timestamp older than the tolerance', `t=${now - 301},v1=${sign(now - 301, secret)}`, body],
    ['a timestamp too far in the future', `t=${now + 301},v1=${sign(now + 301, secret)}`, body],
    ['no timestamp', `v1=${sign(now, secret)}`, body],
    ['no v1', `t=${now}`, body],
    ['a truncated v1', `t=${now},v1=${sign(now, secret).slice(0, 40)}`, body],
    ['garbage', 'hello', body],
    ['an empty header', '', body],
  ])('refuses %s', (_name, header, payload) => {
    expect(verifySignature(payload, header, [secret], { now })).toBe(false);
  });

  it('honours a custom tolerance', () => {
    const t = now - 600;
    expect(verifySignature(body, `t=${t},v1=${sign(t, secret)}`, [secret], { now, toleranceSeconds: 900 })).toBe(true);
  });

  it('refuses when no secret is configured', () => {
    expect(verifySignature(body, `t=${now},v1=${sign(now, secret)}`, [], { now })).toBe(false);
  });
});
