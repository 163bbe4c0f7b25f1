/**
 * Throughput over one connection: framecat (`send --stdin --json` into
 * `receive --json`) against nc, jq and the hand-written Node receiver, each
 * output paired with the same kind of output (file, pipe or /dev/null).
 *
 * @module
 */

import {
  Background,
  type Context,
  type CPeers,
  cPeers,
  DENO,
  FRAMECAT,
  freePort,
  lineCount,
  MiB,
  PEERS,
  removeQuietly,
  type Result,
  result,
  rounds,
  scaled,
  type ScenarioDefinition,
  sh,
  shOk,
  stats,
  timed,
  waitListening,
} from "./harness.ts";

/** Where both sides of a pair write: a tmpfs file, a pipe (into `wc -c`), or /dev/null. */
export type Sink = "file" | "pipe" | "null";

const SINK_NAMES: Record<Sink, string> = {
  file: "to a tmpfs file",
  pipe: "into a pipe",
  null: "to /dev/null",
};

/** A data set of `count` messages whose payloads are JSON strings of `bytes` bytes. */
interface DataSet {
  name: string;
  count: number;
  bytes: number;
}

/**
 * Writes `<name>.ndjson` (one payload a line, what `send --stdin --json` and
 * nc send) and, with `framed`, `<name>.frames` (the same as framecat frames,
 * what nc sends to the Node receiver). Payloads are JSON strings of exactly
 * `bytes` bytes, numbered.
 */
export async function makeData(dir: string, set: DataSet, framed = false): Promise<string> {
  const path = `${dir}/${set.name}.ndjson`;
  if (await Deno.stat(path).then(() => true, () => false)) return path;
  await shOk(`python3 - "${dir}" ${set.name} ${set.count} ${set.bytes} ${framed ? 1 : 0} <<'PY'
import sys
d, name, count, size, framed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
digits = min(12, size - 2)
with open("%s/%s.ndjson" % (d, name), "wb") as lines, open("%s/%s.frames" % (d, name) if framed else "/dev/null", "wb") as frames:
    pad = b"x" * (size - 2 - digits)
    head = b"%d\\n" % size
    batch_l, batch_f = [], []
    for i in range(count):
        p = b'"' + pad + b"%0*d" % (digits, i % 10 ** digits) + b'"'
        batch_l.append(p + b"\\n")
        if framed:
            batch_f.append(head + p)
        if len(batch_l) >= 4096 or size > 65536:
            lines.write(b"".join(batch_l))
            frames.write(b"".join(batch_f))
            batch_l, batch_f = [], []
    lines.write(b"".join(batch_l))
    frames.write(b"".join(batch_f))
PY`);
  return path;
}

function sinkOf(sink: Sink, out: string): string {
  return sink === "file" ? `> "${out}"` : sink === "pipe" ? `| wc -c > "${out}"` : "> /dev/null";
}

/**
 * Checks what a run wrote: `lines` lines to a file, at least `bytes` bytes
 * into the pipe; then removes the output, or renames it to `keepAs`.
 */
async function check(
  sink: Sink,
  out: string,
  lines: number,
  bytes: number,
  who: string,
  keepAs?: string,
): Promise<void> {
  if (sink === "file") {
    const got = await lineCount(out);
    if (got !== lines) throw new Error(`${who} printed ${got} lines, not ${lines}`);
  } else if (sink === "pipe") {
    const got = Number((await Deno.readTextFile(out)).trim());
    if (got < bytes) {
      throw new Error(`${who} wrote ${got} bytes into the pipe, fewer than ${bytes}`);
    }
  }
  if (keepAs) await Deno.rename(out, keepAs);
  else await removeQuietly(out);
}

/** One run of a pair: its wall time and the CPU time of both ends (user + system). */
export interface Run {
  ms: number;
  cpuSeconds: number;
  /** The receiving end's share of `cpuSeconds` (its output's `wc -c` included, for a pipe). */
  receiverCpuSeconds: number;
}

/** Appends bash's `times` (the CPU time of the command's children) to stderr. */
function withTimes(command: string): string {
  return `${command}\ncode=$?; times >&2; exit $code`;
}

/** The children's user + system seconds from the last `times` output in `stderr`. */
function cpuOf(stderr: string): number {
  const lines = stderr.trim().split("\n");
  const match = lines.at(-1)?.match(/^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/);
  if (!match) return NaN;
  const [, um, us, sm, ss] = match.map(Number);
  return um * 60 + us + sm * 60 + ss;
}

/**
 * One run of a pair: the receiving end `receiver(port)` (listening on
 * 127.0.0.1:port, ending by itself once it has everything), its output to
 * `sink`; then the sending end `sender(port)`. The time is from the sender's
 * start to the receiver's end; what the output holds is checked after.
 */
async function carry(
  context: Context,
  who: string,
  receiver: (port: number) => string,
  sender: (port: number) => string,
  sink: Sink,
  lines: number,
  bytes: number,
  keepAs?: string,
): Promise<Run> {
  const port = freePort();
  const out = `${context.dir}/${who.replaceAll(" ", "_")}.out`;
  const receiving = new Background(
    withTimes(`set -o pipefail; ${receiver(port)} ${sinkOf(sink, out)}`),
  );
  try {
    await waitListening(port, receiving);
    let sent = { code: 0, stdout: "", stderr: "" };
    const ms = await timed(async () => {
      sent = await sh(withTimes(sender(port)), 240);
      if (sent.code !== 0) throw new Error(`${who}: the sender failed: ${sent.stderr.slice(-500)}`);
      const status = await receiving.finish(240_000);
      if (status.code !== 0) {
        throw new Error(`${who}: the receiver failed: ${receiving.stderr.slice(-500)}`);
      }
    });
    await check(sink, out, lines, bytes, who, keepAs);
    const receiverCpuSeconds = cpuOf(receiving.stderr);
    return { ms, cpuSeconds: cpuOf(sent.stderr) + receiverCpuSeconds, receiverCpuSeconds };
  } finally {
    await receiving.stop();
  }
}

/** framecat carries `input` (NDJSON) from `send --stdin --json` to `receive --json`. */
export function framecatRun(
  context: Context,
  input: string,
  set: DataSet,
  sink: Sink,
  limit = "",
): Promise<Run> {
  return carry(
    context,
    "framecat",
    (port) =>
      `${FRAMECAT} receive --host 127.0.0.1 --port ${port} --json --quiet --count ${set.count} ${limit}`,
    (port) => `${FRAMECAT} send --port ${port} --stdin --json ${limit} < "${input}"`,
    sink,
    set.count,
    set.count * set.bytes,
  );
}

/** nc carries `input` to a listening nc whose output goes through `filter` (`| jq -c .`). */
export function ncRun(
  context: Context,
  input: string,
  set: DataSet,
  sink: Sink,
  filter = "",
): Promise<Run> {
  return carry(
    context,
    filter === "" ? "nc" : "nc filtered",
    (port) => `nc -l 127.0.0.1 ${port} ${filter}`,
    (port) => `nc -N 127.0.0.1 ${port} < "${input}"`,
    sink,
    set.count,
    set.count * set.bytes,
  );
}

/** nc carries `frames` (framed) into the Node receiver, which ends after `set.count`. */
export function nodeRun(context: Context, frames: string, set: DataSet, sink: Sink): Promise<Run> {
  return carry(
    context,
    "node receiver",
    (port) => `node "${PEERS}receiver.mjs" ${port} ${set.count}`,
    (port) => `nc -N 127.0.0.1 ${port} < "${frames}"`,
    sink,
    set.count,
    set.count * set.bytes,
  );
}

/**
 * The minimal Deno pair carries `input` as bytes (bench/peers/min_send.ts
 * into min_recv.ts: reads of `kib` KiB, `Deno.stdout.writeSync`, nothing
 * parsed): the Deno runtime's ceiling for framecat's pair.
 */
export function minimalDenoRun(
  context: Context,
  input: string,
  set: DataSet,
  sink: Sink,
  kib = 64,
): Promise<Run> {
  return carry(
    context,
    "minimal deno",
    (port) => `"${DENO}" run --allow-net "${PEERS}min_recv.ts" ${port} ${kib}`,
    (port) =>
      `"${DENO}" run --allow-net "${PEERS}min_send.ts" 127.0.0.1 ${port} ${kib} < "${input}"`,
    sink,
    set.count,
    set.count * set.bytes,
  );
}

/** The C pair carries `input` as bytes (bench/peers/bytes_send.c into bytes_recv.c). */
export function cPairRun(
  context: Context,
  c: CPeers,
  input: string,
  set: DataSet,
  sink: Sink,
): Promise<Run> {
  return carry(
    context,
    "c pair",
    (port) => `"${c.bytesRecv}" ${port}`,
    (port) => `"${c.bytesSend}" 127.0.0.1 ${port} < "${input}"`,
    sink,
    set.count,
    set.count * set.bytes,
  );
}

/**
 * Rounds of `contenders` whose figure is `rate(ms)`, keeping each one's CPU
 * seconds per run beside: wall time on a loaded machine says as much about
 * the neighbours as about the program, CPU time much less.
 */
async function throughputRounds<K extends string>(
  context: Context,
  rate: (ms: number) => number,
  contenders: Record<K, () => Promise<Run>>,
): Promise<{
  figures: Record<K, number[]>;
  cpu: Record<K, number[]>;
  receiverCpu: Record<K, number[]>;
  load: number[];
}> {
  const cpu = {} as Record<K, number[]>;
  const receiverCpu = {} as Record<K, number[]>;
  const wrapped = {} as Record<K, () => Promise<number>>;
  for (const key of Object.keys(contenders) as K[]) {
    cpu[key] = [];
    receiverCpu[key] = [];
    wrapped[key] = async () => {
      const run = await contenders[key]();
      cpu[key].push(run.cpuSeconds);
      receiverCpu[key].push(run.receiverCpuSeconds);
      return rate(run.ms);
    };
  }
  const { figures, load } = await rounds(context, wrapped);
  return { figures, cpu, receiverCpu, load };
}

/** Each round's `a[i] / b[i]`. */
function perRound(a: number[], b: number[]): number[] {
  return a.map((v, i) => v / b[i]);
}

/** "median (min-max)" of `values`, with `digits` decimals. */
function spread(values: number[], digits = 2, unit = ""): string {
  const s = stats(values);
  const f = (v: number) => v.toFixed(digits);
  return `${f(s.median)}${unit}${values.length > 1 ? ` (${f(s.min)}-${f(s.max)})` : ""}`;
}

const FULL_SMALL: DataSet = { name: "small", count: 1_000_000, bytes: 22 };

/** The start of a `--json` line up to its peer's address (the client port differs run to run). */
const PEER = /^\{"peer":"[^"]*"/gm;

/**
 * The receivers alone: bytes_send streams the prebuilt frame file into
 * `receive --json` and into the C receiver frame_recv, each to a tmpfs file,
 * round after round; the figure is each receiver process's CPU (user +
 * system) per message. The first round's outputs are compared, the peer's
 * address aside: they must be the same bytes.
 */
async function receiversAlone(
  context: Context,
  c: CPeers,
  frames: string,
  set: DataSet,
): Promise<Result[]> {
  const kept = { framecat: `${context.dir}/alone_framecat.out`, c: `${context.dir}/alone_c.out` };
  const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
  // One frame, for each receiver's CPU outside its messages (start-up, exit).
  const one = `${context.dir}/one.frames`;
  const file = await Deno.open(frames);
  const first = new Uint8Array(`${set.bytes}\n`.length + set.bytes);
  await file.read(first);
  file.close();
  await Deno.writeFile(one, first);
  const receivers = {
    framecat: (count: number) => (port: number) =>
      `${FRAMECAT} receive --host 127.0.0.1 --port ${port} --json --quiet --count ${count}`,
    c: () => (port: number) => `"${c.frameRecv}" ${port}`,
  };
  const baseline = { framecat: [] as number[], c: [] as number[] };
  const alone = (who: "framecat" | "c") => async (): Promise<Run> => {
    const fed = (input: string, count: number, keepAs?: string) =>
      carry(
        context,
        `${who} alone`,
        receivers[who](count),
        (port) => `"${c.bytesSend}" 127.0.0.1 ${port} < "${input}"`,
        "file",
        count,
        count * set.bytes,
        keepAs,
      );
    const outside = await fed(one, 1);
    baseline[who].push(outside.receiverCpuSeconds);
    // The first round's outputs are kept, and compared after the rounds.
    const run = await fed(frames, set.count, await exists(kept[who]) ? undefined : kept[who]);
    return { ...run, receiverCpuSeconds: run.receiverCpuSeconds - outside.receiverCpuSeconds };
  };
  const rate = (ms: number) => set.count / (ms / 1000);
  const { figures, receiverCpu, load } = await throughputRounds(context, rate, {
    framecat: alone("framecat"),
    c: alone("c"),
  });
  await removeQuietly(one);
  const [a, b] = await Promise.all([Deno.readTextFile(kept.framecat), Deno.readTextFile(kept.c)]);
  await removeQuietly(kept.framecat, kept.c);
  if (a.replace(PEER, '{"peer":""') !== b.replace(PEER, '{"peer":""')) {
    throw new Error("frame_recv's output is not the same as receive --json's");
  }
  context.log("  frame_recv printed the same lines as receive --json (peer aside)");
  const nsPerMessage = (seconds: number[]) => seconds.map((s) => s * 1e9 / set.count);
  return [result({
    scenario: "small",
    name: "1,000,000 small messages, the receiver alone (a prebuilt frame file from " +
      "bytes_send), to a tmpfs file: receiver CPU per message",
    unit: "ns/msg",
    peerName: "the C receiver bench/peers/frame_recv.c, same checks",
    higherIsBetter: false,
    framecat: nsPerMessage(receiverCpu.framecat),
    peer: nsPerMessage(receiverCpu.c),
    target: { on: "ratio", op: "<=", value: 1.5, text: "<= 1.5x (an aim)" },
    load,
    anchors: {
      "framecat msg/s": figures.framecat,
      "frame_recv msg/s": figures.c,
      "framecat CPU seconds for one message": baseline.framecat,
      "frame_recv CPU seconds for one message": baseline.c,
    },
    notes: [
      "CPU of the receiver process (user + system, from bash's `times`) for the 1,000,000 " +
      "less its CPU for one message (start-up and exit: framecat " +
      `${spread(baseline.framecat, 3, " s")}, frame_recv ${spread(baseline.c, 3, " s")}); ` +
      "both outputs compared once: the same bytes",
      `wall time: framecat ${spread(figures.framecat.map((v) => v / 1e6))} M msg/s, ` +
      `frame_recv ${spread(figures.c.map((v) => v / 1e6))} M msg/s`,
    ],
  })];
}

export const small: ScenarioDefinition = {
  name: "small",
  needs: ["nc", "jq", "node", "python3"],
  about:
    "1,000,000 small messages (22-byte JSON strings), one connection, output to a tmpfs file; " +
    "vs nc into jq -c . and vs nc into the Node receiver (bench/peers/receiver.mjs); then the " +
    "receiver alone fed a prebuilt frame file by a C sender: receiver CPU per message vs the C " +
    "receiver (bench/peers/frame_recv.c; skipped without cc)",
  async run(context: Context): Promise<Result[]> {
    const SMALL = { ...FULL_SMALL, count: scaled(context, FULL_SMALL.count) };
    const input = await makeData(context.dir, SMALL, true);
    const frames = `${context.dir}/small.frames`;
    const rate = (ms: number) => SMALL.count / (ms / 1000);
    const { figures, cpu, load } = await throughputRounds(context, rate, {
      framecat: () => framecatRun(context, input, SMALL, "file"),
      jq: () => ncRun(context, input, SMALL, "file", "| jq -c ."),
      node: () => nodeRun(context, frames, SMALL, "file"),
    });
    const name = "1,000,000 small messages, to a tmpfs file";
    const results = [
      result({
        scenario: "small",
        name,
        unit: "msg/s",
        peerName: "nc | jq -c .",
        framecat: figures.framecat,
        peer: figures.jq,
        target: { on: "ratio", op: ">=", value: 4.0, text: ">= 4.0x" },
        load,
        cpuSeconds: { framecat: cpu.framecat, peer: cpu.jq },
      }),
      result({
        scenario: "small",
        name,
        unit: "msg/s",
        peerName: "nc into the Node receiver",
        framecat: figures.framecat,
        peer: figures.node,
        target: { on: "ratio", op: ">=", value: 3.0, text: ">= 3.0x" },
        load,
        cpuSeconds: { framecat: cpu.framecat, peer: cpu.node },
      }),
    ];
    const c = await cPeers(context);
    if (typeof c === "string") {
      context.log(`  the receiver alone not measured: ${c}`);
      results[0].notes.push(`the receiver alone against the C receiver not measured: ${c}`);
    } else {
      context.log(" the receiver alone, fed by bytes_send");
      results.push(...await receiversAlone(context, c, frames, SMALL));
    }
    await removeQuietly(input, frames);
    return results;
  },
};

const FULL_BULK: DataSet = { name: "bulk", count: 128, bytes: 8 * MiB };

/**
 * Rows for one output of a byte-carrying scenario: framecat against nc (with
 * the minimal Deno pair and the C pair against nc in its anchors and notes)
 * and framecat against the minimal Deno pair, its ceiling.
 */
async function carryingRows(
  context: Context,
  options: {
    scenario: string;
    name: string;
    unit: string;
    rate: (ms: number) => number;
    /** framecat against nc, at least. */
    ncTarget: number;
    framecat: () => Promise<Run>;
    nc: () => Promise<Run>;
    /** The minimal Deno pair with reads of `kib` KiB. */
    deno: (kib: number) => Promise<Run>;
    c: (() => Promise<Run>) | string;
  },
): Promise<Result[]> {
  const contenders: Record<string, () => Promise<Run>> = {
    framecat: options.framecat,
    nc: options.nc,
    deno: () => options.deno(64),
    deno1m: () => options.deno(1024),
  };
  if (typeof options.c !== "string") contenders.c = options.c;
  const { figures, cpu, load } = await throughputRounds(context, options.rate, contenders);
  const anchors: Record<string, number[]> = {
    [`minimal Deno pair (${options.unit})`]: figures.deno,
    "minimal Deno pair / nc": perRound(figures.deno, figures.nc),
    "minimal Deno pair CPU seconds": cpu.deno,
    [`minimal Deno pair, 1 MiB reads (${options.unit})`]: figures.deno1m,
    "minimal Deno pair, 1 MiB reads / nc": perRound(figures.deno1m, figures.nc),
    "minimal Deno pair, 1 MiB reads CPU seconds": cpu.deno1m,
  };
  const notes = [
    `same rounds: minimal Deno pair (64 KiB reads) ${
      spread(perRound(figures.deno, figures.nc), 2, "x")
    } nc; with 1 MiB reads ${spread(perRound(figures.deno1m, figures.nc), 2, "x")} nc`,
  ];
  if (figures.c) {
    anchors[`C pair (${options.unit})`] = figures.c;
    anchors["C pair / nc"] = perRound(figures.c, figures.nc);
    anchors["C pair CPU seconds"] = cpu.c;
    notes.push(`same rounds: C pair ${spread(perRound(figures.c, figures.nc), 2, "x")} nc`);
  } else {
    notes.push(`the C pair not measured: ${options.c}`);
  }
  return [
    result({
      scenario: options.scenario,
      name: options.name,
      unit: options.unit,
      peerName: "nc",
      framecat: figures.framecat,
      peer: figures.nc,
      target: {
        on: "ratio",
        op: ">=",
        value: options.ncTarget,
        text: `>= ${options.ncTarget}x`,
      },
      load,
      cpuSeconds: { framecat: cpu.framecat, peer: cpu.nc },
      anchors,
      notes,
    }),
    result({
      scenario: options.scenario,
      name: options.name,
      unit: options.unit,
      peerName: "the minimal Deno pair, 64 KiB reads (bench/peers/min_send.ts, min_recv.ts)",
      framecat: figures.framecat,
      peer: figures.deno,
      target: { on: "ratio", op: ">=", value: 0.9, text: ">= 0.9x (the ceiling)" },
      load,
      cpuSeconds: { framecat: cpu.framecat, peer: cpu.deno },
    }),
    result({
      scenario: options.scenario,
      name: options.name,
      unit: options.unit,
      peerName: "the minimal Deno pair, 1 MiB reads",
      framecat: figures.framecat,
      peer: figures.deno1m,
      load,
      cpuSeconds: { framecat: cpu.framecat, peer: cpu.deno1m },
      notes: [
        "no target: the same pair reading and writing 1 MiB at a time (the sender's 1 MiB " +
        "writes make the difference); the issue's ceiling is the 64 KiB pair",
      ],
    }),
  ];
}

export const bulk: ScenarioDefinition = {
  name: "bulk",
  needs: ["nc", "python3"],
  about: "1 GiB as 128 JSON strings of 8 MiB, both outputs into a pipe (wc -c), to /dev/null, " +
    "to a tmpfs file; vs nc carrying the same NDJSON, and vs the minimal Deno pair " +
    "(bench/peers/min_send.ts, min_recv.ts: bytes only), the C pair (bytes_send.c, " +
    "bytes_recv.c) beside nc",
  async run(context: Context): Promise<Result[]> {
    const BULK = { ...FULL_BULK, count: scaled(context, FULL_BULK.count) };
    const input = await makeData(context.dir, BULK);
    const limit = "--max-bytes 16777216";
    const c = await cPeers(context);
    const results: Result[] = [];
    const targets: Record<Sink, number> = { pipe: 0.85, null: 0.85, file: 0.7 };
    for (const sink of ["pipe", "null", "file"] as Sink[]) {
      context.log(` ${SINK_NAMES[sink]}`);
      results.push(
        ...await carryingRows(context, {
          scenario: "bulk",
          name: `1 GiB as 128 x 8 MiB strings, ${SINK_NAMES[sink]}`,
          unit: "MiB/s",
          rate: (ms: number) => BULK.count * 8 / (ms / 1000),
          ncTarget: targets[sink],
          framecat: () => framecatRun(context, input, BULK, sink, limit),
          nc: () => ncRun(context, input, BULK, sink),
          deno: (kib) => minimalDenoRun(context, input, BULK, sink, kib),
          c: typeof c === "string" ? c : () => cPairRun(context, c, input, BULK, sink),
        }),
      );
    }
    await removeQuietly(input);
    return results;
  },
};

const FULL_LARGE: DataSet = { name: "large", count: 8, bytes: 64 * MiB };

export const large: ScenarioDefinition = {
  name: "large",
  needs: ["nc", "python3"],
  about: "8 messages of 64 MiB (the default --max-bytes), both outputs into a pipe (wc -c); " +
    "MB/s of payload vs nc carrying the same NDJSON, and vs the minimal Deno pair, the C " +
    "pair beside nc",
  async run(context: Context): Promise<Result[]> {
    const LARGE = { ...FULL_LARGE, count: scaled(context, FULL_LARGE.count) };
    const input = await makeData(context.dir, LARGE);
    const total = LARGE.count * LARGE.bytes;
    const c = await cPeers(context);
    const results = await carryingRows(context, {
      scenario: "large",
      name: "64 MiB messages (8), into a pipe",
      unit: "MB/s",
      rate: (ms: number) => total / 1e6 / (ms / 1000),
      ncTarget: 0.75,
      framecat: () => framecatRun(context, input, LARGE, "pipe"),
      nc: () => ncRun(context, input, LARGE, "pipe"),
      deno: (kib) => minimalDenoRun(context, input, LARGE, "pipe", kib),
      c: typeof c === "string" ? c : () => cPairRun(context, c, input, LARGE, "pipe"),
    });
    await removeQuietly(input);
    return results;
  },
};

const FULL_BYTES: DataSet = { name: "bytes", count: 1_000_000, bytes: 100 };

export const bytes: ScenarioDefinition = {
  name: "bytes",
  needs: ["nc", "python3"],
  about: "1,000,000 messages of 100 bytes, both outputs into a pipe (wc -c); MB/s of payload " +
    "vs nc carrying the same NDJSON",
  async run(context: Context): Promise<Result[]> {
    const BYTES = { ...FULL_BYTES, count: scaled(context, FULL_BYTES.count) };
    const input = await makeData(context.dir, BYTES);
    const total = BYTES.count * BYTES.bytes;
    const rate = (ms: number) => total / 1e6 / (ms / 1000);
    const { figures, cpu, load } = await throughputRounds(context, rate, {
      framecat: () => framecatRun(context, input, BYTES, "pipe"),
      nc: () => ncRun(context, input, BYTES, "pipe"),
    });
    await removeQuietly(input);
    return [result({
      scenario: "bytes",
      name: "100-byte messages (1,000,000), into a pipe",
      unit: "MB/s",
      peerName: "nc",
      framecat: figures.framecat,
      peer: figures.nc,
      load,
      cpuSeconds: { framecat: cpu.framecat, peer: cpu.nc },
      notes: ["no target in issue 9; for the record"],
    })];
  },
};
