/**
 * framecat's end-to-end benchmark against its peers: `deno task bench`.
 *
 * Every scenario runs framecat as a user runs it (`deno run main.ts send` /
 * `receive`) and its peers in the same run, round after round, each round in
 * a different order; outputs are paired (a file against a file, a pipe
 * against a pipe, /dev/null against /dev/null) and data and files live on
 * tmpfs (`/dev/shm`). The machine is shared and noisy: every figure is
 * reported as the median, min and max over the rounds, with the ratio's own
 * median, min and max and the 1-minute load average when each round began;
 * never a best run.
 *
 *   deno task bench [--rounds N] [--only small,bulk,...] [--list] [--out FILE]
 *     [--scale F]   (F < 1: fewer messages and connections, to try the harness)
 *
 * Prints one table and writes every figure to `bench/results.json` (or
 * FILE). Needs nc (netcat-openbsd), jq, python3, node, cc for the C peers of
 * bench/peers/ (built into the run's temporary directory), and hyperfine and
 * tshark for two scenarios; installs what is missing with apt-get when it
 * can, and otherwise says what is missing and skips what needs it. Every
 * process runs under a time limit and is killed with its process group at
 * the end, on failure and on Ctrl-C.
 *
 * A scenario is a {@linkcode ScenarioDefinition} (bench/harness.ts); add one
 * to SCENARIOS below.
 *
 * @module
 */

import {
  type Context,
  format,
  killAll,
  legacyScenario,
  removeQuietly,
  type Result,
  ROOT,
  type ScenarioDefinition,
  sh,
  type Stats,
} from "./harness.ts";
import { bulk, bytes, large, small } from "./throughput_scenarios.ts";
import { ack, conns, segments, startup } from "./connection_scenarios.ts";
import { fill, held, memory, pileup } from "./memory_scenarios.ts";
import { dissectScenario } from "./dissect_scenario.ts";
import { text } from "./text_scenario.ts";
import { nats } from "./nats_scenario.ts";

/**
 * Every scenario, in the order they run. A scenario written for the first
 * run.ts (`run(dir, rounds)` returning rows with per-round figures) joins as
 * `legacyScenario(name, needs, about, run)` from ./harness.ts.
 */
const SCENARIOS: ScenarioDefinition[] = [
  small,
  bulk,
  large,
  bytes,
  ack,
  conns,
  held,
  memory,
  pileup,
  fill,
  startup,
  segments,
  text,
  nats,
  legacyScenario(
    "dissect",
    ["tshark", "python3"],
    "framecat dissect against tshark",
    dissectScenario,
  ),
];

/** A scenario's bound in time: past it, its processes are killed and it counts as failed. */
const SCENARIO_MINUTES = 25;

function option(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

function log(line: string): void {
  console.error(line);
}

// ---------------------------------------------------------------- tools

/** Which commands are here; installs the missing ones apt-get knows, as root. */
async function tools(wanted: string[]): Promise<Set<string>> {
  const packages: Record<string, string> = {
    nc: "netcat-openbsd",
    jq: "jq",
    python3: "python3",
    tshark: "tshark",
    hyperfine: "hyperfine",
    "nats-server": "nats-server",
    cc: "gcc",
  };
  const check = (c: string) =>
    c === "nc" ? "nc -h 2>&1 | grep -q OpenBSD" : `command -v ${c} > /dev/null`;
  const present = new Set<string>();
  for (const c of wanted) if ((await sh(check(c), 30)).code === 0) present.add(c);
  const installable = wanted.filter((c) => !present.has(c) && packages[c]);
  if (installable.length > 0 && Deno.uid() === 0 && (await sh("command -v apt-get")).code === 0) {
    const names = installable.map((c) => packages[c]).join(" ");
    log(`installing ${names} with apt-get`);
    await sh(
      `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${names}`,
      600,
    );
    for (const c of installable) if ((await sh(check(c), 30)).code === 0) present.add(c);
  }
  return present;
}

// ---------------------------------------------------------------- report

function range(s: Stats | null, unit = ""): string {
  if (!s || !Number.isFinite(s.median)) return "-";
  const spread = s.rounds.length > 1 ? ` (${format(s.min)}-${format(s.max)})` : "";
  return `${format(s.median)}${unit}${spread}`;
}

function ratio(s: Stats | null): string {
  if (!s || !Number.isFinite(s.median)) return "-";
  const f = (v: number) => v.toFixed(2);
  return s.rounds.length > 1 ? `${f(s.median)}x (${f(s.min)}-${f(s.max)})` : `${f(s.median)}x`;
}

function table(results: Result[]): string {
  const rows = [[
    "scenario",
    "unit",
    "framecat",
    "peer",
    "ratio",
    "target",
    "met",
    "load",
    "peer is",
  ]];
  for (const r of results) {
    rows.push([
      r.name,
      r.unit,
      range(r.framecat),
      range(r.peer),
      ratio(r.ratio),
      r.target?.text ?? "-",
      r.met === null ? "-" : r.met ? (r.metEveryRound ? "yes" : "median") : "NO",
      r.load.map((l) => l.toFixed(1)).join(" "),
      r.peerName,
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd());
  for (const r of results) {
    for (const note of r.notes) lines.push(`  ${r.name}: ${note}`);
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  if (Deno.args.includes("--list") || Deno.args.includes("-h") || Deno.args.includes("--help")) {
    console.log(
      "deno task bench [--rounds N] [--only NAME,...] [--out FILE] [--scale F]\n\nScenarios:",
    );
    for (const s of SCENARIOS) console.log(`  ${s.name.padEnd(9)} ${s.about}`);
    return 0;
  }
  const rounds = Number(option("--rounds") ?? 3);
  if (!Number.isInteger(rounds) || rounds < 1) {
    console.error("--rounds takes a whole number of at least 1");
    return 2;
  }
  const scale = Number(option("--scale") ?? 1);
  if (!(scale > 0 && scale <= 1)) {
    console.error("--scale takes a fraction above 0, at most 1");
    return 2;
  }
  const only = option("--only")?.split(",").filter((n) => n !== "");
  const unknown = (only ?? []).filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length > 0) {
    console.error(
      `unknown scenario ${unknown.join(", ")}; known: ${SCENARIOS.map((s) => s.name).join(", ")}`,
    );
    return 2;
  }
  const chosen = SCENARIOS.filter((s) => !only || only.includes(s.name));
  const outFile = option("--out") ?? `${ROOT}bench/results.json`;
  const present = await tools([...new Set(chosen.flatMap((s) => s.needs))]);
  const shm = (await sh("test -d /dev/shm -a -w /dev/shm")).code === 0;
  const dir = await Deno.makeTempDir({
    dir: shm ? "/dev/shm" : undefined,
    prefix: "framecat-bench-",
  });
  const context: Context = { dir, rounds, scale, log };
  const stopped = () => {
    log("interrupted: stopping every process and removing the data");
    killAll().finally(() => {
      Deno.removeSync(dir, { recursive: true });
      Deno.exit(130);
    });
  };
  Deno.addSignalListener("SIGINT", stopped);
  Deno.addSignalListener("SIGTERM", stopped);

  const results: Result[] = [];
  const skipped: { scenario: string; reason: string }[] = [];
  const seconds: Record<string, number> = {};
  const loadStart = Deno.readTextFileSync("/proc/loadavg").trim();
  const started = new Date();
  try {
    for (const scenario of chosen) {
      const absent = scenario.needs.filter((c) => !present.has(c));
      if (absent.length > 0) {
        log(`skipped ${scenario.name}: needs ${absent.join(", ")}`);
        skipped.push({ scenario: scenario.name, reason: `needs ${absent.join(", ")}` });
        continue;
      }
      log(`${scenario.name}: ${scenario.about}`);
      const began = performance.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        results.push(
          ...await Promise.race([
            scenario.run(context),
            new Promise<never>((_, reject) =>
              timer = setTimeout(
                () => reject(new Error(`not done after ${SCENARIO_MINUTES} minutes`)),
                SCENARIO_MINUTES * 60_000,
              )
            ),
          ]),
        );
      } catch (error) {
        const reason = (error as Error).message.split("\n")[0];
        log(`FAILED ${scenario.name}: ${reason}`);
        skipped.push({ scenario: scenario.name, reason: `failed: ${reason}` });
      } finally {
        clearTimeout(timer);
        seconds[scenario.name] = Math.round((performance.now() - began) / 1000);
        log(`  (${seconds[scenario.name]} s)`);
        await killAll();
        for await (const entry of Deno.readDir(dir)) {
          if (!entry.name.endsWith(".ndjson") && !entry.name.endsWith(".frames")) {
            await removeQuietly(`${dir}/${entry.name}`);
          }
        }
      }
    }
  } finally {
    await killAll();
    await removeQuietly(dir);
    Deno.removeSignalListener("SIGINT", stopped);
    Deno.removeSignalListener("SIGTERM", stopped);
  }

  const cpu = (await sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")).stdout.trim();
  const machine = `${Deno.build.target}, ${navigator.hardwareConcurrency} cores (${cpu}), ` +
    `Deno ${Deno.version.deno}`;
  console.log(`\nframecat benchmark: median (min-max) of ${rounds} round(s); ${machine}`);
  if (scale !== 1) {
    console.log(`SCALED: counts multiplied by ${scale}; not comparable with targets`);
  }
  console.log(`load average at start: ${loadStart}; per-round 1-minute load in "load"\n`);
  console.log(table(results));
  for (const s of skipped) console.log(`not measured: ${s.scenario} (${s.reason})`);
  const report = {
    date: started.toISOString(),
    command: `deno task bench ${Deno.args.join(" ")}`.trim(),
    machine,
    rounds,
    scale,
    loadavg: { start: loadStart, end: Deno.readTextFileSync("/proc/loadavg").trim() },
    seconds,
    results,
    skipped,
  };
  await Deno.writeTextFile(outFile, JSON.stringify(report, null, 2) + "\n");
  console.log(`\nfigures written to ${outFile}`);
  return skipped.some((s) => s.reason.startsWith("failed")) ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
