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
import { describeError } from "./errors.ts";
import { type Frame, FrameError, FrameReader } from "./framing.ts";
import { type ByteWriter, LineWriter } from "./line_writer.ts";
import { DEFAULT_PORT } from "./sender.ts";

/** How long a connection may send nothing before it is closed, by default: 30 s. */
export const DEFAULT_IDLE_TIMEOUT = 30_000;

/** How long frames in flight get to arrive once shutdown begins: 1.5 s. */
export const SHUTDOWN_GRACE = 1_500;

/** Options for {@linkcode receive}. */
export interface ReceiveOptions {
  /** Address to listen on. Defaults to `0.0.0.0`, every IPv4 interface; `::` for IPv6. */
  hostname?: string;
  /** Port to listen on; 0 lets the system choose. Defaults to {@linkcode DEFAULT_PORT}. */
  port?: number;
  /**
   * Print one JSON object a line, `{"peer":"host:port","bytes":N,"message":value}`,
   * instead of the seed's `Message from Sender :: value`.
   */
  json?: boolean;
  /** Stop once this many messages have been printed. */
  count?: number;
  /** Refuse frames declaring more bytes than this. Defaults to 64 MiB. */
  maxBytes?: number;
  /**
   * Close a connection that sends nothing for this many milliseconds (give or
   * take a quarter of it, at most a second); 0 never does. Defaults to 30 s.
   */
  idleTimeout?: number;
  /** Aborting it shuts the receiver down, as {@linkcode Receiver.shutdown} does. */
  signal?: AbortSignal;
  /** Told of every event worth a line on a log: listening, connections, errors. */
  onEvent?: (event: ReceiverEvent) => void;
}

/** Something that happened to a receiver, with a line that says it. */
export interface ReceiverEvent {
  /** `listen` once, `open` per connection, then `close` or `error` when it ends. */
  type: "listen" | "open" | "close" | "error";
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
   * Stops accepting, gives frames already arriving up to
   * {@linkcode SHUTDOWN_GRACE} to finish, closes every connection; resolves
   * as `finished` does.
   */
  shutdown(): Promise<ReceiveSummary>;
}

/**
 * Listens for senders and prints each message they send to `output` as one
 * line. Connections are served concurrently, and lines never interleave; one
 * connection's messages keep their order. A bad frame is never printed: its
 * connection is closed and an `error` event names the peer and the reason.
 * Throws at once, with the reason in words, if it cannot listen.
 *
 * @example
 * ```ts
 * import { receive } from "./receiver.ts";
 *
 * const receiver = receive(Deno.stdout, { hostname: "127.0.0.1", port: 0 });
 * console.error(`listening on port ${receiver.addr.port}`);
 * await receiver.shutdown();
 * ```
 */
export function receive(output: ByteWriter, options: ReceiveOptions = {}): Receiver {
  const hostname = unbracket(options.hostname ?? "0.0.0.0");
  const port = options.port ?? DEFAULT_PORT;
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname, port });
  } catch (error) {
    throw new Error(
      `Cannot listen on ${formatAddress({ hostname, port })}: ${describeError(error)}`,
      { cause: error },
    );
  }
  return new Server(listener, output, options);
}

interface Connection {
  conn: Deno.TcpConn;
  reader: FrameReader;
  /** Why we closed it, once we have. */
  closedFor?: string;
  /** `reader.received` when the idle sweep last saw it change, and when that was. */
  seenReceived: number;
  seenAt: number;
}

class Server implements Receiver {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<ReceiveSummary>;
  #listener: Deno.TcpListener;
  #out: LineWriter;
  #options: ReceiveOptions;
  #open = new Set<Connection>();
  #tasks = new Set<Promise<void>>();
  #messages = 0;
  #connections = 0;
  #stopping = false;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #acceptRetryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(listener: Deno.TcpListener, output: ByteWriter, options: ReceiveOptions) {
    this.#listener = listener;
    this.addr = listener.addr;
    this.#out = new LineWriter(output, { onError: () => this.#stop(0) });
    this.#options = options;
    this.#emit({ type: "listen", message: `Listening on ${formatAddress(this.addr)}` });
    const idle = options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT;
    if (idle > 0) {
      // One timer for every connection: a sweep a quarter of the timeout (at
      // most a second) apart closes those that received nothing for as long.
      this.#sweepTimer = setInterval(() => this.#sweepIdle(idle), Math.min(idle / 4, 1000));
    }
    const accepting = this.#accept();
    this.finished = this.#finish(accepting);
    options.signal?.addEventListener("abort", () => this.shutdown(), { once: true });
    if (options.signal?.aborted) this.shutdown();
  }

  shutdown(): Promise<ReceiveSummary> {
    this.#stop(SHUTDOWN_GRACE);
    return this.finished;
  }

  async #finish(accepting: Promise<void>): Promise<ReceiveSummary> {
    await accepting;
    while (this.#tasks.size > 0) await Promise.all(this.#tasks);
    clearTimeout(this.#graceTimer);
    clearInterval(this.#sweepTimer);
    await this.#out.flush();
    return { messages: this.#messages, connections: this.#connections };
  }

  async #accept(): Promise<void> {
    while (!this.#stopping) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#stopping) break;
        // Out of file descriptors and the like: say so, and keep serving.
        this.#emit({
          type: "error",
          message: `Cannot accept a connection: ${describeError(error)}`,
          error,
        });
        await new Promise((resolve) => this.#acceptRetryTimer = setTimeout(resolve, 100));
        continue;
      }
      if (this.#stopping) {
        conn.close();
        break;
      }
      const task = this.#serve(conn);
      this.#tasks.add(task);
      task.finally(() => this.#tasks.delete(task));
    }
  }

  /** Stops accepting and closes connections; those mid-frame get `grace` ms. */
  #stop(grace: number): void {
    if (this.#stopping) {
      if (grace === 0) this.#closeAll();
      return;
    }
    this.#stopping = true;
    clearTimeout(this.#acceptRetryTimer);
    this.#listener.close();
    for (const connection of this.#open) {
      if (grace === 0 || !connection.reader.partial) this.#close(connection, "receiver stopped");
    }
    if (this.#open.size > 0) this.#graceTimer = setTimeout(() => this.#closeAll(), grace);
  }

  #closeAll(): void {
    for (const connection of this.#open) this.#close(connection, "receiver stopped");
  }

  #close(connection: Connection, why: string): void {
    if (connection.closedFor !== undefined) return;
    connection.closedFor = why;
    connection.conn.close();
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    const peer = formatAddress(conn.remoteAddr);
    const options = this.#options;
    const connection: Connection = {
      conn,
      reader: new FrameReader(conn, { maxBytes: options.maxBytes }),
      seenReceived: 0,
      seenAt: Date.now(),
    };
    this.#open.add(connection);
    this.#connections++;
    this.#emit({ type: "open", peer, message: `Connection from ${peer}` });
    const prefix = options.json
      ? `{"peer":${JSON.stringify(peer)},"bytes":`
      : "Message from Sender :: ";
    let printed = 0;
    let failure: unknown;
    try {
      while (true) {
        const frames = await connection.reader.readBatch();
        if (frames === null) break;
        printed += this.#print(frames, prefix);
        await this.#out.ready();
        if (this.#stopping && !connection.reader.partial) {
          this.#close(connection, "receiver stopped");
          break;
        }
      }
    } catch (error) {
      failure = error;
    } finally {
      this.#open.delete(connection);
      if (connection.closedFor === undefined) {
        connection.closedFor = "";
        conn.close();
      }
    }
    this.#report(connection, peer, printed, failure);
  }

  /** Adds the lines for `frames`, up to `count`; returns how many it added. */
  #print(frames: Frame[], prefix: string): number {
    const count = this.#options.count ?? Infinity;
    const n = Math.min(frames.length, count - this.#messages);
    const out = this.#out;
    // Small lines are joined into one string; a large message is added as a
    // piece of its own, so that it is never copied into a joined string.
    let lines = "";
    for (let i = 0; i < n; i++) {
      const frame = frames[i];
      const head = this.#options.json ? prefix + frame.bytes + ',"message":' : prefix;
      const body = this.#options.json ? compactJson(frame) : humanText(frame.value);
      const tail = this.#options.json ? "}\n" : "\n";
      if (body.length < LARGE_TEXT) {
        lines += head + body + tail;
      } else {
        out.add(lines + head);
        out.add(body);
        lines = tail;
      }
    }
    if (lines !== "") out.add(lines);
    this.#messages += n;
    if (this.#messages >= count) this.#stop(0);
    return n;
  }

  /** Closes the connections that have received nothing for `timeout` ms. */
  #sweepIdle(timeout: number): void {
    const now = Date.now();
    for (const connection of this.#open) {
      const received = connection.reader.received;
      if (received !== connection.seenReceived) {
        connection.seenReceived = received;
        connection.seenAt = now;
      } else if (now - connection.seenAt >= timeout) {
        this.#close(connection, `no data for ${timeout / 1000} s (idle timeout)`);
      }
    }
  }

  #report(connection: Connection, peer: string, messages: number, failure: unknown): void {
    const plural = messages === 1 ? "" : "s";
    const tally = `after ${messages} message${plural}`;
    if (this.#out.failed) return;
    if (connection.closedFor) {
      this.#emit({
        type: connection.closedFor === "receiver stopped" ? "close" : "error",
        peer,
        messages,
        message: `Connection from ${peer} closed ${tally}: ${connection.closedFor}`,
        error: connection.closedFor,
      });
    } else if (failure !== undefined) {
      const why = failure instanceof FrameError ? failure.message : describeError(failure);
      this.#emit({
        type: "error",
        peer,
        messages,
        message: `Connection from ${peer} closed ${tally}: ${why}`,
        error: failure,
      });
    } else {
      this.#emit({
        type: "close",
        peer,
        messages,
        message: `Connection from ${peer} ended ${tally}`,
      });
    }
  }

  #emit(event: ReceiverEvent): void {
    this.#options.onEvent?.(event);
  }
}

/** Text longer than this (in UTF-16 units) is written as a piece of its own. */
const LARGE_TEXT = 64 * 1024;

/** The message as JSON on one line: as it arrived unless it spans lines. */
function compactJson(frame: Frame): string {
  const text = frame.text;
  if (text.includes("\n") || text.includes("\r")) return JSON.stringify(frame.value);
  return text;
}

/** The seed's way: strings raw, other values as compact JSON, always one line. */
function humanText(value: unknown): string {
  if (typeof value === "string" && !value.includes("\n") && !value.includes("\r")) return value;
  return JSON.stringify(value);
}
