/**
 * The receiver's peak memory (RSS, as the kernel counts it) under the loads
 * of issues 8 and 9: many connections, one huge message, many large messages
 * at once, and connections that never finish their frames. Every receiver
 * runs under bench/peak_rss.py with a cap, so that one that grows without
 * bound is killed (and reported so) instead of taking the shared machine.
 *
 * @module
 */

import {
  Background,
  type Context,
  DENO,
  FRAMECAT,
  freePort,
  loadAverage,
  MiB,
  type PeakRss,
  peakRss,
  PEERS,
  removeQuietly,
  type Result,
  result,
  ROOT,
  rounds,
  type ScenarioDefinition,
  shOk,
  sleep,
  underPeakRss,
  waitListening,
} from "./harness.ts";
import { makeData } from "./throughput_scenarios.ts";

const CAP_MIB = 3072;
const RECEIVE = `${DENO} run --allow-net ${ROOT}main.ts receive --host 127.0.0.1`;

/** The command line of bench/hold_load.ts. */
function holdLoad(port: number, args: string): string {
  return `exec "${DENO}" run --allow-net "${ROOT}bench/hold_load.ts" ${port} ${args}`;
}

/** Why a peak figure does not count, or true. */
function intact(peak: PeakRss, who: string): true | string {
  if (peak.capped) return `${who} killed at the ${CAP_MIB} MiB cap`;
  if (peak.code !== 0) return `${who} exited ${peak.code}`;
  return true;
}

/**
 * Peak RSS (MiB) of the receiver `command` (listening on `port`, exiting by
 * itself once it has printed everything) while bench/hold_load.ts runs `load`.
 */
async function peakUnderLoad(
  context: Context,
  command: string,
  port: number,
  load: string,
  conditions: (true | string)[],
  who: string,
): Promise<number> {
  const wrapped = underPeakRss(command, "/dev/null", CAP_MIB);
  let client: Background | undefined;
  try {
    await waitListening(port, wrapped);
    client = new Background(holdLoad(port, load), 180);
    const peak = await peakRss(wrapped, 150_000);
    await client.finish(60_000);
    conditions.push(intact(peak, who));
    if (peak.capped || peak.code !== 0) context.log(`  ${who}: ${client.stdout.trim()}`);
    return peak.peakMiB;
  } finally {
    await wrapped.stop();
    await client?.stop();
  }
}

const HELD = { conns: 1000, frames: 20, bytes: 10 * 1024 };

export const held: ScenarioDefinition = {
  name: "held",
  needs: ["python3", "node"],
  about: "receiver peak RSS while 1,000 connections, all open at once, each send 20 messages " +
    "of 10 KB (bench/hold_load.ts); framecat (--json to /dev/null) vs the Node receiver " +
    "(bench/peers/receiver.mjs), and the minimal Deno receiver (bench/peers/min_frame_recv.ts " +
    "--json) for reference",
  async run(context: Context): Promise<Result[]> {
    const total = HELD.conns * HELD.frames;
    const load = `${HELD.conns} ${HELD.frames} ${HELD.bytes} --hold 60`;
    const conditions: (true | string)[] = [];
    const peerConditions: (true | string)[] = [];
    const under =
      (who: string, command: (port: number) => string, noted: (true | string)[]) => () => {
        const port = freePort();
        return peakUnderLoad(context, command(port), port, load, noted, who);
      };
    const { figures, load: loadavg } = await rounds(context, {
      framecat: under(
        "framecat",
        (port) => `${RECEIVE} --port ${port} --json --quiet --count ${total}`,
        conditions,
      ),
      node: under("node", (port) => `node ${PEERS}receiver.mjs ${port} ${total}`, peerConditions),
      deno: under(
        "minimal deno",
        (port) =>
          `"${DENO}" run --allow-net ${PEERS}min_frame_recv.ts 127.0.0.1 ${port} ${total} --json`,
        peerConditions,
      ),
    });
    const peersIntact = peerConditions.filter((c): c is string => c !== true);
    const name = "1,000 connections x 20 x 10 KB: receiver peak RSS";
    return [
      result({
        scenario: "held",
        name,
        unit: "MiB",
        peerName: "Node receiver",
        higherIsBetter: false,
        framecat: figures.framecat,
        peer: figures.node,
        target: { on: "ratio", op: "<=", value: 1.2, text: "<= 1.2x" },
        conditions,
        load: loadavg,
        anchors: { "minimal Deno receiver (MiB)": figures.deno },
        notes: peersIntact,
      }),
      result({
        scenario: "held",
        name,
        unit: "MiB",
        peerName: "the minimal Deno receiver (bench/peers/min_frame_recv.ts --json)",
        higherIsBetter: false,
        framecat: figures.framecat,
        peer: figures.deno,
        load: loadavg,
        notes: ["no target: the Deno runtime's level (no checks, no limits, no events)"],
      }),
    ];
  },
};

export const memory: ScenarioDefinition = {
  name: "memory",
  needs: ["python3", "nc"],
  about: "receiver peak RSS for one 256 MiB message (send --stdin --json into receive --json, " +
    "output to a tmpfs file); and for a prefix declaring 1e9 bytes (refused, nothing allocated)",
  async run(context: Context): Promise<Result[]> {
    const set = { name: "big", count: 1, bytes: 256 * MiB };
    const input = await makeData(context.dir, set);
    const limit = "--max-bytes 300000000";
    const conditions: (true | string)[] = [];
    const { figures, load } = await rounds(context, {
      framecat: async () => {
        const port = freePort();
        const out = `${context.dir}/big.out`;
        const wrapped = underPeakRss(
          `${RECEIVE} --port ${port} --json --quiet --count 1 ${limit}`,
          out,
          CAP_MIB,
        );
        try {
          await waitListening(port, wrapped);
          await shOk(`${FRAMECAT} send --port ${port} --stdin --json ${limit} < "${input}"`, 120);
          const peak = await peakRss(wrapped, 120_000);
          conditions.push(intact(peak, "framecat"));
          const size = (await Deno.stat(out)).size;
          if (size < set.bytes) conditions.push(`framecat printed ${size} bytes`);
          return peak.peakMiB;
        } finally {
          await wrapped.stop();
          await removeQuietly(out);
        }
      },
    });
    await removeQuietly(input);

    // A frame declaring 1,000,000,000 bytes against the default 64 MiB limit.
    const port = freePort();
    const refusedLoad = loadAverage();
    const refused = underPeakRss(`${RECEIVE} --port ${port}`, "/dev/null", CAP_MIB);
    let refusedPeak: PeakRss;
    try {
      await waitListening(port, refused);
      await shOk(`printf '1000000000\\n"aaaa' | nc -N 127.0.0.1 ${port}`, 30);
      await refused.waitFor(/exceeds the limit|over|refus/i, 10_000);
      await sleep(200);
      refused.kill("SIGTERM");
      refusedPeak = await peakRss(refused, 10_000);
    } finally {
      await refused.stop();
    }
    return [
      result({
        scenario: "memory",
        name: "one 256 MiB message: receiver peak RSS",
        unit: "MiB",
        higherIsBetter: false,
        framecat: figures.framecat,
        target: { on: "framecat", op: "<=", value: 448, text: "<= 448 MiB (1.5x + 64)" },
        conditions,
        load,
      }),
      result({
        scenario: "memory",
        name: "a frame declaring 1e9 bytes: receiver peak RSS",
        unit: "MiB",
        higherIsBetter: false,
        framecat: [refusedPeak.peakMiB],
        target: { on: "framecat", op: "<=", value: 100, text: "refused, < 100 MiB" },
        load: [refusedLoad],
        notes: ["measured once"],
      }),
    ];
  },
};

const SIXTY = 60 * MiB;

export const pileup: ScenarioDefinition = {
  name: "pileup",
  needs: ["python3"],
  about: "issue 8: 40 connections each sending one valid 60 MiB JSON string at once, default " +
    "flags (--json to /dev/null, --count 40): receiver peak RSS, and all printed",
  async run(context: Context): Promise<Result[]> {
    const conditions: (true | string)[] = [];
    const { figures, load } = await rounds(context, {
      framecat: () => {
        const port = freePort();
        return peakUnderLoad(
          context,
          `${RECEIVE} --port ${port} --json --quiet --count 40`,
          port,
          `40 1 ${SIXTY} --deadline 120`,
          conditions,
          "framecat",
        );
      },
    });
    return [result({
      scenario: "pileup",
      name: "40 concurrent 60 MiB messages: receiver peak RSS",
      unit: "MiB",
      higherIsBetter: false,
      framecat: figures.framecat,
      target: { on: "framecat", op: "<=", value: 1536, text: "<= 1.5 GiB, all 40 printed" },
      conditions,
      load,
    })];
  },
};

export const fill: ScenarioDefinition = {
  name: "fill",
  needs: ["python3"],
  about: "issue 8: 150 connections each declaring 60 MiB and sending all but one byte, " +
    "default flags: receiver peak RSS while they write (at most 15 s), then, once they " +
    "have gone, whether a new `framecat send` is printed within 5 s",
  async run(context: Context): Promise<Result[]> {
    const conditions: (true | string)[] = [];
    const served: number[] = [];
    const { figures, load } = await rounds(context, {
      framecat: async () => {
        const port = freePort();
        const out = `${context.dir}/fill.out`;
        const wrapped = underPeakRss(`${RECEIVE} --port ${port} --quiet`, out, CAP_MIB);
        try {
          await waitListening(port, wrapped);
          await shOk(holdLoad(port, `150 1 ${SIXTY} --short 1 --deadline 15`), 120);
          const started = performance.now();
          // The time until it is printed, not until `send` ends (which may wait
          // for the receiver to close the connection).
          const sender = wrapped.ended
            ? undefined
            : new Background(`${FRAMECAT} send --port ${port} '"after the fill"'`, 30);
          let printedAfter = NaN;
          while (sender && !wrapped.ended && performance.now() - started < 5000) {
            if ((await Deno.readTextFile(out)).includes("after the fill")) {
              printedAfter = performance.now() - started;
              break;
            }
            await sleep(10);
          }
          await sender?.finish(30_000);
          wrapped.kill("SIGTERM");
          const peak = await peakRss(wrapped, 10_000);
          if (peak.capped) conditions.push(intact(peak, "framecat"));
          else if (!sender) conditions.push(`framecat ended (exit ${peak.code}) under the fill`);
          else if (Number.isNaN(printedAfter)) {
            conditions.push("a new sender was not printed within 5 s");
          } else served.push(printedAfter);
          return peak.peakMiB;
        } finally {
          await wrapped.stop();
          await removeQuietly(out);
        }
      },
    });
    return [result({
      scenario: "fill",
      name: "150 connections holding 60 MiB - 1 byte: receiver peak RSS",
      unit: "MiB",
      higherIsBetter: false,
      framecat: figures.framecat,
      target: {
        on: "framecat",
        op: "<=",
        value: 1536,
        text: "<= 1.5 GiB, alive, new sender served",
      },
      conditions,
      load,
      notes: served.length
        ? [`a new sender printed after ${served.map((ms) => ms.toFixed(0)).join(", ")} ms`]
        : [],
    })];
  },
};
