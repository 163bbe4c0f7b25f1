/**
 * A certificate made on the spot, as `ncat --ssl` makes one: a P-256 key
 * from WebCrypto and a self-signed X.509 certificate for it, valid for a
 * day, that senders verify by its fingerprint (`send --pin`) rather than by
 * a certificate authority.
 *
 * The certificate is built by `@peculiar/x509` (pinned to an exact
 * version): a maintained X.509 builder on top of WebCrypto, rather than
 * DER encoding written by hand, where one wrong length byte makes a
 * certificate that some TLS stack refuses. It is loaded only when a
 * receiver makes a certificate (`receive --tls` without `--tls-cert`), and
 * fetched from npm then if Deno's cache lacks it. (`deno compile` does not
 * see it: a compiled binary that should make certificates needs
 * `--include npm:@peculiar/x509@2.2.0 --include npm:reflect-metadata@0.2.2`.)
 *
 * @example
 * ```ts
 * import { makeSelfSigned } from "./self_signed.ts";
 * import assert from "node:assert/strict";
 *
 * const made = await makeSelfSigned();
 * assert.match(made.cert, /^-----BEGIN CERTIFICATE-----/);
 * assert.match(made.fingerprint, /^SHA256:[0-9A-F:]{95}$/);
 * ```
 *
 * @module
 */

import type * as X509 from "npm:@peculiar/x509@2.2.0";
import { fingerprint } from "./fingerprint.ts";

/**
 * The npm packages, imported when a certificate is made. Their specifiers
 * are not literals, so that `deno run main.ts` does not fetch them (printing
 * "Download ..." on a first run) for a command that makes no certificate:
 * Deno fetches what a dynamic import names with a literal before it runs
 * anything. @peculiar/x509 finds its classes with tsyringe, which needs the
 * Reflect metadata API: that is loaded first.
 */
const PACKAGES = { reflect: "npm:reflect-metadata@0.2.2", x509: "npm:@peculiar/x509@2.2.0" };

/**
 * The npm packages this module loads by computed specifiers: what
 * `deno compile` must be told to `--include`.
 *
 * @example
 * ```ts
 * import { SELF_SIGNED_PACKAGES } from "./self_signed.ts";
 *
 * console.log(SELF_SIGNED_PACKAGES.map((p) => `--include ${p}`).join(" "));
 * ```
 */
export const SELF_SIGNED_PACKAGES: readonly string[] = Object.values(PACKAGES);

async function loadX509(): Promise<typeof X509> {
  await import(PACKAGES.reflect);
  return await import(PACKAGES.x509);
}

/** Options for {@linkcode makeSelfSigned}. */
export interface MakeSelfSignedOptions {
  /**
   * Names and addresses the certificate is for (its subjectAltName), which
   * only a sender that verifies names looks at. Defaults to `localhost`,
   * `127.0.0.1` and `::1`.
   */
  names?: string[];
  /** How long it is valid, in milliseconds. Defaults to one day. */
  validFor?: number;
}

/** A certificate, its key and its fingerprint. */
export interface SelfSigned {
  /** The certificate, PEM. */
  cert: string;
  /** Its private key, PEM (PKCS #8). */
  key: string;
  /** Its SHA-256 fingerprint, `SHA256:` and colon-separated hex, for `send --pin`. */
  fingerprint: string;
}

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

/**
 * Makes a key and a self-signed certificate for it (an end entity, for TLS
 * servers: CA:FALSE, digitalSignature, serverAuth).
 *
 * @example
 * ```ts
 * import { makeSelfSigned } from "./self_signed.ts";
 * import assert from "node:assert/strict";
 *
 * const { key } = await makeSelfSigned({ names: ["db.lan", "10.0.0.7"] });
 * assert.match(key, /^-----BEGIN PRIVATE KEY-----/);
 * ```
 */
export async function makeSelfSigned(options: MakeSelfSignedOptions = {}): Promise<SelfSigned> {
  const x509 = await loadX509();
  x509.cryptoProvider.set(crypto);
  const names = options.names ?? ["localhost", "127.0.0.1", "::1"];
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const now = Date.now();
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f; // positive
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: [...serial].map((b) => b.toString(16).padStart(2, "0")).join(""),
    name: "CN=framecat receive",
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (options.validFor ?? 86_400_000)),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((name) => ({
          type: /^[\d.]+$|:/.test(name) ? "ip" as const : "dns" as const,
          value: name,
        })),
      ),
    ],
  });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return {
    cert: certificate.toString("pem") + "\n",
    key: pem("PRIVATE KEY", pkcs8),
    fingerprint: await fingerprint(new Uint8Array(certificate.rawData)),
  };
}

function pem(label: string, der: Uint8Array): string {
  let binary = "";
  for (const byte of der) binary += String.fromCharCode(byte);
  const lines = btoa(binary).match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}
