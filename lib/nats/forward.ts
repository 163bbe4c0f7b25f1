/**
 * Delivering messages read from JetStream onward: to a framecat (or seed)
 * receiver over one connection, as frames of their payloads' exact bytes
 * (`consume --to HOST:PORT`), or as `receive --json` lines (`--to -`).
 *
 * @example
 * ```ts
 * import { jsonLines } from "./forward.ts";
 * import assert from "node:assert/strict";
 *
 * const payload = new TextEncoder().encode('{"a":1}');
 * assert.equal(
 *   new TextDecoder().decode(jsonLines([{ payload, subject: "s", seq: 1, peer: "10.0.0.1:5" }])),
 *   '{"peer":"10.0.0.1:5","bytes":7,"message":{"a":1}}\n',
 * );
 * ```
 *
 * @module
 */

import { formatAddress } from "../address.ts";
import { SafeJsonText } from "../safe_text.ts";
import {
  connect,
  type ConnectOptions,
  DEFAULT_ACK_TIMEOUT,
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_WRITE_TIMEOUT,
} from "../sender.ts";
import { Link } from "../sender/link.ts";
import type { StreamMessage } from "./jetstream_source.ts";
import { concat } from "../io.ts";

const encoder = new TextEncoder();

/** Options for {@linkcode FramecatForwarder.open}. */
export interface ForwardOptions extends ConnectOptions {
  /** Deliver a batch only once the receiver acknowledged each message (`receive --ack`). */
  ack?: boolean;
  /** With `ack`: milliseconds messages may go unacknowledged. Defaults to `send`'s. */
  ackTimeout?: number;
  /** Milliseconds a write may make no progress. Defaults to `send`'s. */
  writeTimeout?: number;
}

/**
 * One connection to a receiver that messages are delivered over, batch by
 * batch; see the module.
 */
export class FramecatForwarder {
  /** The receiver, `host:port`. */
  readonly peer: string;
  /** Messages delivered so far (written; with `ack`, acknowledged). */
  delivered = 0;
  readonly #link: Link;
  readonly #ack: boolean;

  private constructor(link: Link, ack: boolean) {
    this.#link = link;
    this.peer = link.peer;
    this.#ack = ack;
  }

  /**
   * Connects to the receiver (`connect()` of `sender.ts`: TCP or TLS).
   *
   * @example
   * ```ts
   * import { FramecatForwarder } from "./forward.ts";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const forwarder = await FramecatForwarder.open({ port: listener.addr.port });
   * const conn = await listener.accept();
   * const payload = new TextEncoder().encode('"hi"');
   * await forwarder.deliver([{ payload, subject: "s", seq: 1 }]);
   * const closing = forwarder.close();
   * const text = await new Response(conn.readable).text();
   * await closing;
   * listener.close();
   * if (text !== '4\n"hi"') throw new Error(text);
   * ```
   */
  static async open(options: ForwardOptions = {}): Promise<FramecatForwarder> {
    const conn = await connect(options);
    const link = new Link(conn, formatAddress(conn.remoteAddr), {
      ack: options.ack ?? false,
      ackTimeout: options.ackTimeout ?? DEFAULT_ACK_TIMEOUT,
      writeTimeout: options.writeTimeout ?? DEFAULT_WRITE_TIMEOUT,
    });
    return new FramecatForwarder(link, options.ack ?? false);
  }

  /**
   * Writes the messages as frames, in one write; with `ack`, resolves once
   * the receiver acknowledged every one. Rejects, in words, when the
   * receiver closed the connection, stalled, or did not acknowledge.
   */
  async deliver(messages: readonly StreamMessage[]): Promise<void> {
    const link = this.#link;
    if (link.closed) throw this.#lost();
    try {
      await link.write(frames(messages), messages.length);
    } catch (error) {
      throw this.#lost(error);
    }
    if (this.#ack) {
      await link.until(() => link.acked >= link.written, Infinity);
      if (link.acked < link.written) throw this.#lost();
    }
    this.delivered += messages.length;
  }

  /**
   * Closes the connection: without `ack`, closes the sending side first and
   * waits briefly for the receiver to close, rejecting if it says it printed
   * fewer messages than were written.
   */
  async close(): Promise<void> {
    const link = this.#link;
    try {
      if (!this.#ack && !link.closed) {
        await link.closeWrite().catch(() => {});
        await link.until(() => link.end !== undefined, DEFAULT_CLOSE_TIMEOUT);
        if (link.notice && link.notice.messages < link.written) throw this.#lost();
      }
    } finally {
      link.close();
      await link.reading;
    }
  }

  #lost(cause?: unknown): Error {
    const link = this.#link;
    const why = link.failure?.message ?? link.notice?.reason ??
      (link.end?.error ?? cause ? `connection lost (${String(link.end?.error ?? cause)})` : "");
    const done = this.#ack
      ? `${link.acked} of ${link.written} acknowledged`
      : `${link.written} written`;
    return new Error(
      `The receiver at ${this.peer} ${
        why ? `failed: ${why}` : "closed the connection"
      } (${done}); messages not delivered stay in the stream and are delivered again`,
      { cause },
    );
  }
}

/** The messages as frames, one after another. */
function frames(messages: readonly StreamMessage[]): Uint8Array {
  const heads = messages.map((m) => encoder.encode(`${m.payload.length}\n`));
  let length = 0;
  messages.forEach((m, i) => length += heads[i].length + m.payload.length);
  const data = new Uint8Array(length);
  let o = 0;
  messages.forEach((m, i) => {
    data.set(heads[i], o);
    o += heads[i].length;
    data.set(m.payload, o);
    o += m.payload.length;
  });
  return data;
}

/**
 * The messages as `receive --json` prints them, one a line:
 * `{"peer":"host:port","bytes":N,"message":VALUE}`, the peer from the
 * `Framecat-Peer` header (`null` without one); line breaks in the payload
 * become spaces and unsafe characters escapes, as `receive --json` does.
 *
 * @example
 * ```ts
 * import { jsonLines } from "./forward.ts";
 * import assert from "node:assert/strict";
 *
 * const payload = new TextEncoder().encode('[1,\n2]');
 * assert.equal(
 *   new TextDecoder().decode(jsonLines([{ payload, subject: "s", seq: 1 }])),
 *   '{"peer":null,"bytes":6,"message":[1, 2]}\n',
 * );
 * ```
 */
export function jsonLines(messages: readonly StreamMessage[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const safe = new SafeJsonText((bytes) => parts.push(bytes.slice()));
  for (const m of messages) {
    parts.push(
      encoder.encode(
        `{"peer":${JSON.stringify(m.peer ?? null)},"bytes":${m.payload.length},"message":`,
      ),
    );
    safe.reset();
    safe.push(m.payload);
    parts.push(encoder.encode("}\n"));
  }
  return concat(parts);
}
