/**
 * The receiver under load and attack, spawned as a user runs it: floods of
 * connections, piles of large frames, senders that fill memory and stop,
 * signals with frames still in the socket buffers, payloads built to be slow
 * or to take over a terminal. Each run is bounded and uses loopback only.
 */

import assert from "node:assert/strict";
import { encodeFrame } from "../lib/framing.ts";
import { delay, makeCertificate, needs } from "./helpers.ts";
import { connect, ReceiverProcess as Receiver, writeAll } from "./receiver_process.ts";

const encoder = new TextEncoder();
const MiB = 1024 * 1024;

const linux = Deno.build.os === "linux";

/** Sends one frame on a connection of its own and closes it, as the seed's sender does. */
async function sendOne(port: number, frame: Uint8Array): Promise<void> {
  const conn = await connect(port);
  try {
    await writeAll(conn, frame);
  } finally {
    conn.close();
  }
}

async function flood(port: number, connections: number, clients: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < connections) {
      const n = next++;
      await sendOne(port, encodeFrame(`message ${n}`));
    }
  }));
}

for (const maxConns of [undefined, 64]) {
  const flags = maxConns === undefined ? [] : ["--max-conns", String(maxConns)];
  const named = maxConns === undefined ? "default flags" : `--max-conns ${maxConns}`;
  Deno.test(`receive prints every message of a 5,000-connection flood with ${named}`, async () => {
    const receiver = await Receiver.start(["--quiet", "--count", "5000", ...flags], {
      stdout: "keep",
    });
    await flood(receiver.port, 5000, 32);
    assert.equal(await receiver.finished(), 0);
    assert.equal(receiver.lines, 5000);
    const seen = new Set(receiver.stdout.trimEnd().split("\n"));
    assert.equal(seen.size, 5000);
    assert.doesNotMatch(receiver.stderr, /Refused|closed after 0/);
  });
}

Deno.test({
  name: "receive prints 40 concurrent 60 MiB messages within its memory bound",
  ignore: !linux,
  async fn(): Promise<void> {
    // No --count: the peak is read before the receiver is stopped.
    const receiver = await Receiver.start(["--quiet", "--json"]);
    const payload = encoder.encode(JSON.stringify("x".repeat(60 * MiB - 2)));
    const frame = new Uint8Array(payload.length + 9);
    frame.set(encoder.encode(`${payload.length}\n`));
    frame.set(payload, 9);
    await Promise.all(Array.from({ length: 40 }, () => sendOne(receiver.port, frame)));
    await receiver.waitFor(() => receiver.lines === 40 || null);
    const rss = await receiver.peakRss();
    assert.equal(await receiver.stop(), 0);
    assert.equal(receiver.lines, 40);
    assert.ok(rss < 1.5 * 1024 * MiB, `peak RSS ${Math.round(rss / MiB)} MiB`);
  },
});

Deno.test({
  name: "receive survives senders that each hold 60 MiB minus one byte, then serves at once",
  ignore: !linux,
  async fn(): Promise<void> {
    const receiver = await Receiver.start(["--json"], { stdout: "keep" });
    const payload = new Uint8Array(60 * MiB - 1).fill(0x20);
    const attackers = await Promise.all(Array.from({ length: 150 }, () => connect(receiver.port)));
    // Each declares 60 MiB and sends all but the last byte; most block, as
    // the receiver stops reading them.
    const writing = attackers.map(async (conn) => {
      await writeAll(conn, encoder.encode(`${60 * MiB}\n`));
      await writeAll(conn, payload);
    }).map((w) => w.catch(() => {}));
    await delay(3000);
    const rss = await receiver.peakRss();
    assert.ok(rss < 1.5 * 1024 * MiB, `peak RSS ${Math.round(rss / MiB)} MiB`);
    for (const conn of attackers) conn.close();
    await Promise.all(writing);
    const started = Date.now();
    await sendOne(receiver.port, encodeFrame("served"));
    await receiver.waitFor(() => receiver.stdout.includes('"served"'), 5000);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    const after = await receiver.peakRss();
    assert.equal(await receiver.stop(), 0);
    assert.ok(after < 1.5 * 1024 * MiB, `peak RSS ${Math.round(after / MiB)} MiB`);
  },
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`receive prints every frame that arrived before ${signal}, then exits 0`, async () => {
    const receiver = await Receiver.start(["--quiet"], { stdout: "keep" });
    const conns = await Promise.all(Array.from({ length: 10 }, () => connect(receiver.port)));
    await Promise.all(conns.map(async (conn, c) => {
      const frames = Array.from({ length: 1000 }, (_, i) => encodeFrame(`${c}:${i}`));
      const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
      let o = 0;
      for (const f of frames) all.set(f, o), o += f.length;
      // Half a frame more, never finished: dropped, and said so.
      await writeAll(
        conn,
        c === 0 ? new Uint8Array([...all, ...encoder.encode('20\n"half')]) : all,
      );
    }));
    const started = Date.now();
    assert.equal(await receiver.stop(signal), 0);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    for (const conn of conns) conn.close();
    assert.equal(receiver.lines, 10_000);
    assert.match(receiver.stderr, /frame 1001 was dropped incomplete, after 5 of 20 payload bytes/);
  });
}

Deno.test("receive prints a payload's own text: big numbers, 1e400, -0 and line breaks", async () => {
  const receiver = await Receiver.start(["--quiet", "--count", "2"], { stdout: "keep" });
  const text = '{"n":\n12345678901234567890,\r\n "e": 1e400, "z": -0, "k": [ 1.50 ]}';
  await sendOne(receiver.port, encoder.encode(`${encoder.encode(text).length}\n${text}`));
  await receiver.waitFor(() => receiver.lines === 1);
  const json = await Receiver.start(["--quiet", "--json", "--count", "1"], { stdout: "keep" });
  await sendOne(json.port, encoder.encode(`${encoder.encode(text).length}\n${text}`));
  await sendOne(receiver.port, encodeFrame("done"));
  assert.equal(await receiver.finished(), 0);
  assert.equal(await json.finished(), 0);
  const own = '{"n": 12345678901234567890,   "e": 1e400, "z": -0, "k": [ 1.50 ]}';
  assert.equal(receiver.stdout, `Message from Sender :: ${own}\nMessage from Sender :: done\n`);
  const line = json.stdout.trimEnd();
  assert.ok(line.endsWith(`"message":${own}}`), line);
  assert.equal(JSON.parse(line).bytes, encoder.encode(text).length);
});

Deno.test("receive prints a 30,000,000-deep payload in seconds in both modes", async () => {
  const depth = 30_000_000;
  const payload = new Uint8Array(depth * 2).fill(0x5b);
  payload.fill(0x5d, depth);
  const frame = new Uint8Array([...encoder.encode(`${payload.length}\n`)]);
  for (const flags of [[], ["--json"]]) {
    const receiver = await Receiver.start(["--quiet", "--count", "1", ...flags]);
    const started = Date.now();
    const conn = await connect(receiver.port);
    await writeAll(conn, frame);
    await writeAll(conn, payload);
    conn.close();
    assert.equal(await receiver.finished(), 0);
    assert.equal(receiver.lines, 1);
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  }
});

Deno.test("receive shows what a terminal would act on escaped, on stdout and stderr", async () => {
  const receiver = await Receiver.start(["--count", "2"], { stdout: "keep" });
  // OSC 52 (write the clipboard), BEL, a forged line, DEL, C1 NEL, U+2028,
  // U+202E (right-to-left override).
  const hostile = "\u001b]52;c;aGk=\u0007\nMessage from Sender :: forged\u007f\u0085\u2028\u202e!";
  await sendOne(receiver.port, encodeFrame(hostile));
  const raw = encoder.encode('{"a":\n\u001b[2J}'); // invalid JSON: a raw ESC
  await sendOne(receiver.port, new Uint8Array([...encoder.encode(`${raw.length}\n`), ...raw]));
  await receiver.waitFor(() => /not valid JSON/.exec(receiver.stderr));
  const json = await Receiver.start(["--json", "--count", "1"], { stdout: "keep" });
  await sendOne(json.port, encodeFrame(hostile));
  await sendOne(receiver.port, encodeFrame("end"));
  assert.equal(await receiver.finished(), 0);
  assert.equal(await json.finished(), 0);
  const shown =
    "\\u001b]52;c;aGk=\\u0007\\nMessage from Sender :: forged\\u007f\\u0085\\u2028\\u202e!";
  assert.equal(receiver.stdout, `Message from Sender :: ${shown}\nMessage from Sender :: end\n`);
  const line = json.stdout.trimEnd();
  assert.equal(JSON.parse(line).message, hostile);
  for (const out of [receiver.stdout, json.stdout, receiver.stderr]) {
    // Nothing a terminal acts on but the line ends.
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(out, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
  }
  const error = receiver.stderr.split("\n").find((l) => l.includes("not valid JSON"))!;
  assert.match(error, /control character 0x1b inside a string|unexpected byte 0x1b/);
});

const tlsStall = needs(
  "receive --tls-cert really closes connections whose handshake never finishes",
  "openssl",
);
Deno.test({
  ...tlsStall,
  ignore: tlsStall.ignore || !linux,
  async fn(): Promise<void> {
    const dir = await Deno.makeTempDir({ prefix: "framecat-tls-stall-" });
    try {
      await makeCertificate(dir);
      const tls = ["--tls-cert", `${dir}/cert.pem`, "--tls-key", `${dir}/key.pem`];
      const reading = await startWithRead(["--idle-timeout", "1", ...tls]);
      const before = await reading.openFiles();
      const stalled = await Promise.all(Array.from({ length: 20 }, () => connect(reading.port)));
      await reading.waitFor(() => /(Connection from .*\n[^]*){20}/.exec(reading.stderr));
      assert.ok(await reading.openFiles() >= before + 20);
      // Each is closed after the idle timeout: the peer sees the end.
      const started = Date.now();
      for (const conn of stalled) {
        // Bounded: a socket left open would never answer.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const ended = await Promise.race([
          conn.read(new Uint8Array(16)),
          new Promise<string>((resolve) => timer = setTimeout(() => resolve("open"), 5000)),
        ]);
        clearTimeout(timer);
        conn.close();
        assert.equal(ended, null, "the receiver left a stalled TLS connection open");
      }
      assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
      // Their sockets are closed for real: the count goes back.
      let open = await reading.openFiles();
      for (let tries = 0; open > before + 1 && tries < 50; tries++) {
        await delay(100);
        open = await reading.openFiles();
      }
      assert.ok(open <= before + 1, `${open - before} sockets left open`);
      assert.equal((reading.stderr.match(/idle timeout/g) ?? []).length, 20);
      assert.equal(await reading.stop(), 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A receiver run with --allow-read, for its TLS files. */
async function startWithRead(args: string[]): Promise<Receiver> {
  return await Receiver.start(args, { permissions: ["--allow-read"] });
}

Deno.test("receive exits on SIGTERM while senders wait for memory", async () => {
  const receiver = await Receiver.start(["--max-memory", "1M", "--max-bytes", "1M"]);
  const declared = encoder.encode(`${MiB}\n"`);
  const conns = await Promise.all([1, 2, 3].map(() => connect(receiver.port)));
  // The first holds the whole budget with half a frame; the others wait for it.
  for (const conn of conns) await writeAll(conn, declared);
  await writeAll(conns[0], new Uint8Array(MiB / 2).fill(0x61));
  await delay(300);
  const started = Date.now();
  assert.equal(await receiver.stop(), 0);
  assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  for (const conn of conns) conn.close();
  assert.match(receiver.stderr, /frame 1 was dropped incomplete, after 524289 of 1048576/);
});
