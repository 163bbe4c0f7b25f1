/**
 * The JetStream stream framecat publishes to or reads from: found by name
 * or by subject, created when missing (for publishing), and checked to take
 * the subject.
 *
 * @example
 * ```ts
 * import { DEFAULT_STREAM } from "./stream.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_STREAM, "FRAMECAT");
 * ```
 *
 * @module
 */

import type { JetStreamManager, StreamInfo } from "./deps.ts";
import { subjectCovered } from "./subjects.ts";

/** A stream that is missing, or does not take the subject: its message says so in words. */
export class StreamError extends Error {
  /** Makes the error. */
  constructor(message: string) {
    super(message);
    this.name = "StreamError";
  }
}

/** The stream's name when none is given and no stream takes the subject yet. */
export const DEFAULT_STREAM = "FRAMECAT";

/** Options for {@linkcode ensureStream} and {@linkcode findStream}. */
export interface StreamOptions {
  /** The subject to publish to, or to read (a filter). */
  subject: string;
  /** `--stream`: the stream's name; without it, the stream that takes the subject. */
  stream?: string;
  /** With `ensureStream`: replicas of a stream it creates (a cluster's R3). Defaults to 1. */
  replicas?: number;
}

/**
 * The name of the stream to publish `subject` to: `stream` if given (created
 * with subjects [subject] when missing), else the stream that already takes
 * the subject, else {@linkcode DEFAULT_STREAM}, created. Throws, in words,
 * when the stream exists and does not take the subject, or cannot be made.
 *
 * @example Needs a nats-server with JetStream
 * ```ts ignore
 * import { connect } from "npm:@nats-io/transport-node@3.4.0";
 * import { jetstreamManager } from "npm:@nats-io/jetstream@3.4.0";
 * import { ensureStream } from "./stream.ts";
 *
 * const nc = await connect({ servers: "127.0.0.1:4222" });
 * console.log(await ensureStream(await jetstreamManager(nc), { subject: "orders.new" }));
 * await nc.close();
 * ```
 */
export async function ensureStream(
  jsm: JetStreamManager,
  options: StreamOptions,
): Promise<string> {
  const { subject } = options;
  let name = options.stream;
  if (name === undefined) {
    const found = await streamForSubject(jsm, subject);
    if (found !== undefined) return found;
    name = DEFAULT_STREAM;
  }
  let info = await streamInfo(jsm, name);
  if (info === undefined) {
    try {
      await jsm.streams.add({
        name,
        subjects: [subject],
        storage: "file",
        num_replicas: options.replicas ?? 1,
      });
      return name;
    } catch (error) {
      // Another receiver may have made it at the same moment.
      info = await streamInfo(jsm, name);
      if (info === undefined) {
        throw new Error(
          `cannot create JetStream stream ${name} for subject ${subject}: ${
            (error as Error).message
          }`,
          { cause: error },
        );
      }
    }
  }
  checkCovers(info, subject);
  return name;
}

/**
 * The name of the existing stream to read `subject` from: `stream` if given
 * (checked to take the subject), else the one that takes it. Throws, in
 * words, when there is none.
 *
 * @example Needs a nats-server with JetStream
 * ```ts ignore
 * import { connect } from "npm:@nats-io/transport-node@3.4.0";
 * import { jetstreamManager } from "npm:@nats-io/jetstream@3.4.0";
 * import { findStream } from "./stream.ts";
 *
 * const nc = await connect({ servers: "127.0.0.1:4222" });
 * console.log(await findStream(await jetstreamManager(nc), { subject: "orders.>" }));
 * await nc.close();
 * ```
 */
export async function findStream(
  jsm: JetStreamManager,
  options: StreamOptions,
): Promise<string> {
  const { subject, stream } = options;
  if (stream !== undefined) {
    const info = await streamInfo(jsm, stream);
    if (info === undefined) throw new StreamError(`JetStream has no stream ${stream}`);
    checkCovers(info, subject);
    return stream;
  }
  const found = await streamForSubject(jsm, subject);
  if (found === undefined) {
    throw new StreamError(
      `JetStream has no stream for subject ${subject}: run framecat receive --to first, ` +
        "or name one with --stream",
    );
  }
  return found;
}

/** The stream whose subjects take `subject`, if one does. */
async function streamForSubject(
  jsm: JetStreamManager,
  subject: string,
): Promise<string | undefined> {
  for await (const info of jsm.streams.list(subject)) {
    if (subjectCovered(subject, info.config.subjects ?? [])) return info.config.name;
  }
  return undefined;
}

/** The stream's description, or undefined where it does not exist. */
async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if ((error as Error).name === "StreamNotFoundError") return undefined;
    throw error;
  }
}

function checkCovers(info: StreamInfo, subject: string): void {
  const subjects = info.config.subjects ?? [];
  if (!subjectCovered(subject, subjects)) {
    throw new StreamError(
      `JetStream stream ${info.config.name} does not take subject ${subject} (its subjects: ${
        subjects.join(", ") || "none"
      }): add it to the stream, or name another with --stream`,
    );
  }
}
