/**
 * `framecat send`: connect to a receiver and send messages over one
 * connection.
 *
 * @module
 */

import {
  DEFAULT_MAX_BYTES,
  encodeFrame,
  encodeJsonFrame,
  MAX_PAYLOAD_BYTES,
} from "../lib/framing.ts";
import { frameLines, type FrameLinesOptions } from "../lib/lines.ts";
import {
  batchFrames,
  checkCaCert,
  DEFAULT_ACK_TIMEOUT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_PORT,
  DEFAULT_WRITE_TIMEOUT,
  type FrameBatch,
  send,
  type SendResult,
} from "../lib/sender.ts";
import {
  type CommandContext,
  type Flag,
  formatHelp,
  type Help,
  parseFlags,
  parseSeconds,
  parseWhole,
  printText,
  readPem,
  UsageError,
} from "./args.ts";

/** send's flags: its parser and its help both read this table. */
const FLAGS = [
  {
    name: "host",
    short: "H",
    value: "H",
    default: "127.0.0.1",
    help: "the receiver: a name, an IPv4 address or an IPv6 one, as ::1 or [::1]",
  },
  { name: "port", short: "p", value: "P", default: String(DEFAULT_PORT), help: "its port" },
  {
    name: "json",
    short: "j",
    help: "each MESSAGE, or each line of standard input, is a JSON text and is sent as " +
      "that value; without it each is sent as a JSON string",
  },
  {
    name: "stdin",
    help: "read the messages from standard input, one a line (NDJSON with --json; blank " +
      "lines skipped), streamed as they come, even from a terminal",
  },
  {
    name: "max-bytes",
    value: "N",
    default: String(DEFAULT_MAX_BYTES),
    help: "refuse a message whose JSON is over N bytes",
  },
  {
    name: "retry",
    value: "SECONDS",
    default: "0: one attempt",
    help: "keep trying to connect this long, with backoff, until the receiver is up",
  },
  {
    name: "connect-timeout",
    value: "SECONDS",
    default: String(DEFAULT_CONNECT_TIMEOUT / 1000),
    help: "give up on one connection attempt, TLS handshake included, after this long",
  },
  {
    name: "ack",
    help: "wait until the receiver (receive --ack) confirms every message; exit 1 naming " +
      "the first one not confirmed in time",
  },
  {
    name: "ack-timeout",
    value: "SECONDS",
    default: String(DEFAULT_ACK_TIMEOUT / 1000),
    help: "give up on messages unconfirmed this long (since the last confirmation, " +
      "while sending and after); 0 never does",
  },
  {
    name: "write-timeout",
    value: "SECONDS",
    default: String(DEFAULT_WRITE_TIMEOUT / 1000),
    help: "give up when the receiver reads nothing this long (it stopped reading); 0 waits " +
      "for ever",
  },
  { name: "tls", help: "connect with TLS, verifying the receiver's certificate" },
  {
    name: "ca",
    value: "FILE",
    help: "trust the certificate authority in FILE (PEM) for --tls, instead of the " +
      "system's; reading it needs --allow-read",
  },
] as const satisfies readonly Flag[];

/** send's help, with its flags. */
export const SEND_HELP: Help = {
  operands: "[MESSAGE ...]",
  description: `Connects to a receiver and sends each MESSAGE as one frame, in order, over one
connection. With no MESSAGE it reads the messages from standard input, one a
line, when that is a pipe, a file or a socket (as nc does); on a terminal, or
from /dev/null, it sends the seed's "Hello World!". It reports what it sent on
stderr.`,
  flags: FLAGS,
  examples: [
    "framecat send -H 192.168.1.252          # the seed's Hello World to a receiver",
    `framecat send -j '{"level":"error"}' 42  # two JSON messages, one connection`,
    "tail -f app.log | framecat send -p 9000  # one message a line, as they come",
  ],
  notes: `Put a MESSAGE that starts with "-" after "--": framecat send --json -- -5
After the last message it closes its side and waits up to 2 s for the receiver
to close the connection; a receiver that resets it (closing with data unread)
is a failure.`,
  exitCodes: [
    "0  every byte was written (and, with --ack, confirmed)",
    "1  connection refused, lost, reset or timed out, host unknown, TLS mismatch,",
    "   message not confirmed",
    "2  usage error, or a bad message (invalid JSON, not UTF-8, over --max-bytes):",
    "   nothing after it is sent",
  ],
};

/**
 * Runs `framecat send` with its arguments; resolves to the exit code.
 *
 * @example
 * ```ts
 * import { runSend } from "./send.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await runSend(["--help"], { say: () => {} }), 0);
 * ```
 */
export async function runSend(args: string[], { say }: CommandContext): Promise<number> {
  const { values, positionals, help } = parseFlags(args, { command: "send", flags: FLAGS });
  if (help) return await printText(formatHelp("send", SEND_HELP));
  const port = parseWhole(values.port, { flag: "--port", command: "send", min: 1, max: 65535 }) ??
    DEFAULT_PORT;
  const maxBytes = parseWhole(values["max-bytes"], {
    flag: "--max-bytes",
    command: "send",
    min: 1,
    max: MAX_PAYLOAD_BYTES,
  }) ??
    DEFAULT_MAX_BYTES;
  const hostname = values.host ?? "127.0.0.1";
  if (values.stdin && positionals.length > 0) {
    throw new UsageError("give MESSAGE arguments or --stdin, not both", "send");
  }
  if (values.ca !== undefined && !values.tls) {
    throw new UsageError("--ca goes with --tls", "send");
  }
  const retry = parseSeconds(values.retry, { flag: "--retry", command: "send" });
  const connectTimeout = parseSeconds(values["connect-timeout"], {
    flag: "--connect-timeout",
    command: "send",
  });
  const ackTimeout = parseSeconds(values["ack-timeout"], {
    flag: "--ack-timeout",
    command: "send",
  });
  const writeTimeout = parseSeconds(values["write-timeout"], {
    flag: "--write-timeout",
    command: "send",
  });
  let source;
  if (values.stdin) {
    source = frameLines(Deno.stdin, { json: values.json, maxBytes });
  } else if (positionals.length === 0 && Deno.stdin.isTerminal()) {
    source = [batchFrames([encodeFrame(HELLO)])];
  } else if (positionals.length === 0) {
    source = stdinOrHello({ json: values.json, maxBytes });
  } else {
    const frames = positionals.map((message, i) => {
      // Deno gives arguments decoded, with bytes that are not UTF-8 made
      // U+FFFD: refused as the same bytes on standard input are.
      if (message.includes("\uFFFD")) {
        throw new UsageError(
          `message ${i + 1} is not valid UTF-8 (or holds U+FFFD, which an argument cannot ` +
            "tell apart from bytes that are not UTF-8: send it on standard input)",
          "send",
        );
      }
      try {
        return values.json
          ? encodeJsonFrame(message, { maxBytes })
          : encodeFrame(message, { maxBytes });
      } catch (error) {
        const what = error instanceof SyntaxError
          ? `is not valid JSON (${error.message})`
          : `is too large: ${(error as Error).message.replace(/^Cannot encode frame: /, "")}`;
        throw new UsageError(`message ${i + 1} ${what}`, "send");
      }
    });
    source = [batchFrames(frames)];
  }
  const tls = values.tls
    ? { caCerts: values.ca === undefined ? undefined : [await readCa(values.ca)] }
    : undefined;
  let sent: SendResult | undefined;
  const tally = (s: SendResult) =>
    `${s.messages} message${s.messages === 1 ? "" : "s"} (${s.bytes} bytes) to ${s.peer}` +
    (s.acknowledged === undefined ? "" : `, ${s.acknowledged} acknowledged`) +
    (s.connections > 1 ? `, over ${s.connections} connections` : "");
  try {
    sent = await send(source, {
      hostname,
      port,
      retry,
      connectTimeout,
      tls,
      ack: values.ack,
      ackTimeout,
      writeTimeout,
      onProgress: (s) => sent = s,
      onEvent: (event) => say(event.message),
    });
  } catch (error) {
    if (sent && (error instanceof SyntaxError || error instanceof RangeError)) {
      say(`Sent ${tally(sent)} before the error`);
    }
    throw error;
  }
  say(`Sent ${tally(sent)}`);
  return 0;
}

const HELLO = "Hello World!";

/**
 * With no MESSAGE and standard input not a terminal: its lines as messages
 * when it is a pipe, a file or a socket, or the seed's Hello World when it is
 * a character device such as /dev/null. It reads first, and looks at what
 * standard input is only when it ends at once: that look loads `node:fs`
 * (about 20 ms), which a pipe with data never pays. (Deno 2 has no fstat of
 * its own, and reading /proc/self/fd/0 needs --allow-all.)
 */
async function* stdinOrHello(options: FrameLinesOptions): AsyncGenerator<FrameBatch> {
  const first = new Uint8Array(64 * 1024);
  const n = await Deno.stdin.read(first);
  if (n === null) {
    const { fstatSync } = await import("node:fs");
    if (fstatSync(0).isCharacterDevice()) yield batchFrames([encodeFrame(HELLO)]);
    return;
  }
  let pending: Uint8Array | undefined = first.subarray(0, n);
  yield* frameLines({
    read(p: Uint8Array): Promise<number | null> {
      if (!pending) return Deno.stdin.read(p);
      const size = Math.min(p.length, pending.length);
      p.set(pending.subarray(0, size));
      pending = size < pending.length ? pending.subarray(size) : undefined;
      return Promise.resolve(size);
    },
  }, options);
}

/** Reads the --ca file, and checks that it holds a certificate, naming the file if not. */
async function readCa(path: string): Promise<string> {
  const pem = await readPem(path, "--ca");
  try {
    checkCaCert(pem);
  } catch (error) {
    throw new Error(`Cannot use the --ca file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return pem;
}
