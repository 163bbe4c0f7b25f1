// Built by tools/build_wasm.ts from lib/plain_scan.wat: edit that and run
// `deno task build:wasm`.

/**
 * The WebAssembly module of `lib/plain_scan.wat`.
 *
 * @example
 * ```ts
 * import { PLAIN_SCAN_WASM } from "./plain_scan_wasm.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(WebAssembly.validate(PLAIN_SCAN_WASM));
 * ```
 */
export const PLAIN_SCAN_WASM: Uint8Array<ArrayBuffer> = Uint8Array.from(
  atob([
    "AGFzbQEAAAABDgJgAn9/AX9gA39/fwF/AwQDAAEBBQMBAAIHIQQGbWVtb3J5AgAFcGxhaW4AAAVm",
    "aXJzdAABBGxhc3QAAgreAgOPAQIBfwF7IAFBEGshAgJAA0AgACACSg0BIAD9AAQAIQMgA/0MICAg",
    "ICAgICAgICAgICAgIP0lIAP9DH9/f39/f39/f39/f39/f3/9I/1QIAP9DCIiIiIiIiIiIiIiIiIi",
    "IiL9IyAD/QxcXFxcXFxcXFxcXFxcXFxc/SP9UP1Q/VMNASAAQRBqIQAMAAsLIAALZQIBewF/IAL9",
    "DyEDAkADQCABIABrQRBIDQEgAP0ABAAgA/0j/WQhBCAEBEAgACAEaGoPCyAAQRBqIQAMAAsLAkAD",
    "QCAAIAFODQEgAC0AACACRgRAIAAPCyAAQQFqIQAMAAsLQX8LZQIBewF/IAL9DyEDAkADQCABIABr",
    "QRBIDQEgAUEQayEBIAH9AAQAIAP9I/1kIQQgBARAIAFBHyAEZ2tqDwsMAAsLAkADQCABIABMDQEg",
    "AUEBayEBIAEtAAAgAkcNACABDwsLQX8L",
  ].join("")),
  (c) => c.charCodeAt(0),
);
