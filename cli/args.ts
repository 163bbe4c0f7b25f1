/**
 * What the subcommands share: reading flags and their values, usage errors,
 * and writing help text.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { describeError } from "../lib/errors.ts";
import { writeAll } from "../lib/line_writer.ts";

/** A mistake in the command line: reported with a pointer to the help, exit code 2. */
export class UsageError extends Error {
  /** The subcommand whose help to point at, if any. */
  readonly command?: string;

  /** Makes a usage error for `command` (none for framecat itself). */
  constructor(message: string, command?: string) {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

/** Where a subcommand writes its diagnostics: one line at a time, to stderr. */
export interface CommandContext {
  /** Writes one line (no LF needed) to stderr. */
  say(line: string): void;
}

/** The flags a subcommand accepts, as `node:util` parseArgs takes them. */
export type FlagSpec = NonNullable<ParseArgsConfig["options"]>;

/** Options for {@linkcode parseFlags}. */
export interface ParseFlagsOptions<T extends FlagSpec> {
  /** The subcommand, named in usage errors. */
  command: string;
  /** The flags it accepts. */
  flags: T;
}

/**
 * Parses `args` strictly against the flags of `command`; a usage error names
 * what is wrong.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./args.ts";
 * import assert from "node:assert/strict";
 *
 * const { values } = parseFlags(["--json"], { command: "x", flags: { json: { type: "boolean" } } });
 * assert.equal(values.json, true);
 * ```
 */
export function parseFlags<T extends FlagSpec>(
  args: string[],
  options: ParseFlagsOptions<T>,
): ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: true }>
> {
  try {
    return parseArgs({ args, options: options.flags, strict: true, allowPositionals: true });
  } catch (error) {
    const first = (error as Error).message.split("\n")[0].split(". ")[0];
    const hint = /Unknown option '-\d/.test(first) ? "; put negative numbers after --" : "";
    throw new UsageError(first.charAt(0).toLowerCase() + first.slice(1) + hint, options.command);
  }
}

/** Options for {@linkcode parseSeconds} and {@linkcode parseWhole}. */
export interface ParseValueOptions {
  /** The flag, named in usage errors: `--retry`. */
  flag: string;
  /** The subcommand, named in usage errors. */
  command: string;
}

/**
 * Parses a number of seconds (`1`, `0.5`) into milliseconds; `undefined`
 * stays `undefined`.
 *
 * @example
 * ```ts
 * import { parseSeconds } from "./args.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseSeconds("1.5", { flag: "--retry", command: "send" }), 1500);
 * ```
 */
export function parseSeconds(
  text: string | undefined,
  options: ParseValueOptions,
): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(text)) {
    throw new UsageError(
      `${options.flag} must be a number of seconds, got "${text}"`,
      options.command,
    );
  }
  return Number(text) * 1000;
}

/** Options for {@linkcode parseWhole}. */
export interface ParseWholeOptions extends ParseValueOptions {
  /** The smallest value allowed. */
  min: number;
  /** The largest value allowed. */
  max: number;
}

/**
 * Parses a whole number within `min` and `max`; `undefined` stays `undefined`.
 *
 * @example
 * ```ts
 * import { parseWhole } from "./args.ts";
 * import assert from "node:assert/strict";
 *
 * const port = { flag: "--port", command: "send", min: 1, max: 65535 };
 * assert.equal(parseWhole("1234", port), 1234);
 * assert.throws(() => parseWhole("0", port), /from 1 to 65535/);
 * ```
 */
export function parseWhole(
  text: string | undefined,
  options: ParseWholeOptions,
): number | undefined {
  if (text === undefined) return undefined;
  const { flag, command, min, max } = options;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(
      `${flag} must be a whole number from ${min} to ${max}, got "${text}"`,
      command,
    );
  }
  return value;
}

/**
 * Parses a size in bytes: digits, optionally followed by K, M or G (powers
 * of 1024); `undefined` stays `undefined`.
 *
 * @example
 * ```ts
 * import { parseBytes } from "./args.ts";
 * import assert from "node:assert/strict";
 *
 * const memory = { flag: "--max-memory", command: "receive", min: 1, max: 2 ** 40 };
 * assert.equal(parseBytes("512M", memory), 512 * 1024 * 1024);
 * assert.equal(parseBytes("1000", memory), 1000);
 * ```
 */
export function parseBytes(
  text: string | undefined,
  options: ParseWholeOptions,
): number | undefined {
  if (text === undefined) return undefined;
  const { flag, command, min, max } = options;
  const match = /^(\d+)([KMG]i?B?)?$/i.exec(text);
  const unit = match?.[2]?.[0].toUpperCase();
  const value = match ? Number(match[1]) * (unit ? 1024 ** (" KMG".indexOf(unit)) : 1) : NaN;
  if (!(value >= min && value <= max)) {
    throw new UsageError(
      `${flag} must be a number of bytes from ${min} to ${max} (K, M or G may follow), ` +
        `got "${text}"`,
      command,
    );
  }
  return value;
}

/**
 * Writes `text` to stdout whole (help, version); resolves to exit code 0.
 *
 * @example
 * ```ts
 * import { printText } from "./args.ts";
 *
 * await printText("");
 * ```
 */
export async function printText(text: string): Promise<number> {
  await writeAll(Deno.stdout, new TextEncoder().encode(text));
  return 0;
}

/**
 * Reads the PEM file that `flag` names, saying clearly why it cannot.
 *
 * @example
 * ```ts ignore
 * import { readPem } from "./args.ts";
 *
 * const cert = await readPem("cert.pem", "--tls-cert");
 * ```
 */
export async function readPem(path: string, flag: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotCapable
      ? "framecat needs read access for TLS files (run it with --allow-read)"
      : describeError(error);
    throw new Error(`Cannot read the ${flag} file ${path}: ${why}`, { cause: error });
  }
}
