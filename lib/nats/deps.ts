/**
 * The NATS client framecat uses, pinned in one place: `@nats-io/transport-node`
 * (connections, which run under Deno through `npm:`) and `@nats-io/jetstream`.
 * Only `lib/nats/` loads it, and only when NATS is asked for.
 *
 * @module
 */

export {
  AuthorizationError,
  connect,
  ConnectionError,
  credsAuthenticator,
  headers,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type NodeConnectionOptions,
  RequestError,
  TimeoutError,
} from "npm:@nats-io/transport-node@3.4.0";
export {
  AckPolicy,
  type Consumer,
  DeliverPolicy,
  jetstream,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type JsMsg,
  type PubAck,
  StorageType,
  type StreamInfo,
} from "npm:@nats-io/jetstream@3.4.0";
