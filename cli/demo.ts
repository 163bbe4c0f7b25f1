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
import { type CommandContext, parseFlags, printText } from "./args.ts";

const DEMO_HELP = `Usage: framecat demo

Starts a receiver on a free loopback port, sends it the seed's "Hello World!",
shows both sides and the bytes on the wire, and exits.

Example:
  framecat demo
Exit codes: 0 done, 1 the exchange failed, 2 usage error.
`;

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
  const { values } = parseFlags(args, {
    command: "demo",
    flags: { help: { type: "boolean", short: "h" } },
  });
  if (values.help) return await printText(DEMO_HELP);
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
