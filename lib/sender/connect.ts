/**
 * Connecting to a receiver: one attempt within `connectTimeout` (the TLS
 * handshake included), attempts again within `retry` with backoff, TLS
 * verified by the system's roots, a certificate authority or a pin, and the
 * failures in words with their fix.
 *
 * @module
 */

import { formatAddress, unbracket } from "../address.ts";
import { describeError } from "../errors.ts";
import { DEFAULT_PORT } from "../framing.ts";
import { after, type Timer } from "../timer.ts";
import { formatDuration } from "../units.ts";

/**
 * How long one connection attempt may take, the TLS handshake included, by
 * default: 10 s.
 */
export const DEFAULT_CONNECT_TIMEOUT = 10_000;

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  /**
   * The receiver's name or address; IPv6 with or without brackets.
   *
   * @default `127.0.0.1`
   */
  hostname?: string;
  /**
   * The receiver's port.
   *
   * @default {@linkcode DEFAULT_PORT}
   */
  port?: number;
  /**
   * Give up on one attempt after this many milliseconds, the TLS handshake
   * included; 0 never gives up.
   *
   * @default {@linkcode DEFAULT_CONNECT_TIMEOUT}. With `retry`, an attempt is also cut to what is left of it
   */
  connectTimeout?: number;
  /**
   * Keep trying for this many milliseconds, with backoff (0.1 s doubling to 2
   * s), until the receiver is up: the whole wait, attempts included, ends then.
   *
   * @default 0: one attempt
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

/** A connection to a receiver: TCP, or TLS with `tls`. */
export type Conn = Deno.TcpConn | Deno.TlsConn;

/**
 * Opens a TCP connection to a receiver, with Nagle's algorithm off so that a
 * frame written at once leaves at once. Rejects with an error that says, in
 * words, which address could not be reached and why.
 *
 * @example
 * ```ts
 * import { connect } from "../sender.ts";
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
  /** The last attempt that failed for a reason of its own, not cut by the whole wait. */
  let previous: unknown;
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
    } catch (caught) {
      // An attempt cut short by the end of the whole wait says less than
      // the one before it (connection refused, say).
      const error = caught instanceof CutByRetry && previous !== undefined ? previous : caught;
      previous = error;
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
  const { pemFingerprint } = await import("../fingerprint.ts");
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
 * import { checkCaCert } from "../sender.ts";
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

/** An attempt that got no answer before the end of the whole wait of `retry`. */
class CutByRetry extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CutByRetry";
  }
}

/** The receiver's certificate was refused, or the TLS handshake failed: not worth retrying. */
class TlsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TlsError";
  }
}

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
      const words = `no answer within ${within}`;
      throw timeout === left ? new CutByRetry(words) : new Error(words);
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
  const { connectPinned } = await import("../tls_pin.ts");
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
 * A promise of `"expired"` after `ms`, until cancelled: with `after`, so
 * that a send does not load Deno's timers module, and can end without
 * waiting for it.
 */
function expiry(ms: number): { expired: Promise<"expired">; cancel(): void } {
  let timer: Timer | undefined;
  const expired = new Promise<"expired">((resolve) => timer = after(ms, () => resolve("expired")));
  return { expired, cancel: () => timer!.cancel() };
}
