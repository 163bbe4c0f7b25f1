/**
 * framecat's end-to-end benchmark against its peers: `deno task bench`.
 *
 * Every scenario runs framecat as a user runs it (`send --stdin --json` into
 * `receive --json`, output to a file) and its peer in the same run, round
 * after round in turn, and reports medians: these machines are shared and
 * noisy, so ratios measured side by side are what count. Output files go to
 * tmpfs (`/dev/shm`) where there is one, so that no one measures the disk.
 *
 *   deno task bench [--rounds N] [--only small,bulk,conns,memory,segments]
 *
 * Prints one table and writes the same figures to `bench/results.json`.
 * Needs nc (netcat-openbsd), jq, python3 and, for the segment count, tshark
 * with the right to capture on loopback; installs what is missing with
 * apt-get when it can, and otherwise says what is missing and skips.
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;
const FRAMECAT = `"${Deno.execPath()}" run --allow-net "${ROOT}main.ts"`;
const SEED = `${ROOT}tests/seed/`;
const PEAK_RSS = `python3 "${ROOT}bench/peak_rss.py"`;
const MiB = 1024 * 1024;

const args = Deno.args;
const ROUNDS = Number(option("--rounds") ?? 3);
const ONLY = option("--only")?.split(",");

function option(name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function log(line: string): void {
  console.error(line);
}

/** Runs a bash command line to its end. */
async function sh(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command("bash", {
    args: ["-c", command],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

async function shOk(command: string): Promise<string> {
  const result = await sh(command);
  if (result.code !== 0) {
    throw new Error(`${command} failed (${result.code}): ${result.stderr.trim().slice(0, 500)}`);
  }
  return result.stdout;
}

/** A background bash command line whose stdout and stderr are collected. */
class Background {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly done: Promise<Deno.CommandStatus>;

  constructor(command: string) {
    this.child = new Deno.Command("bash", {
      args: ["-c", command],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collect = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
      for await (const t of s.pipeThrough(new TextDecoderStream())) add(t);
    };
    const reading = Promise.all([
      collect(this.child.stdout, (t) => this.stdout += t),
      collect(this.child.stderr, (t) => this.stderr += t),
    ]);
    this.done = this.child.status.then(async (status) => (await reading, status));
  }

  async waitFor(pattern: RegExp, timeout = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      const match = (this.stderr + this.stdout).match(pattern);
      if (match) return match;
      await sleep(5);
    }
    throw new Error(`no ${pattern} within ${timeout} ms: ${this.stderr}`);
  }

  async finish(timeout = 300_000): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.done,
        new Promise<never>((_, reject) =>
          timer = setTimeout(() => {
            this.child.kill("SIGKILL");
            reject(new Error(`still running after ${timeout} ms: ${this.stderr}`));
          }, timeout)
        ),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port that was free a moment ago. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** Waits until something listens on 127.0.0.1:`port`, without connecting to it. */
async function waitListening(port: number): Promise<void> {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  for (let i = 0; i < 3000; i++) {
    const table = await Deno.readTextFile("/proc/net/tcp");
    if (table.split("\n").some((l) => new RegExp(`:${hex} [0-9A-F:]+ 0A `).test(l))) return;
    await sleep(5);
  }
  throw new Error(`nothing listens on port ${port}`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function lineCount(file: string): Promise<number> {
  return Number((await shOk(`wc -l < "${file}"`)).trim());
}

// ---------------------------------------------------------------- tools

async function has(command: string): Promise<boolean> {
  return (await sh(command)).code === 0;
}

async function ensureTools(): Promise<string[]> {
  const wanted: [string, string][] = [
    ["nc -h 2>&1 | grep -q OpenBSD", "netcat-openbsd"],
    ["command -v jq", "jq"],
    ["command -v python3", "python3"],
    ["command -v tshark", "tshark"],
  ];
  const missing: string[] = [];
  for (const [check, pkg] of wanted) if (!(await has(check))) missing.push(pkg);
  if (missing.length > 0 && Deno.uid() === 0 && await has("command -v apt-get")) {
    log(`installing ${missing.join(" ")} with apt-get`);
    await sh(
      `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${
        missing.join(" ")
      }`,
    );
    missing.length = 0;
    for (const [check, pkg] of wanted) if (!(await has(check))) missing.push(pkg);
  }
  for (const pkg of missing) log(`missing: ${pkg} (install it to run every scenario)`);
  return missing;
}

// ---------------------------------------------------------------- data

async function makeData(dir: string): Promise<void> {
  log("writing test data");
  await shOk(`python3 - "${dir}" <<'PY'
import json, sys
d = sys.argv[1]
with open(d + "/small.ndjson", "w") as f:
    f.write("".join(json.dumps("message %012d" % i) + "\\n" for i in range(1000000)))
s = json.dumps("a" * (8 * 1024 * 1024 - 2)) + "\\n"
with open(d + "/bulk.ndjson", "w") as f:
    for _ in range(128):
        f.write(s)
with open(d + "/big.ndjson", "w") as f:
    f.write(json.dumps("b" * (256 * 1024 * 1024 - 2)) + "\\n")
PY`);
}

// ---------------------------------------------------------------- scenarios

interface Round {
  framecat: number;
  peer: number;
}

interface Scenario {
  name: string;
  unit: string;
  target: string;
  /** framecat's figure and the peer's; higher is better unless `lowerIsBetter`. */
  framecat: number;
  peer: number;
  ratio: number;
  pass: boolean;
  note: string;
  rounds: Round[];
  lowerIsBetter?: boolean;
}

async function timeFramecatPipe(
  dir: string,
  input: string,
  receiveArgs: string,
  sendArgs: string,
  out: string,
): Promise<number> {
  const receiver = new Background(
    `exec ${FRAMECAT} receive --host 127.0.0.1 --port 0 --json --quiet ${receiveArgs} > "${out}"`,
  );
  const port = (await receiver.waitFor(/Listening on 127\.0\.0\.1:(\d+)/))[1];
  const started = performance.now();
  await shOk(`${FRAMECAT} send --port ${port} --stdin --json ${sendArgs} < "${dir}/${input}"`);
  const status = await receiver.finish();
  const ms = performance.now() - started;
  if (status.code !== 0) throw new Error(`framecat receive failed: ${receiver.stderr}`);
  return ms;
}

async function timePeerPipe(dir: string, input: string, sink: string): Promise<number> {
  const port = freePort();
  const receiver = new Background(`nc -l 127.0.0.1 ${port} ${sink}`);
  await waitListening(port);
  const started = performance.now();
  await shOk(`nc -N 127.0.0.1 ${port} < "${dir}/${input}"`);
  await receiver.finish();
  return performance.now() - started;
}

async function smallMessages(dir: string): Promise<Scenario> {
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const fcOut = `${dir}/fc_small.out`;
    const peerOut = `${dir}/peer_small.out`;
    const fc = await timeFramecatPipe(dir, "small.ndjson", "--count 1000000", "", fcOut);
    const peer = await timePeerPipe(dir, "small.ndjson", `| jq -c . > "${peerOut}"`);
    const [a, b] = [await lineCount(fcOut), await lineCount(peerOut)];
    if (a !== 1_000_000 || b !== 1_000_000) throw new Error(`lost lines: ${a}, ${b}`);
    rounds.push({ framecat: 1e6 / (fc / 1000), peer: 1e6 / (peer / 1000) });
    log(`small round ${r + 1}: framecat ${fc.toFixed(0)} ms, peer ${peer.toFixed(0)} ms`);
    await Deno.remove(fcOut);
    await Deno.remove(peerOut);
  }
  return summarize(
    "1,000,000 small messages, one connection",
    "msg/s",
    1.5,
    rounds,
    "nc | jq -c .",
  );
}

/**
 * 1 GiB of 8 MiB messages, both outputs to a file (tmpfs) or both to
 * /dev/null: a file costs nc dearly here, so the /dev/null row is the
 * stricter comparison (nc's raw speed).
 */
async function bulk(dir: string, toFile: boolean): Promise<Scenario> {
  const rounds: Round[] = [];
  const limit = "--max-bytes 16777216";
  for (let r = 0; r < ROUNDS; r++) {
    const fcOut = toFile ? `${dir}/fc_bulk.out` : "/dev/null";
    const peerOut = toFile ? `${dir}/peer_bulk.out` : "/dev/null";
    const fc = await timeFramecatPipe(dir, "bulk.ndjson", `--count 128 ${limit}`, limit, fcOut);
    const peer = await timePeerPipe(dir, "bulk.ndjson", `> "${peerOut}"`);
    if (toFile && await lineCount(fcOut) !== 128) throw new Error("framecat lost messages");
    rounds.push({ framecat: 1024 / (fc / 1000), peer: 1024 / (peer / 1000) });
    log(
      `bulk round ${r + 1} (to ${fcOut}): framecat ${fc.toFixed(0)} ms, peer ${peer.toFixed(0)} ms`,
    );
    if (toFile) {
      await Deno.remove(fcOut);
      await Deno.remove(peerOut);
    }
  }
  const name = `1 GiB as 128 strings of 8 MiB, to ${toFile ? "a file" : "/dev/null"}`;
  return summarize(name, "MiB/s", 0.4, rounds, "nc raw bytes");
}

async function connections(dir: string): Promise<Scenario> {
  const rounds: Round[] = [];
  const load = (port: string | number) =>
    shOk(`"${Deno.execPath()}" run --allow-net "${ROOT}bench/connect_load.ts" ${port} 5000 32`);
  for (let r = 0; r < ROUNDS; r++) {
    const fcOut = `${dir}/fc_conns.out`;
    const receiver = new Background(
      `exec ${FRAMECAT} receive --host 0.0.0.0 --port 0 --quiet --count 5000 > "${fcOut}"`,
    );
    const port = (await receiver.waitFor(/Listening on 0\.0\.0\.0:(\d+)/))[1];
    let started = performance.now();
    const fcLoad = JSON.parse(await load(port));
    await receiver.finish();
    const fc = performance.now() - started;
    const fcLines = await lineCount(fcOut);

    const peerOut = `${dir}/peer_conns.out`;
    const peerPort = freePort();
    const seed = new Background(
      `exec python3 -u "${SEED}receiver.py" 0.0.0.0 ${peerPort} 128 > "${peerOut}"`,
    );
    await waitListening(peerPort);
    started = performance.now();
    const peerLoad = JSON.parse(await load(peerPort));
    let peerLines = 0;
    for (let i = 0; i < 12000 && peerLines < 5000; i++) {
      peerLines = Number((await sh(`grep -c "Message from Sender" "${peerOut}"`)).stdout.trim());
      if (peerLines < 5000) await sleep(5);
    }
    const peer = performance.now() - started;
    seed.child.kill("SIGINT");
    await seed.finish();
    if (fcLines !== 5000 || fcLoad.failed > 0) {
      throw new Error(`framecat lost connections: ${fcLines} printed, ${fcLoad.failed} failed`);
    }
    log(
      `conns round ${r + 1}: framecat ${fc.toFixed(0)} ms, seed ${peer.toFixed(0)} ms ` +
        `(seed printed ${peerLines}, ${peerLoad.failed} connections failed)`,
    );
    rounds.push({ framecat: 5000 / (fc / 1000), peer: 5000 / (peer / 1000) });
    await Deno.remove(fcOut);
    await Deno.remove(peerOut);
  }
  return summarize(
    "5,000 connections of one message, 32 clients",
    "conn/s",
    2,
    rounds,
    "seed receiver.py, listen(128)",
  );
}

/** Peak RSS (MiB) of a receiver while it takes one message, and its output size. */
async function receiverPeak(
  receiver: string,
  sender: string,
  ready: RegExp | number,
): Promise<{ wrapped: Background; out: string }> {
  const out = `${Deno.makeTempFileSync()}`;
  const wrapped = new Background(`exec ${PEAK_RSS} "${out}" ${receiver}`);
  if (typeof ready === "number") await waitListening(ready);
  else await wrapped.waitFor(ready);
  const port = typeof ready === "number"
    ? ready
    : (await wrapped.waitFor(/Listening on 127\.0\.0\.1:(\d+)/))[1];
  await shOk(sender.replace("PORT", String(port)));
  return { wrapped, out };
}

async function memory(dir: string): Promise<Scenario[]> {
  const rounds: Round[] = [];
  const limit = "--max-bytes 300000000";
  for (let r = 0; r < ROUNDS; r++) {
    const send = `${FRAMECAT} send --port PORT --stdin --json ${limit} < "${dir}/big.ndjson"`;
    const fc = await receiverPeak(
      `${Deno.execPath()} run --allow-net ${ROOT}main.ts receive --host 127.0.0.1 --port 0 --json --quiet --count 1 ${limit}`,
      send,
      /Listening on/,
    );
    await fc.wrapped.finish();
    const fcPeak = Number(fc.wrapped.stdout.trim()) / 1024;
    const fcBytes = (await Deno.stat(fc.out)).size;
    await Deno.remove(fc.out);
    if (fcBytes < 256 * MiB) throw new Error(`framecat printed ${fcBytes} bytes`);

    const port = freePort();
    const seed = await receiverPeak(`python3 "${SEED}receiver.py" 127.0.0.1 ${port}`, send, port);
    // The seed prints the message, then waits for the next connection.
    for (let i = 0; i < 6000; i++) {
      if ((await Deno.stat(seed.out)).size > 256 * MiB) break;
      await sleep(10);
    }
    seed.wrapped.child.kill("SIGINT");
    await seed.wrapped.finish();
    await Deno.remove(seed.out);
    const seedPeak = Number(seed.wrapped.stdout.trim()) / 1024;
    rounds.push({ framecat: fcPeak, peer: seedPeak });
    log(
      `memory round ${r + 1}: framecat ${fcPeak.toFixed(0)} MiB, seed ${seedPeak.toFixed(0)} MiB`,
    );
  }
  const fc = median(rounds.map((r) => r.framecat));
  const peer = median(rounds.map((r) => r.peer));
  const bound = 2.5 * 256 + 64;

  // A frame declaring 1,000,000,000 bytes against the default 64 MiB limit.
  const refused = await receiverPeak(
    `${Deno.execPath()} run --allow-net ${ROOT}main.ts receive --host 127.0.0.1 --port 0`,
    `printf '1000000000\\n"aaaa' | nc -N 127.0.0.1 PORT`,
    /Listening on/,
  );
  await refused.wrapped.waitFor(/exceeds the limit/);
  refused.wrapped.child.kill("SIGTERM");
  await refused.wrapped.finish();
  await Deno.remove(refused.out);
  const refusedPeak = Number(refused.wrapped.stdout.trim().split("\n").pop()) / 1024;

  return [{
    name: "one 256 MiB message: receiver peak RSS",
    unit: "MiB",
    target: `<= ${bound} MiB (2.5x + 64)`,
    framecat: fc,
    peer,
    ratio: fc / peer,
    pass: fc <= bound,
    note: "seed receiver.py",
    rounds,
    lowerIsBetter: true,
  }, {
    name: "frame declaring 1e9 bytes: receiver peak RSS",
    unit: "MiB",
    target: "refused, nothing allocated",
    framecat: refusedPeak,
    peer: NaN,
    ratio: NaN,
    pass: refusedPeak < 100,
    note: "refused before allocation",
    rounds: [],
    lowerIsBetter: true,
  }];
}

/** Data segments one sender's message takes on loopback, counted by tshark. */
async function countSegments(dir: string, send: (port: number) => string): Promise<number> {
  const port = freePort();
  const pcap = `${dir}/segments.pcap`;
  const capture = new Background(`exec tshark -i lo -f "tcp port ${port}" -w "${pcap}"`);
  await capture.waitFor(/Capturing on/);
  const receiver = new Background(
    `exec ${FRAMECAT} receive --host 127.0.0.1 --port ${port} --count 1 --quiet > /dev/null`,
  );
  await receiver.waitFor(/Listening on/);
  await shOk(send(port));
  await receiver.finish();
  await sleep(300);
  capture.child.kill("SIGINT");
  await capture.finish();
  const lengths = await shOk(
    `tshark -r "${pcap}" -Y "tcp.dstport == ${port} && tcp.len > 0" -T fields -e tcp.len`,
  );
  await Deno.remove(pcap);
  return lengths.trim().split("\n").filter((l) => l !== "").length;
}

async function segments(dir: string): Promise<Scenario> {
  const fc = await countSegments(dir, (port) => `${FRAMECAT} send --port ${port}`);
  const seed = await countSegments(
    dir,
    (port) => `python3 "${SEED}sender.py" 127.0.0.1 ${port} '"Hello World!"'`,
  );
  log(`segments: framecat ${fc}, seed ${seed}`);
  return {
    name: "one small message: TCP data segments",
    unit: "segments",
    target: "1",
    framecat: fc,
    peer: seed,
    ratio: fc / seed,
    pass: fc === 1,
    note: "seed sender.py",
    rounds: [{ framecat: fc, peer: seed }],
    lowerIsBetter: true,
  };
}

function summarize(
  name: string,
  unit: string,
  target: number,
  rounds: Round[],
  note: string,
): Scenario {
  const framecat = median(rounds.map((r) => r.framecat));
  const peer = median(rounds.map((r) => r.peer));
  const ratio = median(rounds.map((r) => r.framecat / r.peer));
  return {
    name,
    unit,
    target: `>= ${target}x`,
    framecat,
    peer,
    ratio,
    pass: ratio >= target,
    note,
    rounds,
  };
}

// ---------------------------------------------------------------- report

function figure(value: number, unit: string): string {
  if (Number.isNaN(value)) return "-";
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toLocaleString("en-US", { maximumFractionDigits: digits })} ${unit}`;
}

function table(scenarios: Scenario[]): string {
  const rows = [["scenario", "framecat", "peer", "ratio", "target", "", "peer is"]];
  for (const s of scenarios) {
    rows.push([
      s.name,
      figure(s.framecat, s.unit),
      figure(s.peer, s.unit),
      Number.isNaN(s.ratio) ? "-" : `${s.ratio.toFixed(2)}x`,
      s.target,
      s.pass ? "ok" : "MISSED",
      s.note,
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd())
    .join("\n");
}

if (import.meta.main) {
  const missing = await ensureTools();
  const base = (await has("test -d /dev/shm -a -w /dev/shm")) ? "/dev/shm" : undefined;
  const dir = await Deno.makeTempDir({ dir: base, prefix: "framecat-bench-" });
  const scenarios: Scenario[] = [];
  const want = (name: string) => !ONLY || ONLY.includes(name);
  try {
    await makeData(dir);
    const needs = (pkgs: string[], name: string) => {
      const absent = pkgs.filter((p) => missing.includes(p));
      if (absent.length > 0) log(`skipped ${name}: needs ${absent.join(", ")}`);
      return absent.length === 0;
    };
    if (want("small") && needs(["netcat-openbsd", "jq"], "small")) {
      scenarios.push(await smallMessages(dir));
    }
    if (want("bulk") && needs(["netcat-openbsd"], "bulk")) {
      scenarios.push(await bulk(dir, true));
      scenarios.push(await bulk(dir, false));
    }
    if (want("conns") && needs(["python3"], "conns")) scenarios.push(await connections(dir));
    if (want("memory") && needs(["python3", "netcat-openbsd"], "memory")) {
      scenarios.push(...await memory(dir));
    }
    if (want("segments") && needs(["tshark", "python3"], "segments")) {
      try {
        scenarios.push(await segments(dir));
      } catch (error) {
        log(`skipped segments: ${(error as Error).message.split("\n")[0]}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const machine =
    `${Deno.build.target}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`;
  console.log(`\nframecat benchmark, medians of ${ROUNDS} rounds (${machine})\n`);
  console.log(table(scenarios));
  const results = { date: new Date().toISOString(), machine, rounds: ROUNDS, scenarios };
  await Deno.writeTextFile(`${ROOT}bench/results.json`, JSON.stringify(results, null, 2) + "\n");
  console.log("\nfigures written to bench/results.json");
}
