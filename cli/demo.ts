/**
 * `framecat demo`: a receiver on a free loopback port, sent the seed's
 * Hello World, both sides shown.
 *
 * @module
 */

import { formatAddress } from "../lib/address.ts";
import { encodeFrame } from "../lib/framing.ts";
import { LineWriter } from "../lib/line_writer.ts";
import { receive } from "../lib/receiver.ts";
import { batchFrames, send } from "../lib/sender.ts";
import {
  type CommandContext,
  formatHelp,
  type Help,
  parseFlags,
  printText,
  UsageError,
} from "./args.ts";

/** demo's help: it has no flags. */
export const DEMO_HELP: Help = {
  description: `Starts a receiver on a free loopback port, sends it the seed's "Hello World!",
shows both sides and the bytes on the wire, and exits.`,
  flags: [],
  examples: [
    "framecat demo",
    "deno task demo            # the same, from a clone",
  ],
  exitCodes: ["0  done", "1  the exchange failed", "2  usage error"],
};

/**
 * Runs `framecat demo`; resolves to the exit code.
 *
 * @example
 * ```ts
 * import { runDemo } from "./demo.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await runDemo(["--help"], { say: () => {} }), 0);
 * ```
 */
export async function runDemo(args: string[], _context: CommandContext): Promise<number> {
  const { positionals, help } = parseFlags(args, { command: "demo", flags: [] });
  if (help) return await printText(formatHelp("demo", DEMO_HELP));
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, "demo");
  }
  const out = new LineWriter(Deno.stdout);
  const show = (side: string, line: string) => out.add(`${side.padEnd(7)} | ${line}\n`);
  const closed: string[] = [];
  const receiver = receive({
    write: (p: Uint8Array) => {
      show("receive", new TextDecoder().decode(p).trimEnd());
      return Promise.resolve(p.length);
    },
  }, {
    hostname: "127.0.0.1",
    port: 0,
    count: 1,
    // The receiver says a connection closed as it stops reading it, which
    // can be before the message it read is written: said after it.
    onEvent: (event) =>
      event.type === "close" ? closed.push(event.message) : show("receive", event.message),
  });
  const frame = encodeFrame("Hello World!");
  const wire = JSON.stringify(new TextDecoder().decode(frame));
  show("send", `Sending "Hello World!" to ${formatAddress(receiver.addr)} as ${wire}`);
  const sent = await send([batchFrames([frame])], { port: receiver.addr.port });
  show("send", `Sent ${sent.messages} message (${sent.bytes} bytes) to ${sent.peer}`);
  await receiver.finished;
  closed.forEach((line) => show("receive", line));
  await out.flush();
  return 0;
}
