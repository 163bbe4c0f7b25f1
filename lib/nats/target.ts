/**
 * Where framecat meets NATS, written as one address:
 * `nats://[user:pass@]HOST[:PORT][,HOST[:PORT]...]/SUBJECT`, or `tls://...`
 * for TLS to NATS. Several hosts are seeds of one cluster.
 *
 * @example
 * ```ts
 * import { parseNatsTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 *
 * const target = parseNatsTarget("nats://127.0.0.1:4222/orders.new");
 * assert.deepEqual(target.servers, ["127.0.0.1:4222"]);
 * assert.equal(target.subject, "orders.new");
 * ```
 *
 * @module
 */

import { parseHostPort } from "../host_port.ts";
import { formatAddress } from "../address.ts";
import { checkSubject } from "./subjects.ts";

/** NATS's own port, when the address names none. */
export const DEFAULT_NATS_PORT = 4222;

/** A parsed NATS address; see {@linkcode parseNatsTarget}. */
export interface NatsTarget {
  /** The servers to try, `host:port` (`[::1]:4222` for IPv6). */
  servers: string[];
  /** The subject (a filter with `*` and `>` only where `wildcards` allowed it). */
  subject: string;
  /** `tls://`: connect with TLS. */
  tls: boolean;
  /** The user, from `user:pass@`. */
  user?: string;
  /** The password, from `user:pass@`. */
  pass?: string;
  /** The address as it may be shown: the password replaced by `***`. */
  display: string;
}

/** Options for {@linkcode parseNatsTarget}. */
export interface ParseNatsTargetOptions {
  /** Allow `*` and `>` in the subject (a consumer's filter); publishing needs a literal one. */
  wildcards?: boolean;
}

/**
 * Reads `nats://[user:pass@]HOST[:PORT][,HOST[:PORT]...]/SUBJECT` (or
 * `tls://`). The port defaults to {@linkcode DEFAULT_NATS_PORT}; user and
 * password are percent-decoded. Throws `SyntaxError` saying what is wrong.
 *
 * @example
 * ```ts
 * import { parseNatsTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 *
 * const target = parseNatsTarget("tls://app:s%40cret@[::1],nats2:4223/orders.*", {
 *   wildcards: true,
 * });
 * assert.deepEqual(target.servers, ["[::1]:4222", "nats2:4223"]);
 * assert.equal(target.pass, "s@cret");
 * assert.equal(target.tls, true);
 * assert.equal(target.display, "tls://app:***@[::1],nats2:4223/orders.*");
 * assert.throws(() => parseNatsTarget("nats://host/orders.*"), SyntaxError);
 * assert.throws(() => parseNatsTarget("http://host/x"), SyntaxError);
 * ```
 */
export function parseNatsTarget(text: string, options: ParseNatsTargetOptions = {}): NatsTarget {
  const scheme = /^(nats|tls):\/\//i.exec(text);
  if (!scheme) {
    throw new SyntaxError(`"${text}" is not a NATS address: nats://HOST:PORT/SUBJECT`);
  }
  const rest = text.slice(scheme[0].length);
  const slash = rest.indexOf("/");
  if (slash < 0 || slash === rest.length - 1) {
    throw new SyntaxError(`"${redact(text)}" names no subject: nats://HOST:PORT/SUBJECT`);
  }
  const authority = rest.slice(0, slash);
  const subject = decodeURIComponent(rest.slice(slash + 1));
  const at = authority.lastIndexOf("@");
  const hosts = at < 0 ? authority : authority.slice(at + 1);
  let user: string | undefined;
  let pass: string | undefined;
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(":");
    user = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
    if (colon >= 0) pass = decodeURIComponent(userinfo.slice(colon + 1));
  }
  if (hosts === "") throw new SyntaxError(`"${redact(text)}" names no host`);
  const servers = hosts.split(",").map((host) => {
    const parsed = parseHostPort(host);
    if (parsed.hostname === "") throw new SyntaxError(`"${redact(text)}" has an empty host`);
    return formatAddress({ hostname: parsed.hostname, port: parsed.port ?? DEFAULT_NATS_PORT });
  });
  checkSubject(subject, { wildcards: options.wildcards ?? false });
  const tls = scheme[1].toLowerCase() === "tls";
  return { servers, subject, tls, user, pass, display: redact(text) };
}

/** The address with its password, if any, replaced by `***`. */
function redact(text: string): string {
  return text.replace(/^([a-z]+:\/\/[^:@/]*:)[^@/]*@/i, "$1***@");
}
