/**
 * framecat and NATS JetStream, with real nats-server processes: the sink
 * that `receive --to nats://` publishes through, `consume` reading back,
 * a server killed and restarted, a three-node cluster losing a node.
 * Ignored where nats-server is not installed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { JetStreamSink } from "../lib/nats/jetstream_sink.ts";
import { HEADERS } from "../lib/nats/headers.ts";
import { loadNatsClient, type NatsConnection } from "../lib/nats/deps.ts";
import type { SinkMessage } from "../lib/sink.ts";
import { delay, framecat, needs, spawn, startReceiver } from "./helpers.ts";
import { type NatsServer, startCluster, startNats } from "./nats_server.ts";

const encoder = new TextEncoder();

const { transport, jetstream } = await loadNatsClient();
const { jetstreamManager } = jetstream;

/** Runs `framecat ARGS` to the end, with --allow-net alone, as a user would. */
function run(args: string[], stdin?: string): ReturnType<typeof framecat> {
  return framecat(args, stdin);
}

function message(number: number, text: string, connection = 1): SinkMessage {
  return {
    peer: "127.0.0.1:5000",
    connection,
    number,
    payload: encoder.encode(text),
    receivedAt: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
    receiver: "test",
  };
}

/** Puts `count` messages, waiting on `ready()` as a receiver does; calls `during(i)` before each. */
async function putMany(
  sink: JetStreamSink,
  count: number,
  during: (i: number) => Promise<void> | void = () => {},
): Promise<void> {
  for (let i = 1; i <= count; i++) {
    await during(i);
    await sink.ready();
    sink.put(message(i, JSON.stringify({ i })));
  }
}

async function withClient<T>(servers: string[], f: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await transport.connect({ servers, maxReconnectAttempts: 0 });
  try {
    return await f(nc);
  } finally {
    await nc.close();
  }
}

/** The stream's message count and last sequence, and the Framecat-Number of every message. */
async function streamContents(
  servers: string[],
  stream: string,
): Promise<{ messages: number; lastSeq: number; numbers: number[] }> {
  return await withClient(servers, async (nc) => {
    const jsm = await jetstreamManager(nc);
    const { state } = await jsm.streams.info(stream);
    const numbers: number[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const stored = await jsm.streams.getMessage(stream, { seq });
      numbers.push(Number(stored!.header.get(HEADERS.number)));
    }
    return { messages: state.messages, lastSeq: state.last_seq, numbers };
  });
}

/**
 * Runs `f` until it answers, for up to 20 s: a cluster that lost a node
 * elects new leaders before its JetStream API answers again.
 */
async function untilAnswered<T>(f: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await f();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await delay(250);
    }
  }
}

function assertEachOnce(numbers: number[], count: number): void {
  const sorted = [...numbers].sort((a, b) => a - b);
  assert.deepEqual(sorted, Array.from({ length: count }, (_, i) => i + 1));
}

async function withServer(
  f: (server: NatsServer) => Promise<void>,
  options: Parameters<typeof startNats>[0] = {},
): Promise<void> {
  const server = await startNats(options);
  try {
    await f(server);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nnats-server said:\n${server.log}`, {
      cause: error,
    });
  } finally {
    await server.stop();
  }
}

Deno.test({
  ...needs(
    "JetStreamSink stores each payload's bytes exactly, with framecat's headers",
    "nats-server",
  ),
  fn: () =>
    withServer(async (server) => {
      const sink = await JetStreamSink.open(`${server.url}/orders.new`);
      assert.equal(sink.stream, "FRAMECAT");
      const texts = ['{"a":1}', '  "Hello World!"  ', '{"é":"🐈","n":[1, 2 ,3]}'];
      texts.forEach((text, i) => sink.put(message(i + 1, text)));
      await sink.settle();
      assert.equal(sink.stats.stored, 3);
      await sink.close();
      await withClient([server.url], async (nc) => {
        const jsm = await jetstreamManager(nc);
        for (let seq = 1; seq <= 3; seq++) {
          const stored = await jsm.streams.getMessage("FRAMECAT", { seq });
          assert.deepEqual(stored!.data, encoder.encode(texts[seq - 1]));
          assert.equal(stored!.subject, "orders.new");
          assert.equal(stored!.header.get(HEADERS.peer), "127.0.0.1:5000");
          assert.equal(stored!.header.get(HEADERS.connection), "1");
          assert.equal(stored!.header.get(HEADERS.number), String(seq));
          assert.equal(stored!.header.get(HEADERS.received), "2026-01-02T03:04:05.006Z");
          assert.equal(stored!.header.get(HEADERS.msgId), `test-1-${seq}`);
        }
      });
    }),
});

Deno.test({
  ...needs("JetStreamSink stores a message put twice under one id once", "nats-server"),
  fn: () =>
    withServer(async (server) => {
      const sink = await JetStreamSink.open(`${server.url}/dup`, { stream: "DUP" });
      sink.put(message(1, "1"));
      await sink.settle();
      sink.put(message(1, "1"));
      sink.put(message(2, "2"));
      await sink.settle();
      await sink.close();
      assert.equal(sink.stats.duplicates, 1);
      const contents = await streamContents([server.url], "DUP");
      assert.deepEqual(contents, { messages: 2, lastSeq: 2, numbers: [1, 2] });
    }),
});

Deno.test({
  ...needs("JetStreamSink.open uses an existing stream that takes the subject", "nats-server"),
  fn: () =>
    withServer(async (server) => {
      await withClient([server.url], async (nc) => {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
      });
      const sink = await JetStreamSink.open(`${server.url}/orders.eu.new`);
      assert.equal(sink.stream, "ORDERS");
      await sink.close();
      await assert.rejects(
        JetStreamSink.open(`${server.url}/audit`, { stream: "ORDERS" }),
        /^Error: JetStream stream ORDERS does not take subject audit \(its subjects: orders\.>\)/,
      );
    }),
});

Deno.test({
  ...needs("JetStreamSink.open says in one line why it cannot publish", "nats-server"),
  async fn(): Promise<void> {
    const oneLine = (pattern: RegExp) => (error: Error) => {
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes("\n"), error.message);
      return true;
    };
    const down = await startNats();
    const url = down.url;
    await down.stop();
    await assert.rejects(
      JetStreamSink.open(`${url}/s`),
      oneLine(/^NATS is not reachable at nats:\/\/127\.0\.0\.1:\d+\/s: connection refused/),
    );
    await withServer(async (server) => {
      await assert.rejects(
        JetStreamSink.open(`${server.url}/s`),
        oneLine(/has no JetStream: start nats-server with -js/),
      );
    }, { noJetStream: true });
    await withServer(async (server) => {
      const authority = server.url.replace("nats://", "");
      await assert.rejects(
        JetStreamSink.open(`${server.url}/s`),
        oneLine(/refused the credentials .*nats:\/\/user:pass@HOST:PORT\/SUBJECT/),
      );
      await assert.rejects(
        JetStreamSink.open(`nats://me:wrong@${authority}/s`),
        oneLine(new RegExp(`^NATS at nats://me:\\*\\*\\*@${authority}/s refused the credentials`)),
      );
      await assert.rejects(
        JetStreamSink.open(`tls://me:secret@${authority}/s`),
        oneLine(/does not speak TLS: use nats:\/\/ rather than tls:\/\//),
      );
      const sink = await JetStreamSink.open(`nats://me:secret@${authority}/s`);
      await sink.close();
    }, { args: ["--user", "me", "--pass", "secret"] });
  },
});

Deno.test({
  ...needs(
    "JetStreamSink ready() waits while NATS is stalled and the window is full",
    "nats-server",
  ),
  fn: () =>
    withServer(async (server) => {
      const sink = await JetStreamSink.open(`${server.url}/w`, { window: 8, stream: "W" });
      await server.signal("SIGSTOP");
      for (let i = 1; i <= 8; i++) sink.put(message(i, String(i)));
      let ready = false;
      const waiting = sink.ready().then(() => ready = true);
      await delay(500);
      assert.equal(ready, false);
      assert.equal(sink.stats.outstanding, 8);
      await server.signal("SIGCONT");
      await waiting;
      await sink.settle();
      await sink.close();
      assert.deepEqual((await streamContents([server.url], "W")).messages, 8);
    }),
});

Deno.test({
  ...needs("JetStreamSink close() says how many messages it could not store", "nats-server"),
  fn: () =>
    withServer(async (server) => {
      const sink = await JetStreamSink.open(`${server.url}/c`, { grace: 300 });
      await server.signal("SIGSTOP");
      for (let i = 1; i <= 10; i++) sink.put(message(i, String(i)));
      await assert.rejects(
        sink.close(),
        /^Error: 10 messages could not be stored in JetStream stream FRAMECAT \(subject c\): /,
      );
      await server.signal("SIGCONT");
    }),
});

Deno.test({
  ...needs(
    "JetStreamSink loses nothing and doubles nothing when nats-server is killed (-9) and restarted",
    "nats-server",
  ),
  fn: () =>
    withServer(async (server) => {
      const count = 5_000;
      const sink = await JetStreamSink.open(`${server.url}/k`, { stream: "K" });
      let restarted: Promise<void> | undefined;
      await putMany(sink, count, (i) => {
        if (i === 2_000) {
          restarted = (async () => {
            await server.signal("SIGKILL");
            await delay(300);
            await server.start();
          })();
        }
      });
      await restarted;
      await sink.settle();
      await sink.close();
      const contents = await streamContents([server.url], "K");
      assert.equal(contents.messages, count);
      assert.equal(contents.lastSeq, count);
      assertEachOnce(contents.numbers, count);
    }),
});

Deno.test({
  ...needs(
    "JetStreamSink loses nothing when one node of a three-node cluster (R3 stream) is killed",
    "nats-server",
  ),
  async fn(): Promise<void> {
    const servers = await startCluster();
    try {
      const urls = servers.map((server) => server.url.replace("nats://", ""));
      const address = `nats://${urls.join(",")}/cluster.in`;
      // The cluster elects its JetStream leader a moment after it starts.
      const sink = await untilAnswered(() =>
        JetStreamSink.open(address, { stream: "R3", replicas: 3 })
      );
      const count = 3_000;
      await putMany(sink, count, async (i) => {
        if (i === 1_000) await servers[0].signal("SIGKILL");
      });
      await sink.settle();
      await sink.close();
      const contents = await untilAnswered(
        () => streamContents(servers.slice(1).map((s) => s.url), "R3"),
      );
      assert.equal(contents.messages, count);
      assertEachOnce(contents.numbers, count);
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  },
});

/** Stores `texts` in the stream FRAMECAT on `subject`, through the sink. */
async function store(
  server: NatsServer,
  subject: string,
  texts: string[],
  connection = 1,
): Promise<void> {
  const sink = await JetStreamSink.open(`${server.url}/${subject}`);
  texts.forEach((text, i) => sink.put(message(i + 1, text, connection)));
  await sink.settle();
  await sink.close();
}

Deno.test({
  ...needs("consume prints stored messages as receive --json lines, and resumes", "nats-server"),
  fn: () =>
    withServer(async (server) => {
      await store(server, "orders", ['{"n":1}', '{\n"n": 2}', '"three"']);
      const first = await run(["consume", `${server.url}/orders`, "-c", "2"]);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(
        first.stdout,
        '{"peer":"127.0.0.1:5000","bytes":7,"message":{"n":1}}\n' +
          '{"peer":"127.0.0.1:5000","bytes":9,"message":{ "n": 2}}\n',
      );
      assert.match(first.stderr, /^Reading stream FRAMECAT \(subject orders, durable framecat\)/);
      const rest = await run(["consume", `${server.url}/orders`, "-c", "1", "-q"]);
      assert.equal(rest.code, 0, rest.stderr);
      assert.equal(rest.stdout, '{"peer":"127.0.0.1:5000","bytes":7,"message":"three"}\n');
      assert.equal(rest.stderr, "");
      const replay = await run(
        ["consume", `${server.url}/orders`, "--durable", "again", "-c", "3", "-q"],
      );
      assert.equal(replay.stdout.split("\n").length, 4);
    }),
});

Deno.test({
  ...needs("consume --to sends each payload's exact bytes to a receiver", "nats-server"),
  fn: () =>
    withServer(async (server) => {
      const texts = ['  {"a" : 1}', '"é 🐈"', "[1,2,3]  "];
      await store(server, "raw", texts);
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const consumed = run([
        "consume",
        `${server.url}/raw`,
        "--to",
        `127.0.0.1:${listener.addr.port}`,
        "-c",
        "3",
      ]);
      const conn = await listener.accept();
      const received = new Uint8Array(await new Response(conn.readable).arrayBuffer());
      listener.close();
      const done = await consumed;
      assert.equal(done.code, 0, done.stderr);
      const expected = texts.map((t) => `${encoder.encode(t).length}\n${t}`).join("");
      assert.deepEqual(received, encoder.encode(expected));
    }),
});

Deno.test({
  ...needs("consume --ack acknowledges to JetStream what the receiver acknowledged", "nats-server"),
  fn: () =>
    withServer(async (server) => {
      await store(server, "acked", ['{"a":1}', '{"a":2}']);
      const receiver = await startReceiver(["--ack", "-j", "-c", "2"]);
      const done = await run(
        [
          "consume",
          `${server.url}/acked`,
          "--to",
          `127.0.0.1:${receiver.port}`,
          "--ack",
          "-c",
          "2",
        ],
      );
      const printed = await receiver.finished();
      assert.equal(done.code, 0, done.stderr);
      assert.deepEqual(
        printed.stdout.trim().split("\n").map((line) => JSON.parse(line).message),
        [{ a: 1 }, { a: 2 }],
      );
      assert.match(done.stderr, /Delivered 2 messages/);
      // Acknowledged: the durable consumer has nothing left to deliver.
      await withClient([server.url], async (nc) => {
        const info = await (await jetstreamManager(nc)).consumers.info("FRAMECAT", "framecat");
        assert.equal(info.num_ack_pending, 0);
        assert.equal(info.num_pending, 0);
        assert.equal(info.ack_floor.stream_seq, 2);
      });
    }),
});

Deno.test({
  ...needs("consume says in one line why it cannot read", "nats-server"),
  fn: () =>
    withServer(async (server) => {
      const missing = await run(["consume", `${server.url}/nothing.here`, "-c", "1"]);
      assert.equal(missing.code, 1);
      assert.equal(
        missing.stderr,
        "framecat: JetStream has no stream for subject nothing.here: run framecat receive " +
          "--to first, or name one with --stream\n",
      );
      await store(server, "orders", ["1"]);
      const other = await run(["consume", `${server.url}/audit`, "--stream", "FRAMECAT"]);
      assert.equal(other.code, 1);
      assert.match(
        other.stderr,
        /^framecat: JetStream stream FRAMECAT does not take subject audit/,
      );
      const usage = await run(["consume", "127.0.0.1:4222/orders"]);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /is not a NATS address/);
    }),
});

/** Starts `receive --to URL ARGS` on a loopback port, once it listens. */
function startNatsReceiver(url: string, args: string[] = []): ReturnType<typeof startReceiver> {
  return startReceiver(["--to", url, ...args]);
}

Deno.test({
  ...needs(
    "receive --to and consume carry messages from send to a receiver, exact bytes",
    "nats-server",
  ),
  fn: () =>
    withServer(async (server) => {
      const texts = ['{"a" : 1}', '"Hello World!"', '{"é":"🐈","n":[1, 2 ,3]}', "  42  "];
      const into = await startNatsReceiver(`${server.url}/round.trip`, ["--ack", "-c", "4"]);
      const sent = await run(
        ["send", "-p", String(into.port), "--ack", "-j"],
        texts.join("\n") + "\n",
      );
      assert.equal(sent.code, 0, sent.stderr);
      assert.match(sent.stderr, /4 acknowledged/);
      const stopped = await into.finished();
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.match(stopped.stderr, /^Publishing to JetStream stream FRAMECAT, subject round\.trip/);
      assert.equal(stopped.stdout, "");
      const contents = await streamContents([server.url], "FRAMECAT");
      assert.deepEqual(contents, { messages: 4, lastSeq: 4, numbers: [1, 2, 3, 4] });
      const out = await startReceiver(["--ack", "-j", "-c", "4"]);
      const consumed = await run([
        "consume",
        `${server.url}/round.trip`,
        "--to",
        `127.0.0.1:${out.port}`,
        "--ack",
        "-c",
        "4",
      ]);
      assert.equal(consumed.code, 0, consumed.stderr);
      const printed = await out.finished();
      const peer = /"peer":("[^"]+")/.exec(printed.stdout)![1];
      // receive -j puts the payload on its line as it came: the bytes sent at the start.
      assert.equal(
        printed.stdout,
        texts.map((t) => `{"peer":${peer},"bytes":${encoder.encode(t).length},"message":${t}}\n`)
          .join(""),
      );
    }),
});

Deno.test({
  ...needs(
    "receive --to --ack answers a sender only once JetStream stored the message",
    "nats-server",
  ),
  fn: () =>
    withServer(async (server) => {
      const into = await startNatsReceiver(`${server.url}/held`, ["--ack", "-c", "1"]);
      await server.signal("SIGSTOP");
      let done = false;
      const sending = run(["send", "-p", String(into.port), "--ack", "--ack-timeout", "20", "x"])
        .then((result) => {
          done = true;
          return result;
        });
      await delay(1_500);
      assert.equal(done, false, "acknowledged while NATS was stopped");
      await server.signal("SIGCONT");
      const sent = await sending;
      assert.equal(sent.code, 0, sent.stderr);
      assert.equal((await into.finished()).code, 0);
      assert.equal((await streamContents([server.url], "FRAMECAT")).messages, 1);
    }),
});

Deno.test({
  ...needs(
    "receive --to loses nothing and doubles nothing when nats-server is killed (-9) mid-stream",
    "nats-server",
  ),
  fn: () =>
    withServer(async (server) => {
      const count = 10_000;
      const into = await startNatsReceiver(`${server.url}/killed`, ["--ack", "-c", String(count)]);
      const lines = Array.from({ length: count }, (_, i) => JSON.stringify({ i: i + 1 }));
      const sending = run(
        ["send", "-p", String(into.port), "--ack", "--ack-timeout", "30", "-j"],
        lines.join("\n") + "\n",
      );
      // Kill it once some of the messages are stored, and start it again.
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const stored = await withClient([server.url], async (nc) =>
          (await (await jetstreamManager(nc)).streams.info("FRAMECAT")).state.messages).catch(() =>
            0
          );
        if (stored >= 1_000) break;
        await delay(20);
      }
      await server.signal("SIGKILL");
      await delay(500);
      await server.start();
      const sent = await sending;
      assert.equal(sent.code, 0, sent.stderr);
      const stopped = await into.finished();
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.match(stopped.stderr, /NATS connection .* lost; reconnecting/);
      const contents = await streamContents([server.url], "FRAMECAT");
      assert.equal(contents.messages, count);
      assert.equal(contents.lastSeq, count);
      assertEachOnce(contents.numbers, count);
    }),
});

Deno.test({
  ...needs("receive --to says in one line why it cannot publish", "nats-server"),
  fn: () =>
    withServer(async (server) => {
      const no = await run(["receive", "-p", "0", "--to", `${server.url}/s`]);
      assert.equal(no.code, 1);
      assert.match(no.stderr, /^framecat: NATS at nats:\/\/127\.0\.0\.1:\d+\/s has no JetStream/);
      assert.equal(no.stderr.split("\n").length, 2);
      const usage = await run(["receive", "--to", `${server.url}/a.>`]);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /has a wildcard/);
      const lone = await run(["receive", "--stream", "S"]);
      assert.equal(lone.code, 2);
      assert.match(lone.stderr, /--stream goes with --to/);
    }, { noJetStream: true }),
});

Deno.test({
  ...needs("receive --to stops, exit 1, when JetStream refuses a message for good", "nats-server"),
  fn: () =>
    withServer(async (server) => {
      await withClient([server.url], async (nc) => {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: "SMALL", subjects: ["small"], max_msg_size: 20 });
      });
      const into = await startNatsReceiver(`${server.url}/small`, ["--ack"]);
      const sent = await run([
        "send",
        "-p",
        String(into.port),
        "--ack",
        "longer than twenty bytes",
      ]);
      assert.equal(sent.code, 1);
      const stopped = await into.finished();
      assert.equal(stopped.code, 1);
      assert.match(
        stopped.stderr,
        /\nframecat: 1 message could not be stored in JetStream stream SMALL \(subject small\): .*message size exceeds maximum allowed\n$/,
      );
    }),
});

Deno.test({
  ...needs("receive --to speaks TLS to NATS, verified with --nats-ca", "nats-server", "openssl"),
  async fn(): Promise<void> {
    const dir = await Deno.makeTempDir({ prefix: "framecat_nats_tls_" });
    try {
      const made = await new Deno.Command("openssl", {
        args: ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
          .concat(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
          .concat(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
          .concat(["-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`]),
        stdout: "null",
        stderr: "null",
      }).output();
      assert.ok(made.success, "openssl could not make a certificate");
      await withServer(async (server) => {
        const address = `${server.url.replace("nats://", "tls://")}/secure`;
        const untrusted = await run(["receive", "-p", "0", "--to", address]);
        assert.equal(untrusted.code, 1);
        assert.match(
          untrusted.stderr,
          /^framecat: TLS to NATS at tls:\/\/127\.0\.0\.1:\d+\/secure failed: /,
        );
        assert.equal(untrusted.stderr.split("\n").length, 2);
        const into = await startReceiver(
          ["--to", address, "--nats-ca", `${dir}/cert.pem`, "--ack", "-c", "1"],
          { permissions: ["--allow-read"] },
        );
        const sent = await run(["send", "-p", String(into.port), "--ack", "over TLS"]);
        assert.equal(sent.code, 0, sent.stderr);
        assert.equal((await into.finished()).code, 0);
      }, { args: ["--tls", "--tlscert", `${dir}/cert.pem`, "--tlskey", `${dir}/key.pem`] });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...needs("receive --to: two receivers feed one stream, consume reads both", "nats-server"),
  fn: () =>
    withServer(async (server) => {
      const url = `${server.url}/shared`;
      const first = await startNatsReceiver(url, ["--ack", "-c", "2"]);
      const second = await startNatsReceiver(url, ["--ack", "-c", "2"]);
      const sent = await Promise.all([
        run(["send", "-p", String(first.port), "--ack", "a1", "a2"]),
        run(["send", "-p", String(second.port), "--ack", "b1", "b2"]),
      ]);
      for (const s of sent) assert.equal(s.code, 0, s.stderr);
      for (const r of [first, second]) assert.equal((await r.finished()).code, 0);
      const contents = await streamContents([server.url], "FRAMECAT");
      assert.equal(contents.messages, 4);
      const read = await run(["consume", url, "-c", "4", "-q"]);
      const values = read.stdout.trim().split("\n").map((line) => JSON.parse(line).message);
      assert.deepEqual(values.sort(), ["a1", "a2", "b1", "b2"]);
    }),
});

Deno.test({
  ...needs("receive --to says on SIGTERM how many messages it could not store", "nats-server"),
  fn: () =>
    withServer(async (server) => {
      const into = await startNatsReceiver(`${server.url}/stalled`);
      await server.signal("SIGSTOP");
      const sent = await run(["send", "-p", String(into.port), "m1", "m2", "m3"]);
      // Not stored, so never confirmed: the receiver holds the connection.
      assert.equal(sent.code, 3, sent.stderr);
      await into.waitFor(/after 3 messages/);
      into.child.kill("SIGTERM");
      const stopped = await into.finished();
      await server.signal("SIGCONT");
      assert.equal(stopped.code, 1);
      assert.match(
        stopped.stderr,
        /\nframecat: 3 messages could not be stored in JetStream stream FRAMECAT \(subject stalled\): /,
      );
    }),
});

Deno.test({
  ...needs("consume waits for new messages until SIGTERM, then exits 0", "nats-server"),
  fn: () =>
    withServer(async (server) => {
      await store(server, "live", ['"first"']);
      const consuming = spawn(["consume", `${server.url}/live`]);
      await consuming.waitFor(/"first"/, "stdout");
      await store(server, "live", ['"second"'], 2);
      await consuming.waitFor(/"second"/, "stdout");
      consuming.child.kill("SIGTERM");
      const done = await consuming.finished();
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stderr, /Delivered 2 messages\n$/);
    }),
});

Deno.test({
  ...needs("consume leaves in the stream what a receiver did not acknowledge", "nats-server"),
  fn: () =>
    withServer(async (server) => {
      await store(server, "partial", ["1", "2", "3"]);
      const receiver = await startReceiver(["--ack", "-c", "1"]);
      const done = await run([
        "consume",
        `${server.url}/partial`,
        "--to",
        `127.0.0.1:${receiver.port}`,
        "--ack",
        "--batch",
        "1",
        "-c",
        "3",
      ]);
      await receiver.finished();
      assert.equal(done.code, 1);
      assert.match(
        done.stderr,
        /^framecat: The receiver at 127\.0\.0\.1:\d+ .*messages not delivered stay in the stream/m,
      );
      const rest = await run(["consume", `${server.url}/partial`, "-c", "2", "-q"]);
      assert.deepEqual(
        rest.stdout.trim().split("\n").map((line) => JSON.parse(line).message),
        [2, 3],
      );
    }),
});

Deno.test({
  ...needs("receive --to refuses a message over NATS's max_payload, and goes on", "nats-server"),
  fn: () =>
    withServer(async (server) => {
      const into = await startNatsReceiver(`${server.url}/big`, ["--ack", "-c", "1"]);
      const big = JSON.stringify("x".repeat(2 * 1024 * 1024));
      const refused = await run(["send", "-p", String(into.port), "--ack", "-j"], big + "\n");
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /over what NATS takes \(max_payload 1048576 bytes/);
      const sent = await run(["send", "-p", String(into.port), "--ack", "small"]);
      assert.equal(sent.code, 0, sent.stderr);
      assert.equal((await into.finished()).code, 0);
      assert.equal((await streamContents([server.url], "FRAMECAT")).messages, 1);
    }),
});

Deno.test("main.ts's module graph holds no NATS client: framecat starts without it", async () => {
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("../main.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  interface Module {
    specifier: string;
    dependencies?: { code?: { specifier: string } }[];
  }
  const graph: { roots: string[]; modules: Module[]; redirects: Record<string, string> } = JSON
    .parse(new TextDecoder().decode(stdout));
  const modules = new Map(graph.modules.map((m) => [m.specifier, m]));
  // What Deno loads to run: code dependencies, dynamic ones included; not types.
  const loaded = new Set<string>();
  const visit = (specifier: string) => {
    specifier = graph.redirects[specifier] ?? specifier;
    if (loaded.has(specifier)) return;
    loaded.add(specifier);
    for (const dependency of modules.get(specifier)?.dependencies ?? []) {
      if (dependency.code) visit(dependency.code.specifier);
    }
  };
  graph.roots.forEach(visit);
  assert.ok([...loaded].some((s) => s.endsWith("/cli/receive.ts")));
  // lib/nats's own modules are there (a dynamic import's); the npm client is not.
  assert.ok([...loaded].some((s) => s.endsWith("/lib/nats/jetstream_sink.ts")));
  assert.deepEqual([...loaded].filter((s) => s.startsWith("npm:")), []);
});
