/**
 * framecat as a netcat user meets it: their habits (HOST PORT, HOST:PORT,
 * file names, -l, -w, -v, -q), one parser for sizes and durations, 0 as
 * "never", --retry bounding the whole wait, SIGINT, dual-stack listening.
 */

import assert from "node:assert/strict";
import { delay, framecat, spawn, startReceiver } from "./helpers.ts";

/** A port with nothing listening on it: one the system gave and took back. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

function ipv6Loopback(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("framecat send HOST PORT is refused with the command meant, exit 2", async () => {
  for (
    const [args, hint] of [
      [["10.77.0.1", "1234"], /-H 10\.77\.0\.1 -p 1234 \[MESSAGE \.\.\.\]/],
      [["fd77::1", "9000"], /-H fd77::1 -p 9000/],
      [["example.com:80"], /-H example\.com -p 80/],
    ] as const
  ) {
    const { code, stdout, stderr } = await framecat(["send", ...args]);
    assert.equal(code, 2, stderr);
    assert.equal(stdout, "");
    assert.match(stderr, /^framecat send: ".*" looks like netcat's HOST PORT: framecat send /);
    assert.match(stderr, hint);
    assert.match(stderr, /put them after --\) \(see framecat send --help\)\n$/);
  }
});

Deno.test("framecat send -- HOST PORT still sends them as two messages", async () => {
  const receiver = await startReceiver(["--json", "--count", "2"]);
  const sent = await framecat(["send", "-p", String(receiver.port), "--", "10.77.0.1", "1234"]);
  assert.equal(sent.code, 0, sent.stderr);
  const { stdout } = await receiver.finished();
  assert.deepEqual(stdout.trim().split("\n").map((line) => JSON.parse(line).message), [
    "10.77.0.1",
    "1234",
  ]);
});

Deno.test("framecat send -H HOST:PORT and -H [::1]:PORT carry the port", async (t) => {
  const receiver = await startReceiver(["--json", "--count", "1"]);
  const sent = await framecat(["send", "-H", `127.0.0.1:${receiver.port}`, "colon"]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(
    sent.stderr,
    new RegExp(`^Sent 1 message \\(9 bytes\\) to 127\\.0\\.0\\.1:${receiver.port}\n$`),
  );
  assert.match((await receiver.finished()).stdout, /"message":"colon"/);

  for (
    const [host, said] of [
      ["127.0.0.1:http", /--host the port in "127\.0\.0\.1:http" must be a whole number/],
      ["[::1", /--host "\[::1" opens a \[ that does not close/],
      ["127.0.0.1:80", /--host 127\.0\.0\.1:80 names port 80 and --port 81: give one/],
    ]
  ) {
    const { code, stderr } = await framecat(["send", "-H", host as string, "-p", "81", "x"]);
    assert.equal(code, 2, stderr);
    assert.match(stderr, said as RegExp);
  }

  if (!ipv6Loopback()) {
    await t.step({ name: "IPv6 loopback unavailable here", ignore: true, fn: () => {} });
    return;
  }
  const v6 = spawn(["receive", "-H", "::1", "-p", "0", "-j", "-c", "1"]);
  const port = (await v6.waitFor(/Listening on \[::1\]:(\d+)/))[1];
  const bracketed = await framecat(["send", "-H", `[::1]:${port}`, "v6"]);
  assert.equal(bracketed.code, 0, bracketed.stderr);
  assert.match((await v6.finished()).stdout, /"message":"v6"/);
});

Deno.test("framecat send --file sends a file's lines; a MESSAGE naming a file gets a hint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "framecat-file-" });
  try {
    const file = `${dir}/three.ndjson`;
    await Deno.writeTextFile(file, '{"n":1}\n{"n":2}\n\n{"n":3}\n');
    const read = { permissions: ["--allow-read"] };
    const hinted = await framecat(["send", "-p", String(closedPort()), file], undefined, read);
    assert.equal(hinted.code, 2);
    assert.equal(
      hinted.stderr,
      `framecat send: "${file}" is a file: to send its lines, use --file ${file} ` +
        `(or < ${file}); to send its name as a message, put it after -- ` +
        "(see framecat send --help)\n",
    );

    const receiver = await startReceiver(["--json", "--count", "3"]);
    const sent = await framecat(
      ["send", "-j", "-p", String(receiver.port), "--file", file],
      undefined,
      read,
    );
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stderr, /^Sent 3 messages /);
    const { stdout } = await receiver.finished();
    assert.deepEqual(stdout.trim().split("\n").map((line) => JSON.parse(line).message.n), [
      1,
      2,
      3,
    ]);

    // "-" is standard input.
    const fromStdin = await startReceiver(["--count", "1"]);
    const piped = await framecat(["send", "-p", String(fromStdin.port), "--file", "-"], "piped\n");
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal((await fromStdin.finished()).stdout, "Message from Sender :: piped\n");

    const missing = await framecat(["send", "--file", `${dir}/none`], undefined, read);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^framecat: Cannot read the --file file .*none: /);
    const both = await framecat(["send", "--file", file, "hi"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give --file, --stdin or MESSAGE arguments, one of them/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("framecat send -q says nothing on success; -v and --progress say how it goes", async () => {
  const receiver = await startReceiver(["--count", "3"]);
  const quiet = await framecat(["send", "-q", "-p", String(receiver.port), "one"]);
  assert.equal(quiet.code, 0);
  assert.equal(quiet.stderr, "");
  const verbose = spawn(["send", "-v", "-p", String(receiver.port), "--stdin"], { stdin: true });
  await verbose.write("two\n");
  await verbose.waitFor(/Sent 1 message \(7 bytes\) to 127\.0\.0\.1:\d+ so far\n/, "stderr", 5000);
  const { code, stderr } = await verbose.finished();
  assert.equal(code, 0, stderr);
  assert.match(stderr, /^Connected to 127\.0\.0\.1:\d+\n/);
  assert.match(stderr, /\nSent 1 message \(7 bytes\) to 127\.0\.0\.1:\d+\n$/);
  const progress = spawn(["send", "--progress", "-p", String(receiver.port), "--stdin"], {
    stdin: true,
  });
  await progress.write("three\n");
  await progress.waitFor(
    /^Sent 1 message \(9 bytes\) to 127\.0\.0\.1:\d+ so far\n/,
    "stderr",
    5000,
  );
  assert.equal((await progress.finished()).code, 0);
  assert.equal((await receiver.finished()).stdout.split("\n").length, 4);
  const failed = await framecat(["send", "-q", "-p", String(closedPort())]);
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /connection refused/);
  const both = await framecat(["send", "-q", "-v"]);
  assert.equal(both.code, 2);
});

Deno.test("framecat send -v says each failed attempt of --retry", async () => {
  const { code, stderr } = await framecat([
    "send",
    "-v",
    "--retry",
    "300ms",
    "-p",
    String(closedPort()),
  ]);
  assert.equal(code, 1);
  assert.match(
    stderr,
    /^Attempt 1 to connect to 127\.0\.0\.1:\d+ failed \(connection refused\); trying again in 0\.1 s\n/,
  );
  assert.match(stderr, /connection refused \(\d attempts over 0\.3 s\)\n$/);
});

Deno.test("framecat send and receive hint at netcat's flags, exit 2", async () => {
  for (
    const [args, said] of [
      [
        ["receive", "-l", "-p", "1234"],
        /unknown option '-l': framecat receive always listens and keeps listening/,
      ],
      [["receive", "-lk"], /unknown option '-l': framecat receive always listens/],
      [["receive", "-k"], /unknown option '-k': framecat receive always listens/],
      [
        ["send", "-w", "3", "hi"],
        /unknown option '-w': netcat's -w is a timeout: use --connect-timeout/,
      ],
      [
        ["send", "-l"],
        /unknown option '-l': framecat send connects; to listen, run framecat receive/,
      ],
      [["receive", "-u"], /unknown option '-u': framecat speaks TCP only/],
    ] as const
  ) {
    const { code, stderr } = await framecat([...args]);
    assert.equal(code, 2, args.join(" "));
    assert.match(stderr, said);
    assert.equal(stderr.split("\n").length, 2, stderr);
  }
});

Deno.test("framecat send --retry bounds the whole wait, an attempt's timeout included", async () => {
  // A listener that accepts and never answers: a TLS handshake waits for ever.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    const started = Date.now();
    const { code, stderr } = await framecat([
      "send",
      "--tls",
      "--retry",
      "1",
      "--connect-timeout",
      "10",
      "-p",
      String(listener.addr.port),
    ]);
    const took = Date.now() - started;
    assert.equal(code, 1);
    assert.match(stderr, /no TLS handshake within the 1 s of --retry/);
    assert.ok(took < 4000, `took ${took} ms, not about 1 s`);
  } finally {
    listener.close();
    await accepting;
    held.forEach((conn) => conn.close());
  }
});

Deno.test("framecat takes sizes and durations with units on every flag; 0 is never", async () => {
  const big = "x".repeat(2000);
  const refused = await framecat(["send", "--max-bytes", "1K", "-p", String(closedPort()), big]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /message 1 is too large/);
  for (
    const args of [
      ["send", "--retry", "soon"],
      ["send", "--connect-timeout", "2x"],
      ["receive", "--idle-timeout", "-1s"],
      ["receive", "--max-bytes", "1.5K"],
    ]
  ) {
    const { code, stderr } = await framecat(args);
    assert.equal(code, 2, args.join(" "));
    assert.match(stderr, /must be a number of (seconds|bytes)/);
  }
  // --connect-timeout 0 waits for ever, as --idle-timeout 0 does: it connects.
  const receiver = await startReceiver(["--idle-timeout", "0", "--max-bytes", "256MiB", "-c", "1"]);
  const sent = await framecat([
    "send",
    "--connect-timeout",
    "0",
    "--ack-timeout",
    "0",
    "--max-bytes",
    "64KiB",
    "-p",
    String(receiver.port),
    "zero",
  ]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal((await receiver.finished()).stdout, "Message from Sender :: zero\n");
  // 500ms is half a second.
  const idle = await startReceiver(["--idle-timeout", "500ms"]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: idle.port });
  const started = Date.now();
  // The receiver says why, then closes.
  const said = await new Response(conn.readable).text();
  const took = Date.now() - started;
  assert.match(said, /"closed":"IDLE_TIMEOUT","reason":"no data for 0.5 s \(idle timeout\)"/);
  assert.ok(took >= 300 && took < 3000, `closed after ${took} ms`);
  idle.child.kill("SIGTERM");
  await idle.finished();
});

Deno.test("framecat send on SIGINT says what it sent before the interrupt, exit 130", async () => {
  const receiver = await startReceiver();
  const sender = spawn(["send", "-p", String(receiver.port), "--stdin"], { stdin: true });
  await sender.write("one\ntwo\n");
  await delay(500);
  sender.child.kill("SIGINT");
  const { code, stderr } = await sender.finished();
  assert.equal(code, 130);
  assert.match(stderr, /^Sent 2 messages \(14 bytes\) to 127\.0\.0\.1:\d+ before the interrupt\n$/);
  receiver.child.kill("SIGTERM");
  assert.match((await receiver.finished()).stdout, /two\n$/);
});

Deno.test("framecat receive listens on IPv6 and IPv4 by default; -H 0.0.0.0 says IPv4 only", async (t) => {
  if (!ipv6Loopback()) {
    await t.step({ name: "IPv6 loopback unavailable here", ignore: true, fn: () => {} });
    return;
  }
  const receiver = spawn(["receive", "-p", "0", "-c", "2"]);
  const port = (await receiver.waitFor(/^Listening on \[::\]:(\d+)\n/))[1];
  for (const host of ["127.0.0.1", "::1"]) {
    const sent = await framecat(["send", "-H", host, "-p", port, `to ${host}`]);
    assert.equal(sent.code, 0, sent.stderr);
  }
  const { code, stdout, stderr } = await receiver.finished();
  assert.equal(code, 0);
  assert.equal(stdout, "Message from Sender :: to 127.0.0.1\nMessage from Sender :: to ::1\n");
  // The IPv4 sender is named as IPv4, not as ::ffff:127.0.0.1.
  assert.match(stderr, /\nConnection from 127\.0\.0\.1:\d+\n/);

  const v4 = spawn(["receive", "-H", "0.0.0.0", "-p", "0"]);
  await v4.waitFor(
    /^Listening on 0\.0\.0\.0:\d+\nIPv4 only \(-H 0\.0\.0\.0\): leave -H out to serve IPv6 senders too\n/,
  );
  v4.child.kill("SIGTERM");
  assert.equal((await v4.finished()).code, 0);
});

Deno.test("framecat demo shows the message before its connection closes", async () => {
  const { code, stdout } = await framecat(["demo"]);
  assert.equal(code, 0);
  const lines = stdout.split("\n");
  const message = lines.findIndex((line) => /Message from Sender :: Hello World!/.test(line));
  const closed = lines.findIndex((line) => /closed after 1 message/.test(line));
  assert.ok(message >= 0 && closed > message, stdout);
});
