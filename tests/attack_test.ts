/**
 * The receiving side attacked as a hostile peer and a demanding user would:
 * each test is one problem found, as small as it can be shown. Loopback only,
 * every wait bounded, every process and connection closed.
 */

import assert from "node:assert/strict";
import { encodeFrame } from "../lib/framing.ts";
import { tlsContext, TlsServerConn } from "../lib/tls_server.ts";
import { delay, makeCertificate, needs, procStatus, spawn } from "./helpers.ts";
import { connect, ReceiverProcess as Receiver, writeAll } from "./receiver_process.ts";
import tls from "node:tls";

const encoder = new TextEncoder();
const MiB = 1024 * 1024;
const linux = Deno.build.os === "linux";

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}

/** A frame whose payload is a JSON string of `bytes` bytes, all `char` (one byte) between its quotes. */
function stringFrame(bytes: number, char: string): Uint8Array {
  const payload = new Uint8Array(bytes).fill(char.charCodeAt(0));
  payload[0] = payload[bytes - 1] = 0x22;
  const prefix = encoder.encode(`${bytes}\n`);
  const frame = new Uint8Array(prefix.length + bytes);
  frame.set(prefix);
  frame.set(payload, prefix.length);
  return frame;
}

Deno.test("receive keeps to --max-memory after many messages of 16 to 64 KiB", async () => {
  const receiver = await Receiver.start(["--max-bytes", "16M", "--max-memory", "16M"], {
    stdout: "null",
  });
  const holders: Deno.TcpConn[] = [];
  try {
    // 4,000 messages of 20 KiB: 80 MB printed from connection buffers.
    const small = encodeFrame("x".repeat(20 * 1024));
    const batch = new Uint8Array(small.length * 4000);
    for (let i = 0; i < 4000; i++) batch.set(small, i * small.length);
    const conn = await connect(receiver.port);
    await writeAll(conn, batch);
    conn.close();
    await receiver.waitFor(() => /ended after 4000 messages/.test(receiver.stderr));
    // Then 4 senders each send all but the last byte of a 16 MiB frame: a
    // 16 MiB budget holds one of them; the others must wait unread.
    const large = stringFrame(16 * MiB, "y").subarray(0, -1);
    let written = 0;
    for (let k = 0; k < 4; k++) holders.push(await connect(receiver.port));
    for (const holder of holders) writeAll(holder, large).then(() => written++, () => {});
    await delay(5000);
    assert.ok(written <= 2, `${written} of 4 senders got 16 MiB each into a 16 MiB budget`);
  } finally {
    holders.forEach(closeQuietly);
    await receiver.close();
  }
});

Deno.test({
  name: "receive keeps near --max-memory for payloads that escaping makes 6 times larger",
  ignore: !linux,
  async fn(): Promise<void> {
    const receiver = await Receiver.start(["--max-bytes", "16M", "--max-memory", "16M"], {
      stdout: "null",
    });
    try {
      const before = await receiver.peakRss();
      // Three 16 MiB strings of DEL (0x7f), each printed as \u007f: 96 MiB of output.
      const frame = stringFrame(16 * MiB, "\x7f");
      await Promise.all(Array.from({ length: 3 }, async () => {
        const conn = await connect(receiver.port);
        try {
          await writeAll(conn, frame);
        } finally {
          conn.close();
        }
      }));
      await receiver.waitFor(() => receiver.stderr.match(/ended after 1 message/g)?.length === 3);
      const grew = (await receiver.peakRss()) - before;
      // The same three frames of "y" grow it by about 25 MiB.
      assert.ok(grew < 64 * MiB, `peak RSS grew by ${Math.round(grew / MiB)} MiB, budget 16 MiB`);
    } finally {
      await receiver.close();
    }
  },
});

Deno.test(
  needs("TlsServerConn stops reading a peer whose bytes nobody takes", "openssl"),
  async () => {
    const dir = await Deno.makeTempDir();
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    let client: tls.TLSSocket | undefined;
    let server: TlsServerConn | undefined;
    try {
      await makeCertificate(dir);
      const cert = await Deno.readTextFile(`${dir}/cert.pem`);
      const key = await Deno.readTextFile(`${dir}/key.pem`);
      const accepted = listener.accept();
      client = tls.connect({
        host: "127.0.0.1",
        port: listener.addr.port,
        rejectUnauthorized: false,
      });
      client.on("error", () => {});
      server = new TlsServerConn(await accepted, tlsContext({ cert, key }));
      // The client writes up to 128 MiB while the server's reader takes one byte.
      const chunk = new Uint8Array(MiB);
      let queued = 0;
      const pump = () => {
        while (queued < 128 && !client!.destroyed) {
          queued++;
          if (!client!.write(chunk)) {
            client!.once("drain", pump);
            return;
          }
        }
      };
      pump();
      assert.equal(await server.read(new Uint8Array(1)), 1);
      await delay(3000);
      const written = queued * MiB - client.writableLength;
      // Socket buffers and its 256 KiB of decrypted bytes hold a few MiB; the
      // rest must stay with the sender (TCP back-pressure), not in memory.
      assert.ok(written < 32 * MiB, `${written / MiB} MiB taken from the peer, unread`);
    } finally {
      client?.destroy();
      server?.close();
      listener.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

for (const ack of [false, true]) {
  const flag = ack ? " --ack" : "";
  Deno.test(`receive${flag} ends at a second SIGTERM while its stdout is stalled`, async () => {
    const receiver = await Receiver.start(ack ? ["--ack"] : [], { stdout: "stalled" });
    const conn = await connect(receiver.port);
    try {
      // 2 MB of lines into a pipe nobody reads (64 KiB): output stalls.
      const frame = encodeFrame("z".repeat(1000));
      const batch = new Uint8Array(frame.length * 2000);
      for (let i = 0; i < 2000; i++) batch.set(frame, i * frame.length);
      await writeAll(conn, batch);
      await delay(1000);
      receiver.child.kill("SIGTERM");
      await delay(3000); // past the 2 s grace
      receiver.child.kill("SIGTERM");
      const code = await receiver.exitWithin(3000);
      assert.notEqual(code, undefined, "still running 3 s after a second SIGTERM");
    } finally {
      closeQuietly(conn);
      await receiver.close();
    }
  });
}

Deno.test({
  name: "receive does not keep a deep payload's nesting after printing it",
  ignore: !linux,
  async fn(): Promise<void> {
    const receiver = await Receiver.start(["--max-bytes", "32M", "--quiet"], { stdout: "null" });
    const conns: Deno.TcpConn[] = [];
    try {
      // A 32 MiB payload nested 16 Mi deep: its check needs a 32 MiB stack.
      const depth = 16 * MiB;
      const payload = new Uint8Array(2 * depth).fill(0x5b);
      payload.fill(0x5d, depth);
      const prefix = encoder.encode(`${payload.length}\n`);
      const frame = new Uint8Array(prefix.length + payload.length);
      frame.set(prefix);
      frame.set(payload, prefix.length);
      const before = await receiver.peakRss();
      // 16 connections send one each and stay open; then one more sends 16, so
      // that memory no longer needed is collected.
      for (let k = 0; k < 17; k++) {
        const conn = await connect(receiver.port);
        conns.push(conn);
        for (let n = 0; n < (k < 16 ? 1 : 16); n++) await writeAll(conn, frame);
      }
      await receiver.waitFor(() => /closed/.test(receiver.stderr) || undefined, 1000).catch(
        () => {},
      );
      const status = await procStatus(receiver.child.pid);
      const held = Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024 - before;
      // Each open connection's checker kept its 32 MiB stack, outside the budget.
      assert.ok(held < 320 * MiB, `RSS ${Math.round(held / MiB)} MiB above the start`);
    } finally {
      conns.forEach(closeQuietly);
      await receiver.close();
    }
  },
});

/**
 * Runs `body` with a receiver out of files: 80 idle connections to one that
 * may open 64, once it has said it cannot accept.
 */
async function outOfFiles(body: (receiver: Receiver) => Promise<void>): Promise<void> {
  const receiver = await Receiver.start(["--quiet", "--idle-timeout", "5"], {
    stdout: "null",
    files: 64,
  });
  const conns: Deno.TcpConn[] = [];
  try {
    for (let k = 0; k < 80; k++) conns.push(await connect(receiver.port));
    await receiver.waitFor(() => /Cannot accept/.test(receiver.stderr));
    await body(receiver);
  } finally {
    conns.forEach(closeQuietly);
    await receiver.close();
  }
}

Deno.test({
  name: "receive says it cannot accept once, not ten times a second, when out of files",
  ignore: !linux,
  fn: () =>
    outOfFiles(async (receiver) => {
      await delay(2000);
      const said = receiver.stderr.match(/Cannot accept a connection/g)!.length;
      assert.ok(said <= 2, `said ${said} times in 2 s`);
    }),
});

Deno.test({
  name: "receive stops cleanly on SIGTERM while it waits to accept again, out of files",
  ignore: !linux,
  fn: () =>
    outOfFiles(async (receiver) => {
      // Its accept loop now waits 0.1 s between attempts; the idle
      // connections stay open, and are closed as quiet during shutdown.
      const started = Date.now();
      const code = await receiver.stop("SIGTERM");
      assert.equal(code, 0, receiver.stderr);
      assert.ok(Date.now() - started < 3000, `stopped after ${Date.now() - started} ms`);
      assert.doesNotMatch(receiver.stderr, /pending|Uncaught/);
    }),
});

Deno.test("receive --tls-cert refuses a file that is not a certificate before listening", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/cert.pem`, "not a certificate\n");
    await Deno.writeTextFile(`${dir}/key.pem`, "not a key\n");
    const args = ["receive", "--host", "127.0.0.1", "--port", "0", "--count", "1"]
      .concat(["--idle-timeout", "1", "--tls-cert", `${dir}/cert.pem`])
      .concat(["--tls-key", `${dir}/key.pem`]);
    // It listened, then failed every connection with "TLS failed: unsupported
    // protocol", blaming the peer; tlsContext's own example says it throws.
    const running = spawn(args, { permissions: ["--allow-read"] });
    const listening = await running.waitFor(/Listening|framecat:/, "stderr").then(
      (match) => match[0] === "Listening",
    );
    if (listening) running.child.kill("SIGKILL");
    const { stderr } = await running.finished();
    assert.ok(!listening, `listened with a certificate that is not one:\n${stderr}`);
    assert.match(stderr, /certificate/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
