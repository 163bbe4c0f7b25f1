/**
 * Where a receiver puts each message once it is checked: the seam between
 * reading frames and a destination. The default sink prints lines to an
 * output (`framecat receive`'s stdout); another destination (a message
 * system) is a module of its own that implements {@linkcode MessageSink},
 * passed as `receive(null, { sink })`.
 *
 * The receiver calls `put` for each message, in each connection's order.
 * With `ack` it acknowledges messages only once `settle()` has resolved
 * after their `put`, so an acknowledgement means the sink has them for good
 * (a line written, a message stored). It stops reading from senders while
 * `ready()` waits (TCP back-pressure reaches them), and on shutdown awaits
 * `close()`.
 *
 * @example A sink that keeps payloads in memory
 * ```ts
 * import type { MessageSink, SinkMessage } from "./sink.ts";
 * import { receive } from "./receiver.ts";
 * import { batchFrames, send } from "./sender.ts";
 * import { encodeFrame } from "./framing.ts";
 * import assert from "node:assert/strict";
 *
 * const kept: string[] = [];
 * const sink: MessageSink = {
 *   put: (message: SinkMessage) => void kept.push(new TextDecoder().decode(message.payload)),
 *   settle: () => Promise.resolve(),
 *   ready: () => Promise.resolve(),
 *   close: () => Promise.resolve(),
 * };
 * const receiver = receive(null, { hostname: "127.0.0.1", port: 0, count: 1, sink });
 * await send([batchFrames([encodeFrame({ a: 1 })])], { port: receiver.addr.port });
 * await receiver.finished;
 * assert.deepEqual(kept, ['{"a":1}']);
 * ```
 *
 * @module
 */

/** One checked message, as a receiver hands it to its sink. */
export interface SinkMessage {
  /** The sender, as `host:port` (`[::1]:5000` for IPv6). */
  peer: string;
  /**
   * The connection's number, counted from 1 since the receiver started:
   * with `receiver` and `number`, it names the message uniquely.
   */
  connection: number;
  /** The message's number on its connection, from 1. */
  number: number;
  /**
   * The payload's bytes exactly as sent (valid UTF-8 JSON). A view that is
   * valid only during `put`: copy it to keep it.
   */
  payload: Uint8Array;
  /** When the receiver had the whole message, in milliseconds since the epoch. */
  receivedAt: number;
  /** A name of this receiver process, random, the same for all its messages. */
  receiver: string;
}

/** A destination for checked messages; see the module. */
export interface MessageSink {
  /**
   * Takes one message. Throwing refuses it: the connection is closed with
   * the error's message as the reason (its sender is told), and the message
   * does not count as received.
   */
  put(message: SinkMessage): void;
  /**
   * Resolves once every message `put` so far is handled for good (written,
   * stored); rejects if that failed for good, which stops the receiver.
   */
  settle(): Promise<void>;
  /**
   * Resolves once the sink can take more; until then the receiver reads
   * nothing from its senders. Aborting `signal` ends the wait (rejecting).
   */
  ready(signal?: AbortSignal): Promise<void>;
  /**
   * Resolves once everything put is handled (or the sink gives up on it,
   * saying so in the error it rejects with) and the sink is closed.
   */
  close(): Promise<void>;
}
