/**
 * The sending end: connect to a receiver and write frames to it, in order,
 * over one connection.
 *
 * @example Send the seed's message to a receiver
 * ```ts ignore
 * import { encodeFrame } from "./framing.ts";
 * import { batchFrames, send } from "./sender.ts";
 *
 * const result = await send([batchFrames([encodeFrame("Hello World!")])], { port: 1234 });
 * console.error(`sent ${result.messages} message(s) to ${result.peer}`);
 * ```
 *
 * @module
 */

import { formatAddress } from "./address.ts";
import type { CloseNotice } from "./close_notice.ts";
import { describeError } from "./errors.ts";
import { concat } from "./io.ts";
import type { FrameBatch } from "./lines.ts";
import { checkDuration, checkWhole } from "./option_checks.ts";
import { connect, type ConnectOptions } from "./sender/connect.ts";
import {
  delivery,
  DeliveryError,
  finishAcknowledged,
  finishPlain,
  frameOffset,
  plural,
  resumable,
} from "./sender/delivery.ts";
import { Link, type LinkOptions } from "./sender/link.ts";

export type { FrameBatch } from "./lines.ts";
export type { CloseCode, CloseNotice } from "./close_notice.ts";
export {
  checkCaCert,
  type Conn,
  connect,
  type ConnectEvent,
  type ConnectOptions,
  type ConnectTlsOptions,
  DEFAULT_CONNECT_TIMEOUT,
} from "./sender/connect.ts";
export { DeliveryError, type DeliveryErrorDetails } from "./sender/delivery.ts";

export { DEFAULT_PORT } from "./framing.ts";

/** How long `send --ack` waits for the next acknowledgement, by default: 10 s. */
export const DEFAULT_ACK_TIMEOUT = 10_000;

/**
 * How long {@linkcode send}, without `ack`, waits after its last write for the
 * receiver to close the connection, by default: 2 s.
 */
export const DEFAULT_CLOSE_TIMEOUT = 2_000;

/** How long a write may wait on a receiver that reads nothing, by default: 30 s. */
export const DEFAULT_WRITE_TIMEOUT = 30_000;

/** Options for {@linkcode send}. */
export interface SendOptions extends ConnectOptions {
  /** Called after each batch is written, with the totals so far. */
  onProgress?: (sent: SendResult) => void;
  /** Told when the receiver closed the connection and `send` goes on over a new one. */
  onEvent?: (event: SendEvent) => void;
  /**
   * Wait for the receiver to acknowledge every message (`receive --ack`),
   * failing if an acknowledgement does not come within `ackTimeout`.
   */
  ack?: boolean;
  /**
   * With `ack`: milliseconds that messages sent may go unacknowledged since the
   * last acknowledgement (while sending, and after); 0 never gives up.
   *
   * @default {@linkcode DEFAULT_ACK_TIMEOUT}
   */
  ackTimeout?: number;
  /**
   * Milliseconds a write may wait without the receiver taking any byte (it
   * stopped reading) before `send` gives up; 0 never does. Defaults to
   * {@linkcode DEFAULT_WRITE_TIMEOUT}.
   */
  writeTimeout?: number;
  /**
   * Without `ack`: after the last write, the sending side is closed and
   * `send` waits up to this many milliseconds for the receiver to close the
   * connection. If the receiver resets it instead (it closed the connection
   * with data unread), `send` rejects. Waiting it out is not an error: a
   * receiver may keep the connection open. 0 does not wait. Defaults to
   * {@linkcode DEFAULT_CLOSE_TIMEOUT}.
   */
  closeTimeout?: number;
}

/** What {@linkcode send} sent. */
export interface SendResult {
  /** Frames written. */
  messages: number;
  /** Bytes written, length prefixes included. */
  bytes: number;
  /** The receiver, as `host:port`. */
  peer: string;
  /** Messages the receiver acknowledged, with `ack`. */
  acknowledged?: number;
  /** Connections it took: more than 1 when the receiver closed one and `send` went on. */
  connections: number;
}

/** Something that happened to a send, with a line that says it. */
export interface SendEvent {
  /** `reconnect`: the receiver closed the connection, and the rest goes over a new one. */
  type: "reconnect";
  /** The line for people. */
  message: string;
  /** What the receiver said as it closed, if it did. */
  notice?: CloseNotice;
}

/**
 * Joins frames into one batch, to be written with one write: a small message
 * then leaves in one TCP segment.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./framing.ts";
 * import { batchFrames } from "./sender.ts";
 * import assert from "node:assert/strict";
 *
 * const batch = batchFrames([encodeFrame(1), encodeFrame("two")]);
 * assert.equal(batch.messages, 2);
 * assert.equal(new TextDecoder().decode(batch.data), '1\n15\n"two"');
 * ```
 */
export function batchFrames(frames: Uint8Array[]): FrameBatch {
  return { data: concat(frames), messages: frames.length };
}

/**
 * Connects to a receiver and writes every batch of frames, in order, then
 * closes the connection. Errors of the source are passed on as they are,
 * after what came before them was sent.
 *
 * The connection is watched from the first byte to the end. A receiver that
 * closes it before the sender has finished is never taken for one that read
 * everything: `send` rejects with a {@linkcode DeliveryError} that counts
 * the messages the receiver may have missed, unless the receiver said (in
 * its close notice, `close_notice.ts`) that it printed every message written
 * and closed for a reason not theirs (idle, stopping): then the rest goes
 * over a new connection (within `retry`, or one attempt), and `onEvent` is
 * told. A write the receiver takes nothing of for `writeTimeout` fails.
 *
 * Without `ack`, after the last write it closes its sending side and waits
 * (up to `closeTimeout`) for the receiver to close the connection: a
 * receiver that resets it instead closed it with data unread, and `send`
 * rejects. A receiver that keeps the connection open is not an error. With
 * `ack` it resolves once the receiver has confirmed every message, which is
 * the only proof that each one was printed; acknowledgements out of order or
 * for messages not yet sent are refused.
 *
 * A plain connection whose receiver answers with TLS rejects, saying so.
 *
 * @throws {DeliveryError} when messages may not have reached the receiver.
 * @throws {RangeError} for an option out of range.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./framing.ts";
 * import { batchFrames, send } from "./sender.ts";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const sent = send([batchFrames([encodeFrame("Hello World!")])], { port: listener.addr.port });
 * const conn = await listener.accept();
 * const received = await new Response(conn.readable).text();
 * listener.close();
 * assert.equal(received, '14\n"Hello World!"');
 * assert.equal((await sent).bytes, 17);
 * ```
 */
export async function send(
  source: Iterable<FrameBatch> | AsyncIterable<FrameBatch>,
  options: SendOptions = {},
): Promise<SendResult> {
  checkWhole("send", { name: "port", value: options.port, min: 1, max: 65535 });
  for (const name of ["retry", "connectTimeout", "ackTimeout", "writeTimeout", "closeTimeout"]) {
    checkDuration("send", { name, value: options[name as keyof SendOptions] as number });
  }
  const linkOptions: LinkOptions = {
    ack: options.ack ?? false,
    ackTimeout: options.ackTimeout ?? DEFAULT_ACK_TIMEOUT,
    writeTimeout: options.writeTimeout ?? DEFAULT_WRITE_TIMEOUT,
  };
  const first = await connect(options);
  const peer = formatAddress(first.remoteAddr);
  let link = new Link(first, peer, linkOptions);
  const result: SendResult = { messages: 0, bytes: 0, peer, connections: 1 };
  if (linkOptions.ack) result.acknowledged = 0;
  /** Messages sent on earlier connections: all of them printed, or `send` would have stopped. */
  let before = 0;
  const reconnect = async (notice: CloseNotice | undefined, why: string) => {
    link.close();
    await link.reading;
    before += link.written;
    let conn;
    try {
      conn = await connect(options);
    } catch (error) {
      const sent = `${plural(before, "message")} sent and printed`;
      throw new DeliveryError(
        `${why}, and a new connection failed: ${describeError(error)} (${sent}; ` +
          "nothing after it was sent)",
        { sent: before, confirmed: before, notice, cause: error },
      );
    }
    link = new Link(conn, peer, linkOptions);
    result.connections++;
    options.onEvent?.({
      type: "reconnect",
      message: `${why}; sending the rest over a new connection to ${peer}`,
      notice,
    });
  };
  try {
    for await (const batch of source) {
      let { data, messages } = batch;
      while (true) {
        if (link.closed) {
          // The receiver closed the connection between batches.
          const resume = resumable(link, { retry: options.retry ?? 0, pending: 0 });
          if (resume === undefined) throw delivery(link, result, before);
          await reconnect(link.notice, resume);
        }
        try {
          await link.write(data, messages);
          break;
        } catch (error) {
          // What the receiver said as it went comes a moment after.
          await link.until(() => false, 500);
          if (link.tlsAnswer) throw link.tlsAnswer;
          const printed = link.notice?.messages ?? -1;
          const resume = resumable(link, { retry: 0, pending: messages });
          if (resume === undefined) throw delivery(link, result, before, error);
          // The first of this batch's messages that the receiver printed are sent.
          const skip = Math.max(0, printed - link.written);
          const offset = frameOffset(data, skip);
          result.messages += skip;
          result.bytes += offset;
          link.written += skip;
          data = data.subarray(offset);
          messages -= skip;
          if (linkOptions.ack) result.acknowledged = before + link.acked;
          await reconnect(link.notice, resume);
        }
      }
      result.messages += messages;
      result.bytes += data.length;
      if (linkOptions.ack) result.acknowledged = before + link.acked;
      options.onProgress?.(result);
    }
    if (linkOptions.ack) await finishAcknowledged(link, result, before);
    else await finishPlain(link, result, before, options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT);
  } finally {
    link.close();
    await link.reading;
  }
  return result;
}
