/**
 * SHA-256 fingerprints of certificates, written `SHA256:70:6E:B4:...` (the
 * hex that `openssl x509 -noout -fingerprint -sha256` prints), and pins
 * read in the ways people copy them.
 *
 * @example
 * ```ts
 * import { normalizePin } from "./fingerprint.ts";
 * import assert from "node:assert/strict";
 *
 * const hex = "ab".repeat(32);
 * assert.equal(normalizePin(`SHA256:${"AB:".repeat(31)}AB`), hex);
 * ```
 *
 * @module
 */

/**
 * Reads a pin: the 32 bytes of a SHA-256 fingerprint as hex (colons and
 * case as you like, `SHA256:` or `sha256/` before it or not) or as base64
 * (as ssh prints them). Returns lowercase hex without colons; throws
 * `SyntaxError` saying what a pin looks like.
 *
 * @example
 * ```ts
 * import { normalizePin } from "./fingerprint.ts";
 * import assert from "node:assert/strict";
 *
 * const hex = "0f".repeat(32);
 * assert.equal(normalizePin(hex.toUpperCase()), hex);
 * assert.equal(normalizePin("SHA256:" + btoa(String.fromCharCode(...new Array(32).fill(15)))), hex);
 * assert.throws(() => normalizePin("SHA1:AB:CD"), SyntaxError);
 * ```
 */
export function normalizePin(text: string): string {
  const body = text.trim().replace(/^sha-?256[:/=]?/i, "");
  const hex = body.replace(/[:\s]/g, "");
  if (/^[0-9a-f]{64}$/i.test(hex)) return hex.toLowerCase();
  if (/^[A-Za-z0-9+/]{43}=?$/.test(body)) {
    const bytes = Uint8Array.from(
      atob(body.endsWith("=") ? body : body + "="),
      (c) => c.charCodeAt(0),
    );
    return toHex(bytes);
  }
  throw new SyntaxError(
    `not a SHA-256 fingerprint: "${text}" (it looks like SHA256:70:6E:B4:..., 32 bytes in hex)`,
  );
}

/**
 * The SHA-256 fingerprint of a certificate's DER bytes, as `SHA256:` and
 * colon-separated uppercase hex.
 *
 * @example
 * ```ts
 * import { fingerprint } from "./fingerprint.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(await fingerprint(new Uint8Array([1, 2, 3])), /^SHA256:([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
 * ```
 */
export async function fingerprint(der: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der as BufferSource));
  return "SHA256:" + toHex(digest).match(/../g)!.join(":").toUpperCase();
}

/**
 * The SHA-256 fingerprint of the first certificate in PEM text (a chain's
 * first is the server's own), or `undefined` if there is none.
 *
 * @example
 * ```ts
 * import { pemFingerprint } from "./fingerprint.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await pemFingerprint("no certificate here"), undefined);
 * ```
 */
export async function pemFingerprint(pem: string): Promise<string | undefined> {
  const match = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
  if (!match) return undefined;
  try {
    const der = Uint8Array.from(atob(match[1].replace(/\s/g, "")), (c) => c.charCodeAt(0));
    return await fingerprint(der);
  } catch {
    return undefined;
  }
}

function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
