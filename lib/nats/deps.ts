/**
 * The NATS client framecat uses, pinned in one place: `@nats-io/transport-node`
 * (connections; runs under Deno through `npm:`) and `@nats-io/jetstream`.
 *
 * Their specifiers are not literals, so that `deno run main.ts` neither
 * resolves nor fetches them for a command that does not use NATS (Deno
 * prepares every package a literal dynamic import names before it runs
 * anything): they are loaded by {@linkcode loadNatsClient}, the first time
 * NATS is asked for. Only types are imported statically. (`deno compile`
 * includes them by name: `tools/compile.ts`.)
 *
 * @example Loaded on first use (fetched from npm if Deno's cache lacks them)
 * ```ts ignore
 * import { loadNatsClient } from "./deps.ts";
 *
 * const { transport } = await loadNatsClient();
 * console.log(typeof transport.connect); // "function"
 * ```
 *
 * @module
 */

import type * as Transport from "npm:@nats-io/transport-node@3.4.0";
import type * as JetStream from "npm:@nats-io/jetstream@3.4.0";

export type {
  Msg,
  MsgHdrs,
  NatsConnection,
  NodeConnectionOptions,
} from "npm:@nats-io/transport-node@3.4.0";
export type {
  Consumer,
  JetStreamClient,
  JetStreamManager,
  JsMsg,
  PubAck,
  StreamInfo,
} from "npm:@nats-io/jetstream@3.4.0";

/** The npm packages, by exact version. */
export const NATS_PACKAGES = {
  transport: "npm:@nats-io/transport-node@3.4.0",
  jetstream: "npm:@nats-io/jetstream@3.4.0",
} as const;

/** The loaded client: both packages' modules. */
export interface NatsClient {
  /** `@nats-io/transport-node`: `connect`, `headers`, `credsAuthenticator`, errors. */
  transport: typeof Transport;
  /** `@nats-io/jetstream`: `jetstream`, `jetstreamManager`. */
  jetstream: typeof JetStream;
}

let loaded: Promise<NatsClient> | undefined;
let ready: NatsClient | undefined;

/**
 * Loads the NATS client's packages, once; later calls resolve at once.
 *
 * @example Loaded on first use
 * ```ts ignore
 * import { loadNatsClient } from "./deps.ts";
 *
 * const { jetstream } = await loadNatsClient();
 * console.log(typeof jetstream.jetstreamManager); // "function"
 * ```
 */
export function loadNatsClient(): Promise<NatsClient> {
  loaded ??= (async () => {
    const [transport, jetstream] = await Promise.all([
      import(NATS_PACKAGES.transport) as Promise<typeof Transport>,
      import(NATS_PACKAGES.jetstream) as Promise<typeof JetStream>,
    ]);
    ready = { transport, jetstream };
    return ready;
  })();
  return loaded;
}

/**
 * The client {@linkcode loadNatsClient} loaded; throws `Error` if it has not
 * been loaded yet (every way in, such as `connectNats`, loads it first).
 *
 * @example
 * ```ts ignore
 * import { loadNatsClient, natsClient } from "./deps.ts";
 *
 * await loadNatsClient();
 * const h = natsClient().transport.headers();
 * ```
 */
export function natsClient(): NatsClient {
  if (!ready) throw new Error("the NATS client is not loaded yet: await loadNatsClient() first");
  return ready;
}
