/**
 * The `framecat` command: dispatches to the subcommands in `cli/` (`send`,
 * `receive`, `dissect`, `demo`, `consume`) and turns what happened into an exit code (0
 * success, 1 runtime failure, 2 usage error). Only it and `cli/` touch the
 * process.
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

import denoJson from "./deno.json" with { type: "json" };
import { describeError, isBadInput } from "./lib/errors.ts";
import type { SyncByteWriter } from "./lib/io.ts";
import { LineWriter } from "./lib/line_writer.ts";
import { after, type Timer } from "./lib/timer.ts";
import {
  type CommandContext,
  formatUsage,
  type Help,
  printText,
  suggest,
  UsageError,
} from "./cli/args.ts";

/** framecat's version, from `deno.json`. */
export const VERSION: string = denoJson.version;

/** framecat's subcommands: each module is loaded only when it runs (or for help). */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  receive: {
    summary: "listen for senders and print every message they send, one a line",
    load: async () => {
      const { runReceive, RECEIVE_HELP } = await import("./cli/receive.ts");
      return { run: runReceive, help: RECEIVE_HELP };
    },
  },
  send: {
    summary: "connect to a receiver and send messages over one connection",
    load: async () => {
      const { runSend, SEND_HELP } = await import("./cli/send.ts");
      return { run: runSend, help: SEND_HELP };
    },
  },
  dissect: {
    summary: "explain a capture (pcap, pcapng) of framecat traffic: every packet's " +
      "layers and bytes, then the messages of each connection",
    load: async () => {
      const { runDissect, DISSECT_HELP } = await import("./cli/dissect.ts");
      return { run: runDissect, help: DISSECT_HELP };
    },
  },
  wireshark: {
    summary: "print a Wireshark dissector for framecat (Lua), to save in Wireshark's " +
      "plugins folder",
    load: async () => {
      const { runWireshark, WIRESHARK_HELP } = await import("./cli/wireshark.ts");
      return { run: runWireshark, help: WIRESHARK_HELP };
    },
  },
  demo: {
    summary: 'start a receiver on a free loopback port, send it "Hello World!", show ' +
      "both sides, and exit",
    load: async () => {
      const { runDemo, DEMO_HELP } = await import("./cli/demo.ts");
      return { run: runDemo, help: DEMO_HELP };
    },
  },
  consume: {
    summary: "read a NATS JetStream stream (what receive --to nats:// stored) and " +
      "deliver each message to a receiver, or to stdout as JSON lines",
    load: async () => {
      const { runConsume, CONSUME_HELP } = await import("./cli/consume.ts");
      return { run: runConsume, help: CONSUME_HELP };
    },
  },
};

interface Command {
  run(args: string[], context: CommandContext): Promise<number>;
  help: Help;
}

async function formatMainHelp(): Promise<string> {
  const names = Object.keys(COMMANDS);
  const commands = await Promise.all(names.map((name) => COMMANDS[name].load()));
  const usage = names.map((name, i) => formatUsage(name, commands[i].help, { indent: 2 }));
  const summaries = names.map((name) => {
    const [first, ...rest] = wrapWords(COMMANDS[name].summary, 68);
    return [`  ${name.padEnd(10)}${first}`, ...rest.map((line) => " ".repeat(12) + line)];
  });
  return `framecat ${VERSION}: send and receive JSON messages over TCP, message by message.

Usage:
${[...usage, "framecat --help | framecat --version"].join("\n").replace(/^/gm, "  ")}

Each message travels as one frame: its length in UTF-8 bytes as ASCII decimal
digits, a LF, then the JSON text. Example: 14\\n"Hello World!"

Commands:
${summaries.flat().join("\n")}

Each command's flags, defaults and examples:
${names.map((name) => `  framecat ${name} --help`).join("\n")}

Examples:
  framecat receive                      # on 192.168.1.252: listen on port 1234
  framecat send -H 192.168.1.252        # elsewhere: send it "Hello World!"
  echo '{"a":1}' | framecat send -j     # messages from standard input

Exit codes:
  0  success (send: the receiver got every message)
  1  runtime failure (said on stderr in one line)
  2  usage error
  3  send: every message written, but the receiver never confirmed them

framecat needs network access (--allow-net), and read access (--allow-read)
only to read TLS certificate files and captures named by dissect FILE.
`;
}

function wrapWords(text: string, width: number): string[] {
  const lines = [""];
  for (const word of text.split(" ")) {
    const last = lines.length - 1;
    if (lines[last] !== "" && lines[last].length + 1 + word.length > width) lines.push(word);
    else lines[last] += (lines[last] === "" ? "" : " ") + word;
  }
  return lines;
}

/**
 * The line that says what went wrong, and what to do where it is known: a
 * missing --allow-net (Deno's permission) is not a port that needs privileges
 * (the system's EACCES).
 */
function explain(error: unknown): string {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof Deno.errors.NotCapable && /\bnet access\b/.test(e.message)) {
      return "framecat needs network access: run it with --allow-net";
    }
  }
  // receive()'s ListenError carries its facts; told by its name, so that
  // main.ts loads no receiver code for the other commands.
  const listen = error as { name?: string; address?: string; port?: number; cause?: unknown };
  if (
    listen?.name === "ListenError" && listen.port! < 1024 &&
    listen.cause instanceof Deno.errors.PermissionDenied
  ) {
    const advice = "ports below 1024 need privileges; use --port 1234 or run as root";
    return `framecat: Cannot listen on ${listen.address}: ${advice}`;
  }
  return `framecat: ${describeError(error)}`;
}

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
  const stderrWriter: SyncByteWriter = {
    write: (p) => Deno.stderr.write(p),
    writeSync: (p) => Deno.stderr.writeSync(p),
    synchronous: false,
  };
  // Lines on stderr are short; a long text is written in pieces.
  const stderr = new LineWriter(stderrWriter, { bufferSize: 16 * 1024 });
  const say = (line: string) => stderr.add(line + "\n");
  try {
    return await run(args, { say, stderr: stderrWriter });
  } catch (error) {
    if (error instanceof UsageError) {
      const command = error.command ? `framecat ${error.command}` : "framecat";
      say(`${command}: ${error.message} (see ${command} --help)`);
      return 2;
    }
    // Bad input the user gave (a line of standard input that is not JSON)
    // is marked so by the library; any other error is a runtime failure,
    // a bug's RangeError included.
    if (isBadInput(error)) {
      say(`framecat: ${(error as Error).message}`);
      return 2;
    }
    say(explain(error));
    return 1;
  } finally {
    // A stderr nobody reads (a stalled terminal) must not hold the exit.
    let timer: Timer | undefined;
    await Promise.race([
      stderr.flush().catch(() => {}),
      new Promise<void>((resolve) => timer = after(STDERR_WAIT, resolve)),
    ]);
    timer!.cancel();
  }
}

/** How long the last lines on stderr may take to be written at exit: 2 s. */
const STDERR_WAIT = 2_000;

async function run(args: string[], context: CommandContext): Promise<number> {
  const [command, ...rest] = args;
  if (command !== undefined && Object.hasOwn(COMMANDS, command)) {
    const { run } = await COMMANDS[command].load();
    return await run(rest, context);
  }
  switch (command) {
    case "-h":
    case "--help":
    case "help":
      return await printText(await formatMainHelp());
    case "-V":
    case "--version":
      return await printText(`framecat ${VERSION}\n`);
    case undefined:
      throw new UsageError(`missing command: ${Object.keys(COMMANDS).join(", ")}`);
    default: {
      const guess = suggest(command, Object.keys(COMMANDS));
      throw new UsageError(
        `unknown command "${command}": ` +
          (guess ? `did you mean ${guess}?` : `use ${Object.keys(COMMANDS).join(", ")}`),
      );
    }
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
