import ipaddr from 'ipaddr.js';
import type { Db } from 'mongodb';
import type { RateLimiterRes } from 'rate-limiter-flexible';
import type { ThrottleConfig } from '../config';
import { RateLimiterMongoById } from './rate-limit-store';

/**
 * The address a failure is charged to. An IPv6 client usually holds a whole /64, so its failures are counted per
 * /64; an IPv4-mapped IPv6 address counts as the IPv4 address it is.
 */
export function addressBucket(address: string): string {
  if (!ipaddr.isValid(address)) return address === '' ? 'unknown' : address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const prefix = (parsed as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
  return `${prefix.join(':')}::/64`;
}

const spent = (res: RateLimiterRes | null, budget: number) => res !== null && res.consumedPoints >= budget;

/**
 * Failure budgets of the key check (docs/authentication.md, "Throttling"): failed checks that cost an Argon2id
 * verification (a key id that exists, with a wrong secret) are counted per key id and per client address in a
 * MongoDB collection that every API process shares. Once either budget is spent, further checks for that key id,
 * or from that address, are refused without running Argon2id until the cool-down ends.
 */
export class KeyCheckThrottle {
  private readonly byKey: RateLimiterMongoById;
  private readonly byAddress: RateLimiterMongoById;
  /** The failure count of a counter being written by this process: the next write waits for it. */
  private readonly writing = new Map<string, Promise<void>>();

  /** `prefixes` name the counters, so that another sign-in (the dashboard's) keeps budgets of its own. */
  constructor(
    db: Db,
    limits: Pick<ThrottleConfig, 'failuresPerKey' | 'failuresPerAddress' | 'lockoutMs'>,
    prefixes = { key: 'auth-failures-key', address: 'auth-failures-address' },
  ) {
    const duration = Math.max(1, Math.ceil(limits.lockoutMs / 1000));
    this.byKey = new RateLimiterMongoById(db, {
      keyPrefix: prefixes.key,
      points: limits.failuresPerKey,
      duration,
    });
    this.byAddress = new RateLimiterMongoById(db, {
      keyPrefix: prefixes.address,
      points: limits.failuresPerAddress,
      duration,
    });
  }

  async lockedOut(keyId: string, address: string): Promise<boolean> {
    const [key, from] = await Promise.all([this.byKey.get(keyId), this.byAddress.get(addressBucket(address))]);
    return spent(key, this.byKey.points) || spent(from, this.byAddress.points);
  }

  async recordFailure(keyId: string, address: string): Promise<void> {
    await Promise.all([this.charge(this.byKey, keyId), this.charge(this.byAddress, addressBucket(address))]);
  }

  /** Forgets the failures of a key id (a successful sign-in); the address budget keeps counting. */
  async clearKey(keyId: string): Promise<void> {
    await this.byKey.delete(keyId);
  }

  /**
   * Counts one failure; the one that spends the budget starts a full cool-down from now. One write per counter at
   * a time in this process: FerretDB's findAndModify reads and then writes without isolation, so two at once could
   * count one.
   */
  private charge(limiter: RateLimiterMongoById, key: string): Promise<void> {
    const id = `${limiter.keyPrefix}:${key}`;
    const write = (this.writing.get(id) ?? Promise.resolve()).then(async () => {
      const res = await limiter.penalty(key);
      if (res.consumedPoints === limiter.points) await limiter.block(key, limiter.duration);
    });
    const settled = write.catch(() => undefined);
    this.writing.set(id, settled);
    void settled.then(() => {
      if (this.writing.get(id) === settled) this.writing.delete(id);
    });
    return write;
  }
}
