/**
 * `framecat consume`: read a NATS JetStream stream with a durable consumer
 * and deliver each message on, to a framecat (or seed) receiver or to
 * stdout as `receive --json` lines. The way back out of `receive --to`.
 *
 * @module
 */

import { parseHostPort } from "../lib/host_port.ts";
import { DEFAULT_PORT } from "../lib/sender.ts";
import {
  type CommandContext,
  type Flag,
  formatHelp,
  type Help,
  onSignals,
  parseFlags,
  parseWhole,
  printText,
  readPem,
  UsageError,
} from "./args.ts";

/** consume's flags: its parser and its help both read this table. */
const FLAGS = [
  {
    name: "to",
    value: "HOST:PORT|-",
    default: "-",
    help: "deliver each message to the framecat (or seed) receiver at HOST:PORT (port " +
      `${DEFAULT_PORT} if none), as a frame of its exact bytes; - prints ` +
      '{"peer":"host:port","bytes":N,"message":VALUE} lines on stdout, as receive --json',
  },
  {
    name: "durable",
    value: "NAME",
    default: "framecat",
    help: "the durable consumer: the same NAME resumes where it stopped, a new one reads " +
      "the stream from its first message",
  },
  {
    name: "stream",
    value: "NAME",
    default: "the stream that takes SUBJECT",
    help: "the JetStream stream to read",
  },
  {
    name: "ack",
    help: "with --to HOST:PORT: count a message delivered only once the receiver " +
      "acknowledged it (receive --ack); only then is it acknowledged to JetStream",
  },
  {
    name: "count",
    short: "c",
    value: "N",
    default: "none: keep waiting for messages",
    help: "exit 0 once N messages are delivered",
  },
  {
    name: "batch",
    value: "N",
    default: "256",
    help: "messages asked of JetStream, and written to the receiver, at once",
  },
  {
    name: "nats-creds",
    value: "FILE",
    help: "a NATS credentials file (user JWT and NKey seed); reading it needs --allow-read",
  },
  {
    name: "nats-ca",
    value: "FILE",
    default: "the system's roots",
    help: "trust this certificate authority (PEM) for TLS to NATS",
  },
  { name: "quiet", short: "q", help: "say nothing on stderr but errors" },
] as const satisfies readonly Flag[];

/** consume's help, with its flags. */
export const CONSUME_HELP: Help = {
  operands: "nats://[USER:PASS@]HOST:PORT/SUBJECT",
  description: `Reads the JetStream stream that takes SUBJECT (what framecat receive --to
nats://HOST:PORT/SUBJECT stored) with a durable consumer, and delivers each
message on: to a framecat or seed receiver (--to HOST:PORT), or to stdout as
one JSON line each (--to -, the default), for jq. A message is acknowledged to
JetStream only once delivered: written to the receiver (with --ack,
acknowledged by it) or to stdout. What is not acknowledged stays in the stream
and is delivered again, to the next run with the same --durable NAME.
SUBJECT may be a filter: orders.* or orders.>. tls:// connects to NATS with TLS.`,
  flags: FLAGS,
  examples: [
    "framecat consume nats://127.0.0.1:4222/orders | jq -c .message",
    "framecat consume nats://127.0.0.1:4222/orders --to 10.0.0.5:1234 --ack",
    "framecat consume nats://127.0.0.1:4222/orders --durable replay1 -c 100   # replay",
  ],
  notes: `Messages go on in the stream's order, a batch at a time; without --count it
keeps waiting for new ones until SIGINT or SIGTERM, which it obeys after the
batch in hand. With several consume processes on one --durable NAME, JetStream
shares the messages among them.`,
  exitCodes: [
    "0  --count reached, SIGINT or SIGTERM, or stdout closed",
    "1  NATS unreachable, no JetStream, no stream for SUBJECT, credentials refused,\n" +
    "   the receiver failed",
    "2  usage error",
  ],
};

/**
 * Runs `framecat consume` with its arguments; resolves to the exit code.
 *
 * @example
 * ```ts
 * import { runConsume } from "./consume.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await runConsume(["--help"], { say: () => {} }), 0);
 * ```
 */
export async function runConsume(args: string[], { say }: CommandContext): Promise<number> {
  const { values, positionals, help } = parseFlags(args, { command: "consume", flags: FLAGS });
  if (help) return await printText(formatHelp("consume", CONSUME_HELP));
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "missing nats://HOST:PORT/SUBJECT"
        : `unexpected argument "${positionals[1]}"`,
      "consume",
    );
  }
  const count = parseWhole(values.count, { flag: "--count", command: "consume", min: 1 });
  const batch = parseWhole(values.batch ?? "256", {
    flag: "--batch",
    command: "consume",
    min: 1,
    max: 100_000,
  });
  const to = values.to ?? "-";
  let receiver: { hostname: string; port: number } | undefined;
  if (to !== "-") {
    try {
      const parsed = parseHostPort(to);
      receiver = { hostname: parsed.hostname, port: parsed.port ?? DEFAULT_PORT };
    } catch (error) {
      throw new UsageError(`--to ${(error as Error).message}`, "consume");
    }
  } else if (values.ack) {
    throw new UsageError("--ack needs --to HOST:PORT (a receiver that acknowledges)", "consume");
  }
  const { parseNatsTarget } = await import("../lib/nats/target.ts");
  let target;
  try {
    target = parseNatsTarget(positionals[0], { wildcards: true });
  } catch (error) {
    throw new UsageError((error as Error).message, "consume");
  }
  const creds = values["nats-creds"] === undefined
    ? undefined
    : await readCreds(values["nats-creds"]);
  const caCerts = values["nats-ca"] === undefined
    ? undefined
    : [await readPem(values["nats-ca"], "--nats-ca")];
  const { JetStreamSource } = await import("../lib/nats/jetstream_source.ts");
  const { FramecatForwarder, jsonLines } = await import("../lib/nats/forward.ts");
  const note = (line: string) => values.quiet || say(line);
  const source = await JetStreamSource.open(target, {
    stream: values.stream,
    durable: values.durable,
    creds,
    caCerts,
    onStatus: note,
  });
  const controller = new AbortController();
  const stop = () => controller.abort();
  const signals = onSignals(["SIGINT", "SIGTERM"], stop);
  let forwarder;
  let delivered = 0;
  try {
    if (receiver) forwarder = await FramecatForwarder.open({ ...receiver, ack: values.ack });
    note(
      `Reading stream ${source.stream} (subject ${target.subject}, durable ${source.durable})` +
        (forwarder ? `, delivering to ${forwarder.peer}` : ""),
    );
    for await (const held of source.batches({ count, batch, signal: controller.signal })) {
      try {
        if (forwarder) await forwarder.deliver(held.messages);
        else await writeAll(jsonLines(held.messages));
      } catch (error) {
        // Not delivered: given back, for JetStream to deliver again at once.
        await held.release().catch(() => {});
        // Standard output closed (| head): what was not written stays in the stream.
        if (!forwarder && error instanceof Deno.errors.BrokenPipe) return 0;
        throw error;
      }
      await held.acknowledge();
      delivered += held.messages.length;
    }
    await forwarder?.close();
    forwarder = undefined;
    note(`Delivered ${delivered} message${delivered === 1 ? "" : "s"}`);
    return 0;
  } finally {
    signals();
    await forwarder?.close().catch(() => {});
    await source.close();
  }
}

async function writeAll(data: Uint8Array): Promise<void> {
  for (let n = 0; n < data.length;) n += await Deno.stdout.write(data.subarray(n));
}

async function readCreds(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const { describeError } = await import("../lib/errors.ts");
    const why = error instanceof Deno.errors.NotCapable
      ? "framecat needs read access for it (run it with --allow-read)"
      : describeError(error);
    throw new Error(`Cannot read the --nats-creds file ${path}: ${why}`, { cause: error });
  }
}
