/**
 * Connecting to NATS for framecat: the address's servers, user and
 * password, a credentials file or TLS; reconnecting for ever with backoff
 * once connected; and every failure said in words, in one line.
 *
 * @example
 * ```ts
 * import { describeNatsError } from "./connection.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(describeNatsError(new Error("Authorization Violation"), "nats://h:4222/s"),
 *   "NATS at nats://h:4222/s refused the credentials (authorization violation): " +
 *     "give nats://user:pass@HOST:PORT/SUBJECT or --nats-creds FILE");
 * ```
 *
 * @module
 */

import { describeError } from "../errors.ts";
import { loadNatsClient, type NatsConnection, type NodeConnectionOptions } from "./deps.ts";
import type { NatsTarget } from "./target.ts";

/** Options for {@linkcode connectNats}. */
export interface ConnectNatsOptions {
  /** The text of a NATS credentials file (a user JWT and its NKey seed). */
  creds?: string;
  /** Trust these certificate authorities (PEM text) for `tls://`, instead of the system's. */
  caCerts?: string[];
  /** Give up on the first connection after this many milliseconds. Defaults to 5 s. */
  timeout?: number;
  /** The connection's name, as NATS's monitoring shows it. Defaults to `framecat`. */
  name?: string;
  /** Told, in words, when the connection is lost and when it is back. */
  onStatus?: (line: string) => void;
}

/** How long the first connection may take, by default: 5 s. */
export const DEFAULT_NATS_TIMEOUT = 5_000;

/** The shortest and longest wait between reconnection attempts: 0.1 s doubling to 2 s. */
const BACKOFF = { first: 100, last: 2_000 };

/**
 * Connects to the servers of `target`. Once connected, the connection is
 * kept: lost, it is tried again for ever, waiting 0.1 s doubling to 2 s
 * between attempts, and the cluster's other servers (which NATS announces)
 * are tried too. Rejects with one line that says why the first connection
 * failed ({@linkcode describeNatsError}).
 *
 * @example
 * ```ts
 * import { connectNats } from "./connection.ts";
 * import { parseNatsTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * listener.close();
 * const target = parseNatsTarget(`nats://127.0.0.1:${listener.addr.port}/s`);
 * await assert.rejects(connectNats(target), /NATS is not reachable at .*connection refused/);
 * ```
 */
export async function connectNats(
  target: NatsTarget,
  options: ConnectNatsOptions = {},
): Promise<NatsConnection> {
  const { transport } = await loadNatsClient();
  let attempts = 0;
  const settings: NodeConnectionOptions = {
    servers: target.servers,
    name: options.name ?? "framecat",
    timeout: options.timeout ?? DEFAULT_NATS_TIMEOUT,
    maxReconnectAttempts: -1,
    reconnectTimeWait: BACKOFF.first,
    reconnectJitter: 50,
    reconnectDelayHandler: () => Math.min(BACKOFF.last, BACKOFF.first * 2 ** attempts++),
    pingInterval: 10_000,
    maxPingOut: 2,
  };
  if (target.user !== undefined) settings.user = target.user;
  if (target.pass !== undefined) settings.pass = target.pass;
  if (options.creds !== undefined) {
    settings.authenticator = transport.credsAuthenticator(new TextEncoder().encode(options.creds));
  }
  // A server that requires TLS gets it even from nats://, verified the same way.
  if (options.caCerts) settings.tls = { ca: options.caCerts.join("\n") };
  else if (target.tls) settings.tls = {};
  guardSocketResets();
  let nc: NatsConnection;
  try {
    nc = await transport.connect(settings);
  } catch (error) {
    throw new Error(describeNatsError(error, target.display), { cause: error });
  }
  (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") {
        options.onStatus?.(`NATS connection to ${status.server} lost; reconnecting`);
      } else if (status.type === "reconnect") {
        attempts = 0;
        options.onStatus?.(`NATS connection back, to ${status.server}`);
      }
    }
  })().catch(() => {});
  return nc;
}

let guarded = false;

/**
 * The npm client's Node.js socket can raise `read ECONNRESET` after the
 * client has already given the connection up (NATS closes it at once after
 * refusing credentials): nobody listens for it any more, and Deno would end
 * the process with a stack trace over an error already said in words.
 * Once NATS is used, such an uncaught error of a Node.js socket read is
 * dropped; framecat's own connections are Deno's, and raise no such event.
 */
function guardSocketResets(): void {
  if (guarded) return;
  guarded = true;
  globalThis.addEventListener("error", (event) => {
    const error = event.error as { code?: unknown; syscall?: unknown } | undefined;
    if (error?.code === "ECONNRESET" && error.syscall === "read") event.preventDefault();
  });
}

/**
 * Says in one line what a NATS failure means for `display` (the address,
 * without its password): unreachable, credentials needed or refused, TLS,
 * no JetStream; other errors in their own words.
 *
 * @example
 * ```ts
 * import { describeNatsError } from "./connection.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new Error("jetstream is not enabled");
 * error.name = "JetStreamNotEnabled";
 * assert.equal(describeNatsError(error, "nats://h:4222/s"),
 *   "NATS at nats://h:4222/s has no JetStream: start nats-server with -js " +
 *     "(or enable JetStream for this account)");
 * ```
 */
export function describeNatsError(error: unknown, display: string): string {
  const said = describeError(error);
  if (error instanceof Error && error.name === "StreamError") return said;
  const name = error instanceof Error ? error.name : "";
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : "";
  if (name === "JetStreamNotEnabled" || /jetstream is not enabled/i.test(said)) {
    return `NATS at ${display} has no JetStream: start nats-server with -js ` +
      "(or enable JetStream for this account)";
  }
  if (name === "AuthorizationError" || /authorization violation/i.test(said)) {
    return `NATS at ${display} refused the credentials (authorization violation): ` +
      "give nats://user:pass@HOST:PORT/SUBJECT or --nats-creds FILE";
  }
  if (/authentication expired|user authentication/i.test(said)) {
    return `NATS at ${display} refused the credentials (${said})`;
  }
  if (/does not support 'tls'/i.test(said)) {
    return `NATS at ${display} does not speak TLS: use nats:// rather than tls://`;
  }
  if (/requires tls|tls required/i.test(said)) {
    return `NATS at ${display} requires TLS: use tls://HOST:PORT/SUBJECT`;
  }
  if (/certificate|self.signed|tls|ssl/i.test(said + " " + cause)) {
    const words = cause || said;
    const hint = /certificate/i.test(words) ? " (--nats-ca FILE trusts its authority)" : "";
    return `TLS to NATS at ${display} failed: ${words}${hint}`;
  }
  if (/connection refused|ECONNREFUSED/i.test(said + " " + cause)) {
    return `NATS is not reachable at ${display}: connection refused (is nats-server running?)`;
  }
  if (name === "ConnectionError" || name === "TimeoutError") {
    return `NATS is not reachable at ${display}: ${cause || said}`;
  }
  return `NATS at ${display}: ${said}`;
}
