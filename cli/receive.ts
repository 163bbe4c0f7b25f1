/**
 * `framecat receive`: listen for senders and print every message they send,
 * one a line.
 *
 * @module
 */

import { describeError } from "../lib/errors.ts";
import { DEFAULT_MAX_BYTES, MAX_PAYLOAD_BYTES } from "../lib/framing.ts";
import { CidrSet } from "../lib/cidr.ts";
import {
  DEFAULT_FRAME_TIMEOUT,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_MAX_CONNS,
  receive,
} from "../lib/receiver.ts";
import { DEFAULT_PORT } from "../lib/sender.ts";
import {
  type CommandContext,
  parseBytes,
  parseFlags,
  parseSeconds,
  parseWhole,
  printText,
  readPem,
  UsageError,
} from "./args.ts";

const RECEIVE_HELP =
  `Usage: framecat receive [--host H] [--port P] [--json] [--count N] [--max-bytes N]
                        [--idle-timeout SECONDS] [--quiet]

Listens for senders and prints each message as one line on stdout:
  Message from Sender :: Hello World!
(strings as they are, other values as compact JSON). Connections are served at
once; lines never interleave and one connection's messages keep their order.
Connection events and errors go to stderr.

Options:
  --host H                address to listen on (default 0.0.0.0, all IPv4
                          interfaces; :: for IPv6)
  --port P                port to listen on, 0 for any free one (default ${DEFAULT_PORT})
  --json                  print {"peer":"host:port","bytes":N,"message":VALUE}
                          per message, one JSON object a line, for jq
  --count N               exit 0 once N messages are printed
  --max-bytes N           refuse frames declaring over N bytes (default ${DEFAULT_MAX_BYTES})
  --idle-timeout SECONDS  close a connection silent this long, 0 never
                          (default ${DEFAULT_IDLE_TIMEOUT / 1000})
  --frame-timeout SECONDS close a connection whose frame is not complete this
                          long after its first byte, 0 never (default ${
    DEFAULT_FRAME_TIMEOUT / 1000
  })
  --max-conns N           serve at most N connections at once; at the limit new
                          ones wait in the system's queue (default ${DEFAULT_MAX_CONNS})
  --max-memory BYTES      memory for frames in flight and output not yet
                          written, across connections; when it is used up,
                          connections wait (default 512M, at least --max-bytes)
  --allow CIDR            serve only peers in this range (10.0.0.0/8, ::1, ...);
                          repeat for more; others are closed before any byte is read
  --ack                   acknowledge each message, once printed, with the frame
                          {"ack":N} (N counts the connection's messages from 1)
  --tls-cert FILE         listen with TLS: the certificate chain (PEM); with
  --tls-key FILE          its private key (PEM); reading them needs --allow-read
  --quiet                 do not report connections opening and closing
  -h, --help              show this help

A bad frame is never printed: its connection is closed and stderr names the
peer and the reason. SIGINT or SIGTERM: it stops accepting,
reads what senders already sent (up to 2 s), prints it, and exits 0.
Exit codes: 0 stopped, 1 cannot listen or cannot write output, 2 usage error.
When stdout is closed (| head) it ends quietly; when writing fails otherwise
(a full disk) it says so and exits 1.
`;

/**
 * Runs `framecat receive` with its arguments; resolves to the exit code once
 * the receiver has stopped.
 *
 * @example
 * ```ts
 * import { runReceive } from "./receive.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await runReceive(["--help"], { say: () => {} }), 0);
 * ```
 */
export async function runReceive(args: string[], { say }: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    command: "receive",
    flags: {
      host: { type: "string" },
      port: { type: "string" },
      json: { type: "boolean" },
      count: { type: "string" },
      "max-bytes": { type: "string" },
      "idle-timeout": { type: "string" },
      "frame-timeout": { type: "string" },
      "max-conns": { type: "string" },
      "max-memory": { type: "string" },
      allow: { type: "string", multiple: true },
      ack: { type: "boolean" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return await printText(RECEIVE_HELP);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, "receive");
  }
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together", "receive");
  }
  try {
    new CidrSet(values.allow ?? []);
  } catch (error) {
    throw new UsageError(`--allow ${(error as Error).message}`, "receive");
  }
  const options = {
    hostname: values.host,
    port: parseWhole(values.port, { flag: "--port", command: "receive", min: 0, max: 65535 }),
    json: values.json,
    count: parseWhole(values.count, {
      flag: "--count",
      command: "receive",
      min: 1,
      max: Number.MAX_SAFE_INTEGER,
    }),
    maxBytes: parseWhole(values["max-bytes"], {
      flag: "--max-bytes",
      command: "receive",
      min: 1,
      max: MAX_PAYLOAD_BYTES,
    }),
    idleTimeout: parseSeconds(values["idle-timeout"], {
      flag: "--idle-timeout",
      command: "receive",
    }),
    frameTimeout: parseSeconds(values["frame-timeout"], {
      flag: "--frame-timeout",
      command: "receive",
    }),
    maxConns: parseWhole(values["max-conns"], {
      flag: "--max-conns",
      command: "receive",
      min: 1,
      max: 1_000_000,
    }),
    maxMemory: parseBytes(values["max-memory"], {
      flag: "--max-memory",
      command: "receive",
      min: 1,
      max: 2 ** 50,
    }),
    allow: values.allow,
    ack: values.ack,
  };
  const tls = values["tls-cert"] === undefined ? undefined : {
    cert: await readPem(values["tls-cert"], "--tls-cert"),
    key: await readPem(values["tls-key"]!, "--tls-key"),
  };
  const controller = new AbortController();
  const receiver = receive(Deno.stdout, {
    ...options,
    tls,
    signal: controller.signal,
    onEvent: (event) => {
      if (values.quiet && (event.type === "open" || event.type === "close")) return;
      say(event.message);
    },
  });
  const stop = () => controller.abort();
  const signals = listenForSignals(stop);
  try {
    await receiver.finished;
    return 0;
  } catch (error) {
    // Standard output closed early, as by `framecat receive | head -1`: done.
    if (error instanceof Deno.errors.BrokenPipe) return 0;
    throw new Error(`Cannot write to standard output: ${describeError(error)}`, { cause: error });
  } finally {
    signals();
  }
}

/** Calls `stop` on SIGINT and SIGTERM; returns what removes the listeners. */
function listenForSignals(stop: () => void): () => void {
  const added: Deno.Signal[] = [];
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, stop);
      added.push(signal);
    } catch {
      // Windows has no SIGTERM.
    }
  }
  return () => added.forEach((signal) => Deno.removeSignalListener(signal, stop));
}
