/**
 * The receiving end: listen for senders, read every frame of every connection
 * concurrently, and print each message as one whole line.
 *
 * @example Receive one message and stop
 * ```ts
 * import { receive } from "./receiver.ts";
 * import { batchFrames, send } from "./sender.ts";
 * import { encodeFrame } from "./framing.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const output = {
 *   write: async (p: Uint8Array) => (lines.push(new TextDecoder().decode(p)), p.length),
 * };
 * const receiver = receive(output, { hostname: "127.0.0.1", port: 0, count: 1 });
 * await send([batchFrames([encodeFrame("Hello World!")])], { port: receiver.addr.port });
 * await receiver.finished;
 * assert.equal(lines.join(""), "Message from Sender :: Hello World!\n");
 * ```
 *
 * @module
 */

import { formatAddress, unbracket } from "./address.ts";
import { CidrSet } from "./cidr.ts";
import { describeError } from "./errors.ts";
import { DEFAULT_MAX_BYTES, DEFAULT_PORT, MAX_PAYLOAD_BYTES } from "./framing.ts";
import type { ByteWriter } from "./io.ts";
import { checkDuration, checkWhole } from "./option_checks.ts";
import { checkServerCert } from "./server_cert.ts";
import type { MessageSink } from "./sink.ts";
import { Server } from "./receiver/server.ts";

export type { ByteWriter } from "./io.ts";
export type { MessageSink, SinkMessage } from "./sink.ts";
export {
  DEFAULT_FRAME_TIMEOUT,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_MAX_CONNS,
  DEFAULT_MAX_MEMORY,
  SHUTDOWN_GRACE,
  SHUTDOWN_QUIET,
} from "./receiver/limits.ts";

/**
 * A receiver that cannot listen: the address and port, and the system's
 * error as its `cause`; the message says it in words.
 *
 * @example
 * ```ts
 * import { ListenError } from "./receiver.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new ListenError("0.0.0.0:80", 80, new Deno.errors.PermissionDenied("denied"));
 * assert.equal(error.message, "Cannot listen on 0.0.0.0:80: permission denied");
 * ```
 */
export class ListenError extends Error {
  /** The address, as `host:port`. */
  readonly address: string;
  /** The port. */
  readonly port: number;

  /** Makes one for `address` (with its `port`), that `cause` prevented. */
  constructor(address: string, port: number, cause: unknown) {
    super(`Cannot listen on ${address}: ${describeError(cause)}`, { cause });
    this.name = "ListenError";
    this.address = address;
    this.port = port;
  }
}

/** Options for {@linkcode receive}. */
export interface ReceiveOptions {
  /**
   * Address to listen on.
   *
   * @default `0.0.0.0`, every IPv4 interface; `::` for IPv6
   */
  hostname?: string;
  /**
   * Port to listen on; 0 lets the system choose.
   *
   * @default {@linkcode DEFAULT_PORT}
   */
  port?: number;
  /**
   * Print one JSON object a line, `{"peer":"host:port","bytes":N,"message":value}`,
   * instead of the seed's `Message from Sender :: value`.
   */
  json?: boolean;
  /** Stop once this many messages have been printed. */
  count?: number;
  /**
   * Refuse frames declaring more bytes than this.
   *
   * @default 64 MiB
   */
  maxBytes?: number;
  /**
   * Close a connection whose peer sends nothing for this many milliseconds
   * (give or take a quarter of it, at most a second); 0 never does. Not
   * given, a connection quiet between frames for
   * {@linkcode DEFAULT_IDLE_TIMEOUT} is closed only while the receiver is at
   * `maxConns`, to make room: a quiet stream (`tail -f`) is never closed
   * otherwise, and `frameTimeout` still bounds a frame half sent. Only time
   * spent waiting on the peer counts, never time its bytes wait on the
   * receiver. Its peer is told (see `close_notice.ts`).
   */
  idleTimeout?: number;
  /**
   * Close a connection whose frame has not fully arrived this many milliseconds
   * after its first byte (give or take a quarter of it, at most a second); 0
   * never does.
   *
   * @default 60 s
   */
  frameTimeout?: number;
  /**
   * Serve at most this many connections at once. At the limit the receiver
   * stops accepting (new connections wait in the system's queue) and goes on
   * when one ends; a `limit` event says so.
   *
   * @default 1024
   */
  maxConns?: number;
  /**
   * The most bytes held for frames in flight and output not yet written,
   * across all connections. A large frame's whole declared length is
   * reserved before its payload is read (its buffer then grows as bytes
   * arrive); when the budget is used up, connections are not read (TCP
   * back-pressure reaches the senders) until output frees it. Defaults to
   * {@linkcode DEFAULT_MAX_MEMORY}, and is at least `maxBytes`.
   */
  maxMemory?: number;
  /**
   * Serve only peers in these address ranges (`10.0.0.0/8`, `::1`); others are
   * closed at accept, before any byte is read.
   *
   * @default everyone
   */
  allow?: string[];
  /**
   * Acknowledge each message, once its line is written, with a frame on the
   * same connection: `{"ack":N}`, N its number on the connection from 1.
   */
  ack?: boolean;
  /** Listen with TLS, with this certificate chain and private key (PEM text). */
  tls?: { cert: string; key: string };
  /** Aborting it shuts the receiver down, as {@linkcode Receiver.shutdown} does. */
  signal?: AbortSignal;
  /**
   * Called with each message, in the order they are printed, once it is
   * checked: for programs that want values rather than lines. If it throws,
   * that message is not printed and its connection is closed with the error.
   * A promise it returns is not waited for; if it rejects, the connection
   * is closed with the reason.
   */
  onMessage?: (message: ReceivedMessage) => void;
  /** Told of every event worth a line on a log: listening, connections, errors. */
  onEvent?: (event: ReceiverEvent) => void;
  /**
   * Where each checked message goes instead of lines on `output` (which
   * must then be `null`): another destination, such as a message system.
   * With `ack`, a message is acknowledged once the sink has settled it.
   */
  sink?: MessageSink;
}

/** One message, as {@linkcode ReceiveOptions.onMessage} is given it. */
export interface ReceivedMessage {
  /** The sender, as `host:port`. */
  peer: string;
  /** The payload's length in bytes. */
  bytes: number;
  /** The payload: its JSON text, exactly as it arrived. */
  text: string;
  /** The payload parsed. */
  value: unknown;
}

/** Something that happened to a receiver, with a line that says it. */
export interface ReceiverEvent {
  /**
   * `listen` once, `open` per connection, then `close` or `error` when it
   * ends; `limit` when the receiver stops accepting at `maxConns`.
   */
  type: "listen" | "open" | "close" | "error" | "limit";
  /** The line for people. */
  message: string;
  /** The sender, as `host:port`, for connection events. */
  peer?: string;
  /** Messages printed from the connection, for `close` and `error`. */
  messages?: number;
  /** What went wrong, for `error`: a {@linkcode FrameError}, a timeout or a network error. */
  error?: unknown;
}

/** What a receiver did, once it has finished. */
export interface ReceiveSummary {
  /** Messages printed. */
  messages: number;
  /** Connections accepted. */
  connections: number;
  /**
   * Errors that `onEvent` threw, or `onMessage` rejected with (the first
   * 10): the receiver went on. Absent when there were none.
   */
  callbackErrors?: unknown[];
}

/** A running receiver; see {@linkcode receive}. */
export interface Receiver {
  /** The address it listens on, with the port the system chose for port 0. */
  readonly addr: Deno.NetAddr;
  /**
   * Resolves once the receiver has stopped and everything it printed is
   * written; rejects if writing the output failed.
   */
  readonly finished: Promise<ReceiveSummary>;
  /**
   * Stops accepting and keeps reading the open connections until each ends,
   * goes quiet for {@linkcode SHUTDOWN_QUIET}, or {@linkcode SHUTDOWN_GRACE}
   * has passed; prints every complete frame that arrived; resolves as
   * `finished` does.
   */
  shutdown(): Promise<ReceiveSummary>;
}

/**
 * Listens for senders and prints each message they send to `output` as one
 * line (`null`: no lines, for a program that takes `onMessage`). Connections
 * are served concurrently, and lines never interleave; one connection's
 * messages keep their order. A bad frame is never printed: its connection is
 * closed, its sender told why, and an `error` event names the peer and the
 * reason.
 *
 * @throws {ListenError} when it cannot listen (the port is in use, or needs privileges).
 * @throws {SyntaxError} for an `allow` range or a TLS certificate it cannot read.
 * @throws {RangeError} for an option out of range.
 *
 * @example Lines on stdout
 * ```ts
 * import { receive } from "./receiver.ts";
 *
 * const receiver = receive(Deno.stdout, { hostname: "127.0.0.1", port: 0 });
 * console.error(`listening on port ${receiver.addr.port}`);
 * await receiver.shutdown();
 * ```
 *
 * @example Messages as values
 * ```ts
 * import { receive } from "./receiver.ts";
 * import { batchFrames, send } from "./sender.ts";
 * import { encodeFrame } from "./framing.ts";
 * import assert from "node:assert/strict";
 *
 * const values: unknown[] = [];
 * const receiver = receive(null, {
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   count: 2,
 *   onMessage: (message) => values.push(message.value),
 * });
 * const frames = [encodeFrame({ n: 1 }), encodeFrame([2])];
 * await send([batchFrames(frames)], { port: receiver.addr.port });
 * await receiver.finished;
 * assert.deepEqual(values, [{ n: 1 }, [2]]);
 * ```
 */
export function receive(output: ByteWriter | null, options: ReceiveOptions = {}): Receiver {
  checkWhole("receive", { name: "port", value: options.port, max: 65535 });
  checkWhole("receive", { name: "count", value: options.count, min: 1 });
  checkWhole("receive", {
    name: "maxBytes",
    value: options.maxBytes,
    min: 1,
    max: MAX_PAYLOAD_BYTES,
  });
  checkWhole("receive", { name: "maxConns", value: options.maxConns, min: 1 });
  checkWhole("receive", { name: "maxMemory", value: options.maxMemory, min: 1 });
  checkDuration("receive", { name: "idleTimeout", value: options.idleTimeout });
  checkDuration("receive", { name: "frameTimeout", value: options.frameTimeout });
  if (options.sink && output) throw new TypeError("receive(): give an output or a sink, not both");
  const hostname = unbracket(options.hostname ?? "0.0.0.0");
  const port = options.port ?? DEFAULT_PORT;
  // Parsed first, so that a bad range leaves no listener open.
  const allow = options.allow ? new CidrSet(options.allow) : undefined;
  // Checked here, before listening; tls_server.ts, and node:tls with it, is
  // loaded once the server starts accepting.
  if (options.tls) checkServerCert(options.tls);
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname, port });
  } catch (error) {
    throw new ListenError(formatAddress({ hostname, port }), port, error);
  }
  return new Server(listener, {
    options,
    output,
    allow,
    tls: options.tls,
    maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES,
  });
}
