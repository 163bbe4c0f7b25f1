import assert from "node:assert/strict";
import { encodeFrame } from "../lib/framing.ts";
import { batchFrames, checkCaCert, send } from "../lib/sender.ts";
import net from "node:net";
import { delay, framecat, spawn, startReceiver, startSeedReceiver } from "./helpers.ts";

function listen(): Deno.TcpListener {
  return Deno.listen({ hostname: "127.0.0.1", port: 0 });
}

/** Reads exactly `n` bytes from `conn`. */
async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  let filled = 0;
  while (filled < n) {
    const got = await conn.read(buf.subarray(filled));
    if (got === null) throw new Error(`connection ended after ${filled} of ${n} bytes`);
    filled += got;
  }
  return buf;
}

function hasPython(): boolean {
  try {
    return new Deno.Command("python3", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const LINES = Array.from({ length: 200 }, (_, i) => `m${100 + i}`);

/** The seed's get_message, then close: the rest of what was sent is left unread. */
const READ_ONE_AND_CLOSE = `
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
conn, _ = s.accept()
length = b""
char = conn.recv(1)
while char != b"\\n":
    length += char
    char = conn.recv(1)
total = int(length); msg = b""
while len(msg) < total: msg += conn.recv(total - len(msg))
print(msg.decode(), flush=True)
sys.stdin.read(1)
conn.close()
`;

Deno.test("framecat send exits 1 when the receiver closes the connection with messages unread", async (t) => {
  const input = LINES.join("\n") + "\n";
  const reset =
    /^framecat: Connection to 127\.0\.0\.1:\d+ reset: the receiver closed it with data unread, so some of the 200 messages sent \(1600 bytes\) may be lost\n$/;
  await t.step({
    name: "a Python receiver that reads one frame of 200 and closes",
    ignore: !hasPython(),
    async fn(): Promise<void> {
      const python = new Deno.Command("python3", {
        args: ["-c", READ_ONE_AND_CLOSE],
        stdin: "piped",
        stdout: "piped",
      }).spawn();
      const lines = python.stdout.pipeThrough(new TextDecoderStream()).getReader();
      try {
        let said = "";
        while (!/^\d+\n/.test(said)) said += (await lines.read()).value ?? "";
        const sender = spawn(["send", "--stdin", "--port", said.trim()], { stdin: true });
        await sender.write(input, { close: true });
        while (!/"m100"\n/.test(said)) said += (await lines.read()).value ?? "";
        // The rest has arrived by now, or arrives after the close; either way, unread.
        await delay(100);
        await python.stdin.close();
        const sent = await sender.finished();
        assert.equal(sent.code, 1);
        assert.match(sent.stderr, reset);
      } finally {
        await python.stdin.close().catch(() => {});
        await lines.cancel();
        await python.status;
      }
    },
  });
  await t.step("a receiver that resets the connection once the messages have arrived", async () => {
    let resetDone: () => void;
    const done = new Promise<void>((resolve) => resetDone = resolve);
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      // Never reads: everything sent is still unread when it closes.
      setTimeout(() => {
        socket.resetAndDestroy();
        resetDone();
      }, 300);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    const sent = await framecat(["send", "--stdin", "--port", String(port)], input);
    await done;
    await new Promise((resolve) => server.close(resolve));
    assert.equal(sent.code, 1);
    assert.match(sent.stderr, reset);
  });
});

Deno.test("framecat send exits 0 once a receiver that read everything closes", async () => {
  const receiver = await startReceiver(["--json", "--quiet"]);
  const started = Date.now();
  const sent = await framecat(
    ["send", "--stdin", "--port", String(receiver.port)],
    LINES.join("\n"),
  );
  const took = Date.now() - started;
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stderr, /^Sent 200 messages \(1600 bytes\) to 127\.0\.0\.1:\d+\n$/);
  // framecat receive closes at the sender's end: no waiting out the 2 s.
  assert.ok(took < 1800, `took ${took} ms`);
  receiver.child.kill("SIGTERM");
  assert.equal((await receiver.finished()).stdout.trimEnd().split("\n").length, 200);
});

Deno.test({
  name:
    "framecat send to the seed's receiver, which keeps the connection open, exits 3 (unconfirmed) within 3 s",
  ignore: !hasPython(),
  async fn(): Promise<void> {
    const seed = await startSeedReceiver();
    try {
      const started = Date.now();
      const sent = await framecat(["send", "--port", seed.port]);
      const took = Date.now() - started;
      // It printed the message, but never said so: the sender cannot know.
      assert.equal(sent.code, 3, sent.stderr);
      assert.match(sent.stderr, /^Sent 1 message \(17 bytes\) to .*, unconfirmed: /);
      assert.ok(took < 3000, `took ${took} ms`);
      await seed.waitFor(/Message from Sender :: {2}Hello World!/);
    } finally {
      await seed.stop();
    }
  },
});

Deno.test("send() waits for the receiver to close, at most closeTimeout, dropping what it sends back", async () => {
  const listener = listen();
  const port = listener.addr.port;
  // A receiver that answers with 1 MiB before reading, then reads to the end
  // and keeps the connection open.
  const receiver = (async () => {
    const conn = await listener.accept();
    await conn.write(new Uint8Array(1024 * 1024));
    const received = await readExactly(conn, 17);
    assert.equal(await conn.read(new Uint8Array(1)), null);
    return { conn, received };
  })();
  const started = Date.now();
  const result = await send([batchFrames([encodeFrame("Hello World!")])], {
    port,
    closeTimeout: 300,
  });
  const took = Date.now() - started;
  const { conn, received } = await receiver;
  conn.close();
  listener.close();
  assert.equal(result.messages, 1);
  assert.equal(new TextDecoder().decode(received), '14\n"Hello World!"');
  assert.ok(took >= 250 && took < 2000, `took ${took} ms`);
});

Deno.test("framecat send --tls gives up on a handshake that never comes after --connect-timeout", async () => {
  const listener = listen();
  // Accepts the connection and never answers the client's hello.
  const accepted = listener.accept();
  const started = Date.now();
  const sent = await framecat(
    ["send", "--tls", "--connect-timeout", "0.5", "--port", String(listener.addr.port)],
  );
  const took = Date.now() - started;
  (await accepted).close();
  listener.close();
  assert.equal(sent.code, 1);
  assert.match(
    sent.stderr,
    /^framecat: Cannot connect to 127\.0\.0\.1:\d+: no TLS handshake within 0\.5 s; if the receiver does not speak TLS, drop --tls\n$/,
  );
  assert.ok(took < 3000, `took ${took} ms`);
});

Deno.test("framecat send --tls to a plain receiver says the receiver does not speak TLS", async () => {
  const receiver = await startReceiver();
  const sent = await framecat(["send", "--tls", "--port", String(receiver.port)]);
  assert.equal(sent.code, 1);
  assert.match(
    sent.stderr,
    /^framecat: Cannot connect to 127\.0\.0\.1:\d+: TLS handshake failed \(.+\): the receiver does not speak TLS; drop --tls\n$/,
  );
  receiver.child.kill("SIGTERM");
  assert.equal((await receiver.finished()).stdout, "");
});

Deno.test("framecat send without --tls to a receiver that answers with TLS says to add --tls", async () => {
  const listener = listen();
  // What a TLS receiver answers to bytes that are not TLS: a fatal alert
  // (decode_error), then it hangs up.
  async function answerWithTls(): Promise<void> {
    const conn = await listener.accept();
    await readExactly(conn, 3);
    await conn.write(new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]));
    conn.close();
  }
  for (const args of [[], ["--ack"]]) {
    const answered = answerWithTls();
    const sent = await framecat(["send", ...args, "--port", String(listener.addr.port)]);
    await answered;
    assert.equal(sent.code, 1, args.join());
    assert.match(
      sent.stderr,
      /^framecat: Cannot send to 127\.0\.0\.1:\d+: the receiver answered with TLS; add --tls\n$/,
    );
  }
  listener.close();
});

Deno.test("framecat send --ca names the file that is not a certificate", async () => {
  const dir = await Deno.makeTempDir({ prefix: "framecat-ca-" });
  const listener = listen();
  try {
    const files = {
      "empty.pem": "not a certificate\n",
      "broken.pem": "-----BEGIN CERTIFICATE-----\nMIIBzzzzzz\n-----END CERTIFICATE-----\n",
    };
    const reasons = [/it holds no PEM certificate/, /it is not a valid PEM certificate \(.+\)/];
    for (const [i, [name, text]] of Object.entries(files).entries()) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
      const sent = await framecat(
        ["send", "--tls", "--ca", `${dir}/${name}`, "--port", String(listener.addr.port)],
        undefined,
        { permissions: ["--allow-read"] },
      );
      assert.equal(sent.code, 1);
      assert.match(sent.stderr, new RegExp(`^framecat: Cannot use the --ca file ${dir}/${name}: `));
      assert.match(sent.stderr, reasons[i]);
      assert.equal(sent.stderr.split("\n").length, 2, "one line");
    }
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkCaCert() refuses text without a readable certificate", () => {
  assert.throws(() => checkCaCert(""), SyntaxError);
  assert.throws(
    () => checkCaCert("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"),
    /not a valid PEM certificate/,
  );
});

Deno.test("framecat send --help shows the --connect-timeout default of 10 s", async () => {
  const { code, stdout } = await framecat(["send", "--help"]);
  assert.equal(code, 0);
  assert.match(
    stdout,
    /--connect-timeout SECONDS\n.*TLS handshake\s+included, after this long \(default 10\)/,
  );
});
