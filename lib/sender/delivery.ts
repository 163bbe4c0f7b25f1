/**
 * What a sender concludes when a connection ends before every message is
 * confirmed: whether the rest may go over a new connection (the receiver
 * said it printed all and closed for a reason not theirs), or the
 * {@linkcode DeliveryError} that counts what the receiver may have missed.
 *
 * @module
 */

import { type CloseNotice, isResumable } from "../close_notice.ts";
import { describeError } from "../errors.ts";
import type { SendResult } from "../sender.ts";
import type { Link } from "./link.ts";

/**
 * Messages that may not have reached the receiver: the connection closed,
 * reset or stalled before every message sent was confirmed, or the receiver
 * refused one. The message says it in words; the fields count.
 *
 * @example
 * ```ts
 * import { DeliveryError } from "../sender.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new DeliveryError("lost", { sent: 3, confirmed: 1 });
 * assert.equal(error.unconfirmed, 2);
 * assert.equal(error.name, "DeliveryError");
 * ```
 */
export class DeliveryError extends Error {
  /** Messages written to the receiver, in all. */
  readonly sent: number;
  /** Of those, how many the receiver confirmed (acknowledged, or counted in its close notice). */
  readonly confirmed: number;
  /** The receiver's close notice, if it sent one. */
  readonly notice?: CloseNotice;

  /** Makes the error; `details` count what was sent and confirmed. */
  constructor(message: string, details: DeliveryErrorDetails) {
    super(message, { cause: details.cause });
    this.name = "DeliveryError";
    this.sent = details.sent;
    this.confirmed = details.confirmed;
    this.notice = details.notice;
  }

  /** Messages sent that the receiver did not confirm: it may have missed them. */
  get unconfirmed(): number {
    return this.sent - this.confirmed;
  }
}

/** What a {@linkcode DeliveryError} counts. */
export interface DeliveryErrorDetails {
  /** Messages written to the receiver, in all. */
  sent: number;
  /** Of those, how many the receiver confirmed. */
  confirmed: number;
  /** The receiver's close notice, if it sent one. */
  notice?: CloseNotice;
  /** The error underneath, if any. */
  cause?: unknown;
}

/** Options for {@linkcode resumable}. */
export interface ResumableOptions {
  /** `--retry`: a receiver that closed before anything was written is tried again. */
  retry: number;
  /** Messages of a batch whose write failed: the notice may count some of them. */
  pending: number;
}

/**
 * Whether the rest may go over a new connection, and if so the line that
 * says why: the receiver said it printed every message written whole (and
 * perhaps the first of a batch being written), and closed for a reason that
 * is not theirs; or, with `retry`, it closed before a byte was written.
 */
export function resumable(link: Link, options: ResumableOptions): string | undefined {
  if (link.failure || link.tlsAnswer) return undefined;
  const notice = link.notice;
  if (notice) {
    const printed = notice.messages;
    if (!isResumable(notice) || printed < link.written) return undefined;
    if (printed > link.written + options.pending) return undefined;
    return `The receiver closed the connection after printing ${
      plural(printed, "message")
    } (${notice.reason})`;
  }
  if (link.issued === 0 && options.retry > 0 && link.end !== undefined) {
    return "The receiver closed the connection before any message was sent";
  }
  return undefined;
}

/**
 * The error that says which messages the receiver may have missed, and why:
 * `link` closed, reset or stalled before all were confirmed.
 */
export function delivery(link: Link, result: SendResult, before: number, cause?: unknown): Error {
  if (link.tlsAnswer) return link.tlsAnswer;
  const sent = result.messages;
  const sentBytes = `${plural(sent, "message")} sent (${result.bytes} bytes)`;
  const notice = link.notice;
  const acked = before + link.acked;
  const ack = result.acknowledged !== undefined;
  if (ack && !notice) {
    const why = link.failure?.message ??
      (link.end?.error !== undefined
        ? `Message ${acked + 1} was not acknowledged: ${describeError(link.end.error)}`
        : `Message ${acked + 1} was not acknowledged: the receiver closed the connection`);
    const hint = acked === 0 && !link.failure?.message.startsWith("The receiver's")
      ? "; does the receiver run with --ack?"
      : "";
    return new DeliveryError(`${why} (${acked} of ${sent} confirmed${hint})`, {
      sent,
      confirmed: acked,
      cause: link.end?.error ?? cause,
    });
  }
  if (link.failure) {
    return new DeliveryError(
      `Connection to ${result.peer} given up: ${link.failure.message}; of the ${sentBytes}, ${
        ack ? `${acked} were confirmed` : "any may be lost"
      }`,
      { sent, confirmed: ack ? acked : before, cause: link.failure },
    );
  }
  if (notice) {
    const printed = before + notice.messages;
    const confirmed = Math.min(printed, sent);
    const lost = sent - confirmed;
    const words = ack
      ? `Message ${
        acked + 1
      } was not acknowledged: the receiver closed the connection: ${notice.reason}`
      : isRefusal(notice)
      ? `The receiver refused message ${printed + 1}: ${notice.reason}`
      : `The receiver closed the connection: ${notice.reason}`;
    const tally = ack
      ? ` (${acked} of ${sent} confirmed)`
      : ` (it printed ${confirmed} of the ${plural(sent, "message")} sent${
        lost > 0 ? `; ${lost} not printed` : ""
      }; nothing more was sent)`;
    return new DeliveryError(words + tally, { sent, confirmed, notice, cause });
  }
  const end = link.end;
  if (end?.error !== undefined && isReset(end.error)) {
    return new DeliveryError(
      `Connection to ${result.peer} reset: the receiver closed it with data unread, ` +
        `so some of the ${sentBytes} may be lost`,
      { sent, confirmed: before, cause: end.error },
    );
  }
  if (end?.eof && !end.afterShutdown) {
    return new DeliveryError(
      sent === before
        ? `The receiver closed the connection to ${result.peer} before ${
          sent === 0 ? "any message was" : "more messages were"
        } sent`
        : `The receiver closed the connection to ${result.peer} before the sender had finished: ` +
          `it may have missed any of the last ${plural(sent - before, "message")} sent`,
      { sent, confirmed: before, cause },
    );
  }
  const error = end?.error ?? cause;
  return new DeliveryError(
    `Connection to ${result.peer} lost after ${plural(sent, "message")}: ${describeError(error)}`,
    { sent, confirmed: before, cause: error },
  );
}

/** Whether a notice refuses a message (a bad frame, a callback), rather than closing for the receiver's own reason. */
function isRefusal(notice: CloseNotice): boolean {
  return !["IDLE_TIMEOUT", "FRAME_TIMEOUT", "COUNT", "SHUTDOWN", "OUTPUT_FAILED"].includes(
    notice.closed,
  );
}

/** Whether an error means the connection was reset or is gone. */
function isReset(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted;
}

/**
 * After the last write, with `ack`: closes the sending side and waits until
 * every message is acknowledged (the link fails one that takes longer than
 * the ack timeout since the last).
 */
export async function finishAcknowledged(
  link: Link,
  result: SendResult,
  before: number,
): Promise<void> {
  await link.closeWrite().catch(() => {});
  await link.until(() => link.acked >= link.written, Infinity);
  result.acknowledged = before + link.acked;
  if (link.acked < link.written || link.failure) throw delivery(link, result, before);
}

/**
 * After the last write, without `ack`: closes the sending side, then waits
 * up to `timeout` for the receiver to close the connection. A close notice
 * that counts every message, or the end of the stream after ours, is a
 * receiver that read everything; a reset, an end before ours, or a notice
 * that counts fewer is not.
 */
export async function finishPlain(
  link: Link,
  result: SendResult,
  before: number,
  timeout: number,
): Promise<void> {
  let shutdown: unknown;
  if (!link.closed) {
    try {
      await link.closeWrite();
    } catch (error) {
      // The connection is gone: the receiver reset it, or closed it.
      shutdown = error;
    }
  }
  if (timeout > 0) await link.until(() => link.end !== undefined, timeout);
  if (link.notice) {
    if (link.notice.messages >= link.written) return;
    throw delivery(link, result, before);
  }
  if (link.failure || link.tlsAnswer) throw delivery(link, result, before);
  const end = link.end;
  if (end === undefined) {
    // Still open: the seed's receiver keeps it so; not an error.
    if (shutdown === undefined) return;
    link.end = { eof: false, afterShutdown: false, error: shutdown };
    throw delivery(link, result, before, shutdown);
  }
  // A TLS receiver that hangs up without a close_notify has still closed.
  if (end.eof || end.error instanceof Deno.errors.UnexpectedEof) {
    if (end.afterShutdown && shutdown === undefined) return;
  }
  throw delivery(link, result, before, shutdown);
}

/** Where the frame after the first `count` frames of `data` starts. */
export function frameOffset(data: Uint8Array, count: number): number {
  let pos = 0;
  for (let k = 0; k < count; k++) {
    let length = 0;
    while (data[pos] !== 0x0a) length = length * 10 + data[pos++] - 0x30;
    pos += 1 + length;
  }
  return pos;
}
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
