/**
 * Checks a server's certificate and key with Deno's own TLS, which loads in
 * no time, so that a receiver can refuse bad ones before it listens and load
 * `node:tls` (about 20 ms) only once it serves TLS.
 *
 * @module
 */

/** A certificate chain and its private key, as PEM text. */
export interface ServerCertOptions {
  /** The certificate chain. */
  cert: string;
  /** Its private key. */
  key: string;
}

/**
 * Throws `SyntaxError`, saying what is wrong, unless `options` holds a PEM
 * certificate and the private key that belongs to it.
 *
 * @example
 * ```ts
 * import { checkServerCert } from "./server_cert.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => checkServerCert({ cert: "not a certificate", key: "" }), SyntaxError);
 * ```
 */
export function checkServerCert(options: ServerCertOptions): void {
  // node:tls's createSecureContext accepts any text (Deno 2.9.6), and the
  // handshakes then fail, blaming the peer. Deno's own TLS reads the
  // certificate and the key, and checks that they belong together, at once.
  try {
    Deno.createHttpClient({ cert: options.cert, key: options.key }).close();
  } catch (error) {
    const message = (error as Error).message;
    const why = /certificate/i.test(message)
      ? "the certificate file holds no PEM certificate"
      : /No keys/i.test(message)
      ? "the key file holds no PEM private key"
      : /mismatch/i.test(message)
      ? "the private key is not the certificate's key"
      : message;
    throw new SyntaxError(`Cannot use the TLS certificate: ${why}`, { cause: error });
  }
}
