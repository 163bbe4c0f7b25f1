/**
 * Reading a JetStream stream back out, for `framecat consume`: a durable
 * consumer (it resumes where it stopped, across runs) hands messages over in
 * batches, and each is acknowledged to JetStream only when the caller says
 * it is delivered; what is not acknowledged is delivered again later.
 *
 * @example Needs a nats-server with JetStream, and a stream for the subject
 * ```ts ignore
 * import { JetStreamSource } from "./jetstream_source.ts";
 *
 * const source = await JetStreamSource.open("nats://127.0.0.1:4222/orders.>");
 * for await (const batch of source.batches({ count: 10 })) {
 *   for (const message of batch.messages) console.log(message.peer, message.payload.length);
 *   await batch.acknowledge();
 * }
 * await source.close();
 * ```
 *
 * @module
 */

import { connectNats, type ConnectNatsOptions, describeNatsError } from "./connection.ts";
import { type Consumer, type JsMsg, natsClient, type NatsConnection } from "./deps.ts";
import { HEADERS } from "./headers.ts";
import { findStream, StreamError } from "./stream.ts";
import { type NatsTarget, parseNatsTarget } from "./target.ts";

/** The durable consumer's name when none is given. */
export const DEFAULT_DURABLE = "framecat";

/** Messages asked of JetStream at once, by default. */
export const DEFAULT_BATCH = 256;

/** How long a fetch waits for messages that are not there yet, at most: 1 s. */
const FETCH_WAIT = 1_000;

/** Options for {@linkcode JetStreamSource.open}. */
export interface JetStreamSourceOptions extends ConnectNatsOptions {
  /** `--stream`: the stream; without it, the one that takes the subject. */
  stream?: string;
  /** `--durable`: the consumer's name. Defaults to {@linkcode DEFAULT_DURABLE}. */
  durable?: string;
  /**
   * Seconds JetStream waits for an acknowledgement before delivering a
   * message again. Defaults to 30.
   */
  ackWait?: number;
}

/** Options for {@linkcode JetStreamSource.batches}. */
export interface BatchesOptions {
  /** Stop after this many messages. */
  count?: number;
  /** Messages a batch holds at most. Defaults to {@linkcode DEFAULT_BATCH}. */
  batch?: number;
  /** Stop (after the batch in hand) once aborted. */
  signal?: AbortSignal;
}

/** One message read from the stream, with what framecat's headers say of it. */
export interface StreamMessage {
  /** The payload's bytes, as the receiver stored them. */
  payload: Uint8Array;
  /** The subject it was published to. */
  subject: string;
  /** Its sequence number in the stream. */
  seq: number;
  /** `Framecat-Peer`: the sender, if the message came through framecat. */
  peer?: string;
  /** `Framecat-Number`: its number on its connection. */
  number?: number;
  /** `Framecat-Received`: when the receiver had it, ISO 8601. */
  received?: string;
}

/** Messages in hand, to be acknowledged together once delivered. */
export interface StreamBatch {
  /** The messages, in the stream's order. */
  messages: StreamMessage[];
  /** Acknowledges every message of the batch to JetStream, and waits until the server has it. */
  acknowledge(): Promise<void>;
  /**
   * Gives the batch back undelivered (a negative acknowledgement): JetStream
   * delivers its messages again at once, rather than after the ack wait.
   */
  release(): Promise<void>;
}

/** A durable consumer on a stream; see the module. */
export class JetStreamSource {
  /** The stream read. */
  readonly stream: string;
  /** The durable consumer's name. */
  readonly durable: string;
  readonly #nc: NatsConnection;
  readonly #consumer: Consumer;

  private constructor(nc: NatsConnection, stream: string, durable: string, consumer: Consumer) {
    this.#nc = nc;
    this.stream = stream;
    this.durable = durable;
    this.#consumer = consumer;
  }

  /**
   * Connects, finds the stream that takes the subject (a filter: `orders.>`
   * allowed), and creates the durable consumer if it does not exist yet (it
   * then starts at the stream's first message). Rejects with one line:
   * NATS unreachable, credentials refused, no JetStream, no such stream.
   *
   * @example Needs a nats-server with JetStream
   * ```ts ignore
   * import { JetStreamSource } from "./jetstream_source.ts";
   *
   * const source = await JetStreamSource.open("nats://127.0.0.1:4222/orders.new", {
   *   durable: "audit",
   * });
   * await source.close();
   * ```
   */
  static async open(
    address: string | NatsTarget,
    options: JetStreamSourceOptions = {},
  ): Promise<JetStreamSource> {
    const target = typeof address === "string"
      ? parseNatsTarget(address, { wildcards: true })
      : address;
    const durable = options.durable ?? DEFAULT_DURABLE;
    if (!/^[A-Za-z0-9_-]+$/.test(durable)) {
      throw new SyntaxError(
        `durable name "${durable}" may hold only letters, digits, - and _`,
      );
    }
    const nc = await connectNats(target, { name: "framecat consume", ...options });
    try {
      const { jetstream, jetstreamManager } = natsClient().jetstream;
      const jsm = await jetstreamManager(nc);
      const stream = await findStream(jsm, { subject: target.subject, stream: options.stream });
      let existing;
      try {
        existing = await jsm.consumers.info(stream, durable);
      } catch (error) {
        if ((error as Error).name !== "ConsumerNotFoundError") throw error;
      }
      if (existing === undefined) {
        await jsm.consumers.add(stream, {
          durable_name: durable,
          ack_policy: "explicit",
          deliver_policy: "all",
          filter_subject: target.subject,
          ack_wait: (options.ackWait ?? 30) * 1_000_000_000,
        });
      } else if ((existing.config.filter_subject ?? "") !== target.subject) {
        throw new StreamError(
          `durable consumer ${durable} of stream ${stream} reads subject ${
            existing.config.filter_subject || "(all)"
          }, not ${target.subject}: give another --durable NAME`,
        );
      }
      const consumer = await jetstream(nc).consumers.get(stream, durable);
      return new JetStreamSource(nc, stream, durable, consumer);
    } catch (error) {
      await nc.close().catch(() => {});
      throw new Error(describeNatsError(error, target.display), { cause: error });
    }
  }

  /**
   * Yields the stream's messages in batches, as they come, waiting for new
   * ones when it has read them all, until `count` messages or `signal`. A
   * batch yielded is not acknowledged until its `acknowledge()`.
   */
  async *batches(options: BatchesOptions = {}): AsyncGenerator<StreamBatch> {
    let left = options.count ?? Infinity;
    const size = options.batch ?? DEFAULT_BATCH;
    while (left > 0 && !options.signal?.aborted) {
      const max = Math.min(size, left);
      const fetched = await this.#consumer.fetch({ max_messages: max, expires: FETCH_WAIT });
      const stop = () => fetched.stop();
      options.signal?.addEventListener("abort", stop, { once: true });
      const held: JsMsg[] = [];
      try {
        for await (const m of fetched) held.push(m);
      } finally {
        options.signal?.removeEventListener("abort", stop);
      }
      if (held.length === 0) continue;
      left -= held.length;
      const nc = this.#nc;
      yield {
        messages: held.map(toStreamMessage),
        async acknowledge(): Promise<void> {
          for (const m of held) m.ack();
          await nc.flush();
        },
        async release(): Promise<void> {
          for (const m of held) m.nak();
          await nc.flush();
        },
      };
    }
  }

  /** Closes the connection (acknowledgements sent are flushed first). */
  async close(): Promise<void> {
    await this.#nc.drain().catch(() => this.#nc.close());
  }
}

function toStreamMessage(m: JsMsg): StreamMessage {
  const h = m.headers;
  const number = h?.get(HEADERS.number);
  return {
    payload: m.data,
    subject: m.subject,
    seq: m.seq,
    peer: h?.get(HEADERS.peer) || undefined,
    number: number ? Number(number) : undefined,
    received: h?.get(HEADERS.received) || undefined,
  };
}
