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

/** Checks what a run wrote: `lines` lines to a file, at least `bytes` bytes into the pipe. */
async function check(
  sink: Sink,
  out: string,
  lines: number,
  bytes: number,
  who: string,
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
  await removeQuietly(out);
}

/** One run of a pair: its wall time and the CPU time of both ends (user + system). */
export interface Run {
  ms: number;
  cpuSeconds: number;
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
    await check(sink, out, lines, bytes, who);
    return { ms, cpuSeconds: cpuOf(sent.stderr) + cpuOf(receiving.stderr) };
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
 * Rounds of `contenders` whose figure is `rate(ms)`, keeping each one's CPU
 * seconds per run beside: wall time on a loaded machine says as much about
 * the neighbours as about the program, CPU time much less.
 */
async function throughputRounds<K extends string>(
  context: Context,
  rate: (ms: number) => number,
  contenders: Record<K, () => Promise<Run>>,
): Promise<{ figures: Record<K, number[]>; cpu: Record<K, number[]>; load: number[] }> {
  const cpu = {} as Record<K, number[]>;
  const wrapped = {} as Record<K, () => Promise<number>>;
  for (const key of Object.keys(contenders) as K[]) {
    cpu[key] = [];
    wrapped[key] = async () => {
      const run = await contenders[key]();
      cpu[key].push(run.cpuSeconds);
      return rate(run.ms);
    };
  }
  const { figures, load } = await rounds(context, wrapped);
  return { figures, cpu, load };
}

const FULL_SMALL: DataSet = { name: "small", count: 1_000_000, bytes: 22 };

export const small: ScenarioDefinition = {
  name: "small",
  needs: ["nc", "jq", "node", "python3"],
  about:
    "1,000,000 small messages (22-byte JSON strings), one connection, output to a tmpfs file; " +
    "vs nc into jq -c . and vs nc into the Node receiver (bench/peers/receiver.mjs)",
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
    await removeQuietly(input, frames);
    const name = "1,000,000 small messages, to a tmpfs file";
    return [
      result({
        scenario: "small",
        name,
        unit: "msg/s",
        peerName: "nc | jq -c .",
        framecat: figures.framecat,
        peer: figures.jq,
        target: { on: "ratio", op: ">=", value: 2.0, text: ">= 2.0x" },
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
        target: { on: "ratio", op: ">=", value: 1.2, text: ">= 1.2x" },
        load,
        cpuSeconds: { framecat: cpu.framecat, peer: cpu.node },
      }),
    ];
  },
};

const FULL_BULK: DataSet = { name: "bulk", count: 128, bytes: 8 * MiB };

export const bulk: ScenarioDefinition = {
  name: "bulk",
  needs: ["nc", "python3"],
  about: "1 GiB as 128 JSON strings of 8 MiB, both outputs into a pipe (wc -c), to /dev/null, " +
    "to a tmpfs file; vs nc carrying the same NDJSON",
  async run(context: Context): Promise<Result[]> {
    const BULK = { ...FULL_BULK, count: scaled(context, FULL_BULK.count) };
    const input = await makeData(context.dir, BULK);
    const limit = "--max-bytes 16777216";
    const results: Result[] = [];
    const targets: Record<Sink, number> = { pipe: 0.7, null: 0.6, file: 0.7 };
    for (const sink of ["pipe", "null", "file"] as Sink[]) {
      context.log(` ${SINK_NAMES[sink]}`);
      const rate = (ms: number) => BULK.count * 8 / (ms / 1000);
      const { figures, cpu, load } = await throughputRounds(context, rate, {
        framecat: () => framecatRun(context, input, BULK, sink, limit),
        nc: () => ncRun(context, input, BULK, sink),
      });
      results.push(result({
        scenario: "bulk",
        name: `1 GiB as 128 x 8 MiB strings, ${SINK_NAMES[sink]}`,
        unit: "MiB/s",
        peerName: "nc",
        framecat: figures.framecat,
        peer: figures.nc,
        target: {
          on: "ratio",
          op: ">=",
          value: targets[sink],
          text: `>= ${targets[sink]}x`,
        },
        load,
        cpuSeconds: { framecat: cpu.framecat, peer: cpu.nc },
      }));
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
    "MB/s of payload vs nc carrying the same NDJSON",
  async run(context: Context): Promise<Result[]> {
    const LARGE = { ...FULL_LARGE, count: scaled(context, FULL_LARGE.count) };
    const input = await makeData(context.dir, LARGE);
    const total = LARGE.count * LARGE.bytes;
    const rate = (ms: number) => total / 1e6 / (ms / 1000);
    const { figures, cpu, load } = await throughputRounds(context, rate, {
      framecat: () => framecatRun(context, input, LARGE, "pipe"),
      nc: () => ncRun(context, input, LARGE, "pipe"),
    });
    await removeQuietly(input);
    return [result({
      scenario: "large",
      name: "64 MiB messages (8), into a pipe",
      unit: "MB/s",
      peerName: "nc",
      framecat: figures.framecat,
      peer: figures.nc,
      target: { on: "ratio", op: ">=", value: 0.5, text: ">= 0.5x" },
      load,
      cpuSeconds: { framecat: cpu.framecat, peer: cpu.nc },
    })];
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
