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
import { frameLines } from "../lib/lines.ts";
import {
  batchFrames,
  DEFAULT_ACK_TIMEOUT,
  DEFAULT_PORT,
  send,
  type SendResult,
} from "../lib/sender.ts";
import {
  type CommandContext,
  parseFlags,
  parseSeconds,
  parseWhole,
  printText,
  readPem,
  UsageError,
} from "./args.ts";

const SEND_HELP =
  `Usage: framecat send [--host H] [--port P] [--json] [--stdin] [--max-bytes N] [MESSAGE ...]

Connects to a receiver and sends each MESSAGE as one frame, in order, over one
connection. With no MESSAGE (and no --stdin) it sends the seed's "Hello World!".

Options:
  --host H         the receiver's name or address, IPv6 too (default 127.0.0.1)
  --port P         the receiver's port (default ${DEFAULT_PORT})
  --json           each MESSAGE, or each line of standard input, is a JSON text and
                   is sent as that value; without it each is sent as a JSON string
  --stdin          read the messages from standard input, one a line (NDJSON with
                   --json; blank lines skipped), streamed as they come
  --max-bytes N    refuse a message whose JSON is over N bytes (default ${DEFAULT_MAX_BYTES})
  --retry SECONDS  keep trying to connect this long, with backoff, until the
                   receiver is up (default 0: one attempt)
  --connect-timeout SECONDS
                   give up on one connection attempt after this long
  --ack            wait until the receiver (receive --ack) confirms every message;
                   exit 1 naming the first one not confirmed in time
  --ack-timeout SECONDS
                   how long to wait for the next confirmation (default ${
    DEFAULT_ACK_TIMEOUT / 1000
  })
  --tls            connect with TLS, verifying the receiver's certificate
  --ca FILE        trust the certificate authority in FILE (PEM) for --tls;
                   reading it needs --allow-read
  -h, --help       show this help

Put a MESSAGE that starts with "-" after "--": framecat send --json -- -5
It reports what it sent on stderr. Exit codes: 0 every byte was written,
1 connection refused, lost or host unknown, 2 usage error or a bad message
(invalid JSON, not UTF-8, over --max-bytes: nothing after it is sent).
`;

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
  const { values, positionals } = parseFlags(args, {
    command: "send",
    flags: {
      host: { type: "string" },
      port: { type: "string" },
      json: { type: "boolean" },
      stdin: { type: "boolean" },
      "max-bytes": { type: "string" },
      retry: { type: "string" },
      "connect-timeout": { type: "string" },
      ack: { type: "boolean" },
      "ack-timeout": { type: "string" },
      tls: { type: "boolean" },
      ca: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return await printText(SEND_HELP);
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
  let source;
  if (values.stdin) {
    source = frameLines(Deno.stdin, { json: values.json, maxBytes });
  } else {
    const messages = positionals.length > 0 ? positionals : ["Hello World!"];
    const frames = messages.map((message, i) => {
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
    ? { caCerts: values.ca === undefined ? undefined : [await readPem(values.ca, "--ca")] }
    : undefined;
  let sent: SendResult | undefined;
  const tally = (s: SendResult) =>
    `${s.messages} message${s.messages === 1 ? "" : "s"} (${s.bytes} bytes) to ${s.peer}` +
    (s.acknowledged === undefined ? "" : `, ${s.acknowledged} acknowledged`);
  try {
    sent = await send(source, {
      hostname,
      port,
      retry,
      connectTimeout,
      tls,
      ack: values.ack,
      ackTimeout,
      onProgress: (s) => sent = s,
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
