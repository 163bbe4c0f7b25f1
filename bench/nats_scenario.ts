/**
 * The `nats` scenario of `deno task bench`: 1,000,000 small messages
 * (`{"i":N}`) sent by `framecat send -j` into `receive --to nats://` and
 * stored by JetStream (file storage, on disk), against the NATS client's own
 * publish rate from a minimal Deno program doing the same publishes
 * (bench/peers/nats_publish.ts: the same payloads, headers and window; the
 * ceiling of the engine here). Target: at least 0.5x. Each run has a fresh
 * nats-server and store, and checks that the stream holds every message.
 *
 * Then the receiver's peak RSS while NATS is stalled (the server stopped
 * with SIGSTOP) and a sender pushes 1,000,000 messages at it for 5 s: the
 * receiver must stop reading (its window of unacknowledged publishes is
 * full), so its memory stays bounded. Target: at most 256 MiB.
 *
 * @module
 */

import {
  Background,
  type Context,
  DENO,
  FRAMECAT,
  freePort,
  PEERS,
  removeQuietly,
  type Result,
  result,
  rounds,
  scaled,
  type ScenarioDefinition,
  sh,
  shOk,
  sleep,
  waitListening,
} from "./harness.ts";

const MESSAGES = 1_000_000;
const STALL_SECONDS = 5;
const RSS_LIMIT_MIB = 256;

/** A nats-server with JetStream, its store in a fresh directory on disk (not tmpfs). */
async function startServer(): Promise<{ port: number; server: Background; store: string }> {
  const port = freePort();
  const store = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "framecat_bench_nats_" });
  const server = new Background(
    `exec nats-server -js -sd "${store}" -a 127.0.0.1 -p ${port} 2> "${store}.log"`,
    900,
  );
  await waitListening(port, server);
  return { port, server, store };
}

async function stopServer(s: { server: Background; store: string }): Promise<void> {
  s.server.kill("SIGCONT");
  await s.server.stop();
  await removeQuietly(s.store, `${s.store}.log`);
}

/** The messages the stream FRAMECAT holds. */
async function stored(port: number): Promise<number> {
  const { loadNatsClient } = await import("../lib/nats/deps.ts");
  const { transport, jetstream } = await loadNatsClient();
  const nc = await transport.connect({ servers: `127.0.0.1:${port}` });
  try {
    return (await (await jetstream.jetstreamManager(nc)).streams.info("FRAMECAT")).state.messages;
  } finally {
    await nc.close();
  }
}

/** The pid of the process `timeout` runs for a {@linkcode Background} (its `exec`ed command). */
async function commandPid(background: Background): Promise<number> {
  const pid = background.child.pid;
  const children = await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`);
  return Number(children.trim().split(" ")[0]);
}

async function vmHwmMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** Messages per second through send -> receive --to -> JetStream, checked stored. */
async function framecatRun(lines: string, count: number): Promise<number> {
  const nats = await startServer();
  const port = freePort();
  const receiver = new Background(
    `exec ${FRAMECAT} receive -H 127.0.0.1 -p ${port} -q -c ${count} ` +
      `--to nats://127.0.0.1:${nats.port}/bench > /dev/null`,
    900,
  );
  try {
    await waitListening(port, receiver);
    const started = performance.now();
    // Exit 3 (unconfirmed) is expected: the receiver closes the connection
    // only once JetStream has stored every message, later than send's 2 s
    // wait; the stream's own count below is the proof.
    const sent = await sh(`${FRAMECAT} send -p ${port} -j < "${lines}"`, 900);
    if (sent.code !== 0 && sent.code !== 3) throw new Error(`send failed: ${sent.stderr}`);
    const status = await receiver.finish(900_000);
    const seconds = (performance.now() - started) / 1000;
    if (status.code !== 0) throw new Error(`receive --to failed: ${receiver.stderr.slice(-500)}`);
    const held = await stored(nats.port);
    if (held !== count) throw new Error(`the stream holds ${held} of ${count} messages`);
    return count / seconds;
  } finally {
    await receiver.stop();
    await stopServer(nats);
  }
}

/** Messages per second of the minimal publisher, checked stored. */
async function peerRun(count: number): Promise<number> {
  const nats = await startServer();
  try {
    const report = JSON.parse(
      await shOk(
        `"${DENO}" run --allow-net "${PEERS}nats_publish.ts" ${nats.port} bench ` +
          `${count}`,
        900,
      ),
    );
    const held = await stored(nats.port);
    if (held !== count) throw new Error(`the stream holds ${held} of ${count} messages`);
    return count / report.seconds;
  } finally {
    await stopServer(nats);
  }
}

/** The receiver's peak RSS (MiB) while NATS is stopped and a sender pushes at it. */
async function stalledRss(lines: string): Promise<number> {
  const nats = await startServer();
  const port = freePort();
  const receiver = new Background(
    `exec ${FRAMECAT} receive -H 127.0.0.1 -p ${port} -q ` +
      `--to nats://127.0.0.1:${nats.port}/bench > /dev/null`,
    900,
  );
  let sender: Background | undefined;
  try {
    await waitListening(port, receiver);
    const pid = await commandPid(receiver);
    nats.server.kill("SIGSTOP");
    sender = new Background(`exec ${FRAMECAT} send -p ${port} -j < "${lines}" > /dev/null`, 900);
    await sleep(STALL_SECONDS * 1000);
    if (receiver.ended) throw new Error(`the receiver ended: ${receiver.stderr.slice(-500)}`);
    return await vmHwmMiB(pid);
  } finally {
    await sender?.stop();
    await receiver.stop();
    await stopServer(nats);
  }
}

export const nats: ScenarioDefinition = {
  name: "nats",
  needs: ["nats-server"],
  about: `${MESSAGES.toLocaleString("en-US")} small messages through send -> ` +
    "receive --to nats:// -> JetStream (file storage on disk) vs the NATS client's own " +
    "publish rate (bench/peers/nats_publish.ts, same payloads, headers and window); and the " +
    `receiver's peak RSS with NATS stopped (SIGSTOP) for ${STALL_SECONDS} s under a sender`,
  async run(context: Context): Promise<Result[]> {
    const count = scaled(context, MESSAGES);
    const lines = `${context.dir}/nats_lines.txt`;
    await shOk(`seq 1 ${MESSAGES} | sed 's/.*/{"i":&}/' > "${lines}"`);
    const part = `${context.dir}/nats_part.txt`;
    await shOk(`head -n ${count} "${lines}" > "${part}"`);
    try {
      const { figures, load } = await rounds(context, {
        framecat: () => framecatRun(part, count),
        client: () => peerRun(count),
      });
      const rss: number[] = [];
      for (let r = 0; r < context.rounds; r++) {
        rss.push(await stalledRss(lines));
        context.log(`  stalled NATS, round ${r + 1}: receiver peak RSS ${rss.at(-1)} MiB`);
      }
      return [
        result({
          scenario: "nats",
          name: `${MESSAGES.toLocaleString("en-US")} messages into JetStream`,
          unit: "msg/s",
          peerName: "NATS client's own publish (Deno)",
          framecat: figures.framecat,
          peer: figures.client,
          target: { on: "ratio", op: ">=", value: 0.5, text: ">= 0.5x" },
          load,
          notes: [`JetStream file storage on disk (/var/tmp); every run checked: all stored`],
        }),
        result({
          scenario: "nats",
          name: `receiver peak RSS, NATS stalled ${STALL_SECONDS} s`,
          unit: "MiB",
          higherIsBetter: false,
          framecat: rss,
          target: {
            on: "framecat",
            op: "<=",
            value: RSS_LIMIT_MIB,
            text: `<= ${RSS_LIMIT_MIB} MiB`,
          },
          load,
          notes: [`a sender pushing ${MESSAGES.toLocaleString("en-US")} messages meanwhile`],
        }),
      ];
    } finally {
      await removeQuietly(lines, part);
    }
  },
};
