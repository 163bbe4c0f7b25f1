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
import { FrameReader } from "./framing.ts";
import type { FrameBatch } from "./lines.ts";
import { writeAll } from "./line_writer.ts";

export type { FrameBatch } from "./lines.ts";

/** The seed's port, on which a receiver listens unless told otherwise. */
export const DEFAULT_PORT = 1234;

/** How long `send --ack` waits for the next acknowledgement, by default: 10 s. */
export const DEFAULT_ACK_TIMEOUT = 10_000;

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  /** The receiver's name or address; IPv6 with or without brackets. Defaults to `127.0.0.1`. */
  hostname?: string;
  /** The receiver's port. Defaults to {@linkcode DEFAULT_PORT}. */
  port?: number;
  /** Give up on one attempt after this many milliseconds. Defaults to the system's limit. */
  connectTimeout?: number;
  /**
   * Keep trying for this many milliseconds, with backoff (0.1 s doubling to
   * 2 s), until the receiver is up. Defaults to 0: one attempt.
   */
  retry?: number;
  /**
   * Connect with TLS, verifying the receiver's certificate against the
   * system's roots, or against `caCerts` (PEM text) when given.
   */
  tls?: boolean | { caCerts?: string[] };
}

/** Options for {@linkcode send}. */
export interface SendOptions extends ConnectOptions {
  /** Called after each batch is written, with the totals so far. */
  onProgress?: (sent: SendResult) => void;
  /**
   * Wait for the receiver to acknowledge every message (`receive --ack`),
   * failing if an acknowledgement does not come within `ackTimeout`.
   */
  ack?: boolean;
  /** Milliseconds to wait for the next acknowledgement. Defaults to 10 s. */
  ackTimeout?: number;
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
}

/** A connection to a receiver: TCP, or TLS with `tls`. */
export type Conn = Deno.TcpConn | Deno.TlsConn;

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
export async function connect(options: ConnectOptions = {}): Promise<Conn> {
  const hostname = unbracket(options.hostname ?? "127.0.0.1");
  const port = options.port ?? DEFAULT_PORT;
  const deadline = Date.now() + (options.retry ?? 0);
  let attempts = 0;
  let wait = 100;
  while (true) {
    attempts++;
    try {
      return await attempt(hostname, port, options);
    } catch (error) {
      const left = deadline - Date.now();
      if (left <= 0 || error instanceof TlsError) {
        const tries = attempts > 1 ? ` (${attempts} attempts over ${options.retry! / 1000} s)` : "";
        throw new Error(
          `Cannot connect to ${formatAddress({ hostname, port })}: ${describeError(error)}${tries}`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, left)));
      wait = Math.min(wait * 2, 2000);
    }
  }
}

/** The receiver's certificate was refused, or the TLS handshake failed: not worth retrying. */
class TlsError extends Error {}

/** One connection attempt, within `connectTimeout`. */
async function attempt(hostname: string, port: number, options: ConnectOptions): Promise<Conn> {
  const tls = options.tls;
  const connecting: Promise<Conn> = tls
    ? Deno.connectTls({ hostname, port, caCerts: tls === true ? undefined : tls.caCerts })
    : Deno.connect({ hostname, port });
  const timeout = options.connectTimeout;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let conn: Conn;
  try {
    conn = timeout === undefined ? await connecting : await Promise.race([
      connecting,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // The attempt goes on in the runtime: close what it may still bring.
          connecting.then((late) => late.close(), () => {});
          reject(new Error(`no answer within ${timeout / 1000} s`));
        }, timeout);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
  if ("handshake" in conn) {
    try {
      await conn.handshake();
    } catch (error) {
      conn.close();
      throw new TlsError(`TLS handshake failed: ${describeError(error)}`, { cause: error });
    }
  } else {
    conn.setNoDelay(true);
  }
  return conn;
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
  const acks = options.ack ? new Acknowledgements(conn, result) : undefined;
  try {
    for await (const batch of source) {
      try {
        await writeAll(conn, batch.data);
      } catch (error) {
        throw new Error(
          `Connection to ${result.peer} lost after ${plural(result.messages, "message")}: ${
            describeError(error)
          }`,
          { cause: error },
        );
      }
      result.messages += batch.messages;
      result.bytes += batch.data.length;
      options.onProgress?.(result);
    }
    if (acks) {
      await conn.closeWrite();
      await acks.all(options.ackTimeout ?? DEFAULT_ACK_TIMEOUT);
    }
  } finally {
    conn.close();
    await acks?.stopped;
  }
  return result;
}

/** Reads `{"ack":N}` frames from the receiver while the sender writes. */
class Acknowledgements {
  readonly stopped: Promise<void>;
  #result: SendResult;
  #error: Error | undefined;
  #ended = false;
  #progress: (() => void) | undefined;

  constructor(conn: Conn, result: SendResult) {
    this.#result = result;
    result.acknowledged = 0;
    this.stopped = this.#read(conn);
  }

  async #read(conn: Conn): Promise<void> {
    const reader = new FrameReader(conn, { maxBytes: 1024 });
    try {
      while (true) {
        const frames = await reader.readBatch();
        if (frames === null) break;
        for (const { value } of frames) {
          const next = this.#result.acknowledged! + 1;
          const n = (value as { ack?: unknown })?.ack;
          if (n !== next) {
            throw new Error(
              `expected the acknowledgement of message ${next}, got ${JSON.stringify(value)}`,
            );
          }
          this.#result.acknowledged = next;
        }
        this.#progress?.();
      }
    } catch (error) {
      this.#error = error instanceof Error ? error : new Error(String(error));
    } finally {
      this.#ended = true;
      this.#progress?.();
    }
  }

  /** Resolves once every message sent is acknowledged; rejects if one is not in time. */
  async all(timeout: number): Promise<void> {
    const result = this.#result;
    while (result.acknowledged! < result.messages) {
      const before = result.acknowledged!;
      const next = before + 1;
      if (this.#ended) {
        const why = this.#error ? describeError(this.#error) : "the receiver closed the connection";
        const hint = before === 0 ? "; does the receiver run with --ack?" : "";
        throw new Error(
          `Message ${next} was not acknowledged: ${why} (${before} of ${result.messages} confirmed${hint})`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await new Promise<boolean>((resolve) => {
        this.#progress = () => resolve(false);
        timer = setTimeout(() => resolve(true), timeout);
      });
      clearTimeout(timer);
      this.#progress = undefined;
      if (timedOut && result.acknowledged === before) {
        throw new Error(
          `Message ${next} was not acknowledged within ${
            timeout / 1000
          } s (${before} of ${result.messages} confirmed; does the receiver run with --ack?)`,
        );
      }
    }
  }
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
