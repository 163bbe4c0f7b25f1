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
import { FrameReader } from "./framing.ts";
import type { FrameBatch } from "./lines.ts";
import { writeAll } from "./line_writer.ts";

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
  /**
   * Wait for the receiver to acknowledge every message (`receive --ack`),
   * failing if an acknowledgement does not come within `ackTimeout`.
   */
  ack?: boolean;
  /** Milliseconds to wait for the next acknowledgement. Defaults to 10 s. */
  ackTimeout?: number;
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
 * Connects to a receiver and writes every batch of frames, in order, over one
 * connection, then closes it. Errors of the source are passed on as they
 * are, after what came before them was sent; a lost connection rejects with
 * an error that says how much had been sent.
 *
 * Without `ack`, after the last write it closes its sending side and waits
 * (up to `closeTimeout`) for the receiver to close the connection, reading
 * and dropping anything sent back: a receiver that closed the connection
 * with data unread resets it, and `send` rejects, since messages may be lost.
 * A receiver that keeps the connection open is not an error. With `ack` it
 * resolves once the receiver has confirmed every message, which is the only
 * proof that each one was handled.
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
  const conn = await connect(options);
  const result: SendResult = { messages: 0, bytes: 0, peer: formatAddress(conn.remoteAddr) };
  const replies = new Replies(conn, result.peer);
  const acks = options.ack ? new Acknowledgements(replies, result) : undefined;
  // Without acks, what the receiver sends back is read and dropped, so that
  // it never fills the socket's buffers, and its end is watched for.
  const ended = acks ? acks.stopped.then(() => acks.error) : drain(replies);
  try {
    for await (const batch of source) {
      try {
        await writeAll(conn, batch.data);
      } catch (error) {
        // A TLS receiver answers plain bytes with an alert before it hangs up.
        await within(ended, 500);
        if (replies.tlsAnswer) throw replies.tlsAnswer;
        throw new Error(
          `Connection to ${result.peer} lost after ${plural(result.messages, "message")}: ${
            describeError(error)
          }`,
          { cause: error },
        );
      }
      result.messages += batch.messages;
      result.bytes += batch.data.length;
      options.onProgress?.(result);
    }
    if (acks) {
      await conn.closeWrite();
      await acks.all(options.ackTimeout ?? DEFAULT_ACK_TIMEOUT);
    } else {
      await awaitClose(conn, ended, result, options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT);
    }
  } finally {
    conn.close();
    await ended;
  }
  return result;
}

/**
 * Closes the sending side, then waits up to `timeout` for the receiver to
 * close the connection (`ended` resolves, to the error reading ended with if
 * one did). A reset means the receiver closed it with data unread.
 */
async function awaitClose(
  conn: Conn,
  ended: Promise<unknown>,
  result: SendResult,
  timeout: number,
): Promise<void> {
  if (timeout <= 0) return;
  let shutdown: unknown;
  try {
    await conn.closeWrite();
  } catch (error) {
    // Only a connection already reset cannot be shut down.
    shutdown = error;
  }
  const end = await within(ended, timeout);
  if (end === "expired") return;
  if (end instanceof TlsAnswerError) throw end;
  const error = end ?? shutdown;
  // A TLS receiver that hangs up without a close_notify has still closed.
  if (error === undefined || error instanceof Deno.errors.UnexpectedEof) return;
  const sent = `${plural(result.messages, "message")} sent (${result.bytes} bytes)`;
  if (
    error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionAborted
  ) {
    throw new Error(
      `Connection to ${result.peer} reset: the receiver closed it with data unread, ` +
        `so some of the ${sent} may be lost`,
      { cause: error },
    );
  }
  throw new Error(`Connection to ${result.peer} failed after ${sent}: ${describeError(error)}`, {
    cause: error,
  });
}

/** Resolves to what `promise` resolves to, or to `"expired"` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | "expired"> {
  const deadline = expiry(ms);
  try {
    return await Promise.race([promise, deadline.expired]);
  } finally {
    deadline.cancel();
  }
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

/** A plain connection's receiver answered with TLS records. */
class TlsAnswerError extends Error {}

/**
 * What the receiver sends back. On a plain connection, a first byte that
 * starts a TLS record (an alert or a handshake, then major version 3) means
 * the receiver speaks TLS: reading then fails with a `TlsAnswerError`.
 */
class Replies {
  /** The error reading failed with, if the receiver answered with TLS. */
  tlsAnswer: TlsAnswerError | undefined;
  #conn: Conn;
  #peer: string;
  #checked: boolean;

  constructor(conn: Conn, peer: string) {
    this.#conn = conn;
    this.#peer = peer;
    this.#checked = "handshake" in conn;
  }

  async read(p: Uint8Array): Promise<number | null> {
    const n = await this.#conn.read(p);
    if (!this.#checked && n !== null && n > 0) {
      this.#checked = true;
      if ((p[0] === 0x15 || p[0] === 0x16) && (n === 1 || p[1] === 0x03)) {
        this.tlsAnswer = new TlsAnswerError(
          `Cannot send to ${this.#peer}: the receiver answered with TLS; add --tls`,
        );
        throw this.tlsAnswer;
      }
    }
    return n;
  }
}

/**
 * Reads and drops what the receiver sends back. Resolves once it closes, to
 * the error reading ended with if one did.
 */
async function drain(replies: Replies): Promise<unknown> {
  const buf = new Uint8Array(16 * 1024);
  try {
    while (await replies.read(buf) !== null) {
      // Nothing is expected back without acknowledgements.
    }
    return undefined;
  } catch (error) {
    return error;
  }
}

/** Reads `{"ack":N}` frames from the receiver while the sender writes. */
class Acknowledgements {
  readonly stopped: Promise<void>;
  #result: SendResult;
  #error: Error | undefined;
  #ended = false;
  #progress: (() => void) | undefined;

  constructor(replies: Replies, result: SendResult) {
    this.#result = result;
    result.acknowledged = 0;
    this.stopped = this.#read(replies);
  }

  /** The error reading ended with, if one did. */
  get error(): Error | undefined {
    return this.#error;
  }

  async #read(replies: Replies): Promise<void> {
    const reader = new FrameReader(replies, { maxBytes: 1024 });
    try {
      while (true) {
        const frames = await reader.readBatch();
        if (frames === null) break;
        for (const { value } of frames) {
          const next = this.#result.acknowledged! + 1;
          const n = (value as { ack?: unknown })?.ack;
          if (n !== next) {
            throw new Error(
              `expected the acknowledgement of message ${next}, got ${JSON.stringify(value)}`,
            );
          }
          this.#result.acknowledged = next;
        }
        this.#progress?.();
      }
    } catch (error) {
      this.#error = error instanceof Error ? error : new Error(String(error));
    } finally {
      this.#ended = true;
      this.#progress?.();
    }
  }

  /** Resolves once every message sent is acknowledged; rejects if one is not in time. */
  async all(timeout: number): Promise<void> {
    const result = this.#result;
    while (result.acknowledged! < result.messages) {
      const before = result.acknowledged!;
      const next = before + 1;
      if (this.#ended) {
        if (this.#error instanceof TlsAnswerError) throw this.#error;
        const why = this.#error ? describeError(this.#error) : "the receiver closed the connection";
        const hint = before === 0 ? "; does the receiver run with --ack?" : "";
        throw new Error(
          `Message ${next} was not acknowledged: ${why} (${before} of ${result.messages} confirmed${hint})`,
        );
      }
      const deadline = expiry(timeout);
      const timedOut = await Promise.race([
        new Promise<boolean>((resolve) => this.#progress = () => resolve(false)),
        deadline.expired.then(() => true),
      ]);
      deadline.cancel();
      this.#progress = undefined;
      if (timedOut && result.acknowledged === before) {
        throw new Error(
          `Message ${next} was not acknowledged within ${
            timeout / 1000
          } s (${before} of ${result.messages} confirmed; does the receiver run with --ack?)`,
        );
      }
    }
  }
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
