/**
 * The machinery of `deno task bench` (bench/run.ts): processes that are
 * bounded in time and always cleaned up, rounds, statistics and targets.
 * A scenario module (bench/*_scenarios.ts, bench/dissect_scenario.ts)
 * exports a {@linkcode ScenarioDefinition}; run.ts lists them.
 *
 * @module
 */

export const ROOT: string = new URL("..", import.meta.url).pathname;
export const DENO: string = Deno.execPath();
/** framecat as a user runs it from a checkout. */
export const FRAMECAT: string = `"${DENO}" run --allow-net "${ROOT}main.ts"`;
export const PEERS: string = `${ROOT}bench/peers/`;
export const SEED: string = `${ROOT}tests/seed/`;
export const MiB = 1024 * 1024;

/** What a scenario is given: its data directory (tmpfs), the rounds, a log. */
export interface Context {
  /** A directory for data and outputs, on tmpfs where there is one; emptied after. */
  dir: string;
  rounds: number;
  /**
   * Multiplies the message and connection counts (1 for the real thing; a
   * small fraction to try the harness quickly: the names keep the full counts).
   */
  scale: number;
  log: (line: string) => void;
}

/** `count` scaled by `context.scale`, at least 1. */
export function scaled(context: Context, count: number): number {
  return Math.max(1, Math.round(count * context.scale));
}

/** Median, min and max of a figure over the rounds, and each round's value. */
export interface Stats {
  median: number;
  min: number;
  max: number;
  rounds: number[];
}

/** A figure framecat must reach: on the ratio or on framecat's own figure. */
export interface Target {
  on: "ratio" | "framecat";
  op: ">=" | "<=";
  value: number;
  /** Read by people, e.g. ">= 2.0x nc | jq -c .". */
  text: string;
  /** Met only if it holds in every round, not just for the median. */
  everyRound?: boolean;
}

/** One row of the report: framecat's figure against a peer's, round by round. */
export interface Result {
  scenario: string;
  name: string;
  unit: string;
  peerName: string;
  higherIsBetter: boolean;
  framecat: Stats;
  peer: Stats | null;
  /** framecat / peer per round (for throughput; for memory or time, the same quotient). */
  ratio: Stats | null;
  target: Target | null;
  /** The target holds for the median and every condition (such as nothing lost) holds. */
  met: boolean | null;
  /** The target held in every round. */
  metEveryRound: boolean | null;
  /** 1-minute load average (/proc/loadavg) when each round began. */
  load: number[];
  /**
   * CPU seconds (user + system) of each contender's processes per run, where
   * measured: on a loaded machine wall time depends on the neighbours, CPU
   * time much less.
   */
  cpuSeconds?: { framecat: Stats; peer: Stats };
  /**
   * Figures of other programs measured in the same rounds, for the record
   * (the minimal Deno pair, the C peers), each with its unit's meaning in
   * its name: e.g. "C pair (MiB/s)", "C pair / nc".
   */
  anchors?: Record<string, Stats>;
  notes: string[];
}

/** A scenario as run.ts lists it. */
export interface ScenarioDefinition {
  /** The name `--only` takes. */
  name: string;
  /** Commands it needs (checked with `command -v`); skipped, and said so, when one is missing. */
  needs: string[];
  /** One line: what it measures. */
  about: string;
  run(context: Context): Promise<Result[]>;
}

// ---------------------------------------------------------------- processes

const running = new Set<Background>();

/**
 * A background `bash -c` command line in a process group of its own, under
 * `timeout` (so that even if this program dies, it ends), killed with its
 * whole group by {@linkcode killAll}. Its stdout and stderr are collected
 * (redirect bulky output to a file in the command).
 */
export class Background {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly done: Promise<Deno.CommandStatus>;
  #ended = false;

  constructor(command: string, seconds = 300) {
    this.child = new Deno.Command("timeout", {
      args: ["-s", "KILL", String(seconds), "bash", "-c", command],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
    running.add(this);
    const collect = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
      for await (const t of s.pipeThrough(new TextDecoderStream())) add(t);
    };
    const reading = Promise.all([
      collect(this.child.stdout, (t) => this.stdout += t),
      collect(this.child.stderr, (t) => this.stderr += t),
    ]);
    this.done = this.child.status.then(async (status) => {
      this.#ended = true;
      running.delete(this);
      await reading;
      return status;
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Sends `signal` to the whole process group. */
  kill(signal: Deno.Signal = "SIGKILL"): void {
    if (this.#ended) return;
    try {
      Deno.kill(-this.child.pid, signal);
    } catch {
      // already gone
    }
  }

  async waitFor(pattern: RegExp, timeout = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      const match = (this.stderr + this.stdout).match(pattern);
      if (match) return match;
      if (this.#ended) break;
      await sleep(5);
    }
    throw new Error(`no ${pattern} within ${timeout} ms: ${this.stderr.slice(-500)}`);
  }

  /** Waits for the end, at most `timeout` ms, then kills the group and throws. */
  async finish(timeout = 300_000): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.done,
        new Promise<never>((_, reject) =>
          timer = setTimeout(() => {
            this.kill();
            reject(new Error(`still running after ${timeout} ms: ${this.stderr.slice(-500)}`));
          }, timeout)
        ),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the group and waits for it to be gone. */
  async stop(signal: Deno.Signal = "SIGKILL"): Promise<Deno.CommandStatus> {
    this.kill(signal);
    return await this.finish(10_000);
  }
}

/** Kills every background process group still running. */
export async function killAll(): Promise<void> {
  const left = [...running];
  for (const b of left) b.kill();
  await Promise.allSettled(left.map((b) => b.done));
}

/** Runs a bash command line to its end, at most `seconds`. */
export async function sh(
  command: string,
  seconds = 300,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const b = new Background(command, seconds);
  const { code } = await b.finish(seconds * 1000 + 5000);
  return { code, stdout: b.stdout, stderr: b.stderr };
}

/** Runs a bash command line; throws unless it exits 0. */
export async function shOk(command: string, seconds = 300): Promise<string> {
  const result = await sh(command, seconds);
  if (result.code !== 0) {
    throw new Error(
      `${command.slice(0, 200)} failed (${result.code}): ${result.stderr.trim().slice(-500)}`,
    );
  }
  return result.stdout;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** Waits until something listens on `port` (any address), without connecting to it. */
export async function waitListening(port: number, process?: Background): Promise<void> {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const listening = new RegExp(`:${hex} [0-9A-F:]+ 0A `);
  for (let i = 0; i < 3000; i++) {
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      const text = await Deno.readTextFile(table).catch(() => "");
      if (text.split("\n").some((l) => listening.test(l))) return;
    }
    if (process?.ended) throw new Error(`ended before listening: ${process.stderr.slice(-500)}`);
    await sleep(10);
  }
  throw new Error(`nothing listens on port ${port}`);
}

/** The 1-minute load average now. */
export function loadAverage(): number {
  return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
}

export async function lineCount(file: string): Promise<number> {
  return Number((await shOk(`wc -l < "${file}"`)).trim());
}

export async function removeQuietly(...paths: string[]): Promise<void> {
  for (const path of paths) await Deno.remove(path, { recursive: true }).catch(() => {});
}

/** Milliseconds `run` took. */
export async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/**
 * Runs a receiver under bench/peak_rss.py: its stdout to `out`, its peak RSS
 * measured by the kernel (ru_maxrss), and killed if its RSS passes `capMiB`
 * (so that a receiver that grows without bound cannot take the machine).
 */
export function underPeakRss(command: string, out: string, capMiB: number): Background {
  return new Background(
    `exec python3 "${ROOT}bench/peak_rss.py" --json --cap ${capMiB} "${out}" ${command}`,
  );
}

/** What bench/peak_rss.py reports once its command has ended. */
export interface PeakRss {
  peakMiB: number;
  capped: boolean;
  code: number;
}

export async function peakRss(wrapped: Background, timeout = 120_000): Promise<PeakRss> {
  await wrapped.finish(timeout);
  const line = wrapped.stdout.trim().split("\n").pop() ?? "";
  const report = JSON.parse(line);
  return { peakMiB: report.peak_kib / 1024, capped: report.capped, code: report.code };
}

/** Whether `command` is on PATH. */
export async function hasCommand(command: string): Promise<boolean> {
  return (await sh(`command -v ${command} > /dev/null`, 30)).code === 0;
}

/** The C peers of bench/peers/, as executables built for this run. */
export interface CPeers {
  /** bytes_send HOST PORT < INPUT: standard input to a connection, 1 MiB buffers. */
  bytesSend: string;
  /** bytes_recv PORT [HOST] > OUTPUT: one connection to standard output, 1 MiB buffers. */
  bytesRecv: string;
  /** frame_recv PORT [HOST] > OUTPUT: `receive --json`'s checks and lines, one connection. */
  frameRecv: string;
  /** conn_load HOST PORT TOTAL CONCURRENT [SPREAD] [TIMEOUT]: one-message connections. */
  connLoad: string;
}

/**
 * Builds the C peers of bench/peers/ with `cc -O2` into the run's data
 * directory (once per scenario: the directory is emptied after each), or
 * says why it cannot: no `cc`, or a build that failed.
 */
export async function cPeers(context: Context): Promise<CPeers | string> {
  if (!(await hasCommand("cc"))) return "no C compiler (cc) on PATH";
  const dir = `${context.dir}/c-peers`;
  const names = ["bytes_send", "bytes_recv", "frame_recv", "conn_load"];
  await Deno.mkdir(dir, { recursive: true });
  for (const name of names) {
    const binary = `${dir}/${name}`;
    if (await Deno.stat(binary).then(() => true, () => false)) continue;
    const built = await sh(`cc -O2 -o "${binary}" "${PEERS}${name}.c"`, 120);
    if (built.code !== 0) {
      return `cc -O2 ${name}.c failed: ${built.stderr.trim().split("\n")[0]}`;
    }
  }
  return {
    bytesSend: `${dir}/bytes_send`,
    bytesRecv: `${dir}/bytes_recv`,
    frameRecv: `${dir}/frame_recv`,
    connLoad: `${dir}/conn_load`,
  };
}

// ---------------------------------------------------------------- figures

export function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length === 0
    ? NaN
    : sorted.length % 2
    ? sorted[mid]
    : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0] ?? NaN, max: sorted.at(-1) ?? NaN, rounds: values };
}

function holds(target: Target, value: number): boolean {
  return target.op === ">=" ? value >= target.value : value <= target.value;
}

/** What a scenario hands to {@linkcode result}. */
export interface ResultOptions {
  scenario: string;
  name: string;
  unit: string;
  peerName?: string;
  higherIsBetter?: boolean;
  /** framecat's figure per round. */
  framecat: number[];
  /** The peer's figure per round, from the same rounds. */
  peer?: number[];
  target?: Target;
  /** Conditions besides the target, each true or a reason it failed (e.g. "12 lost"). */
  conditions?: (true | string)[];
  load: number[];
  /** CPU seconds per round of framecat's processes and the peer's. */
  cpuSeconds?: { framecat: number[]; peer: number[] };
  /** Other programs' figures from the same rounds, by name (see {@linkcode Result.anchors}). */
  anchors?: Record<string, number[]>;
  notes?: string[];
}

function cpuNote(cpu: { framecat: Stats; peer: Stats }): string {
  const one = (s: Stats) =>
    `${format(s.median)}${s.rounds.length > 1 ? ` (${format(s.min)}-${format(s.max)})` : ""}`;
  return `CPU seconds per run, both ends: framecat ${one(cpu.framecat)}, peer ${
    one(cpu.peer)
  } (ratio of medians ${(cpu.framecat.median / cpu.peer.median).toFixed(2)}x)`;
}

/** Each distinct line once, with how many times it came when more than once. */
function tally(lines: string[]): string[] {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
  return [...counts].map(([line, n]) => n > 1 ? `${line} (${n} times)` : line);
}

/** A row of the report: statistics over the rounds and whether the target is met. */
export function result(options: ResultOptions): Result {
  const peer = options.peer && options.peer.length > 0 ? options.peer : undefined;
  const ratios = peer ? options.framecat.map((f, i) => f / peer[i]) : undefined;
  const target = options.target ?? null;
  const failed = (options.conditions ?? []).filter((c): c is string => c !== true);
  const cpu = options.cpuSeconds
    ? { framecat: stats(options.cpuSeconds.framecat), peer: stats(options.cpuSeconds.peer) }
    : undefined;
  let met: boolean | null = null;
  let metEveryRound: boolean | null = null;
  if (target) {
    const values = target.on === "ratio" ? ratios ?? [] : options.framecat;
    const s = stats(values);
    metEveryRound = values.length > 0 && failed.length === 0 &&
      values.every((v) => holds(target, v));
    met = target.everyRound
      ? metEveryRound
      : values.length > 0 && failed.length === 0 && holds(target, s.median);
  }
  return {
    scenario: options.scenario,
    name: options.name,
    unit: options.unit,
    peerName: options.peerName ?? "",
    higherIsBetter: options.higherIsBetter ?? true,
    framecat: stats(options.framecat),
    peer: peer ? stats(peer) : null,
    ratio: ratios ? stats(ratios) : null,
    target,
    met,
    metEveryRound,
    load: options.load,
    ...(cpu ? { cpuSeconds: cpu } : {}),
    ...(options.anchors
      ? {
        anchors: Object.fromEntries(
          Object.entries(options.anchors).map(([name, values]) => [name, stats(values)]),
        ),
      }
      : {}),
    notes: [...tally(failed), ...(options.notes ?? []), ...(cpu ? [cpuNote(cpu)] : [])],
  };
}

/**
 * Runs `rounds` rounds of `contenders` (framecat and its peers), each round
 * in a different order (so that neither always runs first, on a warmer or a
 * quieter machine), and returns each contender's figures and the load.
 */
export async function rounds<K extends string>(
  context: Context,
  contenders: Record<K, (round: number) => Promise<number>>,
): Promise<{ figures: Record<K, number[]>; load: number[] }> {
  const keys = Object.keys(contenders) as K[];
  const figures = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<
    K,
    number[]
  >;
  const load: number[] = [];
  for (let r = 0; r < context.rounds; r++) {
    load.push(loadAverage());
    const order = keys.map((_, i) => keys[(i + r) % keys.length]);
    const line: string[] = [];
    for (const key of order) {
      const value = await contenders[key](r);
      figures[key].push(value);
      line.push(`${key} ${format(value)}`);
    }
    context.log(`  round ${r + 1}: ${line.join(", ")} (load ${load.at(-1)})`);
  }
  return { figures, load };
}

/** A figure with a sensible number of digits. */
export function format(value: number): string {
  if (!Number.isFinite(value)) return "-";
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toLocaleString("en-US", { maximumFractionDigits: digits });
}

/** A row as the first bench/run.ts made them (one figure per round, a target in words). */
export interface LegacyResult {
  name: string;
  unit: string;
  /** ">= 1.5x", "<= 3x" (on the ratio) or "<= 500 MiB" (on framecat's figure). */
  target: string;
  pass: boolean;
  note: string;
  rounds: { framecat: number; peer: number }[];
  lowerIsBetter?: boolean;
}

/**
 * A scenario written for the first bench/run.ts, `run(dir, rounds)` returning
 * {@linkcode LegacyResult}s, as a {@linkcode ScenarioDefinition}: its rounds
 * become median, min and max, its target is read from its words.
 */
export function legacyScenario(
  name: string,
  needs: string[],
  about: string,
  run: (dir: string, rounds: number) => Promise<LegacyResult[]>,
): ScenarioDefinition {
  return {
    name,
    needs,
    about,
    async run(context: Context): Promise<Result[]> {
      const load = [loadAverage()];
      const rows = await run(context.dir, context.rounds);
      return rows.map((row) => {
        const match = row.target.match(/^(>=|<=)\s*([\d.]+)\s*(x?)/);
        const target: Target | undefined = match
          ? {
            on: match[3] === "x" ? "ratio" : "framecat",
            op: match[1] as ">=" | "<=",
            value: Number(match[2]),
            text: row.target,
          }
          : undefined;
        const made = result({
          scenario: name,
          name: row.name,
          unit: row.unit,
          peerName: row.note,
          higherIsBetter: !row.lowerIsBetter,
          framecat: row.rounds.map((r) => r.framecat),
          peer: row.rounds.map((r) => r.peer),
          target,
          load,
        });
        return target ? made : { ...made, met: row.pass };
      });
    },
  };
}
