/**
 * A {@linkcode MessageSink} as a receiver's destination: each payload is
 * handed to `sink.put` with where it came from, and the sink's own
 * `settle`, `ready` and `close` stand for the receiver's.
 *
 * @module
 */

import { concat } from "../io.ts";
import type { JsonChecker } from "../json_check.ts";
import type { MemoryBudget } from "../memory_budget.ts";
import type { MessageSink } from "../sink.ts";
import type { ChunkPool } from "./chunk_pool.ts";
import { type Destination, type PayloadSource, RefusedError } from "./destination.ts";
import { describeError } from "../errors.ts";

/** Options for {@linkcode SinkDestination}. */
export interface SinkDestinationOptions {
  /** A name of the receiver, the same for all its messages. */
  receiver: string;
  /** Where large payloads' reservations go back. */
  budget: MemoryBudget;
  /** Where large payloads' pieces go back. */
  chunks: ChunkPool;
  /** Called once, when the sink fails to settle: the receiver stops. */
  onError: (error: unknown) => void;
}

/** Hands each payload to a {@linkcode MessageSink}; see the module. */
export class SinkDestination implements Destination {
  readonly busy = null;
  readonly pending = 0;
  #sink: MessageSink;
  #options: SinkDestinationOptions;
  #failed = false;

  /** Hands payloads to `sink`. */
  constructor(sink: MessageSink, options: SinkDestinationOptions) {
    this.#sink = sink;
    this.#options = options;
  }

  small(
    source: PayloadSource,
    bytes: Uint8Array,
    start: number,
    end: number,
    _checker: JsonChecker,
  ): void {
    this.#put(source, bytes.subarray(start, end));
  }

  large(
    source: PayloadSource,
    pieces: Uint8Array[],
    length: number,
    _checker: JsonChecker,
  ): Promise<void> {
    try {
      this.#put(source, concat(pieces));
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    } finally {
      // The sink has what it keeps (a copy): the pieces go back at once.
      this.#options.budget.release(length);
      for (const piece of pieces) this.#options.chunks.give(piece);
    }
  }

  settledNow(): boolean {
    return false;
  }

  settle(): Promise<void> {
    return this.#sink.settle().catch((error) => {
      if (!this.#failed) {
        this.#failed = true;
        this.#options.onError(error);
      }
      throw error;
    });
  }

  ready(waiter: { readonly signal: AbortSignal }): Promise<void> | null {
    return this.#sink.ready(waiter.signal);
  }

  close(): Promise<void> {
    return this.#sink.close();
  }

  #put(source: PayloadSource, payload: Uint8Array): void {
    try {
      this.#sink.put({
        peer: source.peer,
        connection: source.id,
        number: source.frames + 1,
        payload,
        receivedAt: Date.now(),
        receiver: this.#options.receiver,
      });
    } catch (error) {
      throw new RefusedError(describeError(error), { cause: error });
    }
  }
}
