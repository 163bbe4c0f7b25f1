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

import { formatAddress, unbracket } from "./address.ts";
import { describeError } from "./errors.ts";
import type { FrameBatch } from "./lines.ts";
import { writeAll } from "./line_writer.ts";

export type { FrameBatch } from "./lines.ts";

/** The seed's port, on which a receiver listens unless told otherwise. */
export const DEFAULT_PORT = 1234;

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  /** The receiver's name or address; IPv6 with or without brackets. Defaults to `127.0.0.1`. */
  hostname?: string;
  /** The receiver's port. Defaults to {@linkcode DEFAULT_PORT}. */
  port?: number;
}

/** Options for {@linkcode send}. */
export interface SendOptions extends ConnectOptions {
  /** Called after each batch is written, with the totals so far. */
  onProgress?: (sent: SendResult) => void;
}

/** What {@linkcode send} sent. */
export interface SendResult {
  /** Frames written. */
  messages: number;
  /** Bytes written, length prefixes included. */
  bytes: number;
  /** The receiver, as `host:port`. */
  peer: string;
}

/**
 * Opens a TCP connection to a receiver, with Nagle's algorithm off so that a
 * frame written at once leaves at once. Rejects with an error that says, in
 * words, which address could not be reached and why.
 *
 * @example
 * ```ts
 * import { connect } from "./sender.ts";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await connect({ port: listener.addr.port });
 * conn.close();
 * listener.close();
 * await assert.rejects(connect({ port: listener.addr.port }), /connection refused/);
 * ```
 */
export async function connect(options: ConnectOptions = {}): Promise<Deno.TcpConn> {
  const hostname = unbracket(options.hostname ?? "127.0.0.1");
  const port = options.port ?? DEFAULT_PORT;
  try {
    const conn = await Deno.connect({ hostname, port });
    conn.setNoDelay(true);
    return conn;
  } catch (error) {
    throw new Error(
      `Cannot connect to ${formatAddress({ hostname, port })}: ${describeError(error)}`,
      { cause: error },
    );
  }
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
  let length = 0;
  for (const frame of frames) length += frame.length;
  const data = new Uint8Array(length);
  let offset = 0;
  for (const frame of frames) {
    data.set(frame, offset);
    offset += frame.length;
  }
  return { data, messages: frames.length };
}

/**
 * Connects to a receiver and writes every batch of frames, in order, over one
 * connection, then closes it. Resolves once every byte has been written.
 * Errors of the source are passed on as they are, after what came before
 * them was sent; a lost connection rejects with an error that says how much
 * had been sent.
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
  const conn = await connect(options);
  const result: SendResult = { messages: 0, bytes: 0, peer: formatAddress(conn.remoteAddr) };
  try {
    for await (const batch of source) {
      try {
        await writeAll(conn, batch.data);
      } catch (error) {
        const plural = result.messages === 1 ? "" : "s";
        throw new Error(
          `Connection to ${result.peer} lost after ${result.messages} message${plural}: ${
            describeError(error)
          }`,
          { cause: error },
        );
      }
      result.messages += batch.messages;
      result.bytes += batch.data.length;
      options.onProgress?.(result);
    }
  } finally {
    conn.close();
  }
  return result;
}
