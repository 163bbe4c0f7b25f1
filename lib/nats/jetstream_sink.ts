/**
 * A {@linkcode MessageSink} that publishes each message to a NATS JetStream
 * stream: `framecat receive --to nats://HOST:PORT/SUBJECT`. A message counts
 * as handled (`settle()`) only once JetStream has acknowledged storing it.
 *
 * Publishing is pipelined: up to `window` messages (and `maxBytes` of
 * payload) wait for their acknowledgement at once; `ready()` waits while
 * either is full, so a slow or absent NATS stops the receiver reading from
 * senders. A publish that times out or fails while NATS is down is tried
 * again, with backoff, under the same `Nats-Msg-Id`
 * (`${receiver}-${connection}-${number}`), so that JetStream stores it once
 * even when only its acknowledgement was lost. Messages of one connection
 * are stored in their order, except that one tried again after a failure
 * is stored after those that went through meanwhile.
 *
 * @example Needs a nats-server with JetStream (`nats-server -js`)
 * ```ts ignore
 * import { JetStreamSink } from "./jetstream_sink.ts";
 *
 * const sink = await JetStreamSink.open("nats://127.0.0.1:4222/orders.new");
 * await sink.ready();
 * sink.put({
 *   peer: "10.0.0.1:5000", connection: 1, number: 1, receiver: "r1",
 *   payload: new TextEncoder().encode('{"a":1}'), receivedAt: Date.now(),
 * });
 * await sink.settle(); // stored in the stream
 * await sink.close();
 * ```
 *
 * @module
 */

import type { MessageSink, SinkMessage } from "../sink.ts";
import { after, type Timer } from "../timer.ts";
import { describeError } from "../errors.ts";
import { connectNats, type ConnectNatsOptions, describeNatsError } from "./connection.ts";
import { type JetStreamClient, natsClient, type NatsConnection } from "./deps.ts";
import { messageHeaders, messageId } from "./headers.ts";
import { ensureStream } from "./stream.ts";
import { type NatsTarget, parseNatsTarget } from "./target.ts";

/** Messages that may wait for JetStream's acknowledgement at once, by default. */
export const DEFAULT_WINDOW = 1024;

/** Payload bytes that may wait for JetStream's acknowledgement at once, by default: 64 MiB. */
export const DEFAULT_WINDOW_BYTES = 64 * 1024 * 1024;

/** How long `close()` waits for outstanding messages to be stored, by default: 2 s. */
export const DEFAULT_CLOSE_GRACE = 2_000;

/** How long one publish waits for its acknowledgement before it is tried again: 5 s. */
export const DEFAULT_PUBLISH_TIMEOUT = 5_000;

/** Options for {@linkcode JetStreamSink.open}. */
export interface JetStreamSinkOptions extends ConnectNatsOptions {
  /** `--stream`: the stream's name; see `ensureStream` in `stream.ts`. */
  stream?: string;
  /** Replicas of a stream it creates. Defaults to 1. */
  replicas?: number;
  /** Messages awaiting acknowledgement at most. Defaults to {@linkcode DEFAULT_WINDOW}. */
  window?: number;
  /** Payload bytes awaiting acknowledgement at most. Defaults to {@linkcode DEFAULT_WINDOW_BYTES}. */
  maxBytes?: number;
  /** Milliseconds `close()` waits for what is outstanding. Defaults to {@linkcode DEFAULT_CLOSE_GRACE}. */
  grace?: number;
  /** Milliseconds one attempt waits for its acknowledgement. Defaults to {@linkcode DEFAULT_PUBLISH_TIMEOUT}. */
  publishTimeout?: number;
  /**
   * Told once when JetStream refused a message for good (too large, a full
   * stream that discards new ones): the sink takes nothing more after it, so
   * a receiver should stop (`receive --to` does).
   */
  onFailure?: (error: Error) => void;
}

/** What a {@linkcode JetStreamSink} has done so far. */
export interface JetStreamSinkStats {
  /** Messages JetStream acknowledged. */
  stored: number;
  /** Of those, how many JetStream had already (an attempt after a lost acknowledgement). */
  duplicates: number;
  /** Publishes tried again after a failure or a timeout. */
  retries: number;
  /** Messages awaiting acknowledgement now. */
  outstanding: number;
}

/** One message put and not yet stored. */
interface Entry {
  seq: number;
  id: string;
  payload: Uint8Array;
  meta: Omit<SinkMessage, "payload">;
  attempts: number;
}

interface Waiter {
  done: () => boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Room kept for framecat's headers within NATS's `max_payload`: 1 KiB. */
const HEADER_ROOM = 1024;

/** Backoff between attempts at one message: 0.1 s doubling to 2 s. */
function backoff(attempt: number): number {
  return Math.min(2_000, 100 * 2 ** Math.max(0, attempt - 1));
}

/** Publishes checked messages to JetStream; see the module. */
export class JetStreamSink implements MessageSink {
  /** The stream messages are stored in. */
  readonly stream: string;
  /** The subject they are published to. */
  readonly subject: string;
  /** What was done so far. */
  readonly stats: JetStreamSinkStats = { stored: 0, duplicates: 0, retries: 0, outstanding: 0 };
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #target: NatsTarget;
  readonly #window: number;
  readonly #maxBytes: number;
  readonly #grace: number;
  readonly #timeout: number;
  readonly #onStatus: ((line: string) => void) | undefined;
  readonly #onFailure: ((error: Error) => void) | undefined;
  /** Messages not yet stored, in the order put (a Map keeps it). */
  readonly #pending = new Map<number, Entry>();
  #bytes = 0;
  #seq = 0;
  #waiters: Waiter[] = [];
  #timers = new Set<Timer>();
  #failure: Error | undefined;
  #lastError: unknown;
  #closing = false;
  #closed: Promise<void> | undefined;
  #warnedNoStream = false;

  private constructor(
    nc: NatsConnection,
    target: NatsTarget,
    stream: string,
    options: JetStreamSinkOptions,
  ) {
    this.#nc = nc;
    this.#js = natsClient().jetstream.jetstream(nc);
    this.#target = target;
    this.stream = stream;
    this.subject = target.subject;
    this.#window = options.window ?? DEFAULT_WINDOW;
    this.#maxBytes = options.maxBytes ?? DEFAULT_WINDOW_BYTES;
    this.#grace = options.grace ?? DEFAULT_CLOSE_GRACE;
    this.#timeout = options.publishTimeout ?? DEFAULT_PUBLISH_TIMEOUT;
    this.#onStatus = options.onStatus;
    this.#onFailure = options.onFailure;
  }

  /**
   * Connects to NATS at `address` (`nats://[user:pass@]HOST:PORT/SUBJECT`,
   * `tls://...`, or one parsed by `parseNatsTarget`), finds or creates the
   * stream, and resolves to a sink ready for messages. Rejects with one
   * line: NATS unreachable, credentials refused, no JetStream, a stream that
   * does not take the subject.
   *
   * @example Needs a nats-server with JetStream
   * ```ts ignore
   * import { JetStreamSink } from "./jetstream_sink.ts";
   *
   * const sink = await JetStreamSink.open("nats://127.0.0.1:4222/orders.new", { stream: "ORDERS" });
   * console.log(sink.stream); // ORDERS
   * await sink.close();
   * ```
   */
  static async open(
    address: string | NatsTarget,
    options: JetStreamSinkOptions = {},
  ): Promise<JetStreamSink> {
    const target = typeof address === "string" ? parseNatsTarget(address) : address;
    for (
      const [name, value] of Object.entries({ window: options.window, maxBytes: options.maxBytes })
    ) {
      if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
        throw new RangeError(`JetStreamSink: ${name} must be a whole number from 1, not ${value}`);
      }
    }
    const nc = await connectNats(target, { name: "framecat receive", ...options });
    try {
      const jsm = await natsClient().jetstream.jetstreamManager(nc);
      const stream = await ensureStream(jsm, {
        subject: target.subject,
        stream: options.stream,
        replicas: options.replicas,
      });
      return new JetStreamSink(nc, target, stream, options);
    } catch (error) {
      await nc.close().catch(() => {});
      throw new Error(describeNatsError(error, target.display), { cause: error });
    }
  }

  /**
   * Takes one message: copies its payload and publishes it. Throws (the
   * receiver then refuses that message, telling its sender) a `RangeError`
   * for a payload over NATS's `max_payload`, and an `Error` once the sink
   * failed or closes.
   */
  put(message: SinkMessage): void {
    if (this.#failure) throw this.#failure;
    if (this.#closing) throw new Error("the JetStream sink is closing");
    const max = this.#nc.info?.max_payload;
    if (max !== undefined && message.payload.length + HEADER_ROOM > max) {
      throw new RangeError(
        `a message of ${message.payload.length} bytes is over what NATS takes ` +
          `(max_payload ${max} bytes, headers included): raise max_payload in nats-server`,
      );
    }
    const { payload, ...meta } = message;
    const entry: Entry = {
      seq: ++this.#seq,
      id: messageId(meta),
      payload: payload.slice(),
      meta,
      attempts: 0,
    };
    this.#pending.set(entry.seq, entry);
    this.#bytes += entry.payload.length;
    this.stats.outstanding = this.#pending.size;
    this.#publish(entry);
  }

  /** Resolves once every message put so far is stored; rejects if one cannot be, for good. */
  settle(): Promise<void> {
    const last = this.#seq;
    return this.#until(() => {
      const first = this.#pending.keys().next();
      return first.done || first.value > last;
    });
  }

  /** Resolves once fewer than `window` messages and `maxBytes` bytes await acknowledgement. */
  ready(signal?: AbortSignal): Promise<void> {
    return this.#until(
      () => this.#pending.size < this.#window && this.#bytes < this.#maxBytes,
      signal,
    );
  }

  /**
   * Stops taking messages, waits up to the grace period for every one put to
   * be stored, and closes the connection. Rejects, saying how many, when
   * some could not be stored by then (they are not in the stream, unless
   * their acknowledgement alone was lost).
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#closing = true;
    let timer: Timer | undefined;
    const grace = new Promise<void>((resolve) => timer = after(this.#grace, resolve));
    await Promise.race([this.#until(() => this.#pending.size === 0).catch(() => {}), grace]);
    timer!.cancel();
    const lost = this.#pending.size;
    for (const t of this.#timers) t.cancel();
    this.#timers.clear();
    this.#pending.clear();
    this.#bytes = 0;
    this.stats.outstanding = 0;
    const failure = this.#failure;
    this.#failure ??= new Error("the JetStream sink is closed");
    this.#wake();
    if (lost === 0 && !failure) {
      await this.#nc.drain().catch(() => {});
    } else {
      await this.#nc.close().catch(() => {});
    }
    if (lost > 0) {
      const why = this.#lastError === undefined
        ? `not acknowledged within ${this.#grace / 1000} s`
        : describeNatsError(this.#lastError, this.#target.display);
      throw new Error(
        `${lost} message${lost === 1 ? "" : "s"} could not be stored in JetStream stream ` +
          `${this.stream} (subject ${this.subject}): ${why}`,
      );
    }
    if (failure) throw failure;
  }

  #publish(entry: Entry): void {
    entry.attempts++;
    this.#js.publish(this.subject, entry.payload, {
      msgID: entry.id,
      headers: messageHeaders(entry.meta),
      timeout: this.#timeout,
    }).then((ack) => {
      if (!this.#pending.delete(entry.seq)) return;
      this.#bytes -= entry.payload.length;
      this.stats.stored++;
      if (ack.duplicate) this.stats.duplicates++;
      this.stats.outstanding = this.#pending.size;
      this.#wake();
    }, (error) => {
      if (!this.#pending.has(entry.seq)) return;
      this.#lastError = error;
      if (isPermanent(error)) {
        this.#fail(
          new Error(
            `JetStream refused message ${entry.meta.number} of ${entry.meta.peer}: ${
              describeNatsError(error, this.#target.display)
            }`,
            { cause: error },
          ),
        );
        return;
      }
      if (error?.name === "JetStreamNotEnabled" && !this.#warnedNoStream) {
        this.#warnedNoStream = true;
        this.#onStatus?.(
          `no JetStream stream answers on ${this.subject} yet (${
            describeError(error)
          }); trying again`,
        );
      }
      this.stats.retries++;
      const timer = after(backoff(entry.attempts), () => {
        this.#timers.delete(timer);
        if (this.#pending.has(entry.seq) && !this.#nc.isClosed()) this.#publish(entry);
      });
      this.#timers.add(timer);
    });
  }

  #fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#wake();
    this.#onFailure?.(error);
  }

  #until(done: () => boolean, signal?: AbortSignal): Promise<void> {
    if (this.#failure && !done()) return Promise.reject(this.#failure);
    if (done()) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { done, resolve, reject };
      const abort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", abort, { once: true });
      waiter.resolve = () => {
        signal?.removeEventListener("abort", abort);
        resolve();
      };
      waiter.reject = (error) => {
        signal?.removeEventListener("abort", abort);
        reject(error);
      };
      this.#waiters.push(waiter);
    });
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.done()) waiter.resolve();
      else if (this.#failure) waiter.reject(this.#failure);
      else still.push(waiter);
    }
    this.#waiters = still;
  }
}

/**
 * Whether JetStream refused a message for good (too big, a stream full
 * that discards new messages, a bad subject), rather than for now (a
 * timeout, a lost connection, no stream leader during an election).
 */
function isPermanent(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === "JetStreamApiError") {
    const status = (error as Error & { status?: number }).status;
    return status !== 503 && status !== 408;
  }
  return error.name === "InvalidArgumentError" || /max(imum)?[ _]payload/i.test(error.message);
}
