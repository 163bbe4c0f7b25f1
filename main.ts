/**
 * The `framecat` command: dispatches to the subcommands in `cli/` (`send`,
 * `receive`, `dissect`, `demo`) and turns what happened into an exit code (0
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
import { describeError } from "./lib/errors.ts";
import { LineWriter } from "./lib/line_writer.ts";
import { printText, UsageError } from "./cli/args.ts";

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
    // Each subcommand's module is loaded only when it runs: start-up costs
    // only what the command uses.
    case "send":
      return await (await import("./cli/send.ts")).runSend(rest, { say });
    case "receive":
      return await (await import("./cli/receive.ts")).runReceive(rest, { say });
    case "dissect":
      return await (await import("./cli/dissect.ts")).runDissect(rest, { say });
    case "demo":
      return await (await import("./cli/demo.ts")).runDemo(rest, { say });
    case "-h":
    case "--help":
    case "help":
      return await printText(HELP);
    case "-V":
    case "--version":
      return await printText(`framecat ${VERSION}\n`);
    case undefined:
      throw new UsageError("missing command: send, receive, dissect or demo");
    default:
      throw new UsageError(`unknown command "${command}": use send, receive, dissect or demo`);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
