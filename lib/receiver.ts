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
import { type Frame, FrameError, FrameReader } from "./framing.ts";
import { type ByteWriter, LineWriter, writeAll } from "./line_writer.ts";
import { DEFAULT_PORT } from "./sender.ts";

export type { ByteWriter } from "./line_writer.ts";

/** How long a connection may send nothing before it is closed, by default: 30 s. */
export const DEFAULT_IDLE_TIMEOUT = 30_000;

/** How long a frame may take to arrive once its first byte has, by default: 60 s. */
export const DEFAULT_FRAME_TIMEOUT = 60_000;

/** How many connections a receiver serves at once, by default. */
export const DEFAULT_MAX_CONNS = 1024;

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
  /**
   * Close a connection whose frame has not fully arrived this many
   * milliseconds after its first byte (give or take a quarter of it, at most a
   * second); 0 never does. Defaults to 60 s.
   */
  frameTimeout?: number;
  /**
   * Serve at most this many connections at once; a connection past it is
   * closed at once, and those open keep being served. Defaults to 1024.
   */
  maxConns?: number;
  /**
   * Serve only peers in these address ranges (`10.0.0.0/8`, `::1`); others
   * are closed at accept, before any byte is read. Defaults to everyone.
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
 * line. Throws `SyntaxError` for an `allow` range it cannot read. Connections are served concurrently, and lines never interleave; one
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
  // Parsed first, so that a bad range leaves no listener open.
  const allow = options.allow ? new CidrSet(options.allow) : undefined;
  let listener: Listener;
  try {
    listener = options.tls
      ? Deno.listenTls({ hostname, port, cert: options.tls.cert, key: options.tls.key })
      : Deno.listen({ hostname, port });
  } catch (error) {
    throw new Error(
      `Cannot listen on ${formatAddress({ hostname, port })}: ${describeError(error)}`,
      { cause: error },
    );
  }
  return new Server(listener, output, options, allow);
}

type Conn = Deno.TcpConn | Deno.TlsConn;
type Listener = Deno.Listener<Conn, Deno.NetAddr>;

interface Connection {
  conn: Conn;
  reader: FrameReader;
  /** Why we closed it, once we have. */
  closedFor?: string;
  /** `reader.received` when the sweep last saw it change, and when that was. */
  seenReceived: number;
  seenAt: number;
  /** `reader.frames` when the sweep first saw the current frame partial, and when. */
  partialFrame: number;
  partialSince: number;
}

class Server implements Receiver {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<ReceiveSummary>;
  #listener: Listener;
  #allow: CidrSet | undefined;
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

  constructor(
    listener: Listener,
    output: ByteWriter,
    options: ReceiveOptions,
    allow: CidrSet | undefined,
  ) {
    this.#listener = listener;
    this.#allow = allow;
    this.addr = listener.addr;
    this.#out = new LineWriter(output, { onError: () => this.#stop(0) });
    this.#options = options;
    this.#emit({ type: "listen", message: `Listening on ${formatAddress(this.addr)}` });
    const idle = options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT;
    const frame = options.frameTimeout ?? DEFAULT_FRAME_TIMEOUT;
    const timeouts = [idle, frame].filter((t) => t > 0);
    if (timeouts.length > 0) {
      // One timer for every connection: a sweep a quarter of the shortest
      // timeout (at most a second) apart closes those past a timeout.
      const every = Math.min(...timeouts.map((t) => t / 4), 1000);
      this.#sweepTimer = setInterval(() => this.#sweep(idle, frame), every);
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
    const maxConns = this.#options.maxConns ?? DEFAULT_MAX_CONNS;
    while (!this.#stopping) {
      let conn: Conn;
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
      const refusal = this.#allow && !this.#allow.has(conn.remoteAddr.hostname)
        ? "not in the allowed address ranges"
        : this.#open.size >= maxConns
        ? `already serving ${maxConns} connections (the most allowed)`
        : undefined;
      if (refusal) {
        const peer = formatAddress(conn.remoteAddr);
        conn.close();
        this.#emit({ type: "error", peer, message: `Refused connection from ${peer}: ${refusal}` });
        continue;
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

  async #serve(conn: Conn): Promise<void> {
    const peer = formatAddress(conn.remoteAddr);
    const options = this.#options;
    const connection: Connection = {
      conn,
      reader: new FrameReader(conn, { maxBytes: options.maxBytes }),
      seenReceived: 0,
      seenAt: Date.now(),
      partialFrame: -1,
      partialSince: 0,
    };
    if (options.ack && "setNoDelay" in conn) conn.setNoDelay(true);
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
        const added = this.#print(frames, prefix);
        if (options.ack && added > 0) {
          // Acknowledge only what has been written out.
          await this.#out.flush();
          await writeAll(conn, ackFrames(printed + 1, added));
        }
        printed += added;
        if (this.#messages >= (options.count ?? Infinity)) this.#stop(0);
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
    return n;
  }

  /**
   * Closes the connections that received nothing for `idle` ms, and those
   * whose current frame began arriving `frame` ms ago or more.
   */
  #sweep(idle: number, frame: number): void {
    const now = Date.now();
    for (const connection of this.#open) {
      const { reader } = connection;
      if (reader.received !== connection.seenReceived) {
        connection.seenReceived = reader.received;
        connection.seenAt = now;
      } else if (idle > 0 && now - connection.seenAt >= idle) {
        this.#close(connection, `no data for ${idle / 1000} s (idle timeout)`);
        continue;
      }
      if (!reader.partial) {
        connection.partialFrame = -1;
      } else if (connection.partialFrame !== reader.frames) {
        connection.partialFrame = reader.frames;
        connection.partialSince = now;
      } else if (frame > 0 && now - connection.partialSince >= frame) {
        this.#close(
          connection,
          `frame ${reader.frames + 1} not complete ${
            frame / 1000
          } s after it began (frame timeout)`,
        );
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

/** The acknowledgement frames for messages `first` to `first + count - 1`. */
function ackFrames(first: number, count: number): Uint8Array {
  let text = "";
  for (let n = first; n < first + count; n++) {
    const json = `{"ack":${n}}`;
    text += `${json.length}\n${json}`;
  }
  return encoder.encode(text);
}

const encoder = new TextEncoder();

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
