/**
 * `framecat dissect`: explain a packet capture of framecat traffic.
 *
 * @module
 */

import { describeError } from "../lib/errors.ts";
import { writeHtmlReport } from "../lib/capture/html.ts";
import type { CaptureSource } from "../lib/capture/pcap.ts";
import {
  type DissectRecord,
  dissectRecords,
  type DissectResult,
  writeDissection,
} from "../lib/capture/report.ts";
import { DEFAULT_PORT } from "../lib/sender.ts";
import {
  type CommandContext,
  type Flag,
  formatHelp,
  type Help,
  parseFlags,
  parseWhole,
  printText,
  UsageError,
} from "./args.ts";

/** dissect's flags: its parser and its help both read this table. */
const FLAGS = [
  {
    name: "json",
    short: "j",
    help: 'one JSON object a line: {"type":"packet",...} for each packet, ' +
      '{"type":"message","stream":"a:p > b:p","packets":[..],"bytes":N,"message":VALUE} ' +
      'for each message, {"type":"problem",...}, each as soon as it is found',
  },
  {
    name: "html",
    help: "one self-contained HTML page (no network needed): the packet list, each " +
      "packet's fields and its bytes lighting up together, and the messages",
  },
  {
    name: "port",
    short: "p",
    value: "P",
    default: String(DEFAULT_PORT),
    help: "the framecat port: its streams are always decoded; other streams are shown " +
      "when they hold valid frames",
  },
] as const satisfies readonly Flag[];

/** dissect's help, with its flags. */
export const DISSECT_HELP: Help = {
  operands: "FILE|-",
  description: `Explains a packet capture made by tcpdump, tshark or Wireshark (pcap or
pcapng; Ethernet and IEEE 802.3 with LLC/SNAP, BSD and OpenBSD loopback, raw
IP and Linux cooked captures; IPv4, IPv6, TCP, UDP): for each packet its layers
with their byte ranges (inclusive) and decoded fields with their meanings
(names, bits, checksums checked), each framecat message's prefix and JSON
bytes, and a hex dump labelled by layer; then each TCP connection's byte
stream, reassembled, decoded as framecat frames: every message with the
packets that carried it, and the reason a frame is bad, as the receiver would
say it. IP fragments are not reassembled. The capture is read as a stream, in
bounded memory whatever its size (docs/dissect.md says how).`,
  flags: FLAGS,
  examples: [
    "tcpdump -i lo -w hello.pcap port 1234 & framecat demo; kill %1   # on Linux",
    "framecat dissect hello.pcap",
    "framecat dissect --html hello.pcap > report.html",
    "framecat dissect -j - < hello.pcap | jq -c 'select(.type == \"message\")'",
  ],
  notes: `FILE - reads the capture from standard input, which needs no permission;
reading a FILE needs --allow-read.`,
  exitCodes: [
    "0  done",
    "1  the file is broken (what could be read is shown first), or cannot be read",
    "2  usage error",
  ],
};

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
  const { values, positionals, help } = parseFlags(args, { command: "dissect", flags: FLAGS });
  if (help) return await printText(formatHelp("dissect", DISSECT_HELP));
  if (positionals.length !== 1) {
    throw new UsageError("give one capture FILE, or - for standard input", "dissect");
  }
  if (values.json && values.html) {
    throw new UsageError("give --json or --html, not both", "dissect");
  }
  const [path] = positionals;
  const port = parseWhole(values.port, { flag: "--port", command: "dissect", min: 1, max: 65535 });
  let file: Deno.FsFile | undefined;
  try {
    file = path === "-" ? undefined : await Deno.open(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotCapable
      ? "reading a file needs --allow-read (or give it on standard input: dissect - < FILE)"
      : describeError(error);
    throw new Error(`Cannot read ${path}: ${why}`, { cause: error });
  }
  let report;
  try {
    const input = file ?? Deno.stdin;
    const source = {
      // A read that fails names the file.
      read: (p: Uint8Array) =>
        input.read(p).catch((error) => {
          throw new Error(`Cannot read ${path}: ${describeError(error)}`, { cause: error });
        }),
    };
    report = values.html
      ? await writeHtml(source, path, port)
      : await writeDissection(source, Deno.stdout, {
        json: values.json,
        port,
        name: path === "-" ? "from standard input" : path,
        color: !values.json && Deno.stdout.isTerminal() && !Deno.noColor,
      });
  } catch (error) {
    // Standard output closed early, as by `framecat dissect FILE | head`: done.
    if (error instanceof Deno.errors.BrokenPipe) return 0;
    // A bug's RangeError or TypeError is a runtime failure (exit 1), not a usage error.
    if (error instanceof RangeError || error instanceof TypeError) {
      throw new Error(`Cannot dissect ${path}: ${describeError(error)}`, { cause: error });
    }
    throw error;
  } finally {
    file?.close();
  }
  for (const problem of report.problems) say(`framecat: ${problem}`);
  return report.broken ? 1 : 0;
}

/** `--html`: the records as one page, a broken file's problem on it too. */
async function writeHtml(
  source: CaptureSource,
  path: string,
  port: number | undefined,
): Promise<DissectResult> {
  const name = path === "-" ? "from standard input" : path;
  const result: DissectResult = { problems: [], broken: false };
  async function* records(): AsyncGenerator<DissectRecord | { type: "problem"; reason: string }> {
    try {
      yield* dissectRecords(source, { port, name });
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      result.broken = true;
      result.problems.push(error.message);
      yield { type: "problem", reason: error.message };
    }
  }
  await writeHtmlReport(records(), Deno.stdout, {
    title: path === "-" ? "standard input" : path.split(/[\\/]/).pop(),
  });
  return result;
}
