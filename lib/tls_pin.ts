/**
 * TLS to a receiver whose certificate is known by its SHA-256 fingerprint
 * (`SHA256:70:6E:...`), as ssh knows hosts and ncat pins certificates: no
 * certificate authority, no name to match, no file to copy.
 *
 * Deno's own `Deno.connectTls` verifies only against certificate
 * authorities and has no hook to verify otherwise, so this connects with
 * `node:tls` (loaded about 20 ms later than Deno's own TLS, so a sender
 * loads this module only when it pins), accepts whatever certificate comes,
 * and keeps the connection only if the certificate's fingerprint is the
 * pinned one, before a byte is written.
 *
 * @example
 * ```ts ignore
 * import { connectPinned } from "./tls_pin.ts";
 *
 * const conn = await connectPinned({ hostname: "127.0.0.1", port: 1234, pin: "SHA256:70:6E:..." });
 * await conn.write(new TextEncoder().encode('14\n"Hello World!"'));
 * conn.close();
 * ```
 *
 * @module
 */

import tls from "node:tls";
import { isIP } from "node:net";
import { normalizePin } from "./fingerprint.ts";
import { ChunkQueue } from "./chunk_queue.ts";

/** Options for {@linkcode connectPinned}. */
export interface ConnectPinnedOptions {
  /** The receiver's name or address, IPv6 without brackets. */
  hostname: string;
  /** Its port. */
  port: number;
  /** The SHA-256 fingerprint its certificate must have, as {@linkcode normalizePin} reads it. */
  pin: string;
}

/**
 * The TLS handshake failed, or the certificate is not the pinned one: not
 * worth trying again.
 */
export class TlsHandshakeError extends Error {
  /** Makes one, named so that a caller that loaded this module lazily can tell it. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TlsHandshakeError";
  }
}

/**
 * A TLS connection whose certificate matched the pin, read and written like
 * a `Deno.TlsConn` (the parts a sender uses: `read`, `write`, `closeWrite`,
 * `close`, `handshake`, `setNoDelay`, `remoteAddr`, `localAddr`).
 *
 * @example
 * ```ts ignore
 * import { connectPinned } from "./tls_pin.ts";
 *
 * const conn = await connectPinned({ hostname: "::1", port: 1234, pin: "SHA256:..." });
 * console.log(conn.fingerprint);
 * conn.close();
 * ```
 */
export class PinnedConn {
  /** The receiver's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** This end's address. */
  readonly localAddr: Deno.NetAddr;
  /** The certificate's SHA-256 fingerprint, `SHA256:` and colon-separated hex. */
  readonly fingerprint: string;
  #socket: tls.TLSSocket;
  /** What the receiver sent back, decrypted; the socket pauses past its high-water mark. */
  #queue: ChunkQueue;

  /** Wraps a connected, checked socket. */
  constructor(socket: tls.TLSSocket, fingerprint: string) {
    this.#socket = socket;
    this.fingerprint = fingerprint;
    this.remoteAddr = address(socket.remoteAddress, socket.remotePort);
    this.localAddr = address(socket.localAddress, socket.localPort);
    const queue = this.#queue = new ChunkQueue({
      onDrained: () => {
        if (socket.isPaused()) socket.resume();
      },
    });
    socket.on("data", (chunk: Uint8Array) => {
      if (queue.push(chunk)) socket.pause();
    });
    socket.on("end", () => queue.end());
    socket.on("error", (error: Error & { code?: string }) => queue.fail(nodeError(error)));
    socket.on("close", () => queue.end());
  }

  /** The handshake is done before the connection is handed out. */
  handshake(): Promise<{ alpnProtocol: null }> {
    return Promise.resolve({ alpnProtocol: null });
  }

  /** Turns Nagle's algorithm off (or on). */
  setNoDelay(noDelay = true): void {
    this.#socket.setNoDelay(noDelay);
  }

  /** Reads decrypted bytes into `p`; `null` at the end of the stream. */
  read(p: Uint8Array): Promise<number | null> {
    return this.#queue.read(p);
  }

  /** Encrypts and writes all of `p`; resolves once the socket took it. */
  write(p: Uint8Array): Promise<number> {
    if (this.#queue.error) return Promise.reject(this.#queue.error);
    if (this.#queue.closed) {
      return Promise.reject(new Deno.errors.BadResource("the connection is closed"));
    }
    return new Promise((resolve, reject) => {
      this.#socket.write(p.slice(), (error?: Error | null) => {
        if (error) reject(nodeError(error));
        else resolve(p.length);
      });
    });
  }

  /** Closes the sending side (a TLS close_notify, then a TCP FIN). */
  closeWrite(): Promise<void> {
    return new Promise((resolve) => this.#socket.end(() => resolve()));
  }

  /** Closes the connection at once. */
  close(): void {
    if (this.#queue.closed) return;
    this.#queue.close();
    this.#socket.destroy();
  }
}

/**
 * Connects with TLS and keeps the connection only if the receiver's
 * certificate has the pinned SHA-256 fingerprint. A refused or unreachable
 * connection rejects with the `Deno.errors` class Deno's own `connect`
 * would; a failed handshake or another certificate with a
 * {@linkcode TlsHandshakeError} that says which certificate came.
 *
 * @example
 * ```ts ignore
 * import { connectPinned } from "./tls_pin.ts";
 *
 * const conn = await connectPinned({ hostname: "127.0.0.1", port: 1234, pin: "SHA256:..." });
 * conn.close();
 * ```
 */
export function connectPinned(options: ConnectPinnedOptions): Promise<PinnedConn> {
  const pin = normalizePin(options.pin);
  const { hostname, port } = options;
  return new Promise((resolve, reject) => {
    let connected = false;
    const socket = tls.connect({
      host: hostname,
      port,
      rejectUnauthorized: false,
      // A name is sent only for names; IP addresses have none (RFC 6066).
      servername: isIP(hostname) ? undefined : hostname,
    });
    socket.once("connect", () => connected = true);
    socket.once("error", (error: Error & { code?: string }) => {
      socket.destroy();
      reject(
        connected
          ? new TlsHandshakeError(handshakeWords(error), { cause: error })
          : nodeError(error),
      );
    });
    socket.once("secureConnect", () => {
      const got = socket.getPeerCertificate()?.fingerprint256;
      const fingerprint = got ? `SHA256:${got.toUpperCase()}` : "";
      if (!got || normalizePin(fingerprint) !== pin) {
        socket.destroy();
        reject(
          new TlsHandshakeError(
            got
              ? `the receiver's certificate is ${fingerprint}, not the pinned ` +
                `${formatPin(pin)}: refusing it (another receiver, or one that made a new ` +
                "certificate: check the fingerprint it printed)"
              : "the receiver sent no certificate",
          ),
        );
        return;
      }
      socket.setNoDelay(true);
      socket.removeAllListeners("error");
      resolve(new PinnedConn(socket, fingerprint));
    });
  });
}

function formatPin(hex: string): string {
  return "SHA256:" + hex.match(/../g)!.join(":").toUpperCase();
}

function address(hostname: string | undefined, port: number | undefined): Deno.NetAddr {
  return { transport: "tcp", hostname: hostname ?? "", port: port ?? 0 };
}

function handshakeWords(error: Error): string {
  return error.message.replace(
    /^Client network socket disconnected before secure TLS connection was established$/,
    "end of file",
  );
}

/** A `node:net` error as the `Deno.errors` class Deno's own connect gives. */
function nodeError(error: Error & { code?: string }): Error {
  const kinds: Record<string, new (message: string, options?: ErrorOptions) => Error> = {
    ECONNREFUSED: Deno.errors.ConnectionRefused,
    ECONNRESET: Deno.errors.ConnectionReset,
    ECONNABORTED: Deno.errors.ConnectionAborted,
    EPIPE: Deno.errors.BrokenPipe,
    ETIMEDOUT: Deno.errors.TimedOut,
    EADDRNOTAVAIL: Deno.errors.AddrNotAvailable,
    ENOTCONN: Deno.errors.NotConnected,
  };
  const kind = error.code ? kinds[error.code] : undefined;
  if (kind) return new kind(error.message, { cause: error });
  if (error.code === "ENOTFOUND" || error.code === "EAI_AGAIN") {
    return new Error(`failed to lookup address information: ${error.message}`, { cause: error });
  }
  return error;
}
