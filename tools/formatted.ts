/**
 * TypeScript text as `deno fmt` writes it with this project's settings: what
 * the build tools (`build_wasm.ts`, `build_lua.ts`, `build_page.ts`) write
 * and check their generated modules against.
 *
 * @module
 */

/**
 * `text` (TypeScript) as `deno fmt` writes it, with this project's settings.
 *
 * @example
 * ```ts
 * import { formatted } from "./formatted.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await formatted("const a=1"), "const a = 1;\n");
 * ```
 */
export async function formatted(text: string): Promise<string> {
  const fmt = new Deno.Command(Deno.execPath(), {
    args: [
      "fmt",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      "--ext",
      "ts",
      "-",
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = fmt.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { success, stdout } = await fmt.output();
  if (!success) throw new Error("deno fmt could not format the built module");
  return new TextDecoder().decode(stdout);
}
