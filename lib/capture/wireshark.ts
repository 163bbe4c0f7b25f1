/**
 * A Wireshark dissector for framecat, in Lua: `framecat wireshark` prints it
 * for people to save in Wireshark's plugins folder. It registers the
 * protocol `framecat` on a TCP port (a preference; Decode As works too) and
 * as a heuristic dissector for streams on other ports that start with a
 * valid frame. Each frame shows its length prefix and payload bytes and the
 * fields `framecat.length` and `framecat.json`; frames split over segments
 * are reassembled. A bad frame is expert info with the receiver's reason
 * (as framecat's `FrameError` words it); a frame cut short by the end of its
 * stream is marked on the segment that ends the stream. Lost or reordered
 * segments: the first gap is expert info naming the preference
 * `tcp.reassemble_out_of_order`, with which the plugin finds every message
 * `framecat dissect` finds. Any number of frames in one packet is read (only
 * the first 64 get a JSON tree, within Wireshark's tree depth).
 *
 * @example
 * ```ts
 * import { wiresharkDissector } from "./wireshark.ts";
 * import assert from "node:assert/strict";
 *
 * const lua = wiresharkDissector({ port: 5555 });
 * assert.match(lua, /Proto\("framecat", "framecat"\)/);
 * assert.match(lua, /local DEFAULT_PORT = 5555\n/);
 * ```
 *
 * @module
 */

import { FRAMECAT_LUA } from "./framecat_lua.ts";

/** The TCP port the dissector claims unless told otherwise. */
export const DEFAULT_WIRESHARK_PORT = 1234;

/** Options for {@linkcode wiresharkDissector}. */
export interface WiresharkDissectorOptions {
  /** The TCP port of framecat traffic: the preference's default. Defaults to 1234. */
  port?: number;
}

/**
 * Returns the Lua source of the framecat dissector for Wireshark and tshark
 * (tested with tshark 4.0, whose Lua is 5.2).
 *
 * @example
 * ```ts
 * import { wiresharkDissector } from "./wireshark.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(wiresharkDissector(), /local DEFAULT_PORT = 1234\n/);
 * assert.throws(() => wiresharkDissector({ port: 70000 }), RangeError);
 * ```
 */
export function wiresharkDissector(options: WiresharkDissectorOptions = {}): string {
  const port = options.port ?? DEFAULT_WIRESHARK_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(
      `Cannot write the Wireshark dissector: the port must be a whole number from 1 to 65535, got ${port}`,
    );
  }
  // The Lua is lib/capture/framecat.lua (for port 1234), built into framecat_lua.ts.
  return FRAMECAT_LUA
    .replace("-- 1234) are framecat", `-- ${port}) are framecat`)
    .replace("local DEFAULT_PORT = 1234\n", `local DEFAULT_PORT = ${port}\n`);
}
