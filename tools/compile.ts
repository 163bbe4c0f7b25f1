/**
 * Builds framecat's standalone executables into `dist/`, one per target, with
 * `--allow-net` and `--allow-read` baked in (a binary cannot be given more
 * permissions when it runs, and reading is needed for the TLS certificate
 * files named on its command line): `deno task compile` (all targets) or
 * `deno task compile --host` (this machine's only).
 *
 * `deno compile` downloads the runtime it embeds (denort) for each target.
 * Where it cannot, `DENORT_BIN` gives the runtimes: a denort file is used for
 * this machine's target only (deno compile itself would put it in every
 * target's binary, whatever its platform), and a directory is searched for
 * `denort-<target>` (`denort-<target>.exe` for Windows) for each target. A
 * target without its runtime there is downloaded as usual.
 *
 * @example
 * ```sh
 * deno task compile --host && ./dist/framecat-x86_64-unknown-linux-gnu --version
 * DENORT_BIN=~/denort deno task compile   # ~/denort/denort-aarch64-apple-darwin, ...
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
  /** The denort to embed, built for `target`; by default deno compile downloads it. */
  runtime?: string;
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
  // The NATS client and the X.509 builder are loaded by computed specifiers
  // (lib/nats/deps.ts, lib/self_signed.ts), so named here.
  const { NATS_PACKAGES } = await import("../lib/nats/deps.ts");
  const { SELF_SIGNED_PACKAGES } = await import("../lib/self_signed.ts");
  const nats = [...Object.values(NATS_PACKAGES), ...SELF_SIGNED_PACKAGES].flatMap((p) => [
    "--include",
    p,
  ]);
  // DENORT_BIN is this target's runtime, or none: never another target's.
  const env = Deno.env.toObject();
  delete env.DENORT_BIN;
  if (options.runtime !== undefined) env.DENORT_BIN = options.runtime;
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "--allow-net",
      "--allow-read",
      ...nats,
      "--target",
      target,
      "--output",
      output,
      main,
    ],
    stdout: "null",
    stderr: "piped",
    clearEnv: true,
    env: { ...env, NO_COLOR: "1" },
  }).output();
  if (success) return { target, output, ok: true };
  const said = new TextDecoder().decode(stderr);
  return { target, output, ok: false, error: explainFailure(said) };
}

/**
 * Says why `deno compile` failed, in one line: its error and every cause
 * after it, without the progress lines before it or the backtrace after.
 *
 * @example
 * ```ts
 * import { explainFailure } from "./compile.ts";
 * import assert from "node:assert/strict";
 *
 * const said = "Compile main.ts\nEmbedded Files\n\nerror: Writing deno compile executable\n\n" +
 *   "Caused by:\n    0: Writing binary bytes\n    1: Invalid object: Linkedit segment not found\n" +
 *   "\nStack backtrace:\n   0: <unknown>\n";
 * assert.equal(
 *   explainFailure(said),
 *   "Writing deno compile executable: Writing binary bytes: Invalid object: Linkedit segment not found",
 * );
 * ```
 */
export function explainFailure(said: string): string {
  if (/error sending request|dns error|failed to lookup address/.test(said)) {
    return "deno compile could not download its runtime (denort): this machine cannot reach " +
      "Deno's servers; set DENORT_BIN to a denort of the same Deno version for this target " +
      "(or to a directory of denort-<target> files)";
  }
  const lines = said.split("\n");
  const start = lines.findIndex((line) => line.startsWith("error: "));
  if (start < 0) return lines.filter((line) => line.trim() !== "").slice(-6).join(" / ");
  const end = lines.findIndex((line, i) => i > start && line.startsWith("Stack backtrace:"));
  return lines.slice(start, end < 0 ? undefined : end)
    .map((line) => line.trim().replace(/^error: /, "").replace(/^\d+: /, ""))
    .filter((line) => line !== "" && line !== "Caused by:")
    .join(": ");
}

/**
 * The denort `DENORT_BIN` gives for `target`: the file itself for this
 * machine's target only, or `denort-<target>` in the directory it names;
 * `undefined` when there is none (deno compile then downloads it).
 *
 * @example
 * ```ts
 * import { runtimeFor } from "./compile.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(runtimeFor("aarch64-apple-darwin", undefined), undefined);
 * ```
 */
export function runtimeFor(target: string, denortBin: string | undefined): string | undefined {
  if (!denortBin) return undefined;
  let info;
  try {
    info = Deno.statSync(denortBin);
  } catch {
    throw new Error(`DENORT_BIN names ${denortBin}, which does not exist`);
  }
  if (!info.isDirectory) return target === Deno.build.target ? denortBin : undefined;
  const file = `${denortBin}/denort-${target}${target.includes("windows") ? ".exe" : ""}`;
  try {
    Deno.statSync(file);
    return file;
  } catch {
    return undefined;
  }
}

if (import.meta.main) {
  const targets = Deno.args.includes("--host") ? [Deno.build.target] : TARGETS;
  const denortBin = Deno.env.get("DENORT_BIN");
  let failed = 0;
  for (const target of targets) {
    let runtime;
    try {
      runtime = runtimeFor(target, denortBin);
    } catch (error) {
      console.error(`cannot build for ${target}: ${(error as Error).message}`);
      Deno.exit(1);
    }
    const result = await compile(target, { runtime });
    if (result.ok) {
      console.log(`built ${result.output}`);
    } else {
      failed++;
      const note = denortBin && !runtime
        ? ` (DENORT_BIN has no runtime for ${target}: a file serves ${Deno.build.target} ` +
          `only; a directory needs denort-${target})`
        : "";
      console.error(`cannot build ${result.output}: ${result.error}${note}`);
    }
  }
  if (failed > 0) Deno.exit(1);
}
