/**
 * A count of bytes held, against a limit, that callers wait on: the
 * receiver's bound on memory for frames in flight and output not yet written.
 *
 * @example
 * ```ts
 * import { MemoryBudget } from "./memory_budget.ts";
 * import assert from "node:assert/strict";
 *
 * const budget = new MemoryBudget(100);
 * await budget.reserve(80);
 * const waiting = budget.reserve(40); // waits: 80 + 40 is over 100
 * budget.release(80);
 * await waiting;
 * assert.equal(budget.used, 40);
 * ```
 *
 * @module
 */

/**
 * Bytes in use against a limit. `reserve` waits, first come first served,
 * until the bytes fit; `charge` counts bytes already held, even past the
 * limit; `below` waits until use is under the limit again.
 *
 * @example
 * ```ts
 * import { MemoryBudget } from "./memory_budget.ts";
 * import assert from "node:assert/strict";
 *
 * const budget = new MemoryBudget(10);
 * budget.charge(15);
 * const under = budget.below();
 * budget.release(6);
 * await under;
 * assert.equal(budget.used, 9);
 * ```
 */
export class MemoryBudget {
  /** The most bytes `reserve` lets be in use. */
  readonly limit: number;
  #used = 0;
  #waiting: Waiter[] = [];
  #below: Waiter[] = [];

  /** A budget of `limit` bytes. */
  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes in use now. */
  get used(): number {
    return this.#used;
  }

  /**
   * Resolves once `bytes` more fit under the limit and are counted as used;
   * requests are granted in order. A request larger than the limit is
   * granted when nothing else is in use. Aborting `signal` withdraws the
   * request (it rejects with the signal's reason).
   */
  reserve(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.#waiting.length === 0 && this.#fits(bytes)) {
      this.#used += bytes;
      return Promise.resolve();
    }
    return this.#wait(this.#waiting, { bytes, resolve: () => {} }, signal);
  }

  /** Counts `bytes` as used at once, even past the limit. */
  charge(bytes: number): void {
    this.#used += bytes;
  }

  /** Gives back `bytes` reserved or charged before. */
  release(bytes: number): void {
    this.#used -= bytes;
    while (this.#waiting.length > 0 && this.#fits(this.#waiting[0].bytes)) {
      const next = this.#waiting.shift()!;
      this.#used += next.bytes;
      next.resolve();
    }
    if (this.#used < this.limit && this.#below.length > 0) {
      const below = this.#below;
      this.#below = [];
      for (const waiter of below) waiter.resolve();
    }
  }

  /** Resolves once use is under the limit; aborting `signal` stops the wait. */
  below(signal?: AbortSignal): Promise<void> {
    if (this.#used < this.limit) return Promise.resolve();
    return this.#wait(this.#below, { bytes: 0, resolve: () => {} }, signal);
  }

  /** Queues `waiter` in `list` until it is resolved, or `signal` withdraws it. */
  #wait(list: Waiter[], waiter: Waiter, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const abort = () => {
        const at = list.indexOf(waiter);
        if (at >= 0) list.splice(at, 1);
        reject(signal!.reason);
      };
      waiter.resolve = () => {
        signal?.removeEventListener("abort", abort);
        resolve();
      };
      signal?.addEventListener("abort", abort, { once: true });
      list.push(waiter);
    });
  }

  #fits(bytes: number): boolean {
    return this.#used + bytes <= this.limit || this.#used === 0;
  }
}

interface Waiter {
  bytes: number;
  resolve: () => void;
}
