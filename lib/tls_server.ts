/**
 * The server side of TLS over an accepted TCP connection, that can always be
 * closed. (In Deno 2.9.6 closing a `Deno.TlsConn` accepted by
 * `Deno.listenTls` whose handshake has not finished leaves its socket open;
 * here the TCP connection stays ours, and closing closes it.)
 *
 * @example
 * ```ts ignore
 * import { TlsServerConn, tlsContext } from "./tls_server.ts";
 *
 * const context = tlsContext({ cert: "...", key: "..." });
 * const listener = Deno.listen({ port: 8443 });
 * const conn = new TlsServerConn(await listener.accept(), context);
 * const buf = new Uint8Array(1024);
 * console.log(await conn.read(buf));
 * conn.close();
 * ```
 *
 * @module
 */

import { Duplex } from "node:stream";
import tls from "node:tls";
import { checkServerCert, type ServerCertOptions } from "./server_cert.ts";
import { ChunkQueue } from "./chunk_queue.ts";
import { writeAll } from "./io.ts";

/** Options for {@linkcode tlsContext}: PEM text. */
export type TlsContextOptions = ServerCertOptions;

/** Certificate and key, checked once, for every {@linkcode TlsServerConn}. */
export type TlsContext = tls.SecureContext;

/**
 * Reads a certificate chain and its key; throws `SyntaxError`, saying which,
 * when they cannot be used.
 *
 * @example
 * ```ts
 * import { tlsContext } from "./tls_server.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => tlsContext({ cert: "not a certificate", key: "" }), SyntaxError);
 * ```
 */
export function tlsContext(options: TlsContextOptions): TlsContext {
  checkServerCert(options);
  return tls.createSecureContext({ cert: options.cert, key: options.key });
}

/** A TLS record: a fatal alert, unexpected_message. */
const UNEXPECTED_MESSAGE_ALERT = new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a]);

/** Read from the TCP connection at most this much at a time. */
const READ_SIZE = 64 * 1024;

/**
 * A TLS connection accepted by a server, read and written like a
 * `Deno.Conn`. The handshake happens as the first bytes are read.
 *
 * @example
 * ```ts ignore
 * import { TlsServerConn, tlsContext } from "./tls_server.ts";
 *
 * const listener = Deno.listen({ port: 8443 });
 * const conn = new TlsServerConn(await listener.accept(), tlsContext({ cert: "", key: "" }));
 * await conn.write(new TextEncoder().encode("hello"));
 * conn.close();
 * ```
 */
export class TlsServerConn {
  /** The peer's address. */
  readonly remoteAddr: Deno.NetAddr;
  #tcp: Deno.TcpConn;
  #socket: tls.TLSSocket;
  /** Decrypted bytes not yet read; past its high-water mark the peer is not read. */
  #queue: ChunkQueue = new ChunkQueue({
    onDrained: () => {
      const pull = this.#pull;
      this.#pull = undefined;
      pull?.();
    },
  });
  #secure = false;
  #closeTcp: () => void;
  /** The transport's next read of the peer, held while decrypted bytes wait unread. */
  #pull: (() => void) | undefined;

  /** Serves TLS on `tcp` with `context`. */
  constructor(tcp: Deno.TcpConn, context: TlsContext) {
    this.#tcp = tcp;
    this.remoteAddr = tcp.remoteAddr;
    const buf = new Uint8Array(READ_SIZE);
    // The TCP connection is closed only once an alert being written is out.
    let alerting: Promise<unknown> = Promise.resolve();
    let first = true;
    const closeTcp = () =>
      alerting.finally(() => {
        try {
          tcp.close();
        } catch {
          // Closed already.
        }
      });
    this.#closeTcp = closeTcp;
    // While decrypted bytes pile up unread, the peer is read again only once
    // they are taken (pausing the TLS socket does not stop its reads).
    const held = (pull: () => void): boolean => {
      if (!this.#queue.full) return false;
      this.#pull = pull;
      return true;
    };
    const transport = new Duplex({
      read(): void {
        const pull = () =>
          tcp.read(buf).then(
            (n) => {
              if (first && n !== null && buf[0] !== 0x16) {
                // Not a TLS handshake record: a peer that does not speak TLS
                // (a plain framecat send) gets a fatal alert, so that it can
                // say what is wrong, before the TLS layer ends the connection.
                alerting = writeAll(tcp, UNEXPECTED_MESSAGE_ALERT).catch(() => {});
              }
              first = false;
              this.push(n === null ? null : buf.slice(0, n));
            },
            (error) => this.destroy(error),
          );
        if (!held(pull)) pull();
      },
      write(chunk: Uint8Array, _encoding, done): void {
        writeAll(tcp, chunk).then(() => done(), done);
      },
      final(done): void {
        tcp.closeWrite().then(() => done(), () => done());
      },
      destroy(error, done): void {
        closeTcp();
        done(error);
      },
    });
    const socket = this.#socket = new tls.TLSSocket(transport, {
      isServer: true,
      secureContext: context,
    });
    socket.on("data", (chunk: Uint8Array) => void this.#queue.push(chunk));
    socket.on("end", () => this.#queue.end());
    socket.on("secure", () => this.#secure = true);
    socket.on("error", (error: Error) => {
      const plain = !this.#secure && /wrong version number|InvalidContentType/.test(error.message);
      const why = plain
        ? "the peer does not speak TLS (a framecat sender needs --tls)"
        : error.message;
      this.#queue.fail(new Error(`TLS failed: ${why}`, { cause: error }));
    });
    socket.on("close", () => this.#queue.end());
  }

  /** Turns Nagle's algorithm off (or on) for the TCP connection. */
  setNoDelay(noDelay = true): void {
    this.#tcp.setNoDelay(noDelay);
  }

  /** Reads decrypted bytes into `p`; `null` at the end of the stream. */
  read(p: Uint8Array): Promise<number | null> {
    return this.#queue.read(p);
  }

  /** Encrypts and writes all of `p`. */
  write(p: Uint8Array): Promise<number> {
    if (this.#queue.error) return Promise.reject(this.#queue.error);
    return new Promise((resolve, reject) => {
      this.#socket.write(p.slice(), (error?: Error | null) => {
        if (error) reject(error);
        else resolve(p.length);
      });
    });
  }

  /** Closes the connection, and its socket, at once, handshake finished or not. */
  close(): void {
    if (this.#queue.closed) return;
    this.#queue.close();
    this.#socket.destroy();
    this.#closeTcp();
  }
}
