/**
 * Builds `lib/plain_scan_wasm.ts` from `lib/plain_scan.wat` with wabt (from
 * npm, at build time only: framecat itself loads the bytes). With `--check`
 * it only says whether the committed module is what the source builds to,
 * and exits 1 if not.
 *
 * ```sh
 * deno task build:wasm            # rebuild
 * deno task build:wasm --check    # as CI does
 * ```
 *
 * @module
 */

import wabtInit from "npm:wabt@1.0.37";
import { formatted } from "./formatted.ts";

const SOURCE = new URL("../lib/plain_scan.wat", import.meta.url);
const TARGET = new URL("../lib/plain_scan_wasm.ts", import.meta.url);

/** The TypeScript module that carries the WebAssembly built from `wat`. */
async function build(wat: string): Promise<string> {
  const wabt = await wabtInit();
  const module = wabt.parseWat("plain_scan.wat", wat, { simd: true });
  module.validate();
  const { buffer } = module.toBinary({});
  module.destroy();
  const hex = Array.from(buffer, (b) => b.toString(16).padStart(2, "0")).join("");
  const rows: string[] = [];
  for (let i = 0; i < hex.length; i += 80) rows.push(`  "${hex.slice(i, i + 80)}",`);
  return await formatted([
    "// Built by tools/build_wasm.ts from lib/plain_scan.wat: edit that and run",
    "// `deno task build:wasm`.",
    "",
    "// In hexadecimal, decoded when first asked for: no work at start-up (atob",
    "// would load a module of the runtime's, about 1 ms).",
    "const HEX = [",
    ...rows,
    '].join("");',
    "",
    "/**",
    " * The WebAssembly module of `lib/plain_scan.wat`.",
    " *",
    " * @example",
    " * ```ts",
    ' * import { plainScanWasm } from "./plain_scan_wasm.ts";',
    ' * import assert from "node:assert/strict";',
    " *",
    " * assert.ok(WebAssembly.validate(plainScanWasm()));",
    " * ```",
    " */",
    "export function plainScanWasm(): Uint8Array<ArrayBuffer> {",
    "  const bytes = new Uint8Array(HEX.length / 2);",
    "  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(HEX.slice(2 * i, 2 * i + 2), 16);",
    "  return bytes;",
    "}",
    "",
  ].join("\n"));
}

if (import.meta.main) {
  const built = await build(await Deno.readTextFile(SOURCE));
  if (Deno.args.includes("--check")) {
    const committed = await Deno.readTextFile(TARGET).catch(() => "");
    if (committed !== built) {
      console.error(
        "lib/plain_scan_wasm.ts is not what lib/plain_scan.wat builds to: run deno task build:wasm",
      );
      Deno.exit(1);
    }
    console.log("lib/plain_scan_wasm.ts matches lib/plain_scan.wat");
  } else {
    await Deno.writeTextFile(TARGET, built);
    console.log(`wrote lib/plain_scan_wasm.ts`);
  }
}
