import { Sema } from 'async-sema';

export type SlotOutcome<T> = { ran: true; value: T } | { ran: false };

/**
 * A bound on Argon2id verifications running at once in this process (each takes ~19 MiB and one libuv thread
 * for tens of milliseconds), with a bounded queue in front: a verification waits for a free slot while fewer
 * than `queue` others wait, and is otherwise not run at all, so a flood of wrong secrets can neither exhaust
 * memory nor make every request wait behind it (docs/authentication.md, "Throttling").
 */
export class VerificationSlots {
  private readonly sema: Sema;

  constructor(
    readonly concurrency: number,
    readonly queue: number,
  ) {
    this.sema = new Sema(concurrency);
  }

  async run<T>(verify: () => Promise<T>): Promise<SlotOutcome<T>> {
    if (this.sema.tryAcquire() === undefined) {
      if (this.sema.nrWaiting() >= this.queue) return { ran: false };
      await this.sema.acquire();
    }
    try {
      return { ran: true, value: await verify() };
    } finally {
      this.sema.release();
    }
  }

  /** Verifications waiting for a slot now. */
  waiting(): number {
    return this.sema.nrWaiting();
  }
}
