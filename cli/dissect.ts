/**
 * `framecat dissect`: explain a packet capture of framecat traffic.
 *
 * @module
 */

import { describeError } from "../lib/errors.ts";
import { dissectCapture } from "../lib/dissect_report.ts";
import { LineWriter } from "../lib/line_writer.ts";
import { DEFAULT_PORT } from "../lib/sender.ts";
import { type CommandContext, parseFlags, parseWhole, printText, UsageError } from "./args.ts";

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

/**
 * Runs `framecat dissect` with its arguments; resolves to the exit code.
 *
 * @example
 * ```ts
 * import { runDissect } from "./dissect.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await runDissect(["--help"], { say: () => {} }), 0);
 * ```
 */
export async function runDissect(args: string[], { say }: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    command: "dissect",
    flags: {
      json: { type: "boolean" },
      port: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return await printText(DISSECT_HELP);
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
    port: parseWhole(values.port, { flag: "--port", command: "dissect", min: 1, max: 65535 }),
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
