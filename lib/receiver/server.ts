/**
 * A running receiver: the accept loop (`maxConns`, `allow`, TLS), one task
 * per connection (`serve.ts`), the timeout sweep (`timeouts.ts`), the count,
 * and the shutdown: stop accepting, read on within the grace period, close.
 *
 * @module
 */

import { formatAddress } from "../address.ts";
import type { CidrSet } from "../cidr.ts";
import { type CloseCode, closeNoticeFrame } from "../close_notice.ts";
import { describeError } from "../errors.ts";
import { FrameError } from "../framing.ts";
import { type ByteWriter, concat, writeAll } from "../io.ts";
import { JsonChecker } from "../json_check.ts";
import { MemoryBudget } from "../memory_budget.ts";
import type { ReceiveOptions, Receiver, ReceiverEvent, ReceiveSummary } from "../receiver.ts";
import type { ServerCertOptions } from "../server_cert.ts";
import { after, every, type Timer } from "../timer.ts";
import type { TlsServerConn } from "../tls_server.ts";
import { ChunkPool } from "./chunk_pool.ts";
import {
  type Conn,
  Connection,
  CROWDED_FIRST_BUFFER,
  FIRST_BUFFER,
  type Settling,
} from "./connection.ts";
import { type Destination, RefusedError } from "./destination.ts";
import * as events from "./events.ts";
import {
  DEFAULT_FRAME_TIMEOUT,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_MAX_CONNS,
  DEFAULT_MAX_MEMORY,
  SHUTDOWN_GRACE,
  SHUTDOWN_QUIET,
} from "./limits.ts";
import { LinePrinter } from "./line_printer.ts";
import { serve, type ServeContext } from "./serve.ts";
import { SinkDestination } from "./sink_destination.ts";
import { overdue, quietSince, sweepPeriod, type TimeoutPolicy } from "./timeouts.ts";

/** Where the lines go when a program wants only `onMessage`. */
const DISCARD: ByteWriter = { write: (p) => Promise.resolve(p.length) };
const decoder = new TextDecoder();
/** Read buffers grow to this, or to `CROWDED_BUFFER` while over `CROWD` connections are open. */
const MAX_BUFFER = 64 * 1024;
const CROWDED_BUFFER = 16 * 1024;
const CROWD = 256;
/** How long a refused peer's notice may take to be written. */
const NOTICE_WAIT = 1000;
/** First read buffers kept for the next connections, once theirs have ended. */
const KEEP_BUFFERS = 64;

/** What `receive()` prepared: the options, checked, with what they parse to. */
export interface ServerSetup {
  /** The options as given. */
  options: ReceiveOptions;
  /** Where lines go (`null`: nowhere). */
  output: ByteWriter | null;
  /** `allow`, parsed. */
  allow: CidrSet | undefined;
  /** `tls`, checked. */
  tls: ServerCertOptions | undefined;
  /** The largest payload, `maxBytes` or its default. */
  maxBytes: number;
}

/** A running receiver; see the module. */
export class Server implements Receiver, ServeContext {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<ReceiveSummary>;
  readonly destination: Destination;
  readonly budget: MemoryBudget;
  readonly chunks: ChunkPool;
  readonly checker: JsonChecker = new JsonChecker();
  readonly maxBytes: number;
  readonly ack: boolean;
  readonly delivers: boolean;
  #listener: Deno.TcpListener;
  #setup: ServerSetup;
  #options: ReceiveOptions;
  #count: number;
  #maxConns: number;
  #policy: TimeoutPolicy;
  #open = new Set<Connection>();
  #tasks = new Set<Promise<void>>();
  /** Connections being served (their tasks are not in `#tasks`). */
  #serving = 0;
  /** Called when the last connection being served ends. */
  #idle: (() => void) | undefined;
  /** First read buffers of connections that ended, for the next ones. */
  #buffers: Uint8Array[] = [];
  /** Rejects the waits on `settle` under way once connections stop waiting (see #stop). */
  #settling = new Set<(error: Error) => void>();
  #gaveUp: Error | undefined;
  /** What a connection's task threw, if one did (not expected). */
  #serveError: { error: unknown } | undefined;
  readonly #settlingFor: Settling = {
    settle: () => this.#settle(),
    settledNow: () => this.#gaveUp === undefined && this.destination.settledNow(),
    buf: new Uint8Array(0),
    give: (buf) => this.#giveBuffer(buf),
  };
  #messages = 0;
  #connections = 0;
  #stopping = false;
  #stopReason = "receiver stopped";
  #stopCode: CloseCode = "SHUTDOWN";
  #stoppedAt = 0;
  #slotFree: (() => void) | undefined;
  #limitSaid = new events.Throttle(10_000);
  #acceptFailSaid = new events.Throttle(10_000);
  #graceTimer: Timer | undefined;
  #sweepTimer: Timer | undefined;
  #sweepPeriod: number;
  #sweptAt = Date.now();
  /** Ends the wait before accepting again, after a failed accept. */
  #acceptRetry: (() => void) | undefined;
  #callbackErrors: unknown[] = [];

  /** Serves `listener` as `setup` says. */
  constructor(listener: Deno.TcpListener, setup: ServerSetup) {
    const { options } = setup;
    this.#listener = listener;
    this.#setup = setup;
    this.#options = options;
    this.addr = listener.addr;
    this.maxBytes = setup.maxBytes;
    this.ack = options.ack ?? false;
    this.delivers = options.onMessage !== undefined;
    this.#count = options.count ?? Infinity;
    this.#maxConns = options.maxConns ?? DEFAULT_MAX_CONNS;
    this.budget = new MemoryBudget(
      Math.max(options.maxMemory ?? DEFAULT_MAX_MEMORY, this.maxBytes),
    );
    this.chunks = new ChunkPool({ budget: this.budget });
    const onError = () =>
      this.#stop(0, { code: "OUTPUT_FAILED", reason: "the receiver cannot write its output" });
    this.destination = options.sink
      ? new SinkDestination(options.sink, {
        receiver: crypto.randomUUID(),
        budget: this.budget,
        chunks: this.chunks,
        onError,
      })
      : new LinePrinter(setup.output ?? DISCARD, {
        json: options.json ?? false,
        budget: this.budget,
        chunks: this.chunks,
        onError,
      });
    this.#emit(events.listening(formatAddress(this.addr)));
    this.#policy = {
      idle: options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT,
      idleAlways: options.idleTimeout !== undefined,
      frame: options.frameTimeout ?? DEFAULT_FRAME_TIMEOUT,
    };
    // One timer for every connection.
    this.#sweepPeriod = sweepPeriod([this.#policy.idle, this.#policy.frame]);
    this.#sweepTimer = every(this.#sweepPeriod, () => this.#sweep());
    this.finished = this.#finish(this.#accept());
    options.signal?.addEventListener("abort", () => this.shutdown(), { once: true });
    if (options.signal?.aborted) this.shutdown();
  }

  shutdown(): Promise<ReceiveSummary> {
    this.#stop(SHUTDOWN_GRACE);
    return this.finished;
  }

  // ServeContext: what a connection's loop asks of its receiver.

  maxBuffer(): number {
    return this.#open.size > CROWD ? CROWDED_BUFFER : MAX_BUFFER;
  }

  crowded(): boolean {
    return this.#open.size > CROWD;
  }

  wants(): boolean {
    return this.#messages < this.#count;
  }

  left(): number {
    return this.#count - this.#messages;
  }

  took(c: Connection): void {
    c.frames++;
    if (++this.#messages >= this.#count) {
      const plural = this.#count === 1 ? "" : "s";
      // This connection is closed once its acknowledgement is written.
      this.#stop(0, {
        code: "COUNT",
        reason: `the receiver reached its count (${this.#count} message${plural})`,
      }, c);
    }
  }

  closeIfStopped(c: Connection): void {
    if (this.#messages >= this.#count) c.close(this.#stopCode, this.#stopReason);
  }

  deliver(c: Connection, pieces: Uint8Array[], length: number): void {
    const onMessage = this.#options.onMessage;
    if (!onMessage) return;
    const text = decoder.decode(concat(pieces));
    let result: unknown;
    try {
      result = onMessage({ peer: c.peer, bytes: length, text, value: JSON.parse(text) });
    } catch (error) {
      throw new RefusedError(describeError(error), { cause: error });
    }
    if (typeof (result as Promise<unknown> | undefined)?.then === "function") {
      // A callback that returns a promise is not waited for; if it rejects,
      // its connection is closed with the reason, as if it had thrown.
      (result as Promise<unknown>).then(undefined, (error) => {
        this.#callbackError(error);
        c.close("REFUSED", describeError(error));
      });
    }
  }

  async #finish(accepting: Promise<void>): Promise<ReceiveSummary> {
    try {
      await accepting;
      while (this.#tasks.size > 0 || this.#serving > 0) {
        if (this.#serving > 0) await new Promise<void>((resolve) => this.#idle = resolve);
        await Promise.all(this.#tasks);
      }
      if (this.#serveError) throw this.#serveError.error;
    } finally {
      // Also when accepting failed (TLS could not be loaded): the timers
      // would keep the process alive.
      this.#graceTimer?.cancel();
      this.#sweepTimer?.cancel();
    }
    await this.destination.close();
    const summary: ReceiveSummary = { messages: this.#messages, connections: this.#connections };
    if (this.#callbackErrors.length > 0) summary.callbackErrors = this.#callbackErrors;
    return summary;
  }

  async #accept(): Promise<void> {
    const secure = this.#setup.tls ? await this.#loadTls(this.#setup.tls) : undefined;
    while (!this.#stopping) {
      if (this.#open.size >= this.#maxConns) {
        // Back-pressure: new connections wait in the system's queue until
        // one of those open ends; none is accepted only to be closed.
        if (this.#limitSaid.due()) this.#emit(events.full(this.#maxConns));
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
        if (this.#acceptFailSaid.due()) this.#emit(events.acceptFailed(error));
        await new Promise<void>((resolve) => {
          const timer = after(100, resolve);
          this.#acceptRetry = () => (timer.cancel(), resolve());
        });
        this.#acceptRetry = undefined;
        continue;
      }
      if (this.#setup.allow && !this.#setup.allow.has(conn.remoteAddr.hostname)) {
        this.#track(this.#refuse(conn));
        this.#emit(events.refused(formatAddress(conn.remoteAddr)));
        continue;
      }
      this.#serving++;
      this.#serve(secure ? secure(conn) : conn);
    }
  }

  /**
   * Loads TLS (and `node:tls` with it) only to serve it: served over TCP
   * connections that stay ours, so that one whose handshake never finishes
   * can really be closed (see tls_server.ts).
   */
  async #loadTls(tls: ServerCertOptions): Promise<(conn: Deno.TcpConn) => TlsServerConn> {
    let loaded;
    try {
      loaded = await import("../tls_server.ts");
    } catch (error) {
      this.#listener.close();
      throw new Error(`Cannot serve TLS: ${describeError(error)}`, { cause: error });
    }
    const { tlsContext, TlsServerConn } = loaded;
    const context = tlsContext(tls);
    return (conn) => new TlsServerConn(conn, context);
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  /**
   * Tells a peer outside `allow` so (a sender would otherwise take the
   * system's close for a receiver that read its messages), then closes it.
   * Nothing of it is read.
   */
  async #refuse(conn: Deno.TcpConn): Promise<void> {
    const notice = closeNoticeFrame({
      closed: "NOT_ALLOWED",
      reason: "not in the allowed address ranges",
      messages: 0,
    });
    let timer: Timer | undefined;
    await Promise.race([
      writeAll(conn, notice).catch(() => {}),
      new Promise<void>((resolve) => timer = after(NOTICE_WAIT, resolve)),
    ]);
    timer!.cancel();
    conn.close();
  }

  /**
   * Resolves once everything handed over is out for good; rejects once
   * connections stop waiting for that (past the shutdown's grace).
   */
  #settle(): Promise<void> {
    if (this.#gaveUp !== undefined) return Promise.reject(this.#gaveUp);
    return new Promise<void>((resolve, reject) => {
      this.#settling.add(reject);
      this.destination.settle().then(() => {
        this.#settling.delete(reject);
        resolve();
      }, (error) => {
        this.#settling.delete(reject);
        reject(error);
      });
    });
  }

  /** Connections stop waiting for their messages to be out. */
  #giveUp(error: Error): void {
    this.#gaveUp = error;
    for (const reject of this.#settling) reject(error);
    this.#settling.clear();
  }

  /** Serves one connection, never rejects; counted in `#serving` until it ends. */
  async #serve(conn: Conn): Promise<void> {
    let c: Connection | undefined;
    try {
      c = this.#connection(conn);
      await this.#served(c);
    } catch (error) {
      // Not expected: `finished` rejects with it, once every connection ends.
      this.#serveError ??= { error };
    } finally {
      if (c?.buf.length === FIRST_BUFFER) this.#giveBuffer(c.buf);
      if (--this.#serving === 0) this.#idle?.();
    }
  }

  /** Keeps a first read buffer no longer read into, for the next connection. */
  #giveBuffer(buf: Uint8Array): void {
    if (this.#buffers.length < KEEP_BUFFERS) this.#buffers.push(buf);
  }

  #connection(conn: Conn): Connection {
    const settling = this.#settlingFor;
    settling.buf = this.crowded()
      ? new Uint8Array(CROWDED_FIRST_BUFFER)
      : this.#buffers.pop() ?? new Uint8Array(FIRST_BUFFER);
    return new Connection(conn, formatAddress(conn.remoteAddr), ++this.#connections, settling);
  }

  async #served(c: Connection): Promise<void> {
    const conn = c.conn;
    if (this.ack && "setNoDelay" in conn) conn.setNoDelay(true);
    this.#open.add(c);
    this.#emit(events.opened(c.peer));
    const failure = await serve(c, this);
    // A refused frame or message is said to the peer; a peer that ended or
    // failed is past hearing it.
    const code = failure instanceof RefusedError
      ? "REFUSED"
      : failure instanceof FrameError && failure.code !== "TRUNCATED"
      ? failure.code
      : undefined;
    c.finish(code, (failure as Error)?.message ?? "");
    c.closedFor ??= "";
    if (!(this.destination instanceof LinePrinter && this.destination.failed)) {
      this.#emit(events.ended(c, { failure, stopReason: this.#stopReason }));
    }
    // It holds its slot until its messages are out and it is closed: a
    // stalled output holds back new connections too.
    if (!c.ended) await c.goodbye;
    this.#open.delete(c);
    this.#slotFree?.();
    this.#slotFree = undefined;
  }

  /**
   * Stops accepting. With `grace` 0 closes every connection (but `except`)
   * at once, saying `why`; otherwise connections are read on until each
   * ends, goes quiet, or `grace` ms have passed.
   */
  #stop(grace: number, why?: { code: CloseCode; reason: string }, except?: Connection): void {
    if (why) this.#stopCode = why.code, this.#stopReason = why.reason;
    if (!this.#stopping) {
      this.#stopping = true;
      this.#stoppedAt = Date.now();
      this.#acceptRetry?.();
      this.#listener.close();
      this.#slotFree?.();
      if (grace > 0) {
        this.#graceTimer = after(grace, () => {
          // Past the grace, connections no longer wait for their messages
          // to be out: each is told what is known to be, and closed.
          this.#giveUp(new Error("the shutdown's grace period is over"));
          this.#closeAll();
        });
        // Check for quiet connections more often than timeouts need.
        this.#sweepTimer?.cancel();
        this.#sweepTimer = every(SHUTDOWN_QUIET / 5, () => this.#sweepStopping());
      }
    }
    if (grace === 0) this.#closeAll(except);
  }

  #closeAll(except?: Connection): void {
    for (const c of this.#open) if (c !== except) c.close(this.#stopCode, this.#stopReason);
  }

  /**
   * Closes the connections past a timeout (`timeouts.ts`). A sweep that
   * comes late (the process was stopped, or busy) starts every clock again:
   * the peers were not waiting on a receiver that was not running.
   */
  #sweep(): void {
    this.chunks.trim();
    const now = Date.now();
    const late = now - this.#sweptAt - this.#sweepPeriod > Math.max(250, this.#sweepPeriod);
    this.#sweptAt = now;
    if (late) {
      for (const c of this.#open) if (c.readingSince > 0) c.readingSince = now;
      return;
    }
    const full = this.#open.size >= this.#maxConns;
    for (const c of this.#open) {
      const due = overdue(c, { now, full, policy: this.#policy });
      if (due) c.close(due.code, due.reason);
    }
  }

  /** During shutdown: closes the connections that have gone quiet. */
  #sweepStopping(): void {
    const now = Date.now();
    for (const c of this.#open) {
      if (quietSince(c, { now, stoppedAt: this.#stoppedAt, quiet: SHUTDOWN_QUIET })) {
        c.close(this.#stopCode, this.#stopReason);
      }
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
