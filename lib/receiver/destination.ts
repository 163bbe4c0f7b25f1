/**
 * What a receiver's connections hand each checked payload to: the line
 * printer (stdout, `line_printer.ts`), or any {@linkcode MessageSink}
 * (`sink_destination.ts`). Internal to the receiver: the public seam is
 * `../sink.ts`.
 *
 * @module
 */

import type { JsonChecker } from "../json_check.ts";
import type { SmallRun } from "./small_lines.ts";

/** What a destination knows of the connection a payload came on. */
export interface PayloadSource {
  /** The sender, as `host:port`. */
  readonly peer: string;
  /** The connection's number, from 1 since the receiver started. */
  readonly id: number;
  /** Messages of the connection handed over before this one. */
  readonly frames: number;
  /**
   * What the destination keeps for the connection (the line printer: its
   * line head, `markSize` bytes of it made for a payload of `markFor` bytes).
   */
  mark?: Uint8Array;
  markSize?: number;
  markFor?: number;
  /** The line printer's head up to a length's digits, `{"peer":...,"bytes":`. */
  markPeer?: Uint8Array;
}

/** A destination for checked payloads; see the module. */
export interface Destination {
  /**
   * Set while a payload is being handed over in parts that nothing may come
   * between (a line printed a piece at a time): wait for it before handing
   * over another.
   */
  readonly busy: Promise<void> | null;
  /** Bytes it holds that are not yet out, for back-pressure. */
  readonly pending: number;
  /**
   * Takes, where it can, a run of whole small frames from a read buffer at
   * once (the receiver checks none of them itself): returns how many, with
   * `run.start` past them. Frames it leaves go to `small` or `large`.
   */
  takeSmall?(source: PayloadSource, run: SmallRun): number;
  /**
   * Takes a payload that lies whole in a read buffer, `bytes[start, end)`,
   * checked by `checker`. The bytes are the caller's again on return.
   */
  small(
    source: PayloadSource,
    bytes: Uint8Array,
    start: number,
    end: number,
    checker: JsonChecker,
  ): void;
  /**
   * Takes a payload read into `pieces` (of the chunk pool), checked by
   * `checker`, whose `length` bytes are reserved in the memory budget. It
   * takes over that reservation: it gives the bytes back to the budget
   * itself, once they are out or at once, also when it rejects.
   */
  large(
    source: PayloadSource,
    pieces: Uint8Array[],
    length: number,
    checker: JsonChecker,
  ): Promise<void>;
  /** Resolves once everything handed over is out for good (for acknowledgements). */
  settle(): Promise<void>;
  /**
   * Whether everything handed over is out for good now, written at once
   * where that never blocks for long; `false` says to wait on `settle`.
   */
  settledNow(): boolean;
  /**
   * `null` if it can take more now; else a promise that resolves once it
   * can (aborting `waiter.signal`, asked for only then, rejects it).
   */
  ready(waiter: { readonly signal: AbortSignal }): Promise<void> | null;
  /** Resolves once everything handed over is out, at the end. */
  close(): Promise<void>;
}

/**
 * A message refused by the program behind the receiver (`onMessage`, or a
 * sink's `put`): its connection is closed, and its peer told the reason.
 */
export class RefusedError extends Error {
  /** Wraps what the program threw. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RefusedError";
  }
}
