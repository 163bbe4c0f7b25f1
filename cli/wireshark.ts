/**
 * `framecat wireshark`: print the framecat dissector for Wireshark, in Lua.
 *
 * @module
 */

import { DEFAULT_WIRESHARK_PORT, wiresharkDissector } from "../lib/capture/wireshark.ts";
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

/** wireshark's flags: its parser and its help both read this table. */
const FLAGS = [
  {
    name: "port",
    short: "p",
    value: "P",
    default: String(DEFAULT_WIRESHARK_PORT),
    help: "the TCP port shown as framecat: where Wireshark's preference framecat.port starts",
  },
] as const satisfies readonly Flag[];

/** wireshark's help, with its flags. */
export const WIRESHARK_HELP: Help = {
  description: `Prints a Wireshark dissector for framecat, in Lua. Saved in Wireshark's
personal Lua plugins folder, it is loaded when Wireshark or tshark starts
(Analyze > Reload Lua Plugins loads it in a running Wireshark):
  Linux    ~/.local/lib/wireshark/plugins/ (before Wireshark 2.5:
           ~/.config/wireshark/plugins/)
  macOS    ~/.local/lib/wireshark/plugins/, or the folder that Wireshark's
           Help > About Wireshark > Folders names "Personal Lua Plugins"
  Windows  %APPDATA%\\Wireshark\\plugins\\
For one run only: tshark -X lua_script:framecat.lua -r CAPTURE

It shows TCP port P as framecat. Another port: change Preferences >
Protocols > framecat > TCP port (tshark: -o framecat.port:5555), or pick a
packet and use Analyze > Decode As... with framecat as the TCP port's
protocol (tshark: -d tcp.port==5555,framecat). A stream on any other port
that starts with a valid frame is recognised too (the heuristic framecat_tcp
in Analyze > Enabled Protocols). Every frame shows its length prefix and
payload bytes and the fields framecat.length and framecat.json; a bad frame
is expert info with the receiver's reason.

Captures with lost or reordered segments: Wireshark puts segments back in
order only with Preferences > Protocols > TCP > Reassemble out-of-order
segments (tshark: -o tcp.reassemble_out_of_order:TRUE); without it the plugin
marks the first gap (framecat.gap) and decodes that direction no further.`,
  flags: FLAGS,
  examples: [
    "mkdir -p ~/.local/lib/wireshark/plugins                # on Linux",
    "framecat wireshark > ~/.local/lib/wireshark/plugins/framecat.lua",
    "tshark -r hello.pcap -Y framecat -T fields -e framecat.length -e framecat.json",
    "tshark -o tcp.reassemble_out_of_order:TRUE -r lossy.pcap -Y framecat",
  ],
  exitCodes: ["0  done", "1  standard output cannot be written", "2  usage error"],
};

/**
 * Runs `framecat wireshark` with its arguments; resolves to the exit code.
 *
 * @example
 * ```ts
 * import { runWireshark } from "./wireshark.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await runWireshark(["--help"], { say: () => {} }), 0);
 * ```
 */
export async function runWireshark(args: string[], _context: CommandContext): Promise<number> {
  const { values, positionals, help } = parseFlags(args, { command: "wireshark", flags: FLAGS });
  if (help) return await printText(formatHelp("wireshark", WIRESHARK_HELP));
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, "wireshark");
  }
  const port = parseWhole(values.port, {
    flag: "--port",
    command: "wireshark",
    min: 1,
    max: 65535,
  });
  try {
    return await printText(wiresharkDissector({ port }));
  } catch (error) {
    // Standard output closed early, as by `framecat wireshark | head`: done.
    if (error instanceof Deno.errors.BrokenPipe) return 0;
    throw error;
  }
}
