/**
 * The headers framecat puts on each message it publishes to JetStream, and
 * reads back: where the message came from and when, and the id JetStream
 * de-duplicates by.
 *
 * @example
 * ```ts
 * import { messageId } from "./headers.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(messageId({ receiver: "r1", connection: 3, number: 7 }), "r1-3-7");
 * ```
 *
 * @module
 */

import type { SinkMessage } from "../sink.ts";
import { type MsgHdrs, natsClient } from "./deps.ts";

/** The header names framecat writes. */
export const HEADERS = {
  /** The sender, `host:port`. */
  peer: "Framecat-Peer",
  /** The connection's number on its receiver. */
  connection: "Framecat-Connection",
  /** The message's number on its connection, from 1. */
  number: "Framecat-Number",
  /** When the receiver had it whole, ISO 8601. */
  received: "Framecat-Received",
  /** The receiver that published it (random per process). */
  receiver: "Framecat-Receiver",
  /** JetStream's de-duplication id. */
  msgId: "Nats-Msg-Id",
} as const;

/**
 * The id JetStream de-duplicates by: `${receiver}-${connection}-${number}`,
 * the same for every attempt to publish one message.
 *
 * @example
 * ```ts
 * import { messageId } from "./headers.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(messageId({ receiver: "ab12", connection: 1, number: 1 }), "ab12-1-1");
 * ```
 */
export function messageId(
  message: Pick<SinkMessage, "receiver" | "connection" | "number">,
): string {
  return `${message.receiver}-${message.connection}-${message.number}`;
}

/**
 * The headers for one message, `Nats-Msg-Id` included. The NATS client
 * must be loaded (`loadNatsClient()` of `deps.ts`; connecting loads it).
 *
 * @example
 * ```ts
 * import { HEADERS, messageHeaders } from "./headers.ts";
 * import { loadNatsClient } from "./deps.ts";
 * import assert from "node:assert/strict";
 *
 * await loadNatsClient();
 * const h = messageHeaders({
 *   peer: "10.0.0.1:5000", connection: 2, number: 9, receivedAt: 0, receiver: "r",
 * });
 * assert.equal(h.get(HEADERS.msgId), "r-2-9");
 * assert.equal(h.get(HEADERS.received), "1970-01-01T00:00:00.000Z");
 * ```
 */
export function messageHeaders(message: Omit<SinkMessage, "payload">): MsgHdrs {
  const h = natsClient().transport.headers();
  h.set(HEADERS.peer, message.peer);
  h.set(HEADERS.connection, String(message.connection));
  h.set(HEADERS.number, String(message.number));
  h.set(HEADERS.received, new Date(message.receivedAt).toISOString());
  h.set(HEADERS.receiver, message.receiver);
  h.set(HEADERS.msgId, messageId(message));
  return h;
}
