/**
 * The wording of every event a receiver reports (`onEvent`, and the lines
 * of `framecat receive` on stderr), and a {@linkcode Throttle} for events
 * that could repeat many times a second.
 *
 * @module
 */

import { describeError } from "../errors.ts";
import { FrameError } from "../framing.ts";
import type { ReceiverEvent } from "../receiver.ts";
import type { Connection } from "./connection.ts";

/** Says something at most once every `ms` milliseconds. */
export class Throttle {
  #ms: number;
  #saidAt = -Infinity;

  /** At most once every `ms` milliseconds. */
  constructor(ms: number) {
    this.#ms = ms;
  }

  /** Whether it is time to say it again; if so, the clock starts again. */
  due(now: number = Date.now()): boolean {
    if (now - this.#saidAt < this.#ms) return false;
    this.#saidAt = now;
    return true;
  }
}

/** A receiver listening. */
export function listening(address: string): ReceiverEvent {
  return { type: "listen", message: `Listening on ${address}` };
}

/** A connection accepted. */
export function opened(peer: string): ReceiverEvent {
  return { type: "open", peer, message: `Connection from ${peer}` };
}

/** A peer outside `allow`, closed at accept. */
export function refused(peer: string): ReceiverEvent {
  return {
    type: "error",
    peer,
    message: `Refused connection from ${peer}: not in the allowed address ranges`,
  };
}

/** The receiver at `maxConns`: new connections wait in the system's queue. */
export function full(maxConns: number): ReceiverEvent {
  return {
    type: "limit",
    message: `Serving ${maxConns} connections (--max-conns): new ones wait until one ends`,
  };
}

/** Accepting failed (out of file descriptors and the like); it is retried. */
export function acceptFailed(error: unknown): ReceiverEvent {
  return { type: "error", message: `Cannot accept a connection: ${describeError(error)}`, error };
}

/** Options for {@linkcode ended}. */
export interface EndedOptions {
  /** What ended it badly, if anything did. */
  failure: unknown;
  /** The reason the receiver gives when it stops (a signal, its count). */
  stopReason: string;
}

/**
 * How a connection ended: closed by the receiver (with complete frames left
 * unprinted and a frame cut short said), refused for a bad frame or a
 * network error, or ended by its peer.
 */
export function ended(c: Connection, options: EndedOptions): ReceiverEvent {
  const { peer, frames: messages } = c;
  const tally = `after ${messages} message${messages === 1 ? "" : "s"}`;
  if (c.closedFor) {
    const unprinted = c.unprinted();
    const partial = c.describePartial();
    const dropped = (unprinted === 0
      ? ""
      : `; ${
        unprinted === 1 ? "1 complete frame" : `${unprinted} complete frames`
      } that had arrived not printed (the sender is told)`) +
      (partial === undefined ? "" : `; frame ${messages + 1} was dropped incomplete, ${partial}`);
    const stopped = c.closedFor === options.stopReason && dropped === "";
    return {
      type: stopped ? "close" : "error",
      peer,
      messages,
      message: `Connection from ${peer} closed ${tally}: ${c.closedFor}${dropped}`,
      error: c.closedFor,
    };
  }
  const failure = options.failure;
  if (failure !== undefined) {
    const why = failure instanceof FrameError ? failure.message : describeError(failure);
    return {
      type: "error",
      peer,
      messages,
      message: `Connection from ${peer} closed ${tally}: ${why}`,
      error: failure,
    };
  }
  return { type: "close", peer, messages, message: `Connection from ${peer} ended ${tally}` };
}
