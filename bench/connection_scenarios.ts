/**
 * Round trips, connections and start-up: stop-and-wait `--ack` against a
 * Deno and a Python ack receiver, the receiver's CPU per one-message
 * connection against the seed's receiver and a minimal Deno receiver, one
 * `framecat send` process against `deno run` of an empty file, and the TCP
 * segments of one message.
 *
 * @module
 */

import {
  Background,
  type Context,
  type CPeers,
  cPeers,
  DENO,
  format,
  FRAMECAT,
  freePort,
  hasCommand,
  lineCount,
  loadAverage,
  PEERS,
  removeQuietly,
  type Result,
  result,
  ROOT,
  rounds,
  scaled,
  type ScenarioDefinition,
  SEED,
  sh,
  shOk,
  sleep,
  stats,
  waitListening,
} from "./harness.ts";
import { install } from "../tools/install.ts";

const ROUND_TRIPS = 20_000;

/** Round trips per second of the Python stop-and-wait client against the receiver `command`. */
async function ackRun(
  context: Context,
  trips: number,
  command: (port: number) => string,
): Promise<number> {
  const port = freePort();
  const out = `${context.dir}/ack.out`;
  const receiver = new Background(`${command(port)} > "${out}"`);
  try {
    await waitListening(port, receiver);
    const report = JSON.parse(
      await shOk(`python3 "${PEERS}ack_client.py" 127.0.0.1 ${port} ${trips}`, 120),
    );
    const status = await receiver.finish(30_000);
    if (status.code !== 0) throw new Error(`receiver failed: ${receiver.stderr.slice(-500)}`);
    const lines = await lineCount(out);
    if (lines !== trips) throw new Error(`receiver printed ${lines} of ${trips}`);
    return report.round_trips / report.seconds;
  } finally {
    await receiver.stop();
    await removeQuietly(out);
  }
}

export const ack: ScenarioDefinition = {
  name: "ack",
  needs: ["python3"],
  about: `${ROUND_TRIPS.toLocaleString("en-US")} stop-and-wait round trips of the Python client ` +
    '(bench/peers/ack_client.py: a frame, then wait for {"ack":N}) into `receive --ack --json` ' +
    "vs into the Python ack receiver (bench/peers/ack_receiver.py), and into its Deno " +
    "counterpart (bench/peers/ack_receiver.ts); all outputs to a tmpfs file",
  async run(context: Context): Promise<Result[]> {
    const trips = scaled(context, ROUND_TRIPS);
    const { figures, load } = await rounds(context, {
      framecat: () =>
        ackRun(
          context,
          trips,
          (port) =>
            `exec ${FRAMECAT} receive --host 127.0.0.1 --port ${port} --ack --json --quiet ` +
            `--count ${trips}`,
        ),
      python: () =>
        ackRun(
          context,
          trips,
          (port) => `exec python3 "${PEERS}ack_receiver.py" 127.0.0.1 ${port} ${trips}`,
        ),
      deno: () =>
        ackRun(
          context,
          trips,
          (port) =>
            `exec "${DENO}" run --allow-net "${PEERS}ack_receiver.ts" 127.0.0.1 ${port} ${trips}`,
        ),
    });
    return [
      result({
        scenario: "ack",
        name: "stop-and-wait --ack round trips, Python client",
        unit: "round trips/s",
        peerName: "Python ack receiver",
        framecat: figures.framecat,
        peer: figures.python,
        load,
        notes: [
          "no target since issue 22, reported: no Deno program measured there, FFI included, " +
          "beats Python's blocking loop; the target is on the Deno ack receiver",
        ],
      }),
      result({
        scenario: "ack",
        name: "stop-and-wait --ack round trips, Python client",
        unit: "round trips/s",
        peerName: "Deno ack receiver",
        framecat: figures.framecat,
        peer: figures.deno,
        target: {
          on: "ratio",
          op: ">=",
          value: 1.0,
          text: ">= 1.0x in every round",
          everyRound: true,
        },
        load,
        notes: [
          "bench/peers/ack_receiver.ts does the Python receiver's work in 50 lines of Deno: " +
          "what Deno's own reads, writes and event loop cost a round trip",
        ],
      }),
    ];
  },
};

const CONNECTIONS = 10_000;
const CONCURRENT = 32;

/** Lines of `file` that contain `needle`. */
async function countLines(file: string, needle: string): Promise<number> {
  const text = await Deno.readTextFile(file).catch(() => "");
  let n = 0;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** A process's CPU time so far: per thread in ns (schedstat), and in all in clock ticks. */
interface CpuSample {
  threads: Map<string, number>;
  ticks: number;
}

async function cpuSample(pid: number): Promise<CpuSample> {
  const threads = new Map<string, number>();
  for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
    const text = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/schedstat`)
      .catch(() => "");
    if (text !== "") threads.set(task.name, Number(text.split(" ")[0]));
  }
  // utime and stime, the 14th and 15th fields, counted after the command's closing bracket.
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { threads, ticks: Number(fields[11]) + Number(fields[12]) };
}

/**
 * CPU seconds between two samples: from the threads' nanoseconds when every
 * thread of the first is still there (a thread that ended takes its count
 * with it), otherwise from the clock ticks (1/100 s).
 */
function cpuBetween(before: CpuSample, after: CpuSample): number {
  const kept = [...before.threads.keys()].every((tid) => after.threads.has(tid));
  if (!kept) return (after.ticks - before.ticks) / 100;
  let ns = 0;
  for (const [tid, value] of after.threads) ns += value - (before.threads.get(tid) ?? 0);
  return ns / 1e9;
}

interface ConnsRound {
  /** The receiver's CPU microseconds per connection. */
  usPerConnection: number;
  /** Connections per second, from the first connection to the last line printed. */
  rate: number;
  printed: number;
  /** What bench/peers/conn_load.c reported. */
  load: { done: number; failed: number; timedOut: number };
}

/**
 * Runs the receiver `command` (listening on every address at `port`, its
 * lines to a tmpfs file, pinned to core 1 where taskset is), throws
 * one-message connections at it from the C load client (pinned to core 0),
 * and measures the receiver process's CPU from the moment it listens and
 * has settled to the moment its output stops growing (every message printed,
 * or nothing new for 2 s after the client ended).
 */
async function connsRun(
  context: Context,
  c: CPeers,
  pin: (core: number) => string,
  command: (port: number) => string,
): Promise<ConnsRound> {
  const total = scaled(context, CONNECTIONS);
  const port = freePort();
  const out = `${context.dir}/conns.out`;
  const pidFile = `${context.dir}/conns.pid`;
  const receiver = new Background(
    `echo $$ > "${pidFile}"; exec ${pin(1)}${command(port)} > "${out}" 2> "${out}.err"`,
    180,
  );
  try {
    await waitListening(port, receiver);
    await sleep(500);
    const pid = Number((await Deno.readTextFile(pidFile)).trim());
    const before = await cpuSample(pid);
    const started = performance.now();
    const load = new Background(
      `exec ${pin(0)}"${c.connLoad}" 127.0.0.1 ${port} ${total} ${CONCURRENT} 8 2`,
      120,
    );
    let printed = 0;
    let last = started;
    while (printed < total) {
      await sleep(10);
      const now = await countLines(out, "Message from Sender");
      if (now !== printed) [printed, last] = [now, performance.now()];
      if (load.ended && performance.now() - last > 2000) break;
      if (performance.now() - started > 90_000) break;
      if (receiver.ended) throw new Error(`the receiver ended: ${receiver.stderr.slice(-300)}`);
    }
    const after = await cpuSample(pid);
    await load.finish(30_000);
    const report = JSON.parse(load.stdout);
    return {
      usPerConnection: cpuBetween(before, after) * 1e6 / total,
      rate: printed / ((last - started) / 1000),
      printed,
      load: report,
    };
  } finally {
    await receiver.stop();
    await removeQuietly(out, `${out}.err`, pidFile);
  }
}

export const conns: ScenarioDefinition = {
  name: "conns",
  needs: ["python3", "cc"],
  about: `${CONNECTIONS.toLocaleString("en-US")} one-message connections, ${CONCURRENT} at a ` +
    "time, from the C load client (bench/peers/conn_load.c, pinned to core 0): the receiver's " +
    "CPU per connection (pinned to core 1), `receive` with default flags vs the seed's " +
    "receiver.py (backlog 128) and the minimal Deno receiver (bench/peers/min_frame_recv.ts); " +
    "messages lost are counted",
  async run(context: Context): Promise<Result[]> {
    const c = await cPeers(context);
    if (typeof c === "string") throw new Error(c);
    const taskset = await hasCommand("taskset");
    const pin = (core: number) => taskset ? `taskset -c ${core} ` : "";
    const detail: Record<string, ConnsRound[]> = { framecat: [], seed: [], deno: [] };
    const contender = (who: string, command: (port: number) => string) => async () => {
      const r = await connsRun(context, c, pin, command);
      detail[who].push(r);
      return r.usPerConnection;
    };
    const { figures, load } = await rounds(context, {
      framecat: contender("framecat", (port) => `${FRAMECAT} receive --port ${port}`),
      seed: contender(
        "seed",
        (port) => `python3 -u "${SEED}receiver.py" 0.0.0.0 ${port} 128`,
      ),
      deno: contender(
        "deno",
        (port) => `"${DENO}" run --allow-net "${PEERS}min_frame_recv.ts" 0.0.0.0 ${port}`,
      ),
    });
    const total = scaled(context, CONNECTIONS);
    const lost = (who: string) => detail[who].map((r) => total - r.printed);
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const loads = (who: string) =>
      detail[who].map((r) => `${r.load.done}/${r.load.failed}/${r.load.timedOut}`).join(", ");
    const rates = (who: string) => detail[who].map((r) => r.rate);
    const name = `${CONNECTIONS.toLocaleString("en-US")} one-message connections, ` +
      `${CONCURRENT} at a time, default flags: receiver CPU per connection`;
    const notes = [
      `receiver pinned to core 1, the C load client to core 0${
        taskset ? "" : " (not pinned: no taskset)"
      }; CPU from /proc (threads' schedstat, or clock ticks if a thread ended), from ` +
      "listening (+0.5 s) to the last line printed",
      `messages lost per round: framecat ${lost("framecat").join(", ")}; ` +
      `seed ${lost("seed").join(", ")}; minimal Deno ${lost("deno").join(", ")}`,
      `conn_load done/failed/timed out per round: framecat ${loads("framecat")}; seed ${
        loads("seed")
      } (the seed ends a connection only on its next accept: the last one times out); ` +
      `minimal Deno ${loads("deno")}`,
    ];
    const anchors = {
      "framecat conn/s": rates("framecat"),
      "seed conn/s": rates("seed"),
      "minimal Deno conn/s": rates("deno"),
    };
    return [
      result({
        scenario: "conns",
        name,
        unit: "us/conn",
        peerName: "seed receiver.py, backlog 128",
        higherIsBetter: false,
        framecat: figures.framecat,
        peer: figures.seed,
        target: { on: "ratio", op: "<=", value: 0.8, text: "<= 0.8x, nothing lost" },
        conditions: [
          sum(lost("framecat")) === 0 || `framecat lost ${sum(lost("framecat"))} messages`,
          sum(lost("seed")) === 0 || `the seed lost ${sum(lost("seed"))} messages (no fair ratio)`,
        ],
        load,
        anchors,
        notes,
      }),
      result({
        scenario: "conns",
        name,
        unit: "us/conn",
        peerName: "the minimal Deno receiver (bench/peers/min_frame_recv.ts)",
        higherIsBetter: false,
        framecat: figures.framecat,
        peer: figures.deno,
        load,
        notes: ["no target: the Deno runtime's level (no checks, no limits, no events)"],
      }),
    ];
  },
};

/**
 * Median wall time (ms) of each command over 30 runs, by hyperfine, or by a
 * loop of our own without it. The runs go in 3 turns of 10, each turn in
 * another order, so that a machine that speeds up or slows down during a
 * round weighs on every command alike.
 */
async function startTimes(context: Context, commands: string[], round: number): Promise<number[]> {
  const turns = 3;
  const runs = 10;
  const times: number[][] = commands.map(() => []);
  const hyperfine = (await sh("command -v hyperfine")).code === 0;
  for (let turn = 0; turn < turns; turn++) {
    const order = commands.map((_, i) => (i + round + turn) % commands.length);
    if (hyperfine) {
      const json = `${context.dir}/hyperfine.json`;
      const quoted = order.map((c) => `'${commands[c]}'`).join(" ");
      await shOk(
        `hyperfine -N --style none --warmup 3 --runs ${runs} --export-json "${json}" ${quoted}`,
        300,
      );
      const report = JSON.parse(await Deno.readTextFile(json));
      await removeQuietly(json);
      report.results.forEach((r: { times: number[] }, k: number) => {
        times[order[k]].push(...r.times.map((t) => t * 1000));
      });
      continue;
    }
    for (let i = 0; i < runs + 3; i++) {
      for (const c of order) {
        const started = performance.now();
        await shOk(`exec ${commands[c]}`, 30);
        if (i >= 3) times[c].push(performance.now() - started);
      }
    }
  }
  return times.map((t) => stats(t).median);
}

export const startup: ScenarioDefinition = {
  name: "startup",
  needs: ["node"],
  about: "one `framecat send` to the Node receiver, the whole process, with the MESSAGE " +
    '"Hello World!" and with no MESSAGE and standard input on /dev/null (the default ' +
    "message, as scripts, cron and hyperfine run the seed's plain `send`): the command " +
    "`deno task install` makes (the bundle), and `deno run main.ts` from the source; each vs " +
    "`deno run` of an empty file, with the minimal Deno sender (bench/peers/min_send_one.ts) " +
    "for reference; medians of 30 runs by hyperfine, in 3 turns of 10 in " +
    "changing order",
  async run(context: Context): Promise<Result[]> {
    const port = freePort();
    const receiver = new Background(`exec node "${PEERS}receiver.mjs" ${port} > /dev/null`, 600);
    const empty = `${context.dir}/empty.ts`;
    await Deno.writeTextFile(empty, "");
    const root = `${context.dir}/install`;
    try {
      const { command, unbundled } = await install({ root });
      if (unbundled) throw new Error(`deno task install did not bundle: ${unbundled}`);
      await waitListening(port, receiver);
      const source = `${DENO} run --allow-net ${ROOT}main.ts`;
      // hyperfine's standard input, and our own loop's, is /dev/null.
      const commands = {
        installed: `${command} send --port ${port} "Hello World!"`,
        source: `${source} send --port ${port} "Hello World!"`,
        installedNull: `${command} send --port ${port}`,
        sourceNull: `${source} send --port ${port}`,
        minimal: `${DENO} run --allow-net ${PEERS}min_send_one.ts ${port}`,
        empty: `${DENO} run --allow-net ${empty}`,
      };
      const keys = Object.keys(commands) as (keyof typeof commands)[];
      const times = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<
        keyof typeof commands,
        number[]
      >;
      const load: number[] = [];
      for (let r = 0; r < context.rounds; r++) {
        load.push(loadAverage());
        const medians = await startTimes(context, keys.map((k) => commands[k]), r);
        keys.forEach((k, i) => times[k].push(medians[i]));
        context.log(
          `  round ${r + 1}: ${keys.map((k, i) => `${k} ${format(medians[i])} ms`).join(", ")} ` +
            `(load ${load[r]})`,
        );
      }
      const target = { on: "ratio", op: "<=", value: 1.15, text: "<= 1.15x" } as const;
      const row = (name: string, key: keyof typeof commands) =>
        result({
          scenario: "startup",
          name,
          unit: "ms",
          peerName: "deno run of an empty file",
          higherIsBetter: false,
          framecat: times[key],
          peer: times.empty,
          target,
          load,
          anchors: {
            "minimal Deno sender (ms)": times.minimal,
            "minimal Deno sender / empty": times.minimal.map((t, i) => t / times.empty[i]),
          },
          notes: [
            "same rounds: the minimal Deno sender (bench/peers/min_send_one.ts: connect, one " +
            `write, close) ${
              times.minimal.map((t, i) => (t / times.empty[i]).toFixed(2)).join(", ")
            }x the empty file per round`,
          ],
        });
      return [
        row("one `framecat send`, whole process (installed)", "installed"),
        row("one `framecat send`, whole process (deno run main.ts)", "source"),
        row(
          "one `framecat send` with no MESSAGE, stdin on /dev/null, whole process (installed)",
          "installedNull",
        ),
        row(
          "one `framecat send` with no MESSAGE, stdin on /dev/null, whole process " +
            "(deno run main.ts)",
          "sourceNull",
        ),
      ];
    } finally {
      await receiver.stop();
      await removeQuietly(empty);
      await removeQuietly(root);
    }
  },
};

/** Data segments one sender's message takes on loopback, counted by tshark. */
async function countSegments(context: Context, send: (port: number) => string): Promise<number> {
  const port = freePort();
  const pcap = `${context.dir}/segments.pcap`;
  const capture = new Background(`exec tshark -i lo -f "tcp port ${port}" -w "${pcap}"`, 60);
  try {
    await capture.waitFor(/Capturing on/);
    const receiver = new Background(
      `exec ${FRAMECAT} receive --host 127.0.0.1 --port ${port} --count 1 --quiet > /dev/null`,
      60,
    );
    await waitListening(port, receiver);
    await shOk(send(port), 30);
    await receiver.finish(30_000);
    await sleep(300);
    capture.kill("SIGINT");
    await capture.finish(10_000);
    const lengths = await shOk(
      `tshark -r "${pcap}" -Y "tcp.dstport == ${port} && tcp.len > 0" -T fields -e tcp.len`,
    );
    return lengths.trim().split("\n").filter((l) => l !== "").length;
  } finally {
    await capture.stop();
    await removeQuietly(pcap);
  }
}

export const segments: ScenarioDefinition = {
  name: "segments",
  needs: ["tshark", "python3"],
  about: "TCP data segments of one small message on loopback (tshark), " +
    "`framecat send` vs the seed's sender.py; counted once",
  async run(context: Context): Promise<Result[]> {
    const load = [loadAverage()];
    const fc = await countSegments(context, (port) => `${FRAMECAT} send --port ${port}`);
    const seed = await countSegments(
      context,
      (port) => `python3 "${SEED}sender.py" 127.0.0.1 ${port} '"Hello World!"'`,
    );
    context.log(`  framecat ${fc}, seed ${seed}`);
    return [result({
      scenario: "segments",
      name: "one small message: TCP data segments",
      unit: "segments",
      peerName: "seed sender.py",
      higherIsBetter: false,
      framecat: [fc],
      peer: [seed],
      target: { on: "framecat", op: "<=", value: 1, text: "1 segment" },
      load,
    })];
  },
};
