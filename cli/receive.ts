/**
 * `framecat receive`: listen for senders and print every message they send,
 * one a line.
 *
 * @module
 */

import { describeError } from "../lib/errors.ts";
import { DEFAULT_MAX_BYTES, MAX_PAYLOAD_BYTES } from "../lib/framing.ts";
import { CidrSet } from "../lib/cidr.ts";
import type { SyncByteWriter } from "../lib/io.ts";
import {
  DEFAULT_FRAME_TIMEOUT,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_MAX_CONNS,
  DEFAULT_MAX_MEMORY,
  receive,
  SHUTDOWN_GRACE,
} from "../lib/receiver.ts";
import { LineBatch } from "../lib/line_writer.ts";
import { after, type Timer } from "../lib/timer.ts";
import { DEFAULT_PORT } from "../lib/sender.ts";
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

/** receive's flags: its parser and its help both read this table. */
const FLAGS = [
  {
    name: "host",
    short: "H",
    value: "H",
    default: "::, every interface, IPv6 and IPv4 (0.0.0.0 where there is no IPv6)",
    help: "address to listen on; 0.0.0.0 for IPv4 only",
  },
  {
    name: "port",
    short: "p",
    value: "P",
    default: String(DEFAULT_PORT),
    help: "port to listen on; 0 lets the system choose one, which stderr says",
  },
  {
    name: "json",
    short: "j",
    help: 'print {"peer":"host:port","bytes":N,"message":VALUE} per message, one JSON ' +
      "object a line, for jq",
  },
  {
    name: "count",
    short: "c",
    value: "N",
    default: "none",
    help: "exit 0 once N messages are printed",
  },
  {
    name: "max-bytes",
    value: "N",
    default: String(DEFAULT_MAX_BYTES),
    help: "refuse a frame declaring over N bytes, before reading it (K, M, G may follow: 1M)",
  },
  {
    name: "idle-timeout",
    value: "SECONDS",
    default: String(DEFAULT_IDLE_TIMEOUT / 1000),
    help: "close a connection whose sender is silent this long; 0 never does. Not given, " +
      "a connection silent 30 s between frames is closed only to make room at " +
      "--max-conns, so that a quiet stream (tail -f) is kept; the sender is told",
  },
  {
    name: "frame-timeout",
    value: "SECONDS",
    default: String(DEFAULT_FRAME_TIMEOUT / 1000),
    help: "close a connection whose frame is not complete this long after its first byte; " +
      "0 never does",
  },
  {
    name: "max-conns",
    value: "N",
    default: String(DEFAULT_MAX_CONNS),
    help: "serve at most N connections at once; at the limit new ones wait in the " +
      "system's queue until one ends",
  },
  {
    name: "max-memory",
    value: "BYTES",
    default: "512M, at least --max-bytes",
    help: "memory for frames in flight and output not yet written, across connections " +
      "(K, M, G); when it is used up, connections wait",
  },
  {
    name: "allow",
    value: "CIDR",
    multiple: true,
    default: "everyone",
    help: "serve only peers in this range (10.0.0.0/8, ::1, ...); repeat for more; " +
      "others are closed before any byte is read",
  },
  {
    name: "ack",
    help: 'acknowledge each message, once printed, with the frame {"ack":N} (N counts the ' +
      "connection's messages from 1)",
  },
  {
    name: "tls-cert",
    value: "FILE",
    help: "listen with TLS: the certificate chain (PEM), with --tls-key; reading it " +
      "needs --allow-read",
  },
  { name: "tls-key", value: "FILE", help: "the private key (PEM) of --tls-cert" },
  {
    name: "tls",
    help: "listen with TLS; without --tls-cert, with a certificate made for this run, " +
      "whose SHA-256 fingerprint stderr says, for send --tls --pin",
  },
  {
    name: "to",
    value: "nats://HOST:PORT/SUBJECT",
    default: "stdout",
    help: "publish each message to NATS JetStream on SUBJECT, its bytes exactly, instead " +
      "of printing it; with --ack a sender is answered once JetStream stored it " +
      "(nats://USER:PASS@..., tls://... for TLS; docs/scaling.md)",
  },
  {
    name: "stream",
    value: "NAME",
    default: "the stream that takes SUBJECT, else FRAMECAT",
    help: "with --to: the JetStream stream, created (file storage) when missing",
  },
  {
    name: "replicas",
    value: "N",
    default: "1",
    help: "with --to: replicas of the stream when it is created (3 in a three-node cluster)",
  },
  {
    name: "nats-creds",
    value: "FILE",
    help: "with --to: a NATS credentials file (user JWT and NKey seed); reading it needs " +
      "--allow-read",
  },
  {
    name: "nats-ca",
    value: "FILE",
    default: "the system's roots",
    help: "with --to: trust this certificate authority (PEM) for TLS to NATS",
  },
  { name: "quiet", short: "q", help: "do not report connections opening and closing" },
  {
    name: "verbose",
    short: "v",
    help: "say more on stderr: the TLS certificate's fingerprint, which address families " +
      "are served",
  },
] as const satisfies readonly Flag[];

/** What to say to a netcat user who types one of its flags. */
const NETCAT_HINTS = {
  "-l": "framecat receive always listens and keeps listening (nc -l -k); drop it",
  "-k": "framecat receive always listens and keeps listening (nc -l -k); drop it",
  "-w": "netcat's -w is a timeout: use --idle-timeout SECONDS",
  "-u": "framecat speaks TCP only",
  "-s": "to listen on one address, use -H ADDRESS",
  "-e": "framecat prints messages, it runs no program: pipe its output into one",
};

/** receive's help, with its flags. */
export const RECEIVE_HELP: Help = {
  description: `Listens for senders and prints each message as one line on stdout:
  Message from Sender :: Hello World!
(strings as text, other values as their own JSON text, on one line, with what
a terminal would act on escaped). Connections are served at once; lines never
interleave and one connection's messages keep their order.
Connection events and errors go to stderr.`,
  flags: FLAGS,
  examples: [
    "framecat receive                          # port 1234, every interface",
    "framecat receive -p 0 -H 127.0.0.1 -c 1   # a free loopback port, one message",
    "framecat receive -j | jq -c .message      # values, for jq",
    "framecat receive --tls                    # TLS, no files: prints the --pin for send",
    "framecat receive --ack --to nats://127.0.0.1:4222/orders   # into JetStream",
  ],
  notes: `A bad frame is never printed: its connection is closed and stderr names the
peer and the reason. A connection the receiver closes for a reason of its own
(a bad frame, a timeout, --count, a signal, --allow) first gets one frame,
{"closed":CODE,"reason":...,"messages":N}, N the messages of it printed: a
framecat sender knows exactly what arrived. Timeouts count only time spent
waiting on the sender, never on the receiver's own output. On SIGINT or SIGTERM it stops accepting, prints what
senders had already sent (reading on up to 2 s), and exits 0; if its output
is still not written 1 s later (stdout stalled), or at a second signal, it
stops at once, exit 1, with what is not yet written lost.
When stdout is closed (| head) it ends quietly. Ports below 1024 need
privileges.
SECONDS are seconds (0.5), or a number and ms, s, m or h (500ms, 2m); 0 for
--idle-timeout or --frame-timeout waits for ever. N bytes may be followed by
K, M or G (1M, 1GiB).
Without -H it listens on ::, which serves IPv4 senders too (as IPv4-mapped
addresses) unless the system sets net.ipv6.bindv6only; where IPv6 is not
available, and on Windows (whose :: is IPv6 only), it listens on 0.0.0.0 and
says so.
With --to nats://HOST:PORT/SUBJECT nothing is printed: each message goes to
JetStream, acknowledged (--ack) once stored; when NATS is slow or down it stops
reading from senders and reconnects. On a signal it gives NATS 2 s more to store
what it holds, and says how many messages it could not (docs/scaling.md).`,
  exitCodes: [
    "0  stopped: --count reached, SIGINT, SIGTERM or stdout closed",
    "1  cannot listen (port in use, no privilege), cannot write output, a second signal",
    "1  with --to: NATS unreachable or refusing, no JetStream, messages not stored",
    "2  usage error",
  ],
};

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
export async function runReceive(args: string[], context: CommandContext): Promise<number> {
  const { say } = context;
  const { values, positionals, help } = parseFlags(args, {
    command: "receive",
    flags: FLAGS,
    hints: NETCAT_HINTS,
  });
  if (help) return await printText(formatHelp("receive", RECEIVE_HELP));
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, "receive");
  }
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together", "receive");
  }
  if (values.quiet && values.verbose) {
    throw new UsageError("-q and -v: one or the other", "receive");
  }
  if (values.to === undefined) {
    for (const flag of ["stream", "replicas", "nats-creds", "nats-ca"] as const) {
      if (values[flag] !== undefined) {
        throw new UsageError(`--${flag} goes with --to nats://HOST:PORT/SUBJECT`, "receive");
      }
    }
  } else if (values.json) {
    throw new UsageError(
      "-j prints lines; with --to messages go to NATS: one or the other",
      "receive",
    );
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
    }),
    maxBytes: parseBytes(values["max-bytes"], {
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
  const tls = values["tls-cert"] !== undefined
    ? {
      cert: await readPem(values["tls-cert"], "--tls-cert"),
      key: await readPem(values["tls-key"]!, "--tls-key"),
    }
    : values.tls
    ? await selfSigned(say)
    : undefined;
  if (tls && values.verbose && values["tls-cert"] !== undefined) {
    const { pemFingerprint } = await import("../lib/fingerprint.ts");
    const fingerprint = await pemFingerprint(tls.cert);
    if (fingerprint) say(`TLS certificate ${values["tls-cert"]}: ${fingerprint}`);
  }
  // The receiver loads it once it accepts; loaded here first, a failure to
  // load it is said before listening, and not as an output error.
  if (tls) await import("../lib/tls_server.ts");
  const replicas = parseWhole(values.replicas, {
    flag: "--replicas",
    command: "receive",
    min: 1,
    max: 5,
  });
  // With --to, NATS code is loaded; without it, nothing of it is. JetStream
  // refusing a message for good stops the receiver, as a signal does.
  let failed = () => {};
  // Connections opening and ending come many a second to a busy receiver:
  // said in batches, a write each, not one per line. Every later line goes
  // the same way, in order.
  const lines = new LineBatch(say, { delay: EVENT_DELAY });
  const tell = (line: string) => lines.add(line);
  const sink = values.to === undefined ? undefined : await openSink(values, {
    replicas,
    onFailure: () => failed(),
    maxMemory: options.maxMemory,
    say: tell,
  });
  const controller = new AbortController();
  const output = sink ? null : stdoutWriter(context.stderr);
  const families = { note: "" };
  const receiver = listenDualStack((hostname) =>
    receive(output, {
      ...options,
      hostname,
      tls,
      signal: controller.signal,
      sink,
      onEvent: (event) => {
        if (values.quiet && (event.type === "open" || event.type === "close")) return;
        lines.add(event.message);
        if (event.type === "listen" && families.note) lines.add(families.note);
        // Only the many lines of connections opening and ending wait for
        // others; the rest (errors, timeouts, listening) go out at once.
        if (event.type !== "open" && event.type !== "close") lines.flush();
      },
    }), { hostname: options.hostname, verbose: values.verbose, families });
  // The first signal drains, within the grace period and a little more for
  // the output; a second one, as when output cannot be written (a stalled
  // pipe or terminal), stops at once.
  let forced: ((why: string) => void) | undefined;
  const force = new Promise<string>((resolve) => forced = resolve);
  let overdue: Timer | undefined;
  // With --to, the sink has its own grace to store what it holds after the receiver's.
  const wait = SHUTDOWN_GRACE + OUTPUT_GRACE + (sink ? SHUTDOWN_GRACE : 0);
  const stop = () => {
    if (controller.signal.aborted) return forced!("stopped by a second signal");
    controller.abort();
    overdue = after(wait, () => {
      forced!(`output not written ${wait / 1000} s after the signal`);
    });
  };
  const signals = onSignals(["SIGINT", "SIGTERM"], stop);
  failed = () => controller.signal.aborted || stop();
  try {
    const outcome = await Promise.race([receiver.finished, force]);
    lines.flush();
    if (typeof outcome === "string") {
      say(
        sink
          ? `framecat: ${outcome}; ${sink.stats.outstanding} messages not yet stored in ` +
            "JetStream may be lost"
          : `framecat: ${outcome}; output not yet written is lost (a line may be cut)`,
      );
      return 1;
    }
    return 0;
  } catch (error) {
    lines.flush();
    // The sink says in its own words what it could not store, and why.
    if (sink) throw error;
    // Standard output closed early, as by `framecat receive | head -1`: done.
    if (error instanceof Deno.errors.BrokenPipe) return 0;
    throw new Error(`Cannot write to standard output: ${describeError(error)}`, { cause: error });
  } finally {
    lines.flush();
    overdue?.cancel();
    signals();
  }
}

/** How long a connection event may wait on stderr for others to share its write: 10 ms. */
const EVENT_DELAY = 10;

/** What {@linkcode openSink} needs besides the flags. */
interface OpenSinkOptions {
  /** Called when JetStream refused a message for good. */
  onFailure: () => void;
  /** --replicas: of a stream it creates. */
  replicas: number | undefined;
  /** --max-memory: a quarter of it may wait for JetStream's acknowledgements. */
  maxMemory: number | undefined;
  /** Where to say what happens to the NATS connection. */
  say: (line: string) => void;
}

/**
 * Connects to NATS for --to, finds or creates the stream, and says where
 * messages go; every failure in one line. Loads lib/nats only now.
 */
async function openSink(
  values: { to?: string; stream?: string; "nats-creds"?: string; "nats-ca"?: string },
  options: OpenSinkOptions,
): Promise<import("../lib/nats/jetstream_sink.ts").JetStreamSink> {
  const { parseNatsTarget } = await import("../lib/nats/target.ts");
  let target;
  try {
    target = parseNatsTarget(values.to!);
  } catch (error) {
    throw new UsageError(`--to ${(error as Error).message}`, "receive");
  }
  let creds: string | undefined;
  if (values["nats-creds"] !== undefined) {
    try {
      creds = await Deno.readTextFile(values["nats-creds"]);
    } catch (error) {
      const why = error instanceof Deno.errors.NotCapable
        ? "framecat needs read access for it (run it with --allow-read)"
        : describeError(error);
      throw new Error(`Cannot read the --nats-creds file ${values["nats-creds"]}: ${why}`, {
        cause: error,
      });
    }
  }
  const caCerts = values["nats-ca"] === undefined
    ? undefined
    : [await readPem(values["nats-ca"], "--nats-ca")];
  const { JetStreamSink } = await import("../lib/nats/jetstream_sink.ts");
  const sink = await JetStreamSink.open(target, {
    stream: values.stream,
    replicas: options.replicas,
    creds,
    caCerts,
    maxBytes: Math.max(1, Math.floor((options.maxMemory ?? DEFAULT_MAX_MEMORY) / 4)),
    grace: SHUTDOWN_GRACE,
    onStatus: options.say,
    onFailure: options.onFailure,
  });
  options.say(
    `Publishing to JetStream stream ${sink.stream}, subject ${sink.subject}, at ${target.display}`,
  );
  return sink;
}

/**
 * After the grace period, how long a stopping receiver may still take to
 * write its output before it gives up: 1 s.
 */
const OUTPUT_GRACE = 1_000;

/** Options for {@linkcode listenDualStack}. */
interface ListenDualStackOptions {
  /** The -H given, if one was. */
  hostname: string | undefined;
  /** -v: say which families are served even when it is both. */
  verbose: boolean | undefined;
  /** Where to put the line said after "Listening on ...". */
  families: { note: string };
}

/**
 * Starts the receiver on `::` (IPv6 and, mapped, IPv4) when no -H was
 * given, or on 0.0.0.0 where the system has no IPv6; says so, as it does
 * for -H 0.0.0.0, after the "Listening on" line.
 */
function listenDualStack(
  start: (hostname: string | undefined) => ReturnType<typeof receive>,
  options: ListenDualStackOptions,
): ReturnType<typeof receive> {
  const { hostname, families } = options;
  if (hostname === "0.0.0.0") {
    families.note = "IPv4 only (-H 0.0.0.0): leave -H out to serve IPv6 senders too";
  }
  if (hostname !== undefined) return start(hostname);
  if (Deno.build.os === "windows") {
    // Windows makes every IPv6 socket IPV6_V6ONLY, and Deno cannot clear it:
    // :: would turn IPv4 senders away.
    families.note = "IPv4 only: on Windows :: serves IPv6 alone; -H :: for IPv6";
    return start("0.0.0.0");
  }
  try {
    if (options.verbose) families.note = "IPv6 and IPv4 senders served (::, dual-stack)";
    return start("::");
  } catch (error) {
    if (!noIPv6(error)) throw error;
    families.note = "IPv4 only: IPv6 is not available on this machine";
    return start("0.0.0.0");
  }
}

/** Whether listening failed because the system has no IPv6. */
function noIPv6(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof Deno.errors.AddrNotAvailable) return true;
    if (/os error 97\b|address family not supported/i.test(e.message)) return true;
  }
  return false;
}

/**
 * A certificate made for this run (`receive --tls` without files), its
 * fingerprint said on stderr for senders to pin.
 */
async function selfSigned(say: (line: string) => void): Promise<{ cert: string; key: string }> {
  const { makeSelfSigned } = await import("../lib/self_signed.ts");
  const { cert, key, fingerprint } = await makeSelfSigned();
  say(`TLS certificate made for this run: ${fingerprint}`);
  say(`Senders connect with: framecat send --pin ${fingerprint}`);
  return { cert, key };
}

/**
 * Where lines go: stdout, written synchronously once it is known to be a
 * file or /dev/null (a write then costs no round trip to a thread; with
 * --ack a round trip costs a third less), asynchronously to a pipe, a socket
 * or a terminal, whose reader may stall, so that signals and timeouts still
 * work meanwhile. Telling them apart loads node:fs (Deno 2 has no fstat),
 * about 20 ms: done after the receiver has started, so that it costs the
 * start nothing; until then writes are asynchronous.
 */
function stdoutWriter(stderr: SyncByteWriter | undefined): SyncByteWriter {
  const writer: SyncByteWriter = {
    write: (p) => Deno.stdout.write(p),
    writeSync: (p) => Deno.stdout.writeSync(p),
    synchronous: false,
  };
  if (!Deno.stdout.isTerminal() || (stderr && !Deno.stderr.isTerminal())) {
    import("node:fs").then(({ fstatSync }) => {
      const never = (fd: number) => {
        const stat = fstatSync(fd);
        return stat.isFile() || stat.isCharacterDevice();
      };
      writer.synchronous = !Deno.stdout.isTerminal() && never(1);
      // The connection lines on stderr likewise.
      if (stderr) stderr.synchronous = !Deno.stderr.isTerminal() && never(2);
    }, () => {});
  }
  return writer;
}
