/**
 * The frame a framecat receiver sends before it closes a connection for a
 * reason of its own (a refused frame, a timeout, its count, a shutdown):
 * `{"closed":CODE,"reason":"words","messages":N}`, where N is how many of the
 * connection's messages it printed. A sender that reads it knows exactly
 * which messages arrived, and whether sending the rest on a new connection
 * is safe. A connection that ends because the sender ended it gets none, so
 * that the wire stays the seed's whenever all goes well.
 *
 * @example
 * ```ts
 * import { closeNoticeFrame, readCloseNotice } from "./close_notice.ts";
 * import assert from "node:assert/strict";
 *
 * const frame = closeNoticeFrame({ closed: "IDLE_TIMEOUT", reason: "no data for 30 s", messages: 2 });
 * const text = new TextDecoder().decode(frame);
 * assert.equal(text, '66\n{"closed":"IDLE_TIMEOUT","reason":"no data for 30 s","messages":2}');
 * assert.deepEqual(readCloseNotice(JSON.parse(text.slice(3)))?.messages, 2);
 * ```
 *
 * @module
 */

import { encodeFrame } from "./framing.ts";

/**
 * Why a receiver closed a connection: the `FrameErrorCode` of a refused
 * frame (`framing.ts`), or one of its own.
 *
 * - `IDLE_TIMEOUT`, `FRAME_TIMEOUT`: the sender was quiet too long between
 *   frames, or took too long to finish one;
 * - `COUNT`: the receiver printed the messages it was told to and stops;
 * - `SHUTDOWN`: the receiver is stopping (a signal);
 * - `NOT_ALLOWED`: the sender's address is outside `--allow`;
 * - `OUTPUT_FAILED`: the receiver cannot write its output;
 * - `REFUSED`: the program behind the receiver refused a message.
 */
export type CloseCode =
  | "IDLE_TIMEOUT"
  | "FRAME_TIMEOUT"
  | "COUNT"
  | "SHUTDOWN"
  | "NOT_ALLOWED"
  | "OUTPUT_FAILED"
  | "REFUSED"
  | "INVALID_PREFIX"
  | "TOO_LARGE"
  | "INVALID_UTF8"
  | "INVALID_JSON";

/** The codes after which the rest of the messages may go on a new connection. */
const RESUMABLE: ReadonlySet<string> = new Set(["IDLE_TIMEOUT", "SHUTDOWN"]);

/** A receiver's word on why it closed a connection, and what it printed of it. */
export interface CloseNotice {
  /** Why, for programs. */
  closed: CloseCode;
  /** Why, in words. */
  reason: string;
  /** How many of the connection's messages the receiver printed, counted from the first. */
  messages: number;
}

/** The longest reason a notice carries, in UTF-16 units; longer ones are cut. */
const MAX_REASON = 500;

/**
 * Encodes a notice as the frame a receiver sends.
 *
 * @example
 * ```ts
 * import { closeNoticeFrame } from "./close_notice.ts";
 * import assert from "node:assert/strict";
 *
 * const frame = closeNoticeFrame({ closed: "COUNT", reason: "count reached", messages: 1 });
 * assert.match(new TextDecoder().decode(frame), /^\d+\n\{"closed":"COUNT"/);
 * ```
 */
export function closeNoticeFrame(notice: CloseNotice): Uint8Array {
  const reason = notice.reason.length > MAX_REASON
    ? notice.reason.slice(0, MAX_REASON - 3) + "..."
    : notice.reason;
  return encodeFrame({ closed: notice.closed, reason, messages: notice.messages });
}

/**
 * The notice a decoded frame's value holds, or `undefined` if it is not one.
 *
 * @example
 * ```ts
 * import { readCloseNotice } from "./close_notice.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(readCloseNotice({ ack: 1 }), undefined);
 * assert.equal(readCloseNotice({ closed: "SHUTDOWN", reason: "stopping", messages: 3 })?.closed, "SHUTDOWN");
 * ```
 */
export function readCloseNotice(value: unknown): CloseNotice | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { closed, reason, messages } = value as Record<string, unknown>;
  if (typeof closed !== "string" || !Number.isSafeInteger(messages) || (messages as number) < 0) {
    return undefined;
  }
  return {
    closed: closed as CloseCode,
    reason: typeof reason === "string" ? reason : closed,
    messages: messages as number,
  };
}

/**
 * Whether the messages after those a notice counts may be sent again on a
 * new connection: the receiver closed for a reason that is not theirs (it
 * was idle, or stopping), so they are not duplicates and not refused.
 *
 * @example
 * ```ts
 * import { isResumable } from "./close_notice.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isResumable({ closed: "IDLE_TIMEOUT", reason: "", messages: 2 }), true);
 * assert.equal(isResumable({ closed: "TOO_LARGE", reason: "", messages: 2 }), false);
 * ```
 */
export function isResumable(notice: CloseNotice): boolean {
  return RESUMABLE.has(notice.closed);
}
