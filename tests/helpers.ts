/**
 * Test helpers: run framecat as a user would (`deno run --allow-net main.ts`),
 * watch its output as it comes, and talk raw TCP to it. Loopback only; every
 * wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";

/** The framecat entrypoint. */
export const MAIN: string = new URL("../main.ts", import.meta.url).pathname;

const encoder = new TextEncoder();

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What a finished process printed, and how it exited. */
export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `framecat ARGS` to the end, with `stdin` as its standard input. */
export async function framecat(
  args: string[],
  stdin?: string | Uint8Array,
  options: SpawnOptions = {},
): Promise<Finished> {
  const running = spawn(args, { ...options, stdin: stdin !== undefined });
  if (stdin !== undefined) await running.write(stdin, { close: true });
  return await running.finished();
}

/** A framecat process whose output is collected as it arrives. */
export class Running {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #collecting: Promise<void>[];

  constructor(child: Deno.ChildProcess, stdin: boolean) {
    this.child = child;
    if (stdin) this.#stdin = child.stdin.getWriter();
    this.#collecting = [
      this.#collect(child.stdout, (text) => this.stdout += text),
      this.#collect(child.stderr, (text) => this.stderr += text),
    ];
  }

  async #collect(stream: ReadableStream<Uint8Array>, add: (text: string) => void): Promise<void> {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) add(text);
  }

  /** Writes to the process's standard input, and closes it if asked. */
  async write(data: string | Uint8Array, options: { close?: boolean } = {}): Promise<void> {
    assert.ok(this.#stdin, "spawned without stdin");
    await this.#stdin.write(typeof data === "string" ? encoder.encode(data) : data);
    if (options.close) await this.#stdin.close();
  }

  /** Waits until stdout or stderr (as `stream` says) matches `pattern`. */
  async waitFor(
    pattern: RegExp,
    stream: "stdout" | "stderr" = "stderr",
    timeout = 10_000,
  ): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      const match = this[stream].match(pattern);
      if (match) return match;
      await delay(5);
    }
    throw new Error(`no ${pattern} on ${stream} within ${timeout} ms; it has:\n${this[stream]}`);
  }

  /** Waits for the process to exit, closing stdin first if it is still open. */
  async finished(timeout = 20_000): Promise<Finished> {
    if (this.#stdin) await this.#stdin.close().catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      this.child.status,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          this.child.kill("SIGKILL");
          reject(new Error(`framecat did not exit within ${timeout} ms:\n${this.stderr}`));
        }, timeout);
      }),
    ]).finally(() => clearTimeout(timer));
    await Promise.all(this.#collecting);
    return { code: status.code, stdout: this.stdout, stderr: this.stderr };
  }
}

/** Waits until `condition()` holds, checking every few milliseconds. */
export async function waitUntil(condition: () => boolean, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeout} ms`);
    await delay(5);
  }
}

/** How the shell runs framecat, for pipelines: `"deno" run --allow-net "main.ts"`. */
export const FRAMECAT_SHELL = `"${Deno.execPath()}" run --allow-net "${MAIN}"`;

/** Options for {@linkcode spawn}. */
export interface SpawnOptions {
  /** Pipe standard input (see `Running.write`). */
  stdin?: boolean;
  /** Run this bash command line instead of framecat itself. */
  shell?: string;
  /** Permissions besides --allow-net, such as `--allow-read` for TLS files. */
  permissions?: string[];
}

/** Starts `framecat ARGS` in the background, with --allow-net only unless told. */
export function spawn(args: string[], options: SpawnOptions = {}): Running {
  const permissions = ["--allow-net", ...(options.permissions ?? [])];
  const [command, commandArgs] = options.shell === undefined
    ? [Deno.execPath(), ["run", ...permissions, MAIN, ...args]]
    : ["bash", ["-c", options.shell]];
  const child = new Deno.Command(command, {
    args: commandArgs,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  return new Running(child, options.stdin ?? false);
}

/** A receiver on a loopback port the system chose, once it listens. */
export interface StartedReceiver extends Running {
  port: number;
}

/** Starts `framecat receive` on 127.0.0.1, port 0, and waits until it listens. */
export async function startReceiver(
  args: string[] = [],
  options: SpawnOptions = {},
): Promise<StartedReceiver> {
  const running = spawn(["receive", "--host", "127.0.0.1", "--port", "0", ...args], options);
  const match = await running.waitFor(/Listening on 127\.0\.0\.1:(\d+)/);
  return Object.assign(running, { port: Number(match[1]) });
}

/** Connects to `port` on loopback, writes `data`, and reads until the peer closes. */
export async function rawExchange(
  port: number,
  data: Uint8Array | string,
  options: { keepOpen?: boolean } = {},
): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(typeof data === "string" ? encoder.encode(data) : data);
    if (!options.keepOpen) await conn.closeWrite();
    return new Uint8Array(await new Response(conn.readable).arrayBuffer());
  } finally {
    try {
      conn.close();
    } catch {
      // Reading to the end already closed it.
    }
  }
}

/** The stderr lines that report errors (as opposed to connection events). */
export function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => / closed after .*: (?!receiver stopped)/.test(line));
}

/**
 * Why a test that runs `tool` (python3, openssl, tshark, tcpdump) cannot run
 * here: `"python3 is not installed"`, or `undefined` when it is on PATH. A
 * test that needs it is ignored with this reason (`.ci/run` installs them).
 * Looks on PATH rather than running the tool: `new Deno.Command(missing)`
 * throws synchronously.
 */
export function missingTool(tool: string): string | undefined {
  const windows = Deno.build.os === "windows";
  const dirs = (Deno.env.get("PATH") ?? "").split(windows ? ";" : ":").filter((dir) => dir);
  for (const dir of dirs) {
    for (const name of windows ? [`${tool}.exe`, `${tool}.cmd`] : [tool]) {
      try {
        const info = Deno.statSync(`${dir}/${name}`);
        if (info.isFile && (windows || ((info.mode ?? 0) & 0o111) !== 0)) return undefined;
      } catch {
        // Not in this directory.
      }
    }
  }
  return `${tool} is not installed`;
}

/**
 * A test's name and `ignore`, for a test that runs `tools`: when one is
 * missing, the test is ignored and its name says why.
 *
 * @example
 * ```ts ignore
 * Deno.test(needs("the seed's sender.py talks to receive", "python3"), async () => {});
 * ```
 */
export function needs(name: string, ...tools: string[]): { name: string; ignore: boolean } {
  const why = tools.map(missingTool).filter((reason) => reason !== undefined);
  return why.length === 0
    ? { name, ignore: false }
    : { name: `${name} (ignored: ${why.join(", ")})`, ignore: true };
}

/**
 * A process's /proc status (Linux), read by `cat`: deno reads /proc/PID only
 * with --allow-all.
 */
export async function procStatus(pid: number): Promise<string> {
  const { stdout } = await new Deno.Command("cat", {
    args: [`/proc/${pid}/status`],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(stdout);
}

/** A process's peak resident memory so far, in bytes (Linux); rejects once it has exited. */
export async function peakRss(pid: number): Promise<number> {
  const peak = /VmHWM:\s+(\d+) kB/.exec(await procStatus(pid));
  if (!peak) throw new Error(`process ${pid} is not running`);
  return Number(peak[1]) * 1024;
}

/** How many files a process has open (Linux), counted by `ls`. */
export async function openFiles(pid: number): Promise<number> {
  const { stdout } = await new Deno.Command("ls", {
    args: [`/proc/${pid}/fd`],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(stdout).trim().split("\n").length;
}

/** Makes a self-signed certificate for localhost in `dir`: `cert.pem` and `key.pem`. */
export async function makeCertificate(dir: string): Promise<void> {
  const made = await new Deno.Command("openssl", {
    args: ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
      .concat(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
      .concat(["-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`]),
    stdout: "null",
    stderr: "null",
  }).output();
  assert.ok(made.success, "openssl could not make a certificate");
}

/** The seed's own receiver.py, listening on a loopback port the system chose. */
export interface SeedReceiver {
  port: string;
  /** Waits until what it printed matches `pattern`. */
  waitFor(pattern: RegExp): Promise<void>;
  /** Stops it and waits for it. */
  stop(): Promise<void>;
}

/** Starts the seed's receiver.py (needs python3) and waits until it listens. */
export async function startSeedReceiver(): Promise<SeedReceiver> {
  const seed = new Deno.Command("python3", {
    args: [new URL("./seed/receiver.py", import.meta.url).pathname, "127.0.0.1", "0"],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = seed.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let said = "";
  const waitFor = async (pattern: RegExp) => {
    while (!pattern.test(said)) said += (await lines.read()).value ?? "";
  };
  const stop = async () => {
    seed.kill("SIGTERM");
    await lines.cancel();
    await seed.status;
  };
  try {
    await waitFor(/listening on\s+\d+/);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port: /listening on\s+(\d+)/.exec(said)![1], waitFor, stop };
}
