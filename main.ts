/**
 * The `framecat` command: parses arguments, runs `send`, `receive` or `demo`,
 * and turns what happened into output and an exit code (0 success, 1 runtime
 * failure, 2 usage error). Only this module touches the process.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await main(["--version"]), 0);
 * assert.equal(await main(["frobnicate"]), 2);
 * ```
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import denoJson from "./deno.json" with { type: "json" };
import { formatAddress } from "./lib/address.ts";
import { describeError } from "./lib/errors.ts";
import {
  DEFAULT_MAX_BYTES,
  encodeFrame,
  encodeJsonFrame,
  MAX_PAYLOAD_BYTES,
} from "./lib/framing.ts";
import { frameLines } from "./lib/lines.ts";
import { LineWriter, writeAll } from "./lib/line_writer.ts";
import { CidrSet } from "./lib/cidr.ts";
import { dissectCapture } from "./lib/dissect_report.ts";
import {
  DEFAULT_FRAME_TIMEOUT,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_MAX_CONNS,
  receive,
} from "./lib/receiver.ts";
import {
  batchFrames,
  checkCaCert,
  DEFAULT_ACK_TIMEOUT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_PORT,
  send,
  type SendResult,
} from "./lib/sender.ts";

/** framecat's version, from `deno.json`. */
export const VERSION: string = denoJson.version;

const USAGE = `framecat receive [--host H] [--port P] [--json] [--count N] [--max-bytes N]
                 [--idle-timeout SECONDS] [--frame-timeout SECONDS] [--max-conns N]
                 [--allow CIDR ...] [--ack] [--tls-cert FILE --tls-key FILE] [--quiet]
framecat send    [--host H] [--port P] [--json] [--stdin] [--max-bytes N]
                 [--retry SECONDS] [--connect-timeout SECONDS] [--ack] [--ack-timeout SECONDS]
                 [--tls [--ca FILE]] [MESSAGE ...]
framecat dissect [--json] [--port P] FILE|-
framecat demo
framecat --help | framecat send --help | framecat receive --help | framecat --version`;

const HELP = `framecat ${VERSION}: send and receive JSON messages over TCP, message by message.

Usage:
${USAGE.replace(/^/gm, "  ")}

Each message travels as one frame: its length in UTF-8 bytes as ASCII decimal
digits, a LF, then the JSON text. Example: 14\\n"Hello World!"

Commands:
  receive   listen for senders and print every message they send, one a line
  send      connect to a receiver and send messages over one connection
  dissect   explain a capture (pcap, pcapng) of framecat traffic: every
            packet's layers and bytes, then the messages of each connection
  demo      start a receiver on a free loopback port, send it "Hello World!",
            show both sides, and exit

Exit codes: 0 success, 1 runtime failure (said on stderr), 2 usage error.
framecat needs network access (--allow-net), and read access (--allow-read)
only to read TLS certificate files and captures named by dissect FILE.
`;

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
                   give up on one connection attempt, TLS handshake included,
                   after this long (default ${DEFAULT_CONNECT_TIMEOUT / 1000})
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
After the last message it closes its side and waits up to 2 s for the receiver
to close the connection. It reports what it sent on stderr. Exit codes:
0 every byte was written (and, with --ack, confirmed), 1 connection refused,
lost, reset by a receiver that closed it with data unread, TLS mismatch or host
unknown, 2 usage error or a bad message (invalid JSON, not UTF-8, over
--max-bytes: nothing after it is sent).
`;

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
  --max-conns N           serve at most N connections at once; close the ones
                          past it at once (default ${DEFAULT_MAX_CONNS})
  --allow CIDR            serve only peers in this range (10.0.0.0/8, ::1, ...);
                          repeat for more; others are closed before any byte is read
  --ack                   acknowledge each message, once printed, with the frame
                          {"ack":N} (N counts the connection's messages from 1)
  --tls-cert FILE         listen with TLS: the certificate chain (PEM); with
  --tls-key FILE          its private key (PEM); reading them needs --allow-read
  --quiet                 do not report connections opening and closing
  -h, --help              show this help

A bad frame is never printed: its connection is closed and stderr names the
peer and the reason. SIGINT or SIGTERM stops the receiver within 2 s, exit 0.
Exit codes: 0 stopped, 1 cannot listen or cannot write output, 2 usage error.
When stdout is closed (| head) it ends quietly; when writing fails otherwise
(a full disk) it says so and exits 1.
`;

const DISSECT_HELP = `Usage: framecat dissect [--json] [--port P] FILE|-

Explains a packet capture made by tcpdump, tshark or Wireshark (pcap or
pcapng; Ethernet, BSD loopback, raw IP and Linux cooked captures): for each
packet its layers with their byte ranges (inclusive) and decoded fields, and
a hex dump labelled by layer; then each TCP connection's byte stream,
reassembled, decoded as framecat frames: every message with the packets that
carried it, and the reason a frame is bad, as the receiver would say it.

Options:
  --json      one JSON object a line: {"type":"packet",...} for each packet,
              {"type":"message","stream":"a:p > b:p","packets":[..],"bytes":N,
              "message":VALUE} for each message, {"type":"problem",...}
  --port P    the framecat port: its streams are always decoded (default ${DEFAULT_PORT});
              other streams are shown when they hold valid frames
  -h, --help  show this help

FILE - reads the capture from standard input, which needs no permission;
reading a FILE needs --allow-read. Example, on Linux:
  tcpdump -i lo -w hello.pcap port 1234 & framecat demo; kill %1
  framecat dissect hello.pcap
Exit codes: 0 done, 1 the file is broken (what could be read is shown first),
2 usage error.
`;

/** A mistake in the command line: reported with a pointer to the help, exit code 2. */
class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
  }
}

const encoder = new TextEncoder();

/**
 * Runs framecat with the given arguments and resolves to its exit code.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await main(["send", "--port", "nope"]), 2);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const stderr = new LineWriter(Deno.stderr);
  const say = (line: string) => stderr.add(line + "\n");
  try {
    return await run(args, say);
  } catch (error) {
    if (error instanceof UsageError) {
      const command = error.command ? `framecat ${error.command}` : "framecat";
      say(`${command}: ${error.message} (see ${command} --help)`);
      return 2;
    }
    if (error instanceof SyntaxError || error instanceof RangeError) {
      say(`framecat: ${error.message}`);
      return 2;
    }
    say(`framecat: ${describeError(error)}`);
    return 1;
  } finally {
    await stderr.flush().catch(() => {});
  }
}

async function run(args: string[], say: (line: string) => void): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "send":
      return await runSend(rest, say);
    case "receive":
      return await runReceive(rest, say);
    case "dissect":
      return await runDissect(rest, say);
    case "demo":
      parse(rest, "demo", {});
      return await runDemo();
    case "-h":
    case "--help":
    case "help":
      return await print(HELP);
    case "-V":
    case "--version":
      return await print(`framecat ${VERSION}\n`);
    case undefined:
      throw new UsageError("missing command: send, receive, dissect or demo");
    default:
      throw new UsageError(`unknown command "${command}": use send, receive, dissect or demo`);
  }
}

async function runSend(args: string[], say: (line: string) => void): Promise<number> {
  const { values, positionals } = parse(args, "send", {
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
  });
  if (values.help) return await print(SEND_HELP);
  const port = parseWhole(values.port, "--port", "send", 1, 65535) ?? DEFAULT_PORT;
  const maxBytes = parseWhole(values["max-bytes"], "--max-bytes", "send", 1, MAX_PAYLOAD_BYTES) ??
    DEFAULT_MAX_BYTES;
  const hostname = values.host ?? "127.0.0.1";
  if (values.stdin && positionals.length > 0) {
    throw new UsageError("give MESSAGE arguments or --stdin, not both", "send");
  }
  if (values.ca !== undefined && !values.tls) {
    throw new UsageError("--ca goes with --tls", "send");
  }
  const retry = parseSeconds(values.retry, "--retry", "send");
  const connectTimeout = parseSeconds(values["connect-timeout"], "--connect-timeout", "send");
  const ackTimeout = parseSeconds(values["ack-timeout"], "--ack-timeout", "send");
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
    ? { caCerts: values.ca === undefined ? undefined : [await readCa(values.ca)] }
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

async function runReceive(args: string[], say: (line: string) => void): Promise<number> {
  const { values, positionals } = parse(args, "receive", {
    host: { type: "string" },
    port: { type: "string" },
    json: { type: "boolean" },
    count: { type: "string" },
    "max-bytes": { type: "string" },
    "idle-timeout": { type: "string" },
    "frame-timeout": { type: "string" },
    "max-conns": { type: "string" },
    allow: { type: "string", multiple: true },
    ack: { type: "boolean" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    quiet: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return await print(RECEIVE_HELP);
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
    port: parseWhole(values.port, "--port", "receive", 0, 65535),
    json: values.json,
    count: parseWhole(values.count, "--count", "receive", 1, Number.MAX_SAFE_INTEGER),
    maxBytes: parseWhole(values["max-bytes"], "--max-bytes", "receive", 1, MAX_PAYLOAD_BYTES),
    idleTimeout: parseSeconds(values["idle-timeout"], "--idle-timeout", "receive"),
    frameTimeout: parseSeconds(values["frame-timeout"], "--frame-timeout", "receive"),
    maxConns: parseWhole(values["max-conns"], "--max-conns", "receive", 1, 1_000_000),
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

async function runDissect(args: string[], say: (line: string) => void): Promise<number> {
  const { values, positionals } = parse(args, "dissect", {
    json: { type: "boolean" },
    port: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return await print(DISSECT_HELP);
  if (positionals.length !== 1) {
    throw new UsageError("give one capture FILE, or - for standard input", "dissect");
  }
  const [path] = positionals;
  let file: Uint8Array;
  try {
    file = path === "-"
      ? new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer())
      : await Deno.readFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotCapable
      ? "reading a file needs --allow-read (or give it on standard input: dissect - < FILE)"
      : describeError(error);
    throw new Error(`Cannot read ${path}: ${why}`, { cause: error });
  }
  const report = await dissectCapture(file, {
    json: values.json,
    port: parseWhole(values.port, "--port", "dissect", 1, 65535),
    color: !values.json && Deno.stdout.isTerminal() && !Deno.noColor,
  });
  const out = new LineWriter(Deno.stdout);
  for (const line of report.lines) out.add(line + "\n");
  try {
    await out.flush();
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
  for (const problem of report.problems) say(`framecat: ${problem}`);
  return report.broken ? 1 : 0;
}

/** Reads a PEM file named by `flag`, saying clearly why it cannot. */
async function readPem(path: string, flag: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotCapable
      ? "framecat needs read access for TLS files (run it with --allow-read)"
      : describeError(error);
    throw new Error(`Cannot read the ${flag} file ${path}: ${why}`, { cause: error });
  }
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

async function runDemo(): Promise<number> {
  const out = new LineWriter(Deno.stdout);
  const show = (side: string, line: string) => out.add(`${side.padEnd(7)} | ${line}\n`);
  const receiver = receive({
    write: (p: Uint8Array) => {
      show("receive", new TextDecoder().decode(p).trimEnd());
      return Promise.resolve(p.length);
    },
  }, {
    hostname: "127.0.0.1",
    port: 0,
    count: 1,
    onEvent: (event) => show("receive", event.message),
  });
  const frame = encodeFrame("Hello World!");
  const wire = JSON.stringify(new TextDecoder().decode(frame));
  show("send", `Sending "Hello World!" to ${formatAddress(receiver.addr)} as ${wire}`);
  const sent = await send([batchFrames([frame])], { port: receiver.addr.port });
  show("send", `Sent ${sent.messages} message (${sent.bytes} bytes) to ${sent.peer}`);
  await receiver.finished;
  await out.flush();
  return 0;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

function parse<T extends Options>(
  args: string[],
  command: string,
  options: T,
): ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: true }>
> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    const first = (error as Error).message.split("\n")[0].split(". ")[0];
    const hint = /Unknown option '-\d/.test(first) ? "; put negative numbers after --" : "";
    throw new UsageError(first.charAt(0).toLowerCase() + first.slice(1) + hint, command);
  }
}

/** Parses a number of seconds (`1`, `0.5`) into milliseconds. */
function parseSeconds(text: string | undefined, flag: string, command: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(text)) {
    throw new UsageError(`${flag} must be a number of seconds, got "${text}"`, command);
  }
  return Number(text) * 1000;
}

function parseWhole(
  text: string | undefined,
  flag: string,
  command: string,
  min: number,
  max: number,
): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(
      `${flag} must be a whole number from ${min} to ${max}, got "${text}"`,
      command,
    );
  }
  return value;
}

async function print(text: string): Promise<number> {
  await writeAll(Deno.stdout, encoder.encode(text));
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
