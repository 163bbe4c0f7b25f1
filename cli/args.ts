/**
 * What the subcommands share: their flag tables, parsed strictly and turned
 * into help; values checked with errors that say what is wrong; usage errors.
 *
 * A subcommand declares its flags once, as a table of {@linkcode Flag}s: the
 * parser reads them, and the help's usage line and option list are made from
 * them, so a new flag is one new row.
 *
 * @module
 */

import { describeError } from "../lib/errors.ts";
import { writeAll } from "../lib/line_writer.ts";
import type { SyncByteWriter } from "../lib/io.ts";
import { parseDuration, parseSize } from "../lib/units.ts";

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
  /**
   * The writer behind `say`: a command that learns that stderr never blocks
   * for long (a file, /dev/null) may set its `synchronous`.
   */
  stderr?: SyncByteWriter;
}

/** One flag of a subcommand: how it is parsed, and how its help shows it. */
export interface Flag {
  /** Its long name, without dashes: `port` for `--port`. */
  readonly name: string;
  /** Its one-letter short form, without the dash: `p` for `-p`. */
  readonly short?: string;
  /** The name of its value in help (`P`, `SECONDS`); a flag without one is a switch. */
  readonly value?: string;
  /** It may be given more than once; every value is kept, in order. */
  readonly multiple?: boolean;
  /** Its default, as help shows it. */
  readonly default?: string;
  /** What it does, in words (help wraps them). */
  readonly help: string;
}

/** What a flag parses to: a switch `true`, a value its text, a repeated one every text. */
export type FlagValue<F extends Flag> = F extends { multiple: true } ? string[]
  : F extends { value: string } ? string
  : boolean;

/** The parsed flags of a table, by long name; a flag not given is absent. */
export type FlagValues<T extends readonly Flag[]> = {
  [F in T[number] as F["name"]]?: FlagValue<F>;
};

/** What {@linkcode parseFlags} found. */
export interface ParsedArgs<T extends readonly Flag[]> {
  /** The flags given, by long name. */
  values: FlagValues<T>;
  /** The arguments that are not flags, in order (all of them after `--`). */
  positionals: string[];
  /** `-h` or `--help` was given. */
  help: boolean;
}

/** Options for {@linkcode parseFlags}. */
export interface ParseFlagsOptions<T extends readonly Flag[]> {
  /** The subcommand, named in usage errors. */
  command: string;
  /** The flags it accepts (`-h`/`--help` always is). */
  flags: T;
  /**
   * What to say of a flag it does not take that users of another tool type
   * (netcat's `-l`, `-w`), by its spelling: `{ "-l": "receive always listens" }`.
   */
  hints?: Readonly<Record<string, string>>;
}

const HELP_FLAG: Flag = { name: "help", short: "h", help: "show this help" };

/**
 * Parses `args` strictly against the flags of `command`: `--flag`,
 * `--flag value`, `--flag=value`, `-f value`, `-fvalue`, switches grouped as
 * `-jq`, and `--` before arguments that start with `-`. A flag that takes a
 * value takes the next argument even when it starts with `-` and a digit
 * (`--port -5`), so the value's own check can say what is wrong with it. An
 * unknown flag is a {@linkcode UsageError} that suggests the closest one.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./args.ts";
 * import assert from "node:assert/strict";
 *
 * const flags = [
 *   { name: "port", short: "p", value: "P", help: "the port" },
 *   { name: "json", short: "j", help: "JSON lines" },
 * ] as const;
 * const { values, positionals } = parseFlags(["-jp", "80", "hi"], { command: "x", flags });
 * assert.deepEqual(values, { json: true, port: "80" });
 * assert.deepEqual(positionals, ["hi"]);
 * assert.throws(() => parseFlags(["--prot", "80"], { command: "x", flags }), /did you mean --port/);
 * ```
 */
export function parseFlags<T extends readonly Flag[]>(
  args: string[],
  options: ParseFlagsOptions<T>,
): ParsedArgs<T> {
  const { command, flags, hints = {} } = options;
  const unknown = (spelled: string) =>
    Object.hasOwn(hints, spelled)
      ? `unknown option '${spelled}': ${hints[spelled]}`
      : unknownFlag(spelled, all);
  const all: readonly Flag[] = [...flags, HELP_FLAG];
  const values: Record<string, string | string[] | boolean> = {};
  const positionals: string[] = [];
  const fail = (message: string): never => {
    throw new UsageError(message, command);
  };
  let i = 0;
  const set = (flag: Flag, spelled: string, inline: string | undefined) => {
    if (flag.value === undefined) {
      if (inline !== undefined) fail(`${spelled} takes no value, got "${inline}"`);
      values[flag.name] = true;
      return;
    }
    let value = inline;
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined || (/^-./.test(next) && !/^-[\d.]/.test(next))) {
        fail(`${spelled} needs a value: ${spelled} ${flag.value}`);
      }
      value = next;
      i++;
    }
    if (flag.multiple) ((values[flag.name] ??= []) as string[]).push(value!);
    else values[flag.name] = value!;
  };
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const flag = all.find((f) => f.name === name);
      if (!flag) fail(unknown(`--${name}`));
      set(flag!, `--${name}`, eq < 0 ? undefined : arg.slice(eq + 1));
    } else if (arg.length > 1 && arg.startsWith("-")) {
      if (/^-[\d.]/.test(arg)) {
        fail(`unknown option '${arg}': to give "${arg}" as an argument, put it after --`);
      }
      for (let j = 1; j < arg.length; j++) {
        const flag = all.find((f) => f.short === arg[j]);
        if (!flag) fail(unknown(`-${arg[j]}`));
        if (flag!.value !== undefined) {
          set(flag!, `-${arg[j]}`, j + 1 < arg.length ? arg.slice(j + 1) : undefined);
          break;
        }
        set(flag!, `-${arg[j]}`, undefined);
      }
    } else {
      positionals.push(arg);
    }
  }
  const help = values.help === true;
  delete values.help;
  return { values: values as FlagValues<T>, positionals, help };
}

function unknownFlag(spelled: string, flags: readonly Flag[]): string {
  const long = spelled.startsWith("--");
  const guess = long
    ? suggest(spelled.slice(2), flags.map((f) => f.name))
    : flags.find((f) => f.short?.toLowerCase() === spelled[1].toLowerCase());
  const hint = typeof guess === "string"
    ? `; did you mean --${guess}?`
    : guess
    ? `; did you mean -${guess.short} (--${guess.name})?`
    : "";
  return `unknown option '${spelled}'${hint}`;
}

/**
 * The candidate closest to `word` (a typo or an abbreviation of it), if one is
 * close enough to be what was meant.
 *
 * @example
 * ```ts
 * import { suggest } from "./args.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(suggest("recieve", ["send", "receive"]), "receive");
 * assert.equal(suggest("idle", ["idle-timeout", "port"]), "idle-timeout");
 * assert.equal(suggest("xyz", ["send", "receive"]), undefined);
 * ```
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = word.length >= 3 && candidate.startsWith(word) ? 1 : editDistance(
      word,
      candidate,
    );
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** What a subcommand's help says besides its flags. */
export interface Help {
  /** What follows the flags in the usage line: `[MESSAGE ...]`, `FILE|-`. */
  readonly operands?: string;
  /** What the command does: paragraphs, printed as written. */
  readonly description: string;
  /** Its flags. */
  readonly flags: readonly Flag[];
  /** Two or three command lines, each with a `# comment` if it helps. */
  readonly examples: readonly string[];
  /** More to know, after the flags: printed as written. */
  readonly notes?: string;
  /** Each exit code with what it means: `0 every byte was written`. */
  readonly exitCodes: readonly string[];
}

const WIDTH = 80;

/** Options for {@linkcode formatUsage}. */
export interface FormatUsageOptions {
  /** Columns the caller puts before each line; lines wrap to 80 with it. */
  indent?: number;
}

/**
 * The usage line of `framecat COMMAND`: every flag, then the operands,
 * wrapped to 80 columns.
 *
 * @example
 * ```ts
 * import { formatUsage } from "./args.ts";
 * import assert from "node:assert/strict";
 *
 * const flags = [{ name: "port", short: "p", value: "P", help: "the port" }];
 * const usage = formatUsage("send", { flags, operands: "[MESSAGE ...]", description: "", examples: [], exitCodes: [] });
 * assert.equal(usage, "framecat send [-p P] [MESSAGE ...]");
 * ```
 */
export function formatUsage(
  command: string,
  help: Help,
  options: FormatUsageOptions = {},
): string {
  const width = WIDTH - (options.indent ?? 0);
  const words = help.flags.map((flag) => {
    const spelled = flag.short ? `-${flag.short}` : `--${flag.name}`;
    const value = flag.value ? ` ${flag.value}${flag.multiple ? " ..." : ""}` : "";
    return `[${spelled}${value}]`;
  });
  if (help.operands) words.push(help.operands);
  const start = `framecat ${command}`;
  const lines = [start];
  for (const word of words) {
    const last = lines.length - 1;
    if (lines[last].length + 1 + word.length > width) lines.push(" ".repeat(start.length));
    lines[lines.length - 1] += " " + word;
  }
  return lines.join("\n");
}

/**
 * The whole help of `framecat COMMAND`: usage, description, every flag with
 * its default, examples, notes and exit codes.
 *
 * @example
 * ```ts
 * import { formatHelp } from "./args.ts";
 * import assert from "node:assert/strict";
 *
 * const help = formatHelp("send", {
 *   description: "Sends.",
 *   flags: [{ name: "port", short: "p", value: "P", default: "1234", help: "the port" }],
 *   examples: ["framecat send -p 80"],
 *   exitCodes: ["0 sent"],
 * });
 * assert.match(help, /^ {2}-p, --port P +the port \(default 1234\)$/m);
 * ```
 */
export function formatHelp(command: string, help: Help): string {
  const rows = [...help.flags, HELP_FLAG].map((flag) => {
    const label = (flag.short ? `-${flag.short}, ` : "    ") + `--${flag.name}` +
      (flag.value ? ` ${flag.value}` : "");
    const text = flag.help + (flag.default === undefined ? "" : ` (default ${flag.default})`);
    return [label, text];
  });
  const column = Math.min(28, Math.max(...rows.map(([label]) => label.length)) + 4);
  const options = rows.flatMap(([label, text]) => {
    const wrapped = wrap(text, WIDTH - column);
    const first = label.length + 4 <= column
      ? [`  ${label.padEnd(column - 2)}${wrapped.shift()}`]
      : [`  ${label}`];
    return [...first, ...wrapped.map((line) => " ".repeat(column) + line)];
  });
  return [
    `Usage: ${formatUsage(command, help, { indent: 7 }).replace(/\n/g, "\n       ")}`,
    "",
    help.description.trimEnd(),
    "",
    "Options:",
    ...options,
    "",
    "Examples:",
    ...help.examples.map((example) => `  ${example}`),
    "",
    ...(help.notes ? [help.notes.trimEnd(), ""] : []),
    "Exit codes:",
    ...help.exitCodes.map((line) => `  ${line}`),
    "",
  ].join("\n");
}

function wrap(text: string, width: number): string[] {
  const lines = [""];
  for (const word of text.split(/\s+/)) {
    const last = lines.length - 1;
    if (lines[last] === "") lines[last] = word;
    else if (lines[last].length + 1 + word.length > width) lines.push(word);
    else lines[last] += " " + word;
  }
  return lines;
}

/** Options for {@linkcode parseSeconds} and {@linkcode parseWhole}. */
export interface ParseValueOptions {
  /** The flag, named in usage errors: `--retry`. */
  flag: string;
  /** The subcommand, named in usage errors. */
  command: string;
}

/**
 * Parses a duration into milliseconds: a number of seconds (`1`, `0.5`), or
 * one with a unit (`500ms`, `2s`, `1m`), as {@linkcode parseDuration} reads
 * it for every flag; `undefined` stays `undefined`.
 *
 * @example
 * ```ts
 * import { parseSeconds } from "./args.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseSeconds("1.5", { flag: "--retry", command: "send" }), 1500);
 * assert.equal(parseSeconds("500ms", { flag: "--retry", command: "send" }), 500);
 * assert.throws(() => parseSeconds("-1", { flag: "--retry", command: "send" }), /0 or more/);
 * ```
 */
export function parseSeconds(
  text: string | undefined,
  options: ParseValueOptions,
): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDuration(text);
  } catch {
    const why = /^-\d/.test(text) ? "0 or more" : "such as 5, 0.5, 500ms, 2s or 1m";
    throw new UsageError(
      `${options.flag} must be a number of seconds, ${why}; got "${text}"`,
      options.command,
    );
  }
}

/** Options for {@linkcode parseWhole}. */
export interface ParseWholeOptions extends ParseValueOptions {
  /** The smallest value allowed. */
  min: number;
  /** The largest value allowed; none by default. */
  max?: number;
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
  const { flag, command, min, max = Number.MAX_SAFE_INTEGER } = options;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new UsageError(`${flag} must be a whole number ${range}, got "${text}"`, command);
  }
  return value;
}

/**
 * Parses a size in bytes: digits, optionally followed by K, M, G or T
 * (powers of 1024; `KiB`, `KB` the same), as {@linkcode parseSize} reads it
 * for every flag; `undefined` stays `undefined`.
 *
 * @example
 * ```ts
 * import { parseBytes } from "./args.ts";
 * import assert from "node:assert/strict";
 *
 * const memory = { flag: "--max-memory", command: "receive", min: 1, max: 2 ** 40 };
 * assert.equal(parseBytes("512M", memory), 512 * 1024 * 1024);
 * assert.equal(parseBytes("1GiB", memory), 1024 ** 3);
 * assert.equal(parseBytes("1000", memory), 1000);
 * ```
 */
export function parseBytes(
  text: string | undefined,
  options: ParseWholeOptions,
): number | undefined {
  if (text === undefined) return undefined;
  const { flag, command, min, max = Number.MAX_SAFE_INTEGER } = options;
  let value = NaN;
  try {
    value = parseSize(text);
  } catch {
    // Said below, with the range.
  }
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

/**
 * Calls `handler` on each of `signals` (those the system has: Windows has no
 * SIGTERM); returns what removes the listeners.
 *
 * @example
 * ```ts
 * import { onSignals } from "./args.ts";
 *
 * const remove = onSignals(["SIGINT", "SIGTERM"], () => console.error("stopping"));
 * remove();
 * ```
 */
export function onSignals(signals: readonly Deno.Signal[], handler: () => void): () => void {
  const added: Deno.Signal[] = [];
  for (const signal of signals) {
    try {
      Deno.addSignalListener(signal, handler);
      added.push(signal);
    } catch {
      // Not a signal of this system.
    }
  }
  return () => added.forEach((signal) => Deno.removeSignalListener(signal, handler));
}
