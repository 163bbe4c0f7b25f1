import assert from "node:assert/strict";
import { encodeFrame } from "../lib/framing.ts";
import {
  delay,
  framecat,
  FRAMECAT_SHELL,
  needs,
  spawn,
  type StartedReceiver,
  startReceiver,
  startSeedReceiver,
  waitUntil,
} from "./helpers.ts";

const encoder = new TextEncoder();

function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/** Resolves to how long `conn` stayed open before the peer closed it (ms), or fails after `limit`. */
async function closedWithin(conn: Deno.Conn, limit: number): Promise<number> {
  const started = Date.now();
  const buf = new Uint8Array(1024);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((resolve) =>
    timer = setTimeout(resolve, limit, "expired")
  );
  try {
    while (true) {
      const n = await Promise.race([conn.read(buf).catch(() => null), expired]);
      if (n === "expired") throw new Error(`still open after ${limit} ms`);
      if (n === null) return Date.now() - started;
    }
  } finally {
    clearTimeout(timer);
  }
}

async function stop(receiver: StartedReceiver, signal: Deno.Signal = "SIGTERM"): Promise<number> {
  receiver.child.kill(signal);
  return (await receiver.finished()).code;
}

function messages(stdout: string): { peer: string; message: { s: number; i: number } }[] {
  return stdout.trimEnd().split("\n").filter((l) => l !== "").map((line) => JSON.parse(line));
}

Deno.test("framecat receive serves valid senders while idle, malformed and busy peers pile up", async () => {
  const receiver = await startReceiver(["--json", "--quiet", "--idle-timeout", "1"]);
  const port = receiver.port;
  // 300 connections that never send a byte.
  const idle = await Promise.all(Array.from({ length: 300 }, () => connect(port)));
  // A stream of malformed frames, each on a connection of its own.
  const malformed = ["1e3\n", "-5\n{}", "\n\n", "5\nhello", "3\n\xff\xfe\xfd", "99999999999\n"];
  const bad = Promise.all(Array.from({ length: 60 }, async (_, k) => {
    const conn = await connect(port);
    await conn.write(encoder.encode(malformed[k % malformed.length])).catch(() => {});
    await closedWithin(conn, 5000);
    conn.close();
  }));
  // 50 senders of 100 messages each, written in small pieces.
  const started = Date.now();
  const senders = Promise.all(Array.from({ length: 50 }, async (_, s) => {
    const conn = await connect(port);
    for (let i = 0; i < 100; i += 10) {
      const frames = Array.from({ length: 10 }, (_, j) => encodeFrame({ s, i: i + j, pad: "x" }));
      for (const frame of frames) await conn.write(frame);
    }
    conn.close();
  }));
  await senders;
  await waitUntil(() => receiver.stdout.split("\n").length > 5000, 10_000);
  const served = Date.now() - started;
  await bad;
  // Every valid message exactly once, whole, in per-connection order.
  const next = new Array(50).fill(0);
  for (const { message } of messages(receiver.stdout)) {
    assert.equal(message.i, next[message.s]++, `sender ${message.s} out of order`);
  }
  assert.deepEqual(next, new Array(50).fill(100));
  assert.ok(served < 5000, `valid senders took ${served} ms`);
  // The idle connections are closed after the timeout (1 s, checked every 0.25 s).
  const waited = await Promise.all(idle.map((conn) => closedWithin(conn, 4000)));
  for (const conn of idle) conn.close();
  assert.ok(Math.max(...waited) < 4000);
  await waitUntil(() => (receiver.stderr.match(/idle timeout/g) ?? []).length === 300);
  assert.equal((receiver.stderr.match(/Cannot read frame/g) ?? []).length, 60);
  assert.equal(await stop(receiver), 0);
});

Deno.test("framecat receive closes a sender trickling a frame after --frame-timeout", async () => {
  const receiver = await startReceiver(["--frame-timeout", "1", "--idle-timeout", "10"]);
  const slow = await connect(receiver.port);
  const started = Date.now();
  // One byte every 100 ms: never idle, but the frame would take 10 s.
  const trickle = (async () => {
    for (const byte of encoder.encode('98\n"' + "z".repeat(95) + '"')) {
      if (await slow.write(new Uint8Array([byte])).catch(() => 0) === 0) return;
      await delay(100);
    }
  })();
  const open = await closedWithin(slow, 5000);
  await trickle;
  slow.close();
  assert.ok(open >= 900 && open < 3000, `closed after ${open} ms`);
  await receiver.waitFor(/closed after 0 messages: frame 1 not complete 1 s after it began/);
  assert.equal(Date.now() - started < 5000, true);
  assert.equal((await framecat(["send", "--port", String(receiver.port), "still here"])).code, 0);
  await receiver.waitFor(/still here/, "stdout");
  assert.equal(receiver.stdout, "Message from Sender :: still here\n");
  assert.equal(await stop(receiver), 0);
});

Deno.test("framecat receive --max-conns makes new connections wait, never refuses them", async () => {
  const receiver = await startReceiver(["--max-conns", "3"]);
  const open = await Promise.all([1, 2, 3].map(() => connect(receiver.port)));
  await receiver.waitFor(/(Connection from .*\n[^]*){3}/);
  // The fourth waits in the system's queue: its frame is read once one ends.
  const extra = await connect(receiver.port);
  await extra.write(encodeFrame("waited its turn"));
  await receiver.waitFor(/Serving 3 connections \(--max-conns\): new ones wait until one ends/);
  await open[1].write(encodeFrame("from an open connection"));
  await receiver.waitFor(/from an open connection/, "stdout");
  assert.doesNotMatch(receiver.stdout, /waited its turn/);
  open[0].close();
  await receiver.waitFor(/waited its turn/, "stdout");
  extra.close();
  for (const conn of open.slice(1)) conn.close();
  assert.doesNotMatch(receiver.stderr, /Refused/);
  assert.equal(await stop(receiver), 0);
});

Deno.test("framecat receive finishes frames in flight on SIGTERM and drops half-received ones", async () => {
  const receiver = await startReceiver(["--json", "--quiet"]);
  const finishing = await connect(receiver.port);
  const abandoned = await connect(receiver.port);
  const frame = encodeFrame("finished after the signal");
  await finishing.write(frame.subarray(0, 10));
  await abandoned.write(encodeFrame("never finished").subarray(0, 8));
  await delay(100);
  const started = Date.now();
  receiver.child.kill("SIGTERM");
  // Within the 0.25 s a connection may be quiet during shutdown.
  await delay(120);
  await finishing.write(frame.subarray(10));
  const { code, stdout } = await receiver.finished();
  const took = Date.now() - started;
  finishing.close();
  abandoned.close();
  assert.equal(code, 0);
  assert.ok(took < 2000, `took ${took} ms`);
  assert.deepEqual(messages(stdout).map((m) => m.message), ["finished after the signal"]);
});

Deno.test("framecat receive says why it cannot write its output, exit code 1", async () => {
  const receiver = spawn([], {
    shell: `${FRAMECAT_SHELL} receive --host 127.0.0.1 --port 0 > /dev/full`,
  });
  const port = (await receiver.waitFor(/Listening on 127\.0\.0\.1:(\d+)/))[1];
  await framecat(["send", "--port", port, "lost"]);
  const { code, stderr } = await receiver.finished();
  assert.equal(code, 1);
  assert.match(stderr, /framecat: Cannot write to standard output: no space left on device\n$/);
});

Deno.test("framecat send --retry waits for a receiver that starts later", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = String(probe.addr.port);
  probe.close();
  const sender = spawn(["send", "--port", port, "--retry", "10", "patient"]);
  await delay(700);
  const receiver = spawn(["receive", "--host", "127.0.0.1", "--port", port, "--count", "1"]);
  const sent = await sender.finished();
  assert.equal(sent.code, 0, sent.stderr);
  const { code, stdout } = await receiver.finished();
  assert.equal(code, 0);
  assert.equal(stdout, "Message from Sender :: patient\n");

  const refused = await framecat(["send", "--port", port, "--retry", "0.5"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /connection refused \(\d+ attempts over 0\.5 s\)\n$/);
});

const connectTimeoutTest = needs(
  "framecat send --connect-timeout gives up on a receiver that does not answer",
  "python3",
);
Deno.test(connectTimeoutTest, async () => {
  // A listener that never accepts, with its queue already full: the
  // system drops new connection attempts, as a host behind a firewall does.
  const python = new Deno.Command("python3", {
    args: [
      "-c",
      `
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
fill = []
for _ in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(s.getsockname())
    except BlockingIOError: pass
    fill.append(c)
time.sleep(0.3)
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`,
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const reader = python.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const port = (await reader.read()).value!.trim();
  const started = Date.now();
  const { code, stderr } = await framecat(["send", "--port", port, "--connect-timeout", "0.5"]);
  const took = Date.now() - started;
  await python.stdin.close();
  await reader.cancel();
  await python.status;
  assert.equal(code, 1);
  assert.match(stderr, /Cannot connect to 127\.0\.0\.1:\d+: no answer within 0\.5 s/);
  assert.ok(took < 5000, `took ${took} ms`);
});

Deno.test("framecat send --ack waits for every acknowledgement of receive --ack", async () => {
  const receiver = await startReceiver(["--ack", "--json"]);
  const input = Array.from({ length: 500 }, (_, i) => JSON.stringify({ i })).join("\n");
  const sent = await framecat(
    ["send", "--ack", "--stdin", "--json", "--port", String(receiver.port)],
    input,
  );
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stderr, /^Sent 500 messages \(\d+ bytes\) to .*, 500 acknowledged\n$/);
  assert.equal(messages(receiver.stdout).length, 500);
  assert.equal(await stop(receiver), 0);
});

Deno.test("framecat send --ack names the first message not confirmed", async () => {
  // A receiver that stops after one message confirms only that one.
  const receiver = await startReceiver(["--ack", "--count", "1"]);
  const sent = await framecat(["send", "--ack", "--port", String(receiver.port), "one", "two"]);
  assert.equal(sent.code, 1);
  assert.match(
    sent.stderr,
    /Message 2 was not acknowledged: the receiver closed the connection: the receiver reached its count \(1 message\) \(1 of 2 confirmed\)/,
  );
  assert.equal((await receiver.finished()).code, 0);

  // A framecat receiver without --ack ends the connection without confirming.
  const plain = await startReceiver();
  const closed = await framecat(["send", "--ack", "--port", String(plain.port), "hello?"]);
  assert.equal(closed.code, 1);
  assert.match(
    closed.stderr,
    /Message 1 was not acknowledged: the receiver closed the connection \(0 of 1 confirmed; does the receiver run with --ack\?\)/,
  );
  assert.equal(await stop(plain), 0);
});

const seedAckTest = needs(
  "framecat send --ack against the seed's receiver fails clearly and never hangs",
  "python3",
);
Deno.test(seedAckTest, async () => {
  // The seed's receiver reads one message and keeps the connection open.
  const seed = await startSeedReceiver();
  const started = Date.now();
  const waited = await framecat(["send", "--ack", "--ack-timeout", "0.5", "--port", seed.port]);
  await seed.stop();
  assert.equal(waited.code, 1);
  assert.match(waited.stderr, /Message 1 was not acknowledged within 0\.5 s \(0 of 1 confirmed/);
  assert.ok(Date.now() - started < 5000);
});

Deno.test("framecat receive --allow refuses peers outside the ranges before reading", async () => {
  const refusing = await startReceiver(["--allow", "10.0.0.0/8", "--allow", "2001:db8::/32"]);
  const conn = await connect(refusing.port);
  await conn.write(encodeFrame("not for you")).catch(() => {});
  assert.ok(await closedWithin(conn, 2000) < 2000);
  conn.close();
  await refusing.waitFor(
    /Refused connection from 127\.0\.0\.1:\d+: not in the allowed address ranges/,
  );
  assert.equal(refusing.stdout, "");
  assert.equal(await stop(refusing), 0);

  const allowing = await startReceiver(["--allow", "127.0.0.0/8", "--count", "1"]);
  assert.equal((await framecat(["send", "--port", String(allowing.port), "welcome"])).code, 0);
  assert.equal((await allowing.finished()).stdout, "Message from Sender :: welcome\n");

  const bad = await framecat(["receive", "--allow", "10.0.0.0/99"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--allow "10\.0\.0\.0\/99" is not an address range/);
});

const tlsTest = needs(
  "framecat send --tls and receive --tls-cert verify certificates",
  "openssl",
);
Deno.test(tlsTest, async () => {
  const dir = await Deno.makeTempDir({ prefix: "framecat-tls-" });
  try {
    // A certificate authority of our own, and a certificate it signs for localhost.
    await Deno.writeTextFile(
      `${dir}/leaf.ext`,
      "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n" +
        "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    );
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    const steps = [
      [
        "req",
        "-x509",
        ...ec,
        "-days",
        "1",
        "-subj",
        "/CN=framecat test CA",
        "-keyout",
        `${dir}/ca.key`,
        "-out",
        `${dir}/ca.pem`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
      ],
      [
        "req",
        ...ec,
        "-subj",
        "/CN=localhost",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/leaf.csr`,
      ],
      [
        "x509",
        "-req",
        "-in",
        `${dir}/leaf.csr`,
        "-CA",
        `${dir}/ca.pem`,
        "-CAkey",
        `${dir}/ca.key`,
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        `${dir}/leaf.ext`,
        "-out",
        `${dir}/cert.pem`,
      ],
    ];
    for (const args of steps) {
      const step = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" })
        .output();
      assert.ok(step.success, `openssl ${args[0]}: ${new TextDecoder().decode(step.stderr)}`);
    }
    const tls = ["--tls-cert", `${dir}/cert.pem`, "--tls-key", `${dir}/key.pem`];
    const read = { permissions: ["--allow-read"] };

    const noRead = await framecat(["receive", "--port", "0", ...tls]);
    assert.equal(noRead.code, 1);
    assert.match(noRead.stderr, /Cannot read the --tls-cert file .*: .*--allow-read/);

    const receiver = await startReceiver(["--json", ...tls], read);
    const port = String(receiver.port);
    const trusted = await framecat(
      ["send", "--tls", "--ca", `${dir}/ca.pem`, "--host", "localhost", "--port", port, "secret"],
      undefined,
      read,
    );
    assert.equal(trusted.code, 0, trusted.stderr);
    await receiver.waitFor(/"message":"secret"/, "stdout");

    const untrusted = await framecat(["send", "--tls", "--host", "localhost", "--port", port]);
    assert.equal(untrusted.code, 1);
    assert.match(
      untrusted.stderr,
      /Cannot connect to localhost:\d+: TLS handshake failed: .*certificate/i,
    );

    const plain = await framecat(["send", "--port", port, "in clear"]);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /the receiver answered with TLS; add --tls\n$/);
    await receiver.waitFor(/Connection from 127\.0\.0\.1:\d+ closed after 0 messages: .+/);
    assert.doesNotMatch(receiver.stdout, /in clear/);
    assert.equal(await stop(receiver), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
