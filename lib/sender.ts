/**
 * The sending end: connect to a receiver and write frames to it, in order,
 * over one connection.
 *
 * @example Send the seed's message to a receiver
 * ```ts ignore
 * import { encodeFrame } from "./framing.ts";
 * import { batchFrames, send } from "./sender.ts";
 *
 * const result = await send([batchFrames([encodeFrame("Hello World!")])], { port: 1234 });
 * console.error(`sent ${result.messages} message(s) to ${result.peer}`);
 * ```
 *
 * @module
 */

import { formatAddress, unbracket } from "./address.ts";
import { describeError } from "./errors.ts";
import { after, type Timer } from "./timer.ts";
import { formatDuration } from "./units.ts";
import type { FrameBatch } from "./lines.ts";
import { type CloseNotice, isResumable } from "./close_notice.ts";
import { Link, type LinkOptions } from "./sender/link.ts";
import { checkDuration, checkWhole } from "./option_checks.ts";

export type { FrameBatch } from "./lines.ts";

/** The seed's port, on which a receiver listens unless told otherwise. */
export const DEFAULT_PORT = 1234;

/** How long `send --ack` waits for the next acknowledgement, by default: 10 s. */
export const DEFAULT_ACK_TIMEOUT = 10_000;

/**
 * How long one connection attempt may take, the TLS handshake included, by
 * default: 10 s.
 */
export const DEFAULT_CONNECT_TIMEOUT = 10_000;

/**
 * How long {@linkcode send}, without `ack`, waits after its last write for the
 * receiver to close the connection, by default: 2 s.
 */
export const DEFAULT_CLOSE_TIMEOUT = 2_000;

/** How long a write may wait on a receiver that reads nothing, by default: 30 s. */
export const DEFAULT_WRITE_TIMEOUT = 30_000;

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  /** The receiver's name or address; IPv6 with or without brackets. Defaults to `127.0.0.1`. */
  hostname?: string;
  /** The receiver's port. Defaults to {@linkcode DEFAULT_PORT}. */
  port?: number;
  /**
   * Give up on one attempt after this many milliseconds, the TLS handshake
   * included; 0 never gives up. Defaults to {@linkcode DEFAULT_CONNECT_TIMEOUT}.
   * With `retry`, an attempt is also cut to what is left of it.
   */
  connectTimeout?: number;
  /**
   * Keep trying for this many milliseconds, with backoff (0.1 s doubling to
   * 2 s), until the receiver is up: the whole wait, attempts included, ends
   * then. Defaults to 0: one attempt.
   */
  retry?: number;
  /**
   * Connect with TLS, verifying the receiver's certificate against the
   * system's roots, or against `caCerts` (PEM text) when given, or only by
   * its SHA-256 fingerprint with `pin` (`SHA256:70:6E:...`, as
   * `receive --tls` prints it; see {@linkcode ConnectTlsOptions}).
   */
  tls?: boolean | ConnectTlsOptions;
  /** Told of each failed attempt that will be tried again, and of the connection made. */
  onConnectEvent?: (event: ConnectEvent) => void;
}

/** How {@linkcode connect} verifies a TLS receiver. */
export interface ConnectTlsOptions {
  /** Certificate authorities to trust (PEM text) instead of the system's. */
  caCerts?: string[];
  /**
   * Trust only the certificate with this SHA-256 fingerprint, whatever signed
   * it and whatever names it holds: hex (colons optional) or base64, with
   * `SHA256:` before it or not. Connects with `node:tls`, loaded only then.
   */
  pin?: string;
}

/** What {@linkcode connect} tells `onConnectEvent`. */
export type ConnectEvent =
  | {
    /** An attempt failed; another follows after `wait` milliseconds. */
    type: "retry";
    /** Which attempt failed, from 1. */
    attempt: number;
    /** Why, in words. */
    error: string;
    /** Milliseconds until the next attempt. */
    wait: number;
  }
  | {
    /** Connected. */
    type: "connected";
    /** The receiver, `host:port`. */
    peer: string;
    /** Attempts it took. */
    attempts: number;
    /** With TLS: how the certificate was verified, and its fingerprint where known. */
    tls?: { verified: "pin" | "ca" | "system"; fingerprint?: string };
  };

/** Options for {@linkcode send}. */
export interface SendOptions extends ConnectOptions {
  /** Called after each batch is written, with the totals so far. */
  onProgress?: (sent: SendResult) => void;
  /** Told when the receiver closed the connection and `send` goes on over a new one. */
  onEvent?: (event: SendEvent) => void;
  /**
   * Wait for the receiver to acknowledge every message (`receive --ack`),
   * failing if an acknowledgement does not come within `ackTimeout`.
   */
  ack?: boolean;
  /**
   * With `ack`: milliseconds that messages sent may go unacknowledged since
   * the last acknowledgement (while sending, and after); 0 never gives up.
   * Defaults to {@linkcode DEFAULT_ACK_TIMEOUT}.
   */
  ackTimeout?: number;
  /**
   * Milliseconds a write may wait without the receiver taking any byte (it
   * stopped reading) before `send` gives up; 0 never does. Defaults to
   * {@linkcode DEFAULT_WRITE_TIMEOUT}.
   */
  writeTimeout?: number;
  /**
   * Without `ack`: after the last write, the sending side is closed and
   * `send` waits up to this many milliseconds for the receiver to close the
   * connection. If the receiver resets it instead (it closed the connection
   * with data unread), `send` rejects. Waiting it out is not an error: a
   * receiver may keep the connection open. 0 does not wait. Defaults to
   * {@linkcode DEFAULT_CLOSE_TIMEOUT}.
   */
  closeTimeout?: number;
}

/** What {@linkcode send} sent. */
export interface SendResult {
  /** Frames written. */
  messages: number;
  /** Bytes written, length prefixes included. */
  bytes: number;
  /** The receiver, as `host:port`. */
  peer: string;
  /** Messages the receiver acknowledged, with `ack`. */
  acknowledged?: number;
  /** Connections it took: more than 1 when the receiver closed one and `send` went on. */
  connections: number;
}

/** Something that happened to a send, with a line that says it. */
export interface SendEvent {
  /** `reconnect`: the receiver closed the connection, and the rest goes over a new one. */
  type: "reconnect";
  /** The line for people. */
  message: string;
  /** What the receiver said as it closed, if it did. */
  notice?: CloseNotice;
}

/**
 * Messages that may not have reached the receiver: the connection closed,
 * reset or stalled before every message sent was confirmed, or the receiver
 * refused one. The message says it in words; the fields count.
 *
 * @example
 * ```ts
 * import { DeliveryError } from "./sender.ts";
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

/** A connection to a receiver: TCP, or TLS with `tls`. */
export type Conn = Deno.TcpConn | Deno.TlsConn;

/**
 * Opens a TCP connection to a receiver, with Nagle's algorithm off so that a
 * frame written at once leaves at once. Rejects with an error that says, in
 * words, which address could not be reached and why.
 *
 * @example
 * ```ts
 * import { connect } from "./sender.ts";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await connect({ port: listener.addr.port });
 * conn.close();
 * listener.close();
 * await assert.rejects(connect({ port: listener.addr.port }), /connection refused/);
 * ```
 */
export async function connect(options: ConnectOptions = {}): Promise<Conn> {
  const hostname = unbracket(options.hostname ?? "127.0.0.1");
  const port = options.port ?? DEFAULT_PORT;
  const caCerts = typeof options.tls === "object" ? options.tls.caCerts ?? [] : [];
  caCerts.forEach((pem, i) => {
    try {
      checkCaCert(pem);
    } catch (error) {
      throw new SyntaxError(`CA certificate ${i + 1}: ${(error as Error).message}`);
    }
  });
  const retry = options.retry ?? 0;
  const deadline = Date.now() + retry;
  let attempts = 0;
  let wait = 100;
  while (true) {
    attempts++;
    try {
      // With retry, an attempt ends with the whole wait at the latest.
      const conn = await attempt(hostname, port, options, retry > 0 ? deadline : undefined);
      options.onConnectEvent?.({
        type: "connected",
        peer: formatAddress(conn.remoteAddr),
        attempts,
        tls: tlsDetails(options.tls, conn),
      });
      return conn;
    } catch (error) {
      const left = deadline - Date.now();
      if (left <= 0 || error instanceof TlsError) {
        const tries = attempts > 1 ? ` (${attempts} attempts over ${retry / 1000} s)` : "";
        const pin = await pinInstead(error, caCerts);
        throw new Error(
          `Cannot connect to ${formatAddress({ hostname, port })}: ${
            describeError(error)
          }${pin}${tries}`,
          { cause: error },
        );
      }
      const pause = Math.min(wait, left);
      options.onConnectEvent?.({
        type: "retry",
        attempt: attempts,
        error: describeError(error),
        wait: pause,
      });
      await new Promise<void>((resolve) => after(pause, resolve));
      wait = Math.min(wait * 2, 2000);
    }
  }
}

/**
 * Where TLS refused the one certificate given as a CA because it is a
 * server's own (CA:TRUE, as `openssl req -x509` makes it), the `--pin` that
 * trusts that very certificate instead: `; or trust this very certificate
 * with --pin SHA256:...`.
 */
async function pinInstead(error: unknown, caCerts: string[]): Promise<string> {
  const cause = (error as Error)?.cause;
  if (!(error instanceof TlsError) || caCerts.length !== 1) return "";
  if (!/CaUsedAsEndEntity/.test(String((cause as Error)?.message))) return "";
  const { pemFingerprint } = await import("./fingerprint.ts");
  const fingerprint = await pemFingerprint(caCerts[0]);
  return fingerprint
    ? `; or, to trust this very certificate, replace --ca FILE with --pin ${fingerprint}`
    : "";
}

function tlsDetails(
  tls: ConnectOptions["tls"],
  conn: Conn,
): { verified: "pin" | "ca" | "system"; fingerprint?: string } | undefined {
  if (!tls) return undefined;
  if (typeof tls === "object" && tls.pin !== undefined) {
    return {
      verified: "pin",
      fingerprint: (conn as unknown as { fingerprint?: string }).fingerprint,
    };
  }
  return { verified: typeof tls === "object" && tls.caCerts?.length ? "ca" : "system" };
}

/**
 * Checks that `pem` holds a certificate authority that TLS can use: at least
 * one PEM `CERTIFICATE` block, each one readable. Throws `SyntaxError`
 * saying what is wrong. {@linkcode connect} checks its `caCerts` so; a
 * program that reads them from files can check each first, to name the file.
 *
 * @example
 * ```ts
 * import { checkCaCert } from "./sender.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => checkCaCert("not a certificate"), /holds no PEM certificate/);
 * ```
 */
export function checkCaCert(pem: string): void {
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new SyntaxError("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
  }
  try {
    // Parses the certificates as a TLS connection would, without connecting.
    Deno.createHttpClient({ caCerts: [pem] }).close();
  } catch (error) {
    const why = describeError(error).replace(/^invalid peer certificate: /, "");
    throw new SyntaxError(`it is not a valid PEM certificate (${why})`, { cause: error });
  }
}

/** The receiver's certificate was refused, or the TLS handshake failed: not worth retrying. */
class TlsError extends Error {}

/**
 * One connection attempt, TLS handshake included, within `connectTimeout`
 * (0: no limit) and, if given, before `deadline` (a `Date.now()` time).
 */
async function attempt(
  hostname: string,
  port: number,
  options: ConnectOptions,
  deadline?: number,
): Promise<Conn> {
  const tls = options.tls;
  const limit = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
  const left = deadline === undefined ? Infinity : Math.max(1, deadline - Date.now());
  const timeout = Math.min(limit > 0 ? limit : Infinity, left);
  const timer = timeout === Infinity ? undefined : expiry(timeout);
  const expired = timer?.expired ?? new Promise<"expired">(() => {});
  const within = timeout === left && !(limit > 0 && limit <= left)
    ? `the ${formatDuration(options.retry ?? 0)} of --retry`
    : formatDuration(timeout);
  try {
    const pin = typeof tls === "object" ? tls.pin : undefined;
    const connecting: Promise<Conn> = pin !== undefined
      ? connectPinned(hostname, port, pin)
      : tls
      ? Deno.connectTls({ hostname, port, caCerts: tls === true ? undefined : tls.caCerts })
      : Deno.connect({ hostname, port });
    const conn = await Promise.race([connecting, expired]);
    if (conn === "expired") {
      // The attempt goes on in the runtime: close what it may still bring.
      connecting.then((late) => late.close(), () => {});
      throw new Error(`no answer within ${within}`);
    }
    if (!("handshake" in conn)) {
      conn.setNoDelay(true);
      return conn;
    }
    let answer: unknown;
    try {
      answer = await Promise.race([conn.handshake(), expired]);
    } catch (error) {
      conn.close();
      throw new TlsError(describeHandshakeError(error), { cause: error });
    }
    if (answer === "expired") {
      conn.close();
      throw new TlsError(
        `no TLS handshake within ${within}; if the receiver does not speak TLS, drop --tls`,
      );
    }
    return conn;
  } finally {
    timer?.cancel();
  }
}

/**
 * Connects with `tls_pin.ts`, loaded only now: `node:tls` costs a sender
 * that does not pin nothing. Its handshake errors become `TlsError`s.
 */
async function connectPinned(hostname: string, port: number, pin: string): Promise<Conn> {
  const { connectPinned } = await import("./tls_pin.ts");
  try {
    return await connectPinned({ hostname, port, pin }) as unknown as Deno.TlsConn;
  } catch (error) {
    if ((error as Error)?.name !== "TlsHandshakeError") throw error;
    const words = (error as Error).message;
    throw new TlsError(
      /^the receiver/.test(words) ? `TLS: ${words}` : describeHandshakeError(error),
      { cause: error },
    );
  }
}

/**
 * Why a TLS handshake failed, in words: a peer that hangs up, resets or
 * answers with something that is not TLS is most likely a plain receiver.
 */
function describeHandshakeError(error: unknown): string {
  const words = describeError(error);
  const advice = certificateAdvice(words);
  if (advice) return `TLS handshake failed: ${advice}`;
  if (/certificate|alert|incompatible/i.test(words)) return `TLS handshake failed: ${words}`;
  const plain = error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    /corrupt message|InvalidContentType|close_notify|end of file|wrong version number|ECONNRESET/i
      .test(words);
  return plain
    ? `TLS handshake failed (${words}): the receiver does not speak TLS; drop --tls`
    : `TLS handshake failed: ${words}`;
}

/** The openssl command that makes a certificate TLS accepts for a receiver at ADDRESS. */
const GOOD_CERT = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes " +
  "-days 365 -subj /CN=HOST -addext subjectAltName=IP:ADDRESS,DNS:HOST " +
  "-addext basicConstraints=critical,CA:FALSE -keyout key.pem -out cert.pem";

/**
 * What the TLS library's certificate errors mean, with the fix; `undefined`
 * for one it does not know.
 */
function certificateAdvice(words: string): string | undefined {
  if (/CaUsedAsEndEntity/.test(words)) {
    return "the receiver's certificate is a CA certificate (basicConstraints CA:TRUE, " +
      "which openssl req -x509 sets by default), and TLS refuses one as a server's own. " +
      `Make it with CA:FALSE: ${GOOD_CERT}; or skip certificates: receive --tls, ` +
      "send --pin SHA256:... (the fingerprint receive prints)";
  }
  if (/UnknownIssuer/.test(words)) {
    return "the receiver's certificate is not signed by an authority this sender trusts: " +
      "give its certificate (or the CA that signed it) with --ca FILE, or pin it with " +
      "--pin SHA256:... (receive --tls prints it; openssl x509 -noout -fingerprint -sha256 " +
      "-in cert.pem for a file)";
  }
  const name = /not valid for name "?([^";]*)"?(?:; certificate is only valid for (.*))?/.exec(
    words,
  );
  if (name || /NotValidForName/.test(words)) {
    const only = name?.[2] ? ` (it is only for ${name[2]})` : "";
    return `the receiver's certificate is not for the name or address it was reached at` +
      `${name?.[1] ? `, ${name[1]}` : ""}${only}: connect with a name it holds, make it ` +
      `with subjectAltName=IP:ADDRESS,DNS:HOST (${GOOD_CERT}), or pin it with --pin SHA256:...`;
  }
  if (/Expired|NotValidYet/i.test(words)) {
    return `the receiver's certificate is ${
      /Expired/i.test(words) ? "expired" : "not valid yet (check both clocks)"
    }: make a new one (${GOOD_CERT})`;
  }
  return undefined;
}

/**
 * Joins frames into one batch, to be written with one write: a small message
 * then leaves in one TCP segment.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./framing.ts";
 * import { batchFrames } from "./sender.ts";
 * import assert from "node:assert/strict";
 *
 * const batch = batchFrames([encodeFrame(1), encodeFrame("two")]);
 * assert.equal(batch.messages, 2);
 * assert.equal(new TextDecoder().decode(batch.data), '1\n15\n"two"');
 * ```
 */
export function batchFrames(frames: Uint8Array[]): FrameBatch {
  let length = 0;
  for (const frame of frames) length += frame.length;
  const data = new Uint8Array(length);
  let offset = 0;
  for (const frame of frames) {
    data.set(frame, offset);
    offset += frame.length;
  }
  return { data, messages: frames.length };
}

/**
 * Connects to a receiver and writes every batch of frames, in order, then
 * closes the connection. Errors of the source are passed on as they are,
 * after what came before them was sent.
 *
 * The connection is watched from the first byte to the end. A receiver that
 * closes it before the sender has finished is never taken for one that read
 * everything: `send` rejects with a {@linkcode DeliveryError} that counts
 * the messages the receiver may have missed, unless the receiver said (in
 * its close notice, `close_notice.ts`) that it printed every message written
 * and closed for a reason not theirs (idle, stopping): then the rest goes
 * over a new connection (within `retry`, or one attempt), and `onEvent` is
 * told. A write the receiver takes nothing of for `writeTimeout` fails.
 *
 * Without `ack`, after the last write it closes its sending side and waits
 * (up to `closeTimeout`) for the receiver to close the connection: a
 * receiver that resets it instead closed it with data unread, and `send`
 * rejects. A receiver that keeps the connection open is not an error. With
 * `ack` it resolves once the receiver has confirmed every message, which is
 * the only proof that each one was printed; acknowledgements out of order or
 * for messages not yet sent are refused.
 *
 * A plain connection whose receiver answers with TLS rejects, saying so.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./framing.ts";
 * import { batchFrames, send } from "./sender.ts";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const sent = send([batchFrames([encodeFrame("Hello World!")])], { port: listener.addr.port });
 * const conn = await listener.accept();
 * const received = await new Response(conn.readable).text();
 * listener.close();
 * assert.equal(received, '14\n"Hello World!"');
 * assert.equal((await sent).bytes, 17);
 * ```
 */
export async function send(
  source: Iterable<FrameBatch> | AsyncIterable<FrameBatch>,
  options: SendOptions = {},
): Promise<SendResult> {
  checkWhole("send", { name: "port", value: options.port, min: 1, max: 65535 });
  for (const name of ["retry", "connectTimeout", "ackTimeout", "writeTimeout", "closeTimeout"]) {
    checkDuration("send", { name, value: options[name as keyof SendOptions] as number });
  }
  const linkOptions: LinkOptions = {
    ack: options.ack ?? false,
    ackTimeout: options.ackTimeout ?? DEFAULT_ACK_TIMEOUT,
    writeTimeout: options.writeTimeout ?? DEFAULT_WRITE_TIMEOUT,
  };
  const first = await connect(options);
  const peer = formatAddress(first.remoteAddr);
  let link = new Link(first, peer, linkOptions);
  const result: SendResult = { messages: 0, bytes: 0, peer, connections: 1 };
  if (linkOptions.ack) result.acknowledged = 0;
  /** Messages sent on earlier connections: all of them printed, or `send` would have stopped. */
  let before = 0;
  const reconnect = async (notice: CloseNotice | undefined, why: string) => {
    link.close();
    await link.reading;
    before += link.written;
    let conn;
    try {
      conn = await connect(options);
    } catch (error) {
      const sent = `${plural(before, "message")} sent and printed`;
      throw new DeliveryError(
        `${why}, and a new connection failed: ${describeError(error)} (${sent}; ` +
          "nothing after it was sent)",
        { sent: before, confirmed: before, notice, cause: error },
      );
    }
    link = new Link(conn, peer, linkOptions);
    result.connections++;
    options.onEvent?.({
      type: "reconnect",
      message: `${why}; sending the rest over a new connection to ${peer}`,
      notice,
    });
  };
  try {
    for await (const batch of source) {
      let { data, messages } = batch;
      while (true) {
        if (link.closed) {
          // The receiver closed the connection between batches.
          const resume = resumable(link, { retry: options.retry ?? 0, pending: 0 });
          if (resume === undefined) throw delivery(link, result, before);
          await reconnect(link.notice, resume);
        }
        try {
          await link.write(data, messages);
          break;
        } catch (error) {
          // What the receiver said as it went comes a moment after.
          await link.until(() => false, 500);
          if (link.tlsAnswer) throw link.tlsAnswer;
          const printed = link.notice?.messages ?? -1;
          const resume = resumable(link, { retry: 0, pending: messages });
          if (resume === undefined) throw delivery(link, result, before, error);
          // The first of this batch's messages that the receiver printed are sent.
          const skip = Math.max(0, printed - link.written);
          const offset = frameOffset(data, skip);
          result.messages += skip;
          result.bytes += offset;
          link.written += skip;
          data = data.subarray(offset);
          messages -= skip;
          if (linkOptions.ack) result.acknowledged = before + link.acked;
          await reconnect(link.notice, resume);
        }
      }
      result.messages += messages;
      result.bytes += data.length;
      if (linkOptions.ack) result.acknowledged = before + link.acked;
      options.onProgress?.(result);
    }
    if (linkOptions.ack) await finishAcknowledged(link, result, before);
    else await finishPlain(link, result, before, options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT);
  } finally {
    link.close();
    await link.reading;
  }
  return result;
}

/** Options for {@linkcode resumable}. */
interface ResumableOptions {
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
function resumable(link: Link, options: ResumableOptions): string | undefined {
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
function delivery(link: Link, result: SendResult, before: number, cause?: unknown): Error {
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
async function finishAcknowledged(link: Link, result: SendResult, before: number): Promise<void> {
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
async function finishPlain(
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
function frameOffset(data: Uint8Array, count: number): number {
  let pos = 0;
  for (let k = 0; k < count; k++) {
    let length = 0;
    while (data[pos] !== 0x0a) length = length * 10 + data[pos++] - 0x30;
    pos += 1 + length;
  }
  return pos;
}
/**
 * A promise of `"expired"` after `ms`, until cancelled: with `after`, so
 * that a send does not load Deno's timers module, and can end without
 * waiting for it.
 */
function expiry(ms: number): { expired: Promise<"expired">; cancel(): void } {
  let timer: Timer | undefined;
  const expired = new Promise<"expired">((resolve) => timer = after(ms, () => resolve("expired")));
  return { expired, cancel: () => timer!.cancel() };
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
