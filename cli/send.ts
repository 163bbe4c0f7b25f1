/**
 * `framecat send`: connect to a receiver and send messages over one
 * connection.
 *
 * @module
 */

import { isBadInput } from "../lib/errors.ts";
import {
  DEFAULT_MAX_BYTES,
  encodeFrame,
  encodeJsonFrame,
  MAX_PAYLOAD_BYTES,
} from "../lib/framing.ts";
import type { FrameLinesOptions } from "../lib/lines.ts";
import type { ByteReader } from "../lib/io.ts";
import { stdinIsDevice } from "./stdin_device.ts";
import { formatAddress } from "../lib/address.ts";
import { describeError } from "../lib/errors.ts";
import { looksLikeHost, looksLikePort, parseHostPort } from "../lib/host_port.ts";
import { every } from "../lib/timer.ts";
import { formatDuration } from "../lib/units.ts";
import {
  batchFrames,
  checkCaCert,
  type ConnectEvent,
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
  onSignals,
  parseBytes,
  parseFlags,
  parseSeconds,
  parseWhole,
  printText,
  readPem,
  UsageError,
} from "./args.ts";

const encoder = new TextEncoder();

/** The exit code of a send the receiver never confirmed. */
const UNCONFIRMED = 3;

/** send's flags: its parser and its help both read this table. */
const FLAGS = [
  {
    name: "host",
    short: "H",
    value: "H",
    default: "127.0.0.1",
    help: "name or address of the receiver, :PORT optional: ::1, db.lan:80, [::1]:80",
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
    name: "file",
    value: "FILE",
    help: "send the lines of FILE, one message a line, as --stdin does (- is standard " +
      "input); reading it needs --allow-read",
  },
  {
    name: "max-bytes",
    value: "N",
    default: String(DEFAULT_MAX_BYTES),
    help: "refuse a message whose JSON is over N bytes (K, M, G may follow: 64K)",
  },
  {
    name: "retry",
    value: "SECONDS",
    default: "0: one attempt",
    help: "keep trying to connect, with backoff, for at most this long in all",
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
    name: "pin",
    value: "SHA256:...",
    help: "with --tls (implied), trust only the certificate with this SHA-256 fingerprint, " +
      "as receive --tls prints it (no --ca, no names checked)",
  },
  {
    name: "ca",
    value: "FILE",
    help: "trust the certificate authority in FILE (PEM) for --tls, instead of the " +
      "system's; reading it needs --allow-read",
  },
  {
    name: "verbose",
    short: "v",
    help: "say more on stderr: each connection attempt, the connection and its TLS " +
      "certificate, and progress every second",
  },
  {
    name: "progress",
    help: "say how much is sent so far, once a second while it grows, on stderr (-v does too)",
  },
  { name: "quiet", short: "q", help: 'do not report what was sent ("Sent N messages")' },
] as const satisfies readonly Flag[];

/** What to say to a netcat user who types one of its flags. */
const NETCAT_HINTS = {
  "-l": "framecat send connects; to listen, run framecat receive",
  "-k": "framecat receive keeps listening by itself; send connects once",
  "-w": "netcat's -w is a timeout: use --connect-timeout SECONDS (or --retry SECONDS " +
    "to wait for the receiver to come up)",
  "-u": "framecat speaks TCP only",
  "-N": "framecat send always closes its side after the last message",
  "-e": "framecat sends messages, it runs no program: pipe one into framecat send",
  "-z": "to see whether a receiver listens, send it a message: framecat send -H HOST",
};

/** A timeout of 0 means "never"; where the library needs a number, this is it (24.8 days). */
const NEVER = 2 ** 31 - 1;

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
A netcat habit, framecat send HOST PORT, is refused with the command meant
(framecat send -H HOST -p PORT); so is a MESSAGE that names a file (use --file).
Put them after "--" to send them as messages all the same.
--retry bounds the whole wait: an attempt's --connect-timeout is cut to what
is left of it. SECONDS are seconds (0.5), or a number and ms, s, m or h
(500ms, 2m); 0 for --connect-timeout, --ack-timeout or --write-timeout waits
for ever. N bytes may be followed by K, M or G (64K, 1GiB).
On SIGINT it says how many messages it sent before the interrupt (exit 130).
It watches the connection from the first byte: a receiver that closes, resets
or refuses before every message is confirmed is a failure that counts what it
may have missed. When framecat's receiver says it printed every message and
closed for a reason not theirs (idle, stopping), the rest goes over a new
connection. After the last message it closes its side and waits up to 2 s for
the receiver to close the connection.`,
  exitCodes: [
    "0  every message was written and the receiver did not stop reading before the",
    "   end (with --ack: every message confirmed)",
    "1  connection refused, lost, reset or timed out, host unknown, TLS mismatch,",
    "   a message refused, not confirmed, or that the receiver may have missed",
    "2  usage error, or a bad message (invalid JSON, not UTF-8, over --max-bytes):",
    "   nothing after it is sent",
    "3  every message was written, but the receiver never confirmed them: it kept",
    "   the connection open 2 s after the last (as the seed's does); --ack proves",
    "   delivery",
    "130  interrupted (SIGINT), after saying how much was sent",
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
  const { values, positionals, help } = parseFlags(args, {
    command: "send",
    flags: FLAGS,
    hints: NETCAT_HINTS,
  });
  if (help) return await printText(formatHelp("send", SEND_HELP));
  const given = parseWhole(values.port, { flag: "--port", command: "send", min: 1, max: 65535 });
  const { hostname, port } = hostAndPort(values.host, given);
  const maxBytes = parseBytes(values["max-bytes"], {
    flag: "--max-bytes",
    command: "send",
    min: 1,
    max: MAX_PAYLOAD_BYTES,
  }) ??
    DEFAULT_MAX_BYTES;
  if (values.stdin && positionals.length > 0) {
    throw new UsageError("give MESSAGE arguments or --stdin, not both", "send");
  }
  if (values.file !== undefined && (values.stdin || positionals.length > 0)) {
    throw new UsageError("give --file, --stdin or MESSAGE arguments, one of them", "send");
  }
  if (values.ca !== undefined && !values.tls) {
    throw new UsageError("--ca goes with --tls", "send");
  }
  if (values.ca !== undefined && values.pin !== undefined) {
    throw new UsageError("--ca or --pin: a pinned certificate needs no authority", "send");
  }
  if (values.quiet && values.verbose) {
    throw new UsageError("-q and -v: one or the other", "send");
  }
  if (!args.includes("--")) checkNetcatHabits(positionals, values.host ?? values.port);
  const pin = values.pin === undefined ? undefined : await checkPin(values.pin);
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
  if (values.file !== undefined && values.file !== "-") {
    source = fileLines(await openFile(values.file), { json: values.json, maxBytes });
  } else if (values.stdin || values.file === "-") {
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
        const payload = encoder.encode(values.json ? message : JSON.stringify(message)).length;
        const what = error instanceof SyntaxError
          ? `is not valid JSON (${error.message})`
          : `is too large: payload of ${payload} bytes exceeds the limit of ${maxBytes} bytes`;
        throw new UsageError(`message ${i + 1} ${what}`, "send");
      }
    });
    source = [batchFrames(frames)];
  }
  const tls = pin !== undefined
    ? { pin }
    : values.tls
    ? { caCerts: values.ca === undefined ? undefined : [await readCa(values.ca)] }
    : undefined;
  let sent: SendResult | undefined;
  let connected: string | undefined;
  const tally = (s: SendResult) =>
    `${s.messages} message${s.messages === 1 ? "" : "s"} (${s.bytes} bytes) to ${s.peer}` +
    (s.acknowledged === undefined ? "" : `, ${s.acknowledged} acknowledged`) +
    (s.connections > 1 ? `, over ${s.connections} connections` : "");
  const verbose = values.verbose ? say : undefined;
  // With -v or --progress, progress once a second, when there is some.
  let shown: number | undefined;
  const progress = (values.verbose || values.progress) && every(1000, () => {
    if (sent && sent.bytes !== shown) say(`Sent ${tally(sent)} so far`);
    shown = sent?.bytes;
  });
  // SIGINT ends at once (exit 130), saying what was sent before it.
  let interrupted!: () => void;
  const interrupt = new Promise<"interrupted">((resolve) =>
    interrupted = () => resolve("interrupted")
  );
  const signals = onSignals(["SIGINT"], () => interrupted());
  try {
    const sending = send(source, {
      hostname,
      port,
      retry,
      connectTimeout,
      tls,
      ack: values.ack,
      ackTimeout: ackTimeout === 0 ? NEVER : ackTimeout,
      writeTimeout: writeTimeout === 0 ? NEVER : writeTimeout,
      onProgress: (s) => sent = s,
      onEvent: (event) => say(event.message),
      onConnectEvent: (event) => {
        if (event.type === "connected") connected = event.peer;
        verbose?.(describeConnectEvent(event, { hostname, port, ca: values.ca }));
      },
    });
    const outcome = await Promise.race([sending, interrupt]);
    if (outcome === "interrupted") {
      sending.catch(() => {});
      say(
        sent
          ? `Sent ${tally(sent)} before the interrupt`
          : connected
          ? `Sent 0 messages to ${connected} before the interrupt`
          : `Interrupted while connecting to ${formatAddress({ hostname, port })}; nothing sent`,
      );
      return 130;
    }
    sent = outcome;
  } catch (error) {
    if (sent && isBadInput(error)) {
      say(`Sent ${tally(sent)} before the error`);
    }
    throw error;
  } finally {
    signals();
    if (progress) progress.cancel();
  }
  if (sent.confirmed === false) {
    // Sent, but the receiver never said it had them: not a success.
    say(
      `Sent ${tally(sent)}, unconfirmed: the receiver neither closed the connection ` +
        "after the last message nor said it had them (the seed's receiver keeps it open); " +
        "--ack proves delivery",
    );
    return UNCONFIRMED;
  }
  if (!values.quiet) say(`Sent ${tally(sent)}`);
  return 0;
}

/**
 * The host and port to connect to: `-H` may carry the port (`HOST:PORT`,
 * `[V6]:PORT`); a port given both ways must agree.
 */
function hostAndPort(
  host: string | undefined,
  port: number | undefined,
): { hostname: string; port: number } {
  if (host === undefined) return { hostname: "127.0.0.1", port: port ?? DEFAULT_PORT };
  let parsed;
  try {
    parsed = parseHostPort(host);
  } catch (error) {
    throw new UsageError(`--host ${(error as Error).message}`, "send");
  }
  if (parsed.hostname === "") throw new UsageError("--host is empty", "send");
  if (parsed.port !== undefined && port !== undefined && parsed.port !== port) {
    throw new UsageError(
      `--host ${host} names port ${parsed.port} and --port ${port}: give one`,
      "send",
    );
  }
  return { hostname: parsed.hostname, port: parsed.port ?? port ?? DEFAULT_PORT };
}

/**
 * Refuses what a netcat user types meaning something else: `HOST PORT` as
 * the only two MESSAGEs (or `HOST:PORT` as the only one) with no `-H` or
 * `-p`, and a MESSAGE that is the name of a file (when framecat may read
 * it: it never asks for the permission).
 */
function checkNetcatHabits(positionals: string[], addressGiven: string | undefined): void {
  if (addressGiven === undefined) {
    let target: { hostname: string; port?: number } | undefined;
    if (
      positionals.length === 2 && looksLikeHost(positionals[0]) && looksLikePort(positionals[1])
    ) {
      target = { hostname: positionals[0], port: Number(positionals[1]) };
    } else if (positionals.length === 1 && /:\d+$/.test(positionals[0])) {
      try {
        const parsed = parseHostPort(positionals[0]);
        if (parsed.port !== undefined && looksLikeHost(parsed.hostname)) target = parsed;
      } catch {
        // Not a host and port: a message.
      }
    }
    if (target) {
      const words = positionals.join(" ");
      throw new UsageError(
        `"${words}" looks like netcat's HOST PORT: framecat send -H ${target.hostname} ` +
          `-p ${target.port} [MESSAGE ...] (to send "${words}" as messages, put them after --)`,
        "send",
      );
    }
  }
  for (const word of positionals.slice(0, 16)) {
    // Only what looks like a file's name (a dot or a slash, no space) is
    // looked up: a permission query and a stat cost a send's start 0.4 ms.
    if (word.length > 1024 || !/^[^\s]*[./][^\s]*$/.test(word)) continue;
    try {
      if (Deno.permissions.querySync({ name: "read", path: word }).state !== "granted") continue;
      if (!Deno.statSync(word).isFile) continue;
    } catch {
      continue;
    }
    throw new UsageError(
      `"${word}" is a file: to send its lines, use --file ${word} (or < ${word}); ` +
        "to send its name as a message, put it after --",
      "send",
    );
  }
}

/** Checks a --pin before connecting: a usage error if it is no fingerprint. */
async function checkPin(pin: string): Promise<string> {
  const { normalizePin } = await import("../lib/fingerprint.ts");
  try {
    normalizePin(pin);
  } catch (error) {
    throw new UsageError(`--pin: ${(error as Error).message}`, "send");
  }
  return pin;
}

/** A line for -v about connecting. */
function describeConnectEvent(
  event: ConnectEvent,
  target: { hostname: string; port: number; ca?: string },
): string {
  if (event.type === "retry") {
    return `Attempt ${event.attempt} to connect to ${formatAddress(target)} failed ` +
      `(${event.error}); trying again in ${formatDuration(event.wait)}`;
  }
  const attempts = event.attempts > 1 ? ` after ${event.attempts} attempts` : "";
  const tls = event.tls === undefined
    ? ""
    : event.tls.verified === "pin"
    ? `, TLS: its certificate ${event.tls.fingerprint ?? ""} is the pinned one`
    : event.tls.verified === "ca"
    ? `, TLS: its certificate verified against --ca ${target.ca}`
    : ", TLS: its certificate verified against the system's certificate authorities";
  return `Connected to ${event.peer}${attempts}${tls}`;
}

/** Opens the --file file, saying clearly why it cannot. */
async function openFile(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotCapable
      ? "framecat needs read access for it (run it with --allow-read)"
      : describeError(error);
    throw new Error(`Cannot read the --file file ${path}: ${why}`, { cause: error });
  }
}

/** The lines of an open file as frames; the file is closed at the end. */
async function* fileLines(
  file: Deno.FsFile,
  options: FrameLinesOptions,
): AsyncGenerator<FrameBatch> {
  try {
    yield* frameLines(file, options);
  } finally {
    file.close();
  }
}

/**
 * `frameLines`, loaded when lines are read: a send of MESSAGE arguments
 * loads no module for them.
 */
async function* frameLines(
  source: ByteReader,
  options: FrameLinesOptions,
): AsyncGenerator<FrameBatch> {
  const lines = await import("../lib/lines.ts");
  yield* lines.frameLines(source, options);
}

const HELLO = "Hello World!";

/**
 * With no MESSAGE and standard input not a terminal: its lines as messages
 * when it is a pipe, a file or a socket, or the seed's Hello World when it is
 * a character device such as /dev/null. It reads first, and looks at what
 * standard input is only when it ends at once (`stdin_device.ts`): that look
 * can cost 20 ms, which a pipe with data never pays.
 */
async function* stdinOrHello(options: FrameLinesOptions): AsyncGenerator<FrameBatch> {
  const first = new Uint8Array(64 * 1024);
  const n = await Deno.stdin.read(first);
  if (n === null) {
    if (await stdinIsDevice()) yield batchFrames([encodeFrame(HELLO)]);
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
