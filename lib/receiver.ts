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
import {
  DEFAULT_MAX_BYTES,
  FrameError,
  type FrameErrorCode,
  MAX_PAYLOAD_BYTES,
  prefixProblem,
} from "./framing.ts";
import { checkDuration, checkWhole } from "./option_checks.ts";
import { JsonChecker } from "./json_check.ts";
import { type ByteWriter, writeAll } from "./line_writer.ts";
import { MemoryBudget } from "./memory_budget.ts";
import { after, every, type Timer } from "./timer.ts";
import { type CloseCode, closeNoticeFrame } from "./close_notice.ts";
import { OutputQueue } from "./output_queue.ts";
import { SafeJsonText, StringDisplay } from "./safe_text.ts";
import { checkServerCert, type ServerCertOptions } from "./server_cert.ts";
import type { TlsServerConn } from "./tls_server.ts";
import { DEFAULT_PORT } from "./sender.ts";

export type { ByteWriter } from "./line_writer.ts";

/** How long a connection may send nothing before it is closed, by default: 30 s. */
export const DEFAULT_IDLE_TIMEOUT = 30_000;

/** How long a frame may take to arrive once its first byte has, by default: 60 s. */
export const DEFAULT_FRAME_TIMEOUT = 60_000;

/** How many connections a receiver serves at once, by default. */
export const DEFAULT_MAX_CONNS = 1024;

/**
 * How long a receiver that is told to stop keeps reading its open
 * connections, at most: 2 s. A connection that ends or goes quiet for
 * {@linkcode SHUTDOWN_QUIET} is closed sooner.
 */
export const SHUTDOWN_GRACE = 2_000;

/** How long a connection may be quiet during shutdown before it is closed: 0.25 s. */
export const SHUTDOWN_QUIET = 250;

/**
 * The memory a receiver may hold for frames in flight and output not yet
 * written, by default: 512 MiB (or `maxBytes` if larger).
 */
export const DEFAULT_MAX_MEMORY = 512 * 1024 * 1024;

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
   * Close a connection whose frame has not fully arrived this many
   * milliseconds after its first byte (give or take a quarter of it, at most a
   * second); 0 never does. Defaults to 60 s.
   */
  frameTimeout?: number;
  /**
   * Serve at most this many connections at once. At the limit the receiver
   * stops accepting (new connections wait in the system's queue) and goes on
   * when one ends; a `limit` event says so. Defaults to 1024.
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
 * closed and an `error` event names the peer and the reason. Throws at once,
 * with the reason in words, if it cannot listen, and `SyntaxError` for an
 * `allow` range or a TLS certificate it cannot read.
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
    throw new Error(
      `Cannot listen on ${formatAddress({ hostname, port })}: ${describeError(error)}`,
      { cause: error },
    );
  }
  return new Server(listener, output, options, { allow, tls: options.tls });
}

type Conn = Deno.TcpConn | TlsServerConn;

/** What `receive` prepared for the server. */
interface Prepared {
  allow: CidrSet | undefined;
  tls: ServerCertOptions | undefined;
}

const LF = 0x0a;
/** Where the lines go when a program wants only `onMessage`. */
const DISCARD: ByteWriter = { write: (p) => Promise.resolve(p.length) };
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HUMAN_HEAD = encoder.encode("Message from Sender :: ");
const NONE = new Uint8Array(0);
const JSON_MIDDLE = encoder.encode(',"message":');

/**
 * The read buffer starts this small, and doubles while reads fill it, up to
 * `MAX_BUFFER`, or `CROWDED_BUFFER` while over `CROWD` connections are open:
 * memory for buffers stays near 16 MiB however many connections there are.
 */
const FIRST_BUFFER = 4 * 1024;
const MAX_BUFFER = 64 * 1024;
const CROWDED_BUFFER = 16 * 1024;
const CROWD = 256;
/** A large payload is read in pieces of at most this size, allocated as its bytes arrive. */
const CHUNK = 1024 * 1024;
/** A line up to this long is built whole in the output's current block. */
const SMALL_LINE = 16 * 1024;
/**
 * How long a close notice may wait to be written (a peer that reads
 * nothing): the connection is closed then all the same.
 */
const NOTICE_WAIT = 1000;
/** Pieces of `CHUNK` bytes kept for reuse once written: reading into memory already touched is faster. */
const CHUNK_POOL = 16;
/** Output queued past this stops connections reading frames that fit in their buffer. */
const OUTPUT_HIGH_WATER = 16 * 1024 * 1024;

/** How `#print` takes a payload. */
interface PrintHow {
  /** The checker that checked it, with what it noted. */
  checker: JsonChecker;
  /** Whether its pieces are the receiver's to queue as they are (else copied). */
  owned: boolean;
}

interface Connection {
  conn: Conn;
  peer: string;
  /** `{"peer":"host:port","bytes":`, for `--json`. */
  jsonHead: Uint8Array;
  buf: Uint8Array;
  start: number;
  end: number;
  /** Stream offset of `buf[0]`. */
  base: number;
  /** Frames printed. */
  frames: number;
  /** A large frame being read: its declared length and payload bytes so far; -1 if none. */
  largeLength: number;
  largeGot: number;
  /** Stream offset of that frame. */
  largeStart: number;
  /**
   * When the read under way began (`Date.now()`), or 0 while the connection
   * is not being read: its timeouts count only time spent waiting on its
   * peer, never time it waits on the receiver (output, memory, another
   * connection's line, a stopped process).
   */
  readingSince: number;
  /** Milliseconds spent waiting on the peer since the partial frame began. */
  frameWaited: number;
  /** Why we closed it, once we have, in words and as a code for its peer. */
  closedFor?: string;
  closeCode?: CloseCode;
  /** Aborted when it is closed: ends its waits on memory and output. */
  closing: AbortController;
  /** Everything written to the peer (acknowledgements, the close notice), in order. */
  writes: Promise<void>;
  /** Set while a rewritten line of its is being printed. */
  printing: Promise<void> | null;
  /** The close notice being written, then the close. */
  goodbye: Promise<void> | null;
}

class Server implements Receiver {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<ReceiveSummary>;
  #listener: Deno.TcpListener;
  #allow: CidrSet | undefined;
  #tls: ServerCertOptions | undefined;
  /** Wraps an accepted connection in TLS, once tls_server.ts is loaded. */
  #secure: ((conn: Deno.TcpConn) => TlsServerConn) | undefined;
  #out: OutputQueue;
  #budget: MemoryBudget;
  #options: ReceiveOptions;
  #maxBytes: number;
  #count: number;
  #json: boolean;
  #open = new Set<Connection>();
  #tasks = new Set<Promise<void>>();
  #messages = 0;
  #connections = 0;
  #stopping = false;
  #stopReason = "receiver stopped";
  #stopCode: CloseCode = "SHUTDOWN";
  #idleTimeout: number;
  /** Whether idle connections are closed always, or only to make room at `maxConns`. */
  #idleAlways: boolean;
  #frameTimeout: number;
  #maxConns: number;
  #sweepPeriod: number;
  #sweptAt: number;
  #stoppedAt = 0;
  #slotFree: (() => void) | undefined;
  #limitSaidAt = -Infinity;
  #acceptFailSaidAt = -Infinity;
  #graceTimer: Timer | undefined;
  #sweepTimer: Timer | undefined;
  /** Ends the wait before accepting again, after a failed accept. */
  #acceptRetry: (() => void) | undefined;
  #checker = new JsonChecker();
  #callbackErrors: unknown[] = [];
  /** Set while a connection prints a rewritten large payload piece by piece. */
  #rewriting: Promise<void> | null = null;
  #chunks: Uint8Array[] = [];
  #recycle = (piece: Uint8Array) => {
    if (this.#chunks.length < CHUNK_POOL) this.#chunks.push(piece);
  };
  #safeJson: SafeJsonText;
  #display: StringDisplay;

  constructor(
    listener: Deno.TcpListener,
    output: ByteWriter | null,
    options: ReceiveOptions,
    prepared: Prepared,
  ) {
    this.#listener = listener;
    this.#allow = prepared.allow;
    this.#tls = prepared.tls;
    this.addr = listener.addr;
    this.#options = options;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.#count = options.count ?? Infinity;
    this.#json = options.json ?? false;
    this.#budget = new MemoryBudget(
      Math.max(options.maxMemory ?? DEFAULT_MAX_MEMORY, this.#maxBytes),
    );
    this.#out = new OutputQueue(output ?? DISCARD, {
      budget: this.#budget,
      onError: () => {
        this.#stopReason = "the receiver cannot write its output";
        this.#stopCode = "OUTPUT_FAILED";
        this.#stop(0);
      },
    });
    const copy = (bytes: Uint8Array) => this.#out.copy(bytes);
    this.#safeJson = new SafeJsonText(copy);
    this.#display = new StringDisplay(copy);
    this.#emit({ type: "listen", message: `Listening on ${formatAddress(this.addr)}` });
    this.#idleAlways = options.idleTimeout !== undefined;
    this.#idleTimeout = options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT;
    this.#frameTimeout = options.frameTimeout ?? DEFAULT_FRAME_TIMEOUT;
    this.#maxConns = options.maxConns ?? DEFAULT_MAX_CONNS;
    const timeouts = [this.#idleTimeout, this.#frameTimeout].filter((t) => t > 0);
    // One timer for every connection: a sweep a quarter of the shortest
    // timeout (at most a second) apart closes those past a timeout.
    this.#sweepPeriod = Math.min(...timeouts.map((t) => t / 4), 1000);
    this.#sweptAt = Date.now();
    this.#sweepTimer = every(this.#sweepPeriod, () => this.#sweep());
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
    try {
      await accepting;
      while (this.#tasks.size > 0) await Promise.all(this.#tasks);
    } finally {
      // Also when accepting failed (TLS could not be loaded): the timers
      // would keep the process alive.
      this.#graceTimer?.cancel();
      this.#sweepTimer?.cancel();
    }
    await this.#out.flush();
    const summary: ReceiveSummary = { messages: this.#messages, connections: this.#connections };
    if (this.#callbackErrors.length > 0) summary.callbackErrors = this.#callbackErrors;
    return summary;
  }

  async #accept(): Promise<void> {
    const maxConns = this.#maxConns;
    if (this.#tls) {
      // TLS is served over TCP connections that stay ours, so that one whose
      // handshake never finishes can really be closed (see tls_server.ts).
      let loaded;
      try {
        loaded = await import("./tls_server.ts");
      } catch (error) {
        this.#listener.close();
        throw new Error(`Cannot serve TLS: ${describeError(error)}`, { cause: error });
      }
      const { tlsContext, TlsServerConn } = loaded;
      const context = tlsContext(this.#tls);
      this.#secure = (conn) => new TlsServerConn(conn, context);
    }
    while (!this.#stopping) {
      if (this.#open.size >= maxConns) {
        // Back-pressure: new connections wait in the system's queue until
        // one of those open ends; none is accepted only to be closed.
        const now = Date.now();
        if (now - this.#limitSaidAt >= 10_000) {
          this.#limitSaidAt = now;
          this.#emit({
            type: "limit",
            message: `Serving ${maxConns} connections (--max-conns): ` +
              "new ones wait until one ends",
          });
        }
        await new Promise<void>((resolve) => this.#slotFree = resolve);
        continue;
      }
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#stopping) break;
        // Out of file descriptors and the like: say so (at most every 10 s,
        // as it is retried every 0.1 s), and keep serving.
        const now = Date.now();
        if (now - this.#acceptFailSaidAt >= 10_000) {
          this.#acceptFailSaidAt = now;
          this.#emit({
            type: "error",
            message: `Cannot accept a connection: ${describeError(error)}`,
            error,
          });
        }
        await new Promise<void>((resolve) => {
          const timer = after(100, resolve);
          this.#acceptRetry = () => (timer.cancel(), resolve());
        });
        this.#acceptRetry = undefined;
        continue;
      }
      if (this.#allow && !this.#allow.has(conn.remoteAddr.hostname)) {
        const peer = formatAddress(conn.remoteAddr);
        this.#refuse(conn);
        this.#emit({
          type: "error",
          peer,
          message: `Refused connection from ${peer}: not in the allowed address ranges`,
        });
        continue;
      }
      const task = this.#serve(this.#secure ? this.#secure(conn) : conn);
      this.#tasks.add(task);
      task.finally(() => this.#tasks.delete(task));
    }
  }

  /**
   * Stops accepting. With `grace` 0 closes every connection at once;
   * otherwise connections are read on until each ends, goes quiet, or
   * `grace` ms have passed.
   */
  #stop(grace: number, except?: Connection): void {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#stoppedAt = Date.now();
      this.#acceptRetry?.();
      this.#listener.close();
      this.#slotFree?.();
      if (grace > 0) {
        this.#graceTimer = after(grace, () => this.#closeAll());
        // Check for quiet connections more often than timeouts need.
        this.#sweepTimer?.cancel();
        this.#sweepTimer = every(SHUTDOWN_QUIET / 5, () => this.#sweepStopping());
      }
    }
    if (grace === 0) this.#closeAll(except);
  }

  #closeAll(except?: Connection): void {
    for (const c of this.#open) {
      if (c !== except) this.#close(c, this.#stopCode, this.#stopReason);
    }
  }

  /**
   * Closes a connection for a reason of the receiver's own: nothing of it
   * is printed from now on, its peer is told why and how many of its
   * messages were printed, then the connection is closed.
   */
  #close(c: Connection, code: CloseCode, why: string): void {
    if (c.closedFor !== undefined) return;
    c.closedFor = why;
    c.closeCode = code;
    c.closing.abort();
    c.goodbye = this.#sayGoodbye(c, code, why);
  }

  /**
   * Writes the close notice after whatever is being written to the peer
   * (waiting at most {@linkcode NOTICE_WAIT} for a peer that reads nothing),
   * then closes the connection, which also ends a read under way.
   */
  async #sayGoodbye(c: Connection, code: CloseCode, why: string): Promise<void> {
    // A line of its being printed counts: the notice says what was printed.
    while (c.printing) await c.printing;
    const notice = closeNoticeFrame({ closed: code, reason: why, messages: c.frames });
    const written = c.writes.then(() => writeAll(c.conn, notice));
    let timer: Timer | undefined;
    await Promise.race([
      written.catch(() => {}),
      new Promise<void>((resolve) => timer = after(NOTICE_WAIT, resolve)),
    ]);
    timer!.cancel();
    try {
      c.conn.close();
    } catch {
      // Already closed.
    }
  }

  /**
   * Tells a peer outside `allow` so (a sender would otherwise take the
   * system's close for a receiver that read its messages), then closes it.
   * Nothing of it is read.
   */
  #refuse(conn: Deno.TcpConn): void {
    const notice = closeNoticeFrame({
      closed: "NOT_ALLOWED",
      reason: "not in the allowed address ranges",
      messages: 0,
    });
    let timer: Timer | undefined;
    const task = Promise.race([
      writeAll(conn, notice).catch(() => {}),
      new Promise<void>((resolve) => timer = after(NOTICE_WAIT, resolve)),
    ]).then(() => {
      timer!.cancel();
      conn.close();
    });
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  /** Writes acknowledgements of messages `first` to `first + count - 1`, once their lines are out. */
  #ack(c: Connection, first: number, count: number): Promise<void> {
    // Chained at once, so that a close notice follows every acknowledgement
    // of a line printed, however long the output takes.
    return c.writes = c.writes.then(async () => {
      await this.#out.flushNow();
      await writeAll(c.conn, ackFrames(first, count));
    });
  }

  async #serve(conn: Conn): Promise<void> {
    const peer = formatAddress(conn.remoteAddr);
    const options = this.#options;
    const c: Connection = {
      conn,
      peer,
      jsonHead: this.#json ? encoder.encode(`{"peer":${JSON.stringify(peer)},"bytes":`) : NONE,
      buf: new Uint8Array(FIRST_BUFFER),
      start: 0,
      end: 0,
      base: 0,
      frames: 0,
      largeLength: -1,
      largeGot: 0,
      largeStart: 0,
      readingSince: 0,
      frameWaited: 0,
      closing: new AbortController(),
      writes: Promise.resolve(),
      printing: null,
      goodbye: null,
    };
    if (options.ack && "setNoDelay" in conn) conn.setNoDelay(true);
    this.#open.add(c);
    this.#connections++;
    this.#emit({ type: "open", peer, message: `Connection from ${peer}` });
    let failure: unknown;
    try {
      while (true) {
        // Another connection's line is being written a piece at a time.
        while (this.#rewriting) await this.#rewriting;
        const before = c.frames;
        let large = -1;
        try {
          large = this.#takeFrames(c);
        } finally {
          // Every line printed is acknowledged, also when a later frame of
          // the same read is refused.
          if (options.ack && c.frames > before) await this.#ack(c, before + 1, c.frames - before);
        }
        if (this.#messages >= this.#count) this.#close(c, this.#stopCode, this.#stopReason);
        if (c.closedFor !== undefined) break;
        if (large >= 0) {
          const printed = await this.#readLarge(c, large);
          if (options.ack && printed) await this.#ack(c, c.frames, 1);
          continue;
        }
        if (this.#out.pending > OUTPUT_HIGH_WATER || this.#budget.used >= this.#budget.limit) {
          await this.#out.below(OUTPUT_HIGH_WATER, c.closing.signal);
          await this.#budget.below(c.closing.signal);
          if (c.closedFor !== undefined) break;
        }
        if (!(await this.#fill(c))) break;
      }
    } catch (error) {
      if (c.closedFor === undefined) failure = error;
    } finally {
      this.#open.delete(c);
      this.#slotFree?.();
      this.#slotFree = undefined;
      const partial = this.#describePartial(c);
      if (c.goodbye === null) {
        // A refused frame is said to the peer; a peer that ended or failed
        // is past hearing it.
        const code = failure instanceof FrameError
          ? (failure.code === "TRUNCATED" ? undefined : failure.code)
          : failure instanceof CallbackError
          ? "REFUSED"
          : undefined;
        if (code !== undefined) {
          c.goodbye = this.#sayGoodbye(c, code, (failure as Error).message);
        } else {
          try {
            conn.close();
          } catch {
            // Already closed.
          }
        }
      }
      c.closedFor ??= "";
      this.#report(c, failure, partial);
      await c.goodbye;
    }
  }

  /**
   * Reads from the peer into `p`. The wait is timed: only time spent
   * waiting on the peer counts toward its idle and frame timeouts.
   */
  async #read(c: Connection, p: Uint8Array): Promise<number | null> {
    const partial = c.largeLength >= 0 || c.end > c.start;
    c.readingSince = Date.now();
    try {
      return await c.conn.read(p);
    } finally {
      if (partial) c.frameWaited += Date.now() - c.readingSince;
      c.readingSince = 0;
    }
  }

  /** How large a connection's read buffer may grow now. */
  #maxBuffer(): number {
    return this.#open.size > CROWD ? CROWDED_BUFFER : MAX_BUFFER;
  }

  /** Reads more bytes into the buffer; false at a clean end of the stream. */
  async #fill(c: Connection): Promise<boolean> {
    let buf = c.buf;
    const held = c.end - c.start;
    if (buf.length - c.end < 1024 && c.start > 0 || c.end === buf.length) {
      // Little room left: move the partial frame to the front, growing the
      // buffer if it is over half full.
      if (held * 2 > buf.length && buf.length < this.#maxBuffer()) {
        buf = new Uint8Array(buf.length * 2);
      }
      buf.set(c.buf.subarray(c.start, c.end));
      c.base += c.start;
      c.buf = buf;
      c.start = 0;
      c.end = held;
    }
    const n = await this.#read(c, buf.subarray(c.end));
    if (n === null) {
      if (c.end > c.start) throw this.#truncated(c);
      return false;
    }
    c.end += n;
    if (c.end === buf.length && c.start === 0 && buf.length < this.#maxBuffer()) {
      // Reads fill the buffer: a faster sender; grow it for the next read.
      const grown = new Uint8Array(buf.length * 2);
      grown.set(buf.subarray(0, c.end));
      c.buf = grown;
    }
    return true;
  }

  /**
   * Prints every complete frame in the buffer. Returns the declared length
   * of a frame too large for the buffer whose prefix has arrived (to be read
   * by `#readLarge`), or -1.
   */
  #takeFrames(c: Connection): number {
    const buf = c.buf;
    const end = c.end;
    let pos = c.start;
    try {
      while (pos < end && c.closedFor === undefined) {
        let length = 0;
        let i = pos;
        const stop = Math.min(end, pos + 11);
        for (; i < stop; i++) {
          const b = buf[i];
          if (b === LF) break;
          if (b < 0x30 || b > 0x39) break;
          length = length * 10 + b - 0x30;
        }
        if (i === stop || buf[i] !== LF || i === pos || length > this.#maxBytes) {
          const problem = prefixProblem(buf.subarray(pos, end), { maxBytes: this.#maxBytes });
          if (problem) throw this.#frameError(c, problem.code, c.base + pos, problem.reason);
          return -1; // the prefix is not complete yet
        }
        const payloadStart = i + 1;
        const payloadEnd = payloadStart + length;
        if (payloadEnd > end) {
          return payloadEnd - pos > Math.max(this.#maxBuffer(), buf.length) ? length : -1;
        }
        if (this.#messages >= this.#count) return -1;
        const error = this.#checker.check(buf, payloadStart, payloadEnd);
        if (error !== undefined) {
          throw this.#payloadError(
            c,
            c.base + pos,
            [buf.subarray(payloadStart, payloadEnd)],
            error,
          );
        }
        if (!this.#printLine(c, buf, payloadStart, payloadEnd)) {
          this.#print(c, [buf.subarray(payloadStart, payloadEnd)], length, {
            checker: this.#checker,
            owned: false,
          });
        }
        pos = payloadEnd;
      }
      return -1;
    } finally {
      // A frame that began with the last read waited nothing yet.
      if (pos !== c.start) c.frameWaited = 0;
      c.start = pos;
      if (pos === end) c.start = c.end = 0, c.base += end;
    }
  }

  /**
   * Reads a payload too large for the buffer: its declared length is
   * reserved in the memory budget first, then it is read in pieces allocated
   * as its bytes arrive, and checked as they do.
   */
  async #readLarge(c: Connection, length: number): Promise<boolean> {
    const frameStart = c.base + c.start;
    const prefixLength = c.buf.indexOf(LF, c.start) + 1 - c.start;
    c.largeLength = length;
    c.largeGot = 0;
    c.largeStart = frameStart;
    await this.#budget.reserve(length, c.closing.signal);
    let reserved = length;
    const pieces: Uint8Array[] = [];
    try {
      // A checker of its own, dropped with the frame: checking deep nesting
      // grows its stack (a byte a level), which a connection must not keep.
      const checker = new JsonChecker();
      let piece = this.#chunk(length);
      let filled = c.end - c.start - prefixLength;
      piece.set(c.buf.subarray(c.start + prefixLength, c.end));
      checker.push(piece, 0, filled);
      c.base = frameStart + prefixLength;
      c.start = c.end = 0;
      let got = filled;
      c.largeGot = got;
      while (got < length) {
        if (filled === piece.length) {
          pieces.push(piece);
          piece = this.#chunk(length - got);
          filled = 0;
        }
        const n = await this.#read(c, piece.subarray(filled));
        if (n === null) throw this.#truncated(c);
        checker.push(piece, filled, filled + n);
        filled += n;
        got += n;
        c.largeGot = got;
      }
      pieces.push(piece);
      c.base += length;
      c.largeLength = -1;
      c.frameWaited = 0;
      const error = checker.end();
      if (error !== undefined) throw this.#payloadError(c, frameStart, pieces, error);
      if (this.#messages >= this.#count || c.closedFor !== undefined) return false;
      while (this.#rewriting) await this.#rewriting;
      // Closed meanwhile: its peer was told it was not printed.
      if (c.closedFor !== undefined) return false;
      if (needsRewrite(checker, this.#json)) {
        // Given back piece by piece as the rewrite goes.
        reserved = 0;
        await this.#printRewritten(c, pieces, length, checker);
      } else {
        reserved -= this.#print(c, pieces, length, { checker, owned: true });
      }
      return true;
    } finally {
      if (reserved > 0) this.#budget.release(reserved);
    }
  }

  /**
   * Prints a large payload that must be rewritten (line breaks, escapes), a
   * piece at a time: each piece's reservation is given back once its rewrite
   * is queued, and the next waits until output drains below the high-water
   * mark. An escape can be six times the character it stands for, so the
   * whole rewrite at once could hold several times the budget. Other
   * connections print nothing meanwhile, so that the line stays whole.
   */
  async #printRewritten(
    c: Connection,
    pieces: Uint8Array[],
    length: number,
    checker: JsonChecker,
  ): Promise<void> {
    let done = () => {};
    this.#rewriting = c.printing = new Promise((resolve) => done = resolve);
    let given = 0;
    try {
      if (this.#options.onMessage) this.#deliver(c, pieces, length);
      const out = this.#out;
      this.#printHead(c, length);
      const copy = (bytes: Uint8Array) => out.copy(bytes);
      const display = !this.#json && checker.topString;
      const rewrite = display ? new StringDisplay(copy) : new SafeJsonText(copy);
      for (let k = 0; k < pieces.length; k++) {
        const piece = pieces[k];
        rewrite.push(piece);
        pieces[k] = NONE;
        this.#budget.release(piece.length);
        given += piece.length;
        if (piece.length === CHUNK) this.#recycle(piece);
        // Not cut short when the connection closes: the payload has arrived
        // whole and checked, and its line is finished.
        await out.below(OUTPUT_HIGH_WATER);
      }
      this.#printTail();
      c.frames++;
      this.#messages++;
      if (this.#messages >= this.#count) this.#reachedCount(c);
    } finally {
      if (given < length) this.#budget.release(length - given);
      this.#rewriting = c.printing = null;
      done();
    }
  }

  /**
   * The hot path: queues the line of a small payload that `#checker` has
   * just checked and that needs no rewriting, built whole in the output's
   * block with no allocation. Returns false, doing nothing, for any other.
   */
  #printLine(c: Connection, buf: Uint8Array, start: number, end: number): boolean {
    const checker = this.#checker;
    const json = this.#json;
    const display = !json && checker.topString;
    if (display ? checker.escapes || checker.unsafe : checker.lineBreaks || checker.unsafe) {
      return false;
    }
    const length = end - start;
    if (length > SMALL_LINE) return false;
    if (this.#options.onMessage) this.#deliver(c, [buf.subarray(start, end)], length);
    if (display) {
      start = buf.indexOf(0x22, start) + 1;
      end = buf.lastIndexOf(0x22, end - 1);
    }
    const out = this.#out;
    const head = json ? c.jsonHead : HUMAN_HEAD;
    const block = out.reserve(head.length + 10 + JSON_MIDDLE.length + (end - start) + 2);
    const from = out.offset();
    let o = from;
    for (let k = 0; k < head.length; k++) block[o++] = head[k];
    if (json) {
      // The length's digits, then `,"message":`.
      let digits = 1;
      for (let n = length; n >= 10; n = Math.floor(n / 10)) digits++;
      for (let n = length, k = o + digits - 1; k >= o; k--, n = Math.floor(n / 10)) {
        block[k] = 0x30 + n % 10;
      }
      o += digits;
      for (let k = 0; k < JSON_MIDDLE.length; k++) block[o++] = JSON_MIDDLE[k];
    }
    if (end - start < 64) { for (let k = start; k < end; k++) block[o++] = buf[k]; }
    else block.set(buf.subarray(start, end), o), o += end - start;
    if (json) block[o++] = 0x7d;
    block[o++] = LF;
    out.commit(o - from);
    c.frames++;
    this.#messages++;
    if (this.#messages >= this.#count) this.#reachedCount(c);
    return true;
  }

  /** A piece for `left` more payload bytes: a reused one where it is whole. */
  #chunk(left: number): Uint8Array {
    if (left >= CHUNK && this.#chunks.length > 0) return this.#chunks.pop()!;
    return new Uint8Array(Math.min(left, CHUNK));
  }

  /**
   * Queues the line of one checked payload, given in pieces, and counts it.
   * Pieces the caller hands `owned` are queued as they are, without a copy:
   * returns how many bytes of them the queue now holds (it gives them back
   * to the budget once written).
   */
  #print(c: Connection, pieces: Uint8Array[], length: number, how: PrintHow): number {
    const { checker, owned } = how;
    // First, so that a callback that throws leaves nothing queued.
    if (this.#options.onMessage) this.#deliver(c, pieces, length);
    const out = this.#out;
    const display = !this.#json && checker.topString;
    const last = pieces.length - 1;
    // A string is shown from between its quotes; whitespace around it as long
    // as a piece is left to the rewrite.
    const plain = display
      ? !checker.escapes && !checker.unsafe && pieces[0].indexOf(0x22) >= 0 &&
        pieces[last].lastIndexOf(0x22) > (last === 0 ? pieces[0].indexOf(0x22) : -1)
      : !checker.lineBreaks && !checker.unsafe;
    this.#printHead(c, length);
    let handedOver = 0;
    if (plain) {
      // Nothing to rewrite: the payload's bytes (a string's between its quotes).
      for (let k = 0; k <= last; k++) {
        let p = pieces[k];
        if (display && k === last) p = p.subarray(0, p.lastIndexOf(0x22));
        if (display && k === 0) p = p.subarray(p.indexOf(0x22) + 1);
        if (owned) {
          const piece = pieces[k];
          out.add(p, piece.length, piece.length === CHUNK ? () => this.#recycle(piece) : undefined);
          handedOver += piece.length;
        } else {
          out.copy(p);
        }
      }
    } else {
      const rewrite = display ? this.#display : this.#safeJson;
      rewrite.reset();
      for (const p of pieces) rewrite.push(p);
    }
    this.#printTail();
    c.frames++;
    this.#messages++;
    if (this.#messages >= this.#count) this.#reachedCount(c);
    return handedOver;
  }

  /** Queues a line's head: `{"peer":...,"bytes":N,"message":` or `Message from Sender :: `. */
  #printHead(c: Connection, length: number): void {
    const out = this.#out;
    const digits = String(length);
    const head = this.#json
      ? c.jsonHead.length + digits.length + JSON_MIDDLE.length
      : HUMAN_HEAD.length;
    const block = out.reserve(head);
    let o = out.offset();
    if (this.#json) {
      block.set(c.jsonHead, o);
      o += c.jsonHead.length;
      for (let k = 0; k < digits.length; k++) block[o++] = digits.charCodeAt(k);
      block.set(JSON_MIDDLE, o);
      o += JSON_MIDDLE.length;
    } else {
      block.set(HUMAN_HEAD, o);
      o += HUMAN_HEAD.length;
    }
    out.commit(o - out.offset());
  }

  /** Queues a line's end: `}` and LF, or LF. */
  #printTail(): void {
    const out = this.#out;
    const tail = out.reserve(2);
    let t = out.offset();
    if (this.#json) tail[t++] = 0x7d;
    tail[t++] = LF;
    out.commit(t - out.offset());
  }

  #reachedCount(c: Connection): void {
    const plural = this.#count === 1 ? "" : "s";
    this.#stopReason = `the receiver reached its count (${this.#count} message${plural})`;
    this.#stopCode = "COUNT";
    // This connection is closed once its acknowledgement is written.
    this.#stop(0, c);
  }

  #deliver(c: Connection, pieces: Uint8Array[], length: number): void {
    let bytes = pieces[0];
    if (pieces.length > 1) {
      bytes = new Uint8Array(length);
      let o = 0;
      for (const p of pieces) bytes.set(p, o), o += p.length;
    }
    const text = decoder.decode(bytes);
    let result: unknown;
    try {
      result = this.#options.onMessage!({
        peer: c.peer,
        bytes: length,
        text,
        value: JSON.parse(text),
      });
    } catch (error) {
      throw new CallbackError(error);
    }
    if (typeof (result as Promise<unknown> | undefined)?.then === "function") {
      // A callback that returns a promise is not waited for; if it rejects,
      // its connection is closed with the reason, as if it had thrown.
      (result as Promise<unknown>).then(undefined, (error) => {
        this.#callbackError(error);
        this.#close(c, "REFUSED", describeError(error));
      });
    }
  }

  #frameError(c: Connection, code: FrameErrorCode, offset: number, why: string): FrameError {
    return new FrameError(
      code,
      `Cannot read frame ${c.frames + 1} (stream byte ${offset}): ${why}`,
      { offset },
    );
  }

  /**
   * The error for a payload the checker refused: not UTF-8 if any of its
   * bytes are not (as a decoder would find first), else not JSON.
   */
  #payloadError(c: Connection, offset: number, pieces: Uint8Array[], why: string): FrameError {
    const length = pieces.reduce((n, p) => n + p.length, 0);
    const size = length === 1 ? "1 byte" : `${length} bytes`;
    let utf8 = why.startsWith("invalid UTF-8");
    if (!utf8) {
      try {
        const strict = new TextDecoder("utf-8", { fatal: true });
        for (const p of pieces) strict.decode(p, { stream: true });
        strict.decode();
      } catch {
        utf8 = true;
        why = "a byte sequence is not UTF-8";
      }
    }
    return this.#frameError(
      c,
      utf8 ? "INVALID_UTF8" : "INVALID_JSON",
      offset,
      utf8 ? `payload of ${size} is not valid UTF-8: ${why}` : `payload is not valid JSON: ${why}`,
    );
  }

  #truncated(c: Connection): FrameError {
    const partial = this.#describePartial(c)!;
    const offset = c.largeLength >= 0 ? c.largeStart : c.base + c.start;
    return this.#frameError(c, "TRUNCATED", offset, `stream ended ${partial}`);
  }

  /** How many complete frames wait in the connection's buffer, unprinted. */
  #unprinted(c: Connection): number {
    let count = 0;
    for (let pos = c.start; pos < c.end; count++) {
      const lf = c.buf.subarray(pos, Math.min(c.end, pos + 11)).indexOf(LF);
      if (lf <= 0) break;
      const length = Number(decoder.decode(c.buf.subarray(pos, pos + lf)));
      if (!Number.isSafeInteger(length) || pos + lf + 1 + length > c.end) break;
      pos += lf + 1 + length;
    }
    return count;
  }

  /** Where the frame being read stands, or `undefined` between frames. */
  #describePartial(c: Connection): string | undefined {
    if (c.largeLength >= 0) return `after ${c.largeGot} of ${c.largeLength} payload bytes`;
    if (c.end === c.start) return undefined;
    const lf = c.buf.subarray(c.start, c.end).indexOf(LF);
    if (lf < 0) {
      const shown = JSON.stringify(decoder.decode(c.buf.subarray(c.start, c.end)));
      return `inside the length prefix ${shown}`;
    }
    const length = Number(decoder.decode(c.buf.subarray(c.start, c.start + lf)));
    const got = c.end - c.start - lf - 1;
    // Whole frames left unprinted (past `count`) are not partial.
    return got >= length ? undefined : `after ${got} of ${length} payload bytes`;
  }

  /**
   * Closes the connections whose peer sent nothing for the idle timeout
   * (between frames only while the receiver is at `maxConns`, unless an idle
   * timeout was given), and those whose current frame has taken the frame
   * timeout. Only time spent waiting on the peer counts: a connection that
   * waits on the receiver (output, memory, another connection's line) is
   * not being read, and a sweep that comes late (the process was stopped,
   * or busy) starts every clock again.
   */
  #sweep(): void {
    const now = Date.now();
    const late = now - this.#sweptAt - this.#sweepPeriod > Math.max(250, this.#sweepPeriod);
    this.#sweptAt = now;
    if (late) {
      for (const c of this.#open) if (c.readingSince > 0) c.readingSince = now;
      return;
    }
    const idle = this.#idleTimeout;
    const frame = this.#frameTimeout;
    const full = this.#open.size >= this.#maxConns;
    for (const c of this.#open) {
      if (c.readingSince === 0) continue;
      const waiting = now - c.readingSince;
      const partial = c.largeLength >= 0 || c.end > c.start;
      if (partial && frame > 0 && c.frameWaited + waiting >= frame) {
        this.#close(
          c,
          "FRAME_TIMEOUT",
          `frame ${c.frames + 1} not complete ${frame / 1000} s after it began (frame timeout)`,
        );
      } else if (
        idle > 0 && waiting >= idle && (this.#idleAlways ? true : full && !partial)
      ) {
        this.#close(c, "IDLE_TIMEOUT", `no data for ${idle / 1000} s (idle timeout)`);
      }
    }
  }

  /** During shutdown: closes the connections that have gone quiet. */
  #sweepStopping(): void {
    const now = Date.now();
    for (const c of this.#open) {
      if (c.readingSince === 0) continue;
      if (now - Math.max(c.readingSince, this.#stoppedAt) >= SHUTDOWN_QUIET) {
        this.#close(c, this.#stopCode, this.#stopReason);
      }
    }
  }

  #report(c: Connection, failure: unknown, partial: string | undefined): void {
    if (this.#out.failed) return;
    const { peer, frames: messages } = c;
    const tally = `after ${messages} message${messages === 1 ? "" : "s"}`;
    if (c.closedFor) {
      const unprinted = this.#unprinted(c);
      const dropped = (unprinted === 0
        ? ""
        : `; ${
          unprinted === 1 ? "1 complete frame" : `${unprinted} complete frames`
        } that had arrived not printed (the sender is told)`) +
        (partial === undefined ? "" : `; frame ${messages + 1} was dropped incomplete, ${partial}`);
      const stopped = c.closedFor === this.#stopReason && dropped === "";
      this.#emit({
        type: stopped ? "close" : "error",
        peer,
        messages,
        message: `Connection from ${peer} closed ${tally}: ${c.closedFor}${dropped}`,
        error: c.closedFor,
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

  /** Tells `onEvent`; an error it throws is kept for the summary, and the receiver goes on. */
  #emit(event: ReceiverEvent): void {
    try {
      this.#options.onEvent?.(event);
    } catch (error) {
      this.#callbackError(error);
    }
  }

  #callbackError(error: unknown): void {
    if (this.#callbackErrors.length < 10) this.#callbackErrors.push(error);
  }
}

/** An error thrown by `onMessage`: the message it was given is refused. */
class CallbackError extends Error {
  constructor(cause: unknown) {
    super(describeError(cause), { cause });
    this.name = "CallbackError";
  }
}

/** Whether a checked payload's line differs from its bytes (line breaks, escapes). */
function needsRewrite(checker: JsonChecker, json: boolean): boolean {
  return !json && checker.topString
    ? checker.escapes || checker.unsafe
    : checker.lineBreaks || checker.unsafe;
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
