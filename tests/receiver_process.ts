/**
 * `framecat receive` spawned as a user runs it, for the load and attack
 * tests: its stdout counted (or kept, thrown away, or never read), its stderr
 * kept, its memory and open files read while it runs.
 *
 * @module
 */

import { delay, MAIN, openFiles, peakRss } from "./helpers.ts";

/** Options for {@linkcode ReceiverProcess.start}. */
export interface ReceiverProcessOptions {
  /**
   * What becomes of stdout: lines counted (`count`, the default), counted and
   * kept as text (`keep`), /dev/null (`null`), or a pipe nobody reads
   * (`stalled`).
   */
  stdout?: "count" | "keep" | "null" | "stalled";
  /** Run under `ulimit -n files`. */
  files?: number;
  /** Permissions besides --allow-net, such as --allow-read for TLS files. */
  permissions?: string[];
}

/** A receiver process on 127.0.0.1, on a port the system chose. */
export class ReceiverProcess {
  readonly child: Deno.ChildProcess;
  port = 0;
  /** Lines printed so far (with stdout `count` or `keep`). */
  lines = 0;
  /** What it printed (with stdout `keep`). */
  stdout = "";
  stderr = "";
  #stalled: boolean;
  #reading: Promise<void>[];

  constructor(args: string[], options: ReceiverProcessOptions = {}) {
    const mode = options.stdout ?? "count";
    const deno = [Deno.execPath(), "run", "--allow-net", ...(options.permissions ?? [])]
      .concat([MAIN, "receive", "--host", "127.0.0.1", "--port", "0", ...args]);
    const [command, ...rest] = options.files === undefined
      ? deno
      : ["sh", "-c", `ulimit -n ${options.files} && exec "$@"`, "sh", ...deno];
    const child = this.child = new Deno.Command(command, {
      args: rest,
      stdin: "null",
      stdout: mode === "null" ? "null" : "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#stalled = mode === "stalled";
    this.#reading = [(async () => {
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.stderr += text;
      }
    })()];
    if (mode === "count" || mode === "keep") {
      const decoder = new TextDecoder();
      this.#reading.push((async () => {
        for await (const chunk of child.stdout) {
          for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) this.lines++;
          if (mode === "keep") this.stdout += decoder.decode(chunk, { stream: true });
        }
      })());
    }
  }

  /** Starts one and waits until it listens. */
  static async start(
    args: string[] = [],
    options: ReceiverProcessOptions = {},
  ): Promise<ReceiverProcess> {
    const receiver = new ReceiverProcess(args, options);
    const match = await receiver.waitFor(() => /Listening on [^:]+:(\d+)/.exec(receiver.stderr));
    receiver.port = Number(match[1]);
    return receiver;
  }

  /** Waits until `probe` returns something, for at most `timeout` ms. */
  async waitFor<T>(probe: () => T | null | false | undefined, timeout = 30_000): Promise<T> {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      const found = probe();
      if (found) return found;
      await delay(10);
    }
    throw new Error(`not seen within ${timeout} ms; stderr:\n${this.stderr.slice(-2000)}`);
  }

  /** Peak resident memory so far, in bytes (Linux), read while it runs. */
  peakRss(): Promise<number> {
    return peakRss(this.child.pid);
  }

  /** How many files it has open (Linux). */
  openFiles(): Promise<number> {
    return openFiles(this.child.pid);
  }

  /** Sends `signal` and resolves to the exit code. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<number> {
    this.child.kill(signal);
    return await this.finished();
  }

  /** Resolves to the exit code, killing it after 30 s. */
  async finished(): Promise<number> {
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 30_000);
    const { code } = await this.child.status;
    clearTimeout(timer);
    await this.#drained();
    return code;
  }

  /** Resolves to the exit code, or `undefined` if it has not exited within `ms`. */
  async exitWithin(ms: number): Promise<number | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      this.child.status,
      new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), ms)),
    ]);
    clearTimeout(timer);
    return status?.code;
  }

  /** Kills it if it still runs, and waits for it and its pipes. */
  async close(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // Exited already.
    }
    await this.child.status;
    await this.#drained();
  }

  async #drained(): Promise<void> {
    if (this.#stalled) await this.child.stdout.cancel();
    await Promise.all(this.#reading);
  }
}

/** A TCP connection to a receiver on 127.0.0.1. */
export function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/** Writes all of `data`. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let n = 0; n < data.length;) n += await conn.write(data.subarray(n));
}
