/**
 * The `dissect` scenario of `deno task bench`: `framecat dissect` against
 * tshark on a generated capture of 100,000 packets (about 93 MB of framecat
 * traffic, 1,800-byte messages): the text for people against `tshark -V -x`
 * (target: at most 3x its time), `--json` against `tshark -T fields` (at
 * most 1.5x), and the peak resident memory of both outputs (at most
 * 500 MiB whatever the capture's size). Output goes to /dev/null for both.
 *
 * Then a capture of one-packet connections (a SYN each; 1,000,000 unless
 * FRAMECAT_BENCH_CONNECTIONS says how many: 14,100,000 makes the 1 GB capture
 * of issue 21), `--json` once against `tshark -T fields`, time and peak
 * resident memory: framecat's must stay under 500 MiB however many
 * connections (it follows 20,000 at once); tshark, which keeps every
 * conversation, is stopped past 6 GiB and its figure shown as that.
 *
 * @module
 */

import { writeExchange, writeOnePacketConnections } from "../tests/capture_builder.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const FRAMECAT = `"${Deno.execPath()}" run "${ROOT}main.ts" dissect`;
const PEAK_RSS = `python3 "${ROOT}bench/peak_rss.py"`;
const FIELDS = [
  "frame.number",
  "frame.len",
  "eth.type",
  "ip.src",
  "ip.dst",
  "ip.len",
  "ip.id",
  "ip.ttl",
  "ip.checksum",
  "tcp.srcport",
  "tcp.dstport",
  "tcp.seq_raw",
  "tcp.ack_raw",
  "tcp.seq",
  "tcp.hdr_len",
  "tcp.len",
  "tcp.flags",
  "tcp.window_size_value",
  "tcp.window_size",
  "tcp.checksum",
].map((f) => `-e ${f}`).join(" ");

interface Round {
  framecat: number;
  peer: number;
}

interface DissectScenario {
  name: string;
  unit: string;
  target: string;
  framecat: number;
  peer: number;
  ratio: number;
  pass: boolean;
  note: string;
  rounds: Round[];
  lowerIsBetter: true;
}

/** Runs a command line; resolves to its wall time (s) and peak RSS (MiB). */
async function measure(
  command: string,
  capMib?: number,
): Promise<{ seconds: number; mib: number }> {
  const start = performance.now();
  const cap = capMib === undefined ? "" : `--cap ${capMib} `;
  const { code, stdout, stderr } = await new Deno.Command("bash", {
    args: ["-c", `${PEAK_RSS} ${cap}/dev/null ${command}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - start) / 1000;
  const errors = new TextDecoder().decode(stderr).replace(/^Running as user .*\n/m, "").trim();
  if (code !== 0 || errors !== "") throw new Error(`${command} failed (${code}): ${errors}`);
  return { seconds, mib: Number(new TextDecoder().decode(stdout).trim()) / 1024 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function scenario(
  name: string,
  unit: string,
  limit: number,
  rounds: Round[],
  note: string,
  absolute = false,
): DissectScenario {
  const framecat = median(rounds.map((r) => r.framecat));
  const peer = median(rounds.map((r) => r.peer));
  const ratio = median(rounds.map((r) => r.framecat / r.peer));
  return {
    name,
    unit,
    target: absolute ? `<= ${limit} ${unit}` : `<= ${limit}x`,
    framecat,
    peer,
    ratio,
    pass: absolute ? framecat <= limit : ratio <= limit,
    note,
    rounds,
    lowerIsBetter: true,
  };
}

/**
 * Measures `framecat dissect` against tshark, `rounds` times each in turn,
 * with a capture written into `dir`; resolves to the scenarios' medians.
 */
export async function dissectScenario(dir: string, rounds: number): Promise<DissectScenario[]> {
  const capture = `${dir}/dissect.pcap`;
  console.error("writing a capture of 100,000 packets");
  await writeExchange(capture, { packets: 100_000, messageBytes: 1800 });
  const text: Round[] = [];
  const json: Round[] = [];
  const textMemory: Round[] = [];
  const jsonMemory: Round[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      // On standard input: Deno reads files under /dev (as /dev/shm) only with --allow-all.
      const human = await measure(`${FRAMECAT} - < "${capture}"`);
      const verbose = await measure(`tshark -r "${capture}" -V -x`);
      const lines = await measure(`${FRAMECAT} --json - < "${capture}"`);
      const fields = await measure(`tshark -r "${capture}" -T fields ${FIELDS}`);
      text.push({ framecat: human.seconds, peer: verbose.seconds });
      json.push({ framecat: lines.seconds, peer: fields.seconds });
      textMemory.push({ framecat: human.mib, peer: verbose.mib });
      jsonMemory.push({ framecat: lines.mib, peer: fields.mib });
      console.error(
        `dissect round ${r + 1}: text ${human.seconds.toFixed(2)} s (tshark -V -x ${
          verbose.seconds.toFixed(2)
        } s), --json ${lines.seconds.toFixed(2)} s (tshark -T fields ${
          fields.seconds.toFixed(2)
        } s)`,
      );
    }
  } finally {
    await Deno.remove(capture);
  }
  const connections = await connectionsScenario(dir);
  return [
    ...connections,
    scenario("dissect text, 100k packets", "s", 3, text, "tshark -V -x"),
    scenario("dissect --json, 100k packets", "s", 1.5, json, "tshark -T fields (20 fields)"),
    scenario("dissect text peak RSS", "MiB", 500, textMemory, "tshark -V -x", true),
    scenario("dissect --json peak RSS", "MiB", 500, jsonMemory, "tshark -T fields", true),
  ];
}

/** `--json` and tshark on a capture of one-packet connections: time, and memory that must not grow. */
async function connectionsScenario(dir: string): Promise<DissectScenario[]> {
  const count = Number(Deno.env.get("FRAMECAT_BENCH_CONNECTIONS") ?? 1_000_000);
  const capture = `${dir}/connections.pcap`;
  console.error(`writing a capture of ${count} one-packet connections`);
  await writeOnePacketConnections(capture, count);
  try {
    const ours = await measure(`${FRAMECAT} --json - < "${capture}"`);
    let theirs: { seconds: number; mib: number };
    try {
      theirs = await measure(
        `tshark -r "${capture}" -T fields -e frame.number -e tcp.srcport -e tcp.seq`,
        6144,
      );
    } catch {
      theirs = { seconds: NaN, mib: 6144 }; // stopped at the cap
    }
    console.error(
      `dissect ${count} connections: --json ${ours.seconds.toFixed(2)} s, ${
        ours.mib.toFixed(0)
      } MiB (tshark -T fields ${theirs.seconds.toFixed(2)} s, ${theirs.mib.toFixed(0)} MiB)`,
    );
    const label = `${(count / 1e6).toFixed(1)}M one-packet connections`;
    return [
      scenario(`dissect --json, ${label}`, "s", 1.5, [
        { framecat: ours.seconds, peer: theirs.seconds },
      ], "tshark -T fields (3 fields)"),
      scenario(
        `dissect --json peak RSS, ${label}`,
        "MiB",
        500,
        [
          { framecat: ours.mib, peer: theirs.mib },
        ],
        "tshark -T fields",
        true,
      ),
    ];
  } finally {
    await Deno.remove(capture);
  }
}
