/**
 * Builds `lib/capture/page_assets.ts` from `lib/capture/page.js` and
 * `lib/capture/page.css`, the script and style of `framecat dissect --html`:
 * they are real files, which `deno lint`, `deno fmt` and editors read, and
 * the TypeScript module carries their text. With `--check` it only says
 * whether the committed module is what the sources build to, and exits 1 if
 * not.
 *
 * ```sh
 * deno task build:page            # rebuild
 * deno task build:page --check    # as CI does
 * ```
 *
 * @module
 */

import { formatted } from "./formatted.ts";

const SCRIPT = new URL("../lib/capture/page.js", import.meta.url);
const STYLE = new URL("../lib/capture/page.css", import.meta.url);
const TARGET = new URL("../lib/capture/page_assets.ts", import.meta.url);

/** Options for {@linkcode buildPageModule}: the sources' text. */
export interface PageSources {
  /** The page's script. */
  script: string;
  /** The page's style. */
  style: string;
}

/**
 * The TypeScript module that carries the page's script and style.
 *
 * @example
 * ```ts
 * import { buildPageModule } from "./build_page.ts";
 * import assert from "node:assert/strict";
 *
 * const module = await buildPageModule({ script: "draw();", style: "p{}" });
 * assert.match(module, /export const PAGE_SCRIPT: string = \[/);
 * ```
 */
export async function buildPageModule(sources: PageSources): Promise<string> {
  const lines = (text: string) => text.split("\n").map((line) => `  ${JSON.stringify(line)},`);
  return await formatted([
    "// Built by tools/build_page.ts from lib/capture/page.js and page.css: edit",
    "// those and run `deno task build:page`.",
    "",
    "/**",
    " * The text of `lib/capture/page.js`, the script of `framecat dissect --html`.",
    " *",
    " * @example",
    " * ```ts",
    ' * import { PAGE_SCRIPT } from "./page_assets.ts";',
    ' * import assert from "node:assert/strict";',
    " *",
    ' * assert.match(PAGE_SCRIPT, /"use strict"/);',
    " * ```",
    " */",
    "export const PAGE_SCRIPT: string = [",
    ...lines(sources.script),
    '].join("\\n");',
    "",
    "/**",
    " * The text of `lib/capture/page.css`, the style of `framecat dissect --html`.",
    " *",
    " * @example",
    " * ```ts",
    ' * import { PAGE_STYLE } from "./page_assets.ts";',
    ' * import assert from "node:assert/strict";',
    " *",
    " * assert.match(PAGE_STYLE, /:root/);",
    " * ```",
    " */",
    "export const PAGE_STYLE: string = [",
    ...lines(sources.style),
    '].join("\\n");',
    "",
  ].join("\n"));
}

if (import.meta.main) {
  const built = await buildPageModule({
    script: await Deno.readTextFile(SCRIPT),
    style: await Deno.readTextFile(STYLE),
  });
  if (Deno.args.includes("--check")) {
    const committed = await Deno.readTextFile(TARGET).catch(() => "");
    if (committed !== built) {
      console.error(
        "lib/capture/page_assets.ts is not what lib/capture/page.js and page.css build to: " +
          "run deno task build:page",
      );
      Deno.exit(1);
    }
    console.log("lib/capture/page_assets.ts matches lib/capture/page.js and page.css");
  } else {
    await Deno.writeTextFile(TARGET, built);
    console.log("wrote lib/capture/page_assets.ts");
  }
}
