/**
 * Builds `lib/capture/framecat_lua.ts` from `lib/capture/framecat.lua`, the
 * Wireshark dissector that `framecat wireshark` prints: the Lua is a real
 * file, which `luac -p` and editors read, and the TypeScript module carries
 * its text. With `--check` it only says whether the committed module is what
 * the source builds to, and exits 1 if not.
 *
 * ```sh
 * deno task build:lua            # rebuild
 * deno task build:lua --check    # as CI does
 * ```
 *
 * @module
 */

import { formatted } from "./formatted.ts";

const SOURCE = new URL("../lib/capture/framecat.lua", import.meta.url);
const TARGET = new URL("../lib/capture/framecat_lua.ts", import.meta.url);

/** The places where `framecat wireshark --port` puts its port, each once in the source. */
export const PORT_PLACES: readonly string[] = [
  "-- 1234) are framecat",
  "local DEFAULT_PORT = 1234\n",
];

/**
 * The TypeScript module that carries `lua`; throws when the source lacks a
 * place for the port.
 *
 * @example
 * ```ts
 * import { buildLuaModule, PORT_PLACES } from "./build_lua.ts";
 * import assert from "node:assert/strict";
 *
 * const module = await buildLuaModule(PORT_PLACES.join("\n"));
 * assert.match(module, /export const FRAMECAT_LUA: string = \[/);
 * await assert.rejects(buildLuaModule("print(1)"), /no place for the port/);
 * ```
 */
export async function buildLuaModule(lua: string): Promise<string> {
  for (const place of PORT_PLACES) {
    if (lua.split(place).length !== 2) {
      throw new Error(`lib/capture/framecat.lua has no place for the port, or several: ${place}`);
    }
  }
  const lines = lua.split("\n").map((line) => `  ${JSON.stringify(line)},`);
  return await formatted([
    "// Built by tools/build_lua.ts from lib/capture/framecat.lua: edit that and run",
    "// `deno task build:lua`.",
    "",
    "/**",
    " * The text of `lib/capture/framecat.lua`, the Wireshark dissector for",
    " * framecat, for port 1234.",
    " *",
    " * @example",
    " * ```ts",
    ' * import { FRAMECAT_LUA } from "./framecat_lua.ts";',
    ' * import assert from "node:assert/strict";',
    " *",
    " * assert.match(FRAMECAT_LUA, /^local DEFAULT_PORT = 1234$/m);",
    " * ```",
    " */",
    "export const FRAMECAT_LUA: string = [",
    ...lines,
    '].join("\\n");',
    "",
  ].join("\n"));
}

if (import.meta.main) {
  const built = await buildLuaModule(await Deno.readTextFile(SOURCE));
  if (Deno.args.includes("--check")) {
    const committed = await Deno.readTextFile(TARGET).catch(() => "");
    if (committed !== built) {
      console.error(
        "lib/capture/framecat_lua.ts is not what lib/capture/framecat.lua builds to: " +
          "run deno task build:lua",
      );
      Deno.exit(1);
    }
    console.log("lib/capture/framecat_lua.ts matches lib/capture/framecat.lua");
  } else {
    await Deno.writeTextFile(TARGET, built);
    console.log("wrote lib/capture/framecat_lua.ts");
  }
}
