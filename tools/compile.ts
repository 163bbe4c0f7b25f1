/**
 * Builds framecat's standalone executables into `dist/`, one per target, with
 * `--allow-net` and `--allow-read` baked in (a binary cannot be given more
 * permissions when it runs, and reading is needed for the TLS certificate
 * files named on its command line): `deno task compile` (all targets) or
 * `deno task compile --host` (this machine's only). `deno compile` downloads
 * the runtime it embeds (denort) unless `DENORT_BIN` names one.
 *
 * @example
 * ```sh
 * deno task compile --host && ./dist/framecat-x86_64-unknown-linux-gnu --version
 * ```
 *
 * @module
 */

/** The platforms framecat ships for. */
export const TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];

/** Options for {@linkcode compile}. */
export interface CompileOptions {
  /** Folder for the executables. Defaults to `dist`. */
  outDir?: string;
}

/** How one target's build went. */
export interface CompileResult {
  target: string;
  output: string;
  ok: boolean;
  /** What `deno compile` said, when it failed. */
  error?: string;
}

/**
 * Compiles `main.ts` for `target` into `framecat-<target>` (`.exe` on Windows).
 *
 * @example
 * ```ts ignore
 * import { compile } from "./compile.ts";
 * const result = await compile(Deno.build.target, { outDir: "dist" });
 * if (!result.ok) console.error(result.error);
 * ```
 */
export async function compile(
  target: string,
  options: CompileOptions = {},
): Promise<CompileResult> {
  const outDir = options.outDir ?? "dist";
  const output = `${outDir}/framecat-${target}${target.includes("windows") ? ".exe" : ""}`;
  const main = new URL("../main.ts", import.meta.url).pathname;
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["compile", "--allow-net", "--allow-read", "--target", target, "--output", output, main],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (success) return { target, output, ok: true };
  const said = new TextDecoder().decode(stderr);
  return { target, output, ok: false, error: explainFailure(said) };
}

/** Says why `deno compile` failed, in one line where the reason is known. */
export function explainFailure(said: string): string {
  if (/error sending request|dns error|failed to lookup address/.test(said)) {
    return "deno compile could not download its runtime (denort): this machine cannot reach " +
      "Deno's servers; set DENORT_BIN to a denort binary of the same Deno version";
  }
  const lines = said.trim().split("\n").filter((line) => line.trim() !== "");
  return lines.slice(0, 6).join(" / ");
}

if (import.meta.main) {
  const targets = Deno.args.includes("--host") ? [Deno.build.target] : TARGETS;
  let failed = 0;
  for (const target of targets) {
    const result = await compile(target);
    if (result.ok) {
      console.log(`built ${result.output}`);
    } else {
      failed++;
      console.error(`cannot build ${result.output}: ${result.error}`);
    }
  }
  if (failed > 0) Deno.exit(1);
}
