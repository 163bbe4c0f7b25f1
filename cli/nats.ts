/**
 * The NATS JetStream parts the commands use (`receive --to nats://`,
 * `consume`), in one module that only `loadNats()` (`load_nats.ts`) loads.
 *
 * @module
 */

export { parseNatsTarget } from "../lib/nats/target.ts";
export { JetStreamSink } from "../lib/nats/jetstream_sink.ts";
export { JetStreamSource } from "../lib/nats/jetstream_source.ts";
export { FramecatForwarder, jsonLines } from "../lib/nats/forward.ts";
