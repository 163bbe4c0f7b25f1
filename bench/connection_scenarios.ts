/**
 * Round trips, connections and start-up: stop-and-wait `--ack` against a
 * Python ack receiver, 5,000 one-message connections against the seed's
 * receiver, one `framecat send` process against `deno run` of an empty file,
 * and the TCP segments of one message.
 *
 * @module
 */

import {
  Background,
  type Context,
  DENO,
  format,
  FRAMECAT,
  freePort,
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
        target: { on: "ratio", op: ">=", value: 1.0, text: ">= 1.0x" },
        load,
      }),
      result({
        scenario: "ack",
        name: "stop-and-wait --ack round trips, Python client",
        unit: "round trips/s",
        peerName: "Deno ack receiver",
        framecat: figures.framecat,
        peer: figures.deno,
        load,
        notes: [
          "no target: bench/peers/ack_receiver.ts does the Python receiver's work in 50 " +
          "lines of Deno: what Deno's own reads, writes and event loop cost a round trip",
        ],
      }),
    ];
  },
};

const CONNECTIONS = 5000;
const CLIENTS = 32;

/** Lines of `file` that contain `needle`. */
async function countLines(file: string, needle: string): Promise<number> {
  const text = await Deno.readTextFile(file).catch(() => "");
  let n = 0;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

interface ConnsRound {
  rate: number;
  printed: number;
  failed: number;
}

/**
 * Runs the receiver `command` (listening on 0.0.0.0:port), throws 5,000
 * one-message connections at it from 32 clients (bench/connect_load.ts),
 * and counts the messages printed: the time is until the last one printed
 * (the count stops growing for 2 s once the clients are done, or reaches
 * 5,000).
 */
async function connsRun(
  context: Context,
  command: (port: number) => string,
): Promise<ConnsRound> {
  const total = scaled(context, CONNECTIONS);
  const port = freePort();
  const out = `${context.dir}/conns.out`;
  const receiver = new Background(`${command(port)} > "${out}" 2> "${out}.err"`, 120);
  try {
    await waitListening(port, receiver);
    const started = performance.now();
    const load = new Background(
      `exec "${DENO}" run --allow-net "${ROOT}bench/connect_load.ts" ${port} ${total} ${CLIENTS}`,
      120,
    );
    let printed = 0;
    let last = started;
    while (printed < total) {
      await sleep(5);
      const now = await countLines(out, "Message from Sender");
      if (now !== printed) [printed, last] = [now, performance.now()];
      if (load.ended && performance.now() - last > 2000) break;
      if (performance.now() - started > 90_000) break;
    }
    await load.finish(30_000);
    const { failed } = JSON.parse(load.stdout);
    return { rate: printed / ((last - started) / 1000), printed, failed };
  } finally {
    await receiver.stop();
    await removeQuietly(out, `${out}.err`);
  }
}

export const conns: ScenarioDefinition = {
  name: "conns",
  needs: ["python3"],
  about: `${CONNECTIONS.toLocaleString("en-US")} one-message connections from ${CLIENTS} ` +
    "clients (bench/connect_load.ts, the seed's two writes), `receive` with default flags vs the " +
    "seed's receiver.py (listen backlog 128); counts what is printed, and a loss voids the ratio",
  async run(context: Context): Promise<Result[]> {
    const detail: Record<string, ConnsRound[]> = { framecat: [], seed: [] };
    const { figures, load } = await rounds(context, {
      framecat: async () => {
        const r = await connsRun(context, (port) => `exec ${FRAMECAT} receive --port ${port}`);
        detail.framecat.push(r);
        return r.rate;
      },
      seed: async () => {
        const r = await connsRun(
          context,
          (port) => `exec python3 -u "${SEED}receiver.py" 0.0.0.0 ${port} 128`,
        );
        detail.seed.push(r);
        return r.rate;
      },
    });
    const total = scaled(context, CONNECTIONS);
    const lost = (who: string) => detail[who].map((r) => total - r.printed);
    const failed = (who: string) => detail[who].map((r) => r.failed);
    const framecatLost = lost("framecat").reduce((a, b) => a + b, 0);
    const seedLost = lost("seed").reduce((a, b) => a + b, 0);
    return [result({
      scenario: "conns",
      name: `${CONNECTIONS.toLocaleString("en-US")} one-message connections, ${CLIENTS} clients, ` +
        "default flags",
      unit: "conn/s",
      peerName: "seed receiver.py, backlog 128",
      framecat: figures.framecat,
      peer: figures.seed,
      target: { on: "ratio", op: ">=", value: 5, text: ">= 5x, nothing lost" },
      conditions: [
        framecatLost === 0 || `framecat lost ${framecatLost} messages`,
        seedLost === 0 || `the seed lost ${seedLost} messages (no fair ratio)`,
      ],
      load,
      notes: [
        `messages lost per round: framecat ${lost("framecat").join(", ")}; ` +
        `seed ${lost("seed").join(", ")}`,
        `connections that failed per round: framecat ${failed("framecat").join(", ")}; ` +
        `seed ${failed("seed").join(", ")}`,
      ],
    })];
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
  about: 'one `framecat send "Hello World!"` to the Node receiver, the whole process: the ' +
    "command `deno task install` makes (the bundle), and `deno run main.ts` from the source; " +
    "vs `deno run` of an empty file; medians of 30 runs by hyperfine, in 3 turns of 10 in " +
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
      const installed: number[] = [];
      const source: number[] = [];
      const floor: number[] = [];
      const load: number[] = [];
      for (let r = 0; r < context.rounds; r++) {
        load.push(loadAverage());
        // The message given, as a terminal user's `framecat send` sends it:
        // hyperfine's standard input is /dev/null, which send would read
        // and then tell from an empty pipe (node:fs, about 20 ms more).
        const [a, b, c] = await startTimes(context, [
          `${command} send --port ${port} "Hello World!"`,
          `${DENO} run --allow-net ${ROOT}main.ts send --port ${port} "Hello World!"`,
          `${DENO} run --allow-net ${empty}`,
        ], r);
        installed.push(a);
        source.push(b);
        floor.push(c);
        context.log(
          `  round ${r + 1}: installed ${format(a)} ms, main.ts ${format(b)} ms, ` +
            `empty ${format(c)} ms (load ${load[r]})`,
        );
      }
      return [
        result({
          scenario: "startup",
          name: "one `framecat send`, whole process (installed)",
          unit: "ms",
          peerName: "deno run of an empty file",
          higherIsBetter: false,
          framecat: installed,
          peer: floor,
          target: { on: "ratio", op: "<=", value: 1.3, text: "<= 1.3x" },
          load,
        }),
        result({
          scenario: "startup",
          name: "one `framecat send`, whole process (deno run main.ts)",
          unit: "ms",
          peerName: "deno run of an empty file",
          higherIsBetter: false,
          framecat: source,
          peer: floor,
          load,
          notes: ["no target: from the source, 14 modules load instead of the bundle's 4"],
        }),
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
