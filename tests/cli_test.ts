import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { encodeFrame } from "../lib/framing.ts";
import {
  errorLines,
  framecat,
  FRAMECAT_SHELL,
  MAIN,
  missingTool,
  rawExchange,
  spawn,
  type StartedReceiver,
  startReceiver,
  waitUntil,
} from "./helpers.ts";

/** A port with nothing listening on it: one the system gave and took back. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

async function stopReceiver(receiver: StartedReceiver): Promise<void> {
  receiver.child.kill("SIGTERM");
  const { code } = await receiver.finished();
  assert.equal(code, 0);
}

Deno.test("framecat --help and every command's --help print usage on stdout", async () => {
  const commands = ["receive", "send", "dissect", "demo"];
  const top = await framecat(["--help"]);
  assert.equal(top.code, 0);
  for (const command of commands) {
    assert.match(top.stdout, new RegExp(`^  framecat ${command} --help$`, "m"));
    assert.match(top.stdout, new RegExp(`^  framecat ${command}( \\[|$)`, "m"), command);
  }
  assert.equal((await framecat(["-h"])).stdout, top.stdout);
  for (const command of commands) {
    for (const flag of ["--help", "-h"]) {
      const { code, stdout, stderr } = await framecat([command, flag]);
      assert.equal(code, 0, `${command} ${flag}`);
      assert.equal(stderr, "");
      for (const section of ["Usage:", "Options:", "Examples:", "Exit codes:"]) {
        assert.match(stdout, new RegExp(`^${section}`, "m"), `${command}: ${section}`);
      }
      // Every flag in the options is in the usage, by its short form if it has one.
      const usage = stdout.slice(0, stdout.indexOf("\n\n"));
      const options = stdout.slice(stdout.indexOf("Options:"), stdout.indexOf("Examples:"));
      for (const [, short, long] of options.matchAll(/^ {2}(?:-(\w), | {4})--([\w-]+)/gm)) {
        if (long === "help") continue;
        assert.ok(usage.includes(short ? `[-${short}` : `[--${long}`), `${command} --${long}`);
      }
      const examples = stdout.slice(stdout.indexOf("Examples:"), stdout.indexOf("Exit codes:"));
      assert.ok(examples.split("\n").filter((l) => l.startsWith("  ")).length >= 2, command);
    }
  }
  const send = (await framecat(["send", "--help"])).stdout;
  for (
    const flag of [
      /-H, --host H .*\n.*\(default 127\.0\.0\.1\)/,
      /-p, --port P +its port \(default 1234\)/,
      /-j, --json/,
      /--connect-timeout SECONDS\n.*\n.* \(default 10\)/,
      /--ack-timeout SECONDS\n[^]*?\(default\s+10\)/,
      /--retry SECONDS .*\n.*\(default 0: one attempt\)/,
    ]
  ) {
    assert.match(send, flag);
  }
  const receive = (await framecat(["receive", "--help"])).stdout;
  for (const flag of [/-q, --quiet/, /-c, --count N/, /\(default 30\)/, /\(default 60\)/]) {
    assert.match(receive, flag);
  }
});

Deno.test("framecat --version prints the version in deno.json", async () => {
  const { code, stdout } = await framecat(["--version"]);
  assert.equal(code, 0);
  assert.equal(stdout, `framecat ${denoJson.version}\n`);
});

Deno.test("framecat reports usage errors in one line with exit code 2", async () => {
  const cases: [string[], RegExp][] = [
    [[], /missing command/],
    [["frobnicate"], /unknown command "frobnicate": use receive, send, dissect, wireshark, demo/],
    [["recieve"], /unknown command "recieve": did you mean receive\?/],
    [["send", "--frob"], /unknown option '--frob' \(see framecat send --help\)/],
    [["send", "--prot", "1"], /unknown option '--prot'; did you mean --port\?/],
    [["receive", "--idle", "1"], /unknown option '--idle'; did you mean --idle-timeout\?/],
    [["receive", "-P", "1"], /unknown option '-P'; did you mean -p \(--port\)\?/],
    [["receive", "--json=yes"], /--json takes no value, got "yes"/],
    [["send", "--port", "abc"], /--port must be a whole number from 1 to 65535, got "abc"/],
    [["send", "--port", "70000"], /--port must be a whole number/],
    [["send", "--port", "0"], /--port must be a whole number from 1/],
    [["send", "--port", "-5"], /--port must be a whole number from 1 to 65535, got "-5"/],
    [["receive", "--port", "-1"], /--port must be a whole number from 0 to 65535, got "-1"/],
    [["receive", "-p", "-1"], /--port must be a whole number from 0 to 65535, got "-1"/],
    [["receive", "--port"], /--port needs a value: --port P/],
    [["receive", "--port", "--json"], /--port needs a value: --port P/],
    [["receive", "--count", "0"], /--count must be a whole number 1 or more, got "0"/],
    [["receive", "--count", "-1"], /--count must be a whole number 1 or more, got "-1"/],
    [["receive", "--max-bytes", "1e3"], /--max-bytes must be a number of bytes/],
    [["receive", "--idle-timeout", "soon"], /--idle-timeout must be a number of seconds/],
    [["send", "--retry", "-1"], /--retry must be a number of seconds, 0 or more; got "-1"/],
    [["receive", "extra"], /unexpected argument "extra"/],
    [["demo", "extra"], /unexpected argument "extra"/],
    [["send", "--stdin", "hello"], /MESSAGE arguments or --stdin, not both/],
    [["send", "--json", "-5"], /unknown option '-5': to give "-5" as an argument, put it after --/],
  ];
  for (const [args, pattern] of cases) {
    const { code, stdout, stderr } = await framecat(args);
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.equal(stdout, "");
    assert.match(stderr, pattern);
    assert.equal(stderr.trimEnd().split("\n").length, 1, stderr);
    assert.doesNotMatch(stderr, / {4}at /);
  }
});

Deno.test("framecat send --json refuses invalid JSON before connecting", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connected = false;
  const accepting = listener.accept().then((conn) => {
    connected = true;
    conn.close();
  }, () => {});
  const { code, stderr } = await framecat([
    "send",
    "--json",
    "--port",
    String(listener.addr.port),
    "1",
    "{oops",
  ]);
  listener.close();
  await accepting;
  assert.equal(code, 2);
  assert.match(stderr, /^framecat send: message 2 is not valid JSON \(/);
  assert.equal(connected, false);
});

Deno.test("framecat send says in words why it cannot connect, exit code 1", async () => {
  const refused = await framecat(["send", "--port", String(closedPort())]);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /^framecat: Cannot connect to 127\.0\.0\.1:\d+: connection refused\n$/,
  );
  const unknown = await framecat(["send", "--host", "no-such-host.invalid"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /Cannot connect to no-such-host\.invalid:1234: host not found/);
});

Deno.test("framecat receive says the port is in use, exit code 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { code, stdout, stderr } = await framecat([
    "receive",
    "--host",
    "127.0.0.1",
    "--port",
    String(listener.addr.port),
  ]);
  listener.close();
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.match(stderr, /^framecat: Cannot listen on 127\.0\.0\.1:\d+: address already in use\n$/);
});

Deno.test("framecat send delivers the seed's Hello World! to framecat receive", async () => {
  const receiver = await startReceiver(["--count", "1"]);
  const sender = await framecat(["send", "--port", String(receiver.port)]);
  assert.equal(sender.code, 0);
  assert.equal(sender.stdout, "");
  assert.equal(sender.stderr, `Sent 1 message (17 bytes) to 127.0.0.1:${receiver.port}\n`);
  const { code, stdout, stderr } = await receiver.finished();
  assert.equal(code, 0);
  assert.equal(stdout, "Message from Sender :: Hello World!\n");
  assert.match(stderr, /^Listening on 127\.0\.0\.1:\d+\nConnection from 127\.0\.0\.1:\d+\n/);
});

Deno.test("framecat receive prints strings raw and other values as their own text", async () => {
  const receiver = await startReceiver(["--count", "6"]);
  const port = String(receiver.port);
  assert.equal((await framecat(["send", "--port", port, "plain text", "héllo 🙂"])).code, 0);
  const json = ['{ "a" : [1, 2] }', "null", "3.5", '"two\\nlines"'];
  assert.equal((await framecat(["send", "--json", "--port", port, ...json])).code, 0);
  const { code, stdout } = await receiver.finished();
  assert.equal(code, 0);
  assert.equal(
    stdout,
    [
      "Message from Sender :: plain text",
      "Message from Sender :: héllo 🙂",
      'Message from Sender :: { "a" : [1, 2] }',
      "Message from Sender :: null",
      "Message from Sender :: 3.5",
      "Message from Sender :: two\\nlines",
      "",
    ].join("\n"),
  );
});

Deno.test("framecat receive --json prints one object a line with peer, bytes and message", async () => {
  const receiver = await startReceiver(["--json", "--count", "4"]);
  const port = String(receiver.port);
  const sent = ['{"id": 12345678901234567890}', '"é"', "[\n1\n]", "true"];
  const sender = await framecat(["send", "--json", "--port", port, ...sent]);
  assert.equal(sender.code, 0);
  const { code, stdout } = await receiver.finished();
  assert.equal(code, 0);
  const lines = stdout.trimEnd().split("\n");
  assert.equal(lines.length, 4);
  const objects = lines.map((line) => JSON.parse(line));
  for (const object of objects) assert.match(object.peer, /^127\.0\.0\.1:\d+$/);
  assert.deepEqual(objects.map((o) => o.bytes), [28, 4, 5, 4]);
  assert.deepEqual(objects.map((o) => o.message), [{ id: 12345678901234567890 }, "é", [1], true]);
  // The number too large for a double arrives digit for digit.
  assert.match(lines[0], /"message":\{"id": 12345678901234567890\}\}$/);
});

Deno.test("framecat send --stdin streams lines as they come, one connection", async () => {
  const receiver = await startReceiver(["--json"]);
  const sender = spawn(["send", "--stdin", "--port", String(receiver.port)], { stdin: true });
  await sender.write("first line\n");
  // Printed while the sender still waits for more input: nothing is read whole first.
  await receiver.waitFor(/"message":"first line"/, "stdout");
  await sender.write("second\r\nthird, no newline", { close: true });
  const sent = await sender.finished();
  assert.equal(sent.code, 0);
  assert.match(sent.stderr, /^Sent 3 messages \(\d+ bytes\) to 127\.0\.0\.1:\d+\n$/);
  await receiver.waitFor(/third, no newline/, "stdout");
  await stopReceiver(receiver);
  const messages = receiver.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(messages.map((m) => m.message), ["first line", "second", "third, no newline"]);
  assert.equal(new Set(messages.map((m) => m.peer)).size, 1);
});

Deno.test("framecat send --stdin --json sends every line before a bad one, exit code 2", async () => {
  const receiver = await startReceiver(["--json"]);
  const input = '{"n":1}\n\n{"n":2}\n{"n": oops}\n{"n":4}\n';
  const sent = await framecat(
    ["send", "--stdin", "--json", "--port", String(receiver.port)],
    input,
  );
  assert.equal(sent.code, 2);
  assert.match(sent.stderr, /Sent 2 messages \(\d+ bytes\) to .* before the error\n/);
  assert.match(sent.stderr, /framecat: Cannot send line 4: it is not valid JSON \(/);
  await receiver.waitFor(/ended after 2 messages/);
  await stopReceiver(receiver);
  assert.deepEqual(
    receiver.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).message),
    [{ n: 1 }, { n: 2 }],
  );
});

Deno.test("framecat receive prints nothing for a bad frame, names peer and reason, serves on", async () => {
  const receiver = await startReceiver(["--json", "--max-bytes", "100"]);
  const cases: [Uint8Array | string, RegExp][] = [
    ["1e3\n", /length prefix "1e3" is not decimal digits/],
    ["\n{}", /length prefix is empty/],
    ['+4\n"ab"', /"\+4" is not decimal digits/],
    ['14\r\n"Hello World!"', /ends with CR/],
    ["12345678901\n", /more than 10 digits/],
    ["101\n", /declared length 101 exceeds the limit of 100 bytes/],
    [new Uint8Array([0x33, 0x0a, 0x22, 0xff, 0x22]), /payload of 3 bytes is not valid UTF-8/],
    ["5\nhello", /payload is not valid JSON/],
    ["0\n", /payload is empty/],
    ['14\n"Hello', /stream ended after 6 of 14 payload bytes/],
    ["14", /stream ended inside the length prefix "14"/],
  ];
  for (const [data, reason] of cases) {
    const before = errorLines(receiver.stderr).length;
    const valid = encodeFrame("valid before");
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    // A frame after the bad one is never printed; a truncated one ends the stream.
    const after = reason.source.startsWith("stream ended") ? [] : encodeFrame("never printed");
    const frame = new Uint8Array([...valid, ...bytes, ...after]);
    await rawExchange(receiver.port, frame);
    await waitUntil(() => errorLines(receiver.stderr).length > before);
    const lines = errorLines(receiver.stderr);
    assert.equal(lines.length, before + 1);
    assert.match(lines[before], /^Connection from 127\.0\.0\.1:\d+ closed after 1 message: /);
    assert.match(lines[before], reason);
  }
  // Still serving everyone else.
  const sent = await framecat(["send", "--port", String(receiver.port), "after all that"]);
  assert.equal(sent.code, 0);
  await receiver.waitFor(/after all that/, "stdout");
  await stopReceiver(receiver);
  const messages = receiver.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).message);
  assert.deepEqual(messages, [...cases.map(() => "valid before"), "after all that"]);
  assert.doesNotMatch(receiver.stdout + receiver.stderr, /never printed| {4}at /);
});

Deno.test("framecat receive closes a connection idle longer than --idle-timeout", async () => {
  const receiver = await startReceiver(["--idle-timeout", "0.3"]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: receiver.port });
  const started = Date.now();
  // The receiver says why it closes the connection, then closes it.
  const said = await new Response(conn.readable).text();
  const waited = Date.now() - started;
  assert.equal(
    said,
    '82\n{"closed":"IDLE_TIMEOUT","reason":"no data for 0.3 s (idle timeout)","messages":0}',
  );
  assert.ok(waited >= 250 && waited < 5000, `closed after ${waited} ms`);
  await receiver.waitFor(/closed after 0 messages: no data for 0\.3 s \(idle timeout\)/);
  await stopReceiver(receiver);
});

Deno.test("framecat receive ends cleanly within 2 s on SIGINT and SIGTERM", async () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const receiver = await startReceiver();
    // An open, silent connection must not hold it up.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: receiver.port });
    const sent = await framecat(["send", "--port", String(receiver.port), "before " + signal]);
    assert.equal(sent.code, 0);
    await receiver.waitFor(/before SIG/, "stdout");
    const started = Date.now();
    receiver.child.kill(signal);
    const { code, stdout } = await receiver.finished();
    const took = Date.now() - started;
    conn.close();
    assert.equal(code, 0, signal);
    assert.ok(took < 2000, `${signal} took ${took} ms`);
    assert.equal(stdout, `Message from Sender :: before ${signal}\n`);
  }
});

Deno.test("framecat receive ends quietly when stdout is closed early", async () => {
  // `framecat receive | head -1`, reporting the receiver's own exit code.
  const receiver = spawn([], {
    shell: `${FRAMECAT_SHELL} receive --host 127.0.0.1 --port 0 | head -1; exit \${PIPESTATUS[0]}`,
  });
  const port = (await receiver.waitFor(/Listening on 127\.0\.0\.1:(\d+)/))[1];
  assert.equal((await framecat(["send", "--port", port, "one"])).code, 0);
  await receiver.waitFor(/one/, "stdout");
  // head has exited; the next line the receiver writes finds the pipe closed.
  await framecat(["send", "--port", port, "two"]);
  const { code, stdout, stderr } = await receiver.finished();
  assert.equal(code, 0);
  assert.equal(stdout, "Message from Sender :: one\n");
  assert.doesNotMatch(stderr, /framecat:|error| {4}at /i);
});

Deno.test("framecat receive serves many senders at once without interleaving lines", async () => {
  const senders = 16;
  const each = 40;
  const receiver = await startReceiver(["--json", "--count", String(senders * each), "--quiet"]);
  const filler = "x".repeat(3000);
  const runs = [];
  for (let s = 0; s < senders; s++) {
    const input = Array.from({ length: each }, (_, i) => JSON.stringify({ s, i, filler }))
      .join("\n");
    runs.push(framecat(["send", "--stdin", "--json", "--port", String(receiver.port)], input));
  }
  for (const run of await Promise.all(runs)) assert.equal(run.code, 0, run.stderr);
  const { code, stdout, stderr } = await receiver.finished();
  assert.equal(code, 0);
  assert.doesNotMatch(stderr, /Connection from/);
  const lines = stdout.trimEnd().split("\n");
  assert.equal(lines.length, senders * each);
  const next = new Array(senders).fill(0);
  for (const line of lines) {
    const { message } = JSON.parse(line); // a torn line would not parse
    assert.equal(message.filler, filler);
    assert.equal(message.i, next[message.s]++, "per-connection order");
  }
  assert.deepEqual(next, new Array(senders).fill(each));
});

Deno.test("framecat receive serves others while one sender is halfway through a frame", async () => {
  const receiver = await startReceiver();
  const slow = await Deno.connect({ hostname: "127.0.0.1", port: receiver.port });
  await slow.write(new TextEncoder().encode('16\n"only half'));
  const fast = await framecat(["send", "--port", String(receiver.port), "fast"]);
  assert.equal(fast.code, 0);
  await receiver.waitFor(/Message from Sender :: fast/, "stdout");
  await slow.write(new TextEncoder().encode(' here"'));
  await receiver.waitFor(/only half here/, "stdout");
  slow.close();
  await stopReceiver(receiver);
  assert.equal(
    receiver.stdout,
    "Message from Sender :: fast\nMessage from Sender :: only half here\n",
  );
});

Deno.test("framecat send and receive work over IPv6 loopback", async (t) => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
  } catch {
    t.step({ name: "IPv6 loopback unavailable here", ignore: true, fn: () => {} });
    return;
  }
  const receiver = spawn(["receive", "--host", "::1", "--port", "0", "--json", "--count", "1"]);
  const port = (await receiver.waitFor(/Listening on \[::1\]:(\d+)/))[1];
  const sent = await framecat(["send", "--host", "[::1]", "--port", port, "over v6"]);
  assert.equal(sent.code, 0);
  assert.match(sent.stderr, /to \[::1\]:\d+/);
  const { code, stdout } = await receiver.finished();
  assert.equal(code, 0);
  assert.match(stdout, /^\{"peer":"\[::1\]:\d+","bytes":9,"message":"over v6"\}\n$/);
});

Deno.test("framecat demo shows both sides of the seed's exchange", async () => {
  const { code, stdout, stderr } = await framecat(["demo"]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /receive \| Listening on 127\.0\.0\.1:\d+/);
  assert.match(stdout, /send {4}\| Sent 1 message \(17 bytes\) to 127\.0\.0\.1:\d+/);
  assert.match(stdout, /receive \| Message from Sender :: Hello World!/);
});

Deno.test("framecat takes -H, -p, -j, -c and -q for the flags typed most", async () => {
  const receiver = spawn(["receive", "-H", "127.0.0.1", "-p", "0", "-jq", "-c", "1"]);
  const port = (await receiver.waitFor(/Listening on 127\.0\.0\.1:(\d+)/))[1];
  const sent = await framecat(["send", "-H", "127.0.0.1", `-p${port}`, "-j", '{"short":true}']);
  assert.equal(sent.code, 0, sent.stderr);
  const { code, stdout, stderr } = await receiver.finished();
  assert.equal(code, 0);
  assert.match(stdout, /^\{"peer":"127\.0\.0\.1:\d+","bytes":14,"message":\{"short":true\}\}\n$/);
  assert.doesNotMatch(stderr, /Connection from/);
});

Deno.test("framecat send with no MESSAGE sends piped standard input, line by line", async () => {
  const receiver = await startReceiver(["--json", "--count", "2"]);
  const sent = await framecat(
    ["send", "--json", "--port", String(receiver.port)],
    '{"a":1}\n[2]\n',
  );
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stderr, /^Sent 2 messages /);
  const { stdout } = await receiver.finished();
  assert.deepEqual(stdout.trimEnd().split("\n").map((l) => JSON.parse(l).message), [{ a: 1 }, [2]]);
});

Deno.test("framecat send reads a file or a socket on standard input; /dev/null sends Hello World", async () => {
  const dir = await Deno.makeTempDir({ prefix: "framecat-stdin-" });
  try {
    await Deno.writeTextFile(`${dir}/lines.txt`, "from a file\nsecond line\n");
    await Deno.writeTextFile(`${dir}/empty.txt`, "");
    const receiver = await startReceiver(["--json"]);
    const port = String(receiver.port);
    const run = async (redirect: string) => {
      const shell = `${FRAMECAT_SHELL} send --port ${port} ${redirect}`;
      const { code, stderr } = await spawn([], { shell }).finished();
      assert.equal(code, 0, stderr);
      return stderr;
    };
    assert.match(await run(`< "${dir}/lines.txt"`), /^Sent 2 messages /);
    assert.match(await run("< /dev/null"), /^Sent 1 message \(17 bytes\)/);
    // An empty file (or pipe) is no messages, as with nc.
    assert.match(await run(`< "${dir}/empty.txt"`), /^Sent 0 messages /);
    assert.match(await run("< /dev/null hello"), /^Sent 1 message \(9 bytes\)/);
    // FRAMECAT_STDIN is the launcher's word only where nothing else of the environment is readable.
    const lying = `FRAMECAT_STDIN=device ${FRAMECAT_SHELL.replace(" run ", " run --allow-env ")}`;
    const told = await spawn([], {
      shell: `${lying} send --port ${port} < "${dir}/empty.txt"`,
    }).finished();
    assert.match(told.stderr, /^Sent 0 messages /);
    // A socket: bash connects standard input to a listener that sends a line.
    const source = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const serving = source.accept().then(async (conn) => {
      await conn.write(new TextEncoder().encode("from a socket\n"));
      conn.close();
    });
    assert.match(await run(`< /dev/tcp/127.0.0.1/${source.addr.port}`), /^Sent 1 message /);
    await serving;
    source.close();
    await receiver.waitFor(/"message":"from a socket"/, "stdout");
    await stopReceiver(receiver);
    assert.deepEqual(
      receiver.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).message),
      ["from a file", "second line", "Hello World!", "hello", "from a socket"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("framecat says it needs --allow-net when run without it, exit code 1", async () => {
  for (const args of [["send"], ["receive", "--port", "0"]]) {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", MAIN, ...args],
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(code, 1);
    assert.equal(new TextDecoder().decode(stdout), "");
    assert.equal(
      new TextDecoder().decode(stderr),
      "framecat needs network access: run it with --allow-net\n",
    );
  }
});

/** How to run a command without privileges here, or why it cannot be done. */
function unprivileged(): string[] | string {
  // Reading /proc needs --allow-all and the uid --allow-sys; the shell needs neither.
  const { stdout } = new Deno.Command("sh", {
    args: ["-c", "id -u; cat /proc/sys/net/ipv4/ip_unprivileged_port_start"],
    stderr: "null",
  }).outputSync();
  const [uid, firstFree] = new TextDecoder().decode(stdout).trim().split("\n").map(Number);
  if (firstFree <= 80) return `this system lets anyone use port 80 (${firstFree})`;
  if (uid !== 0) return [];
  return missingTool("setpriv") === undefined
    ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    : "running as root, and setpriv is not installed to drop root";
}

const dropRoot = Deno.build.os === "linux" ? unprivileged() : "only checked on Linux";
Deno.test({
  name: "framecat receive on a port below 1024 says it needs privileges" +
    (typeof dropRoot === "string" ? ` (ignored: ${dropRoot})` : ""),
  ignore: typeof dropRoot === "string",
  async fn(): Promise<void> {
    // A Deno cache the unprivileged user can write.
    const cache = await Deno.makeTempDir({ prefix: "framecat-cache-" });
    // The clone may be where that user cannot read (a 0700 home, mktemp -d):
    // framecat's sources are copied where it can.
    const copy = await Deno.makeTempDir({ prefix: "framecat-copy-" });
    try {
      await Deno.chmod(cache, 0o777);
      await copyReadable(new URL("../", import.meta.url).pathname, copy, [
        "main.ts",
        "deno.json",
        "cli",
        "lib",
      ]);
      const [command, ...args] = [
        ...dropRoot as string[],
        Deno.execPath(),
        "run",
        "--allow-net",
        `${copy}/main.ts`,
        "receive",
        "--host",
        "127.0.0.1",
        "--port",
        "80",
      ];
      const { code, stderr } = await new Deno.Command(command, {
        args,
        stdin: "null",
        stdout: "null",
        env: { NO_COLOR: "1", DENO_DIR: cache },
      }).output();
      assert.equal(code, 1);
      assert.equal(
        new TextDecoder().decode(stderr),
        "framecat: Cannot listen on 127.0.0.1:80: ports below 1024 need privileges; " +
          "use --port 1234 or run as root\n",
      );
    } finally {
      await Deno.remove(cache, { recursive: true });
      await Deno.remove(copy, { recursive: true });
    }
  },
});

/** Copies `names` (files and folders) from `from` to `to`, readable by every user. */
async function copyReadable(from: string, to: string, names: string[]): Promise<void> {
  await Deno.chmod(to, 0o755);
  for (const name of names) {
    const info = await Deno.stat(`${from}/${name}`);
    if (info.isDirectory) {
      await Deno.mkdir(`${to}/${name}`);
      const entries = [];
      for await (const entry of Deno.readDir(`${from}/${name}`)) entries.push(entry.name);
      await copyReadable(`${from}/${name}`, `${to}/${name}`, entries);
    } else {
      await Deno.copyFile(`${from}/${name}`, `${to}/${name}`);
      await Deno.chmod(`${to}/${name}`, 0o644);
    }
  }
}

Deno.test("deno task install makes a framecat command that needs no deno on PATH", async () => {
  // A quote and a space in the path: the command's script quotes it.
  const root = await Deno.makeTempDir({ prefix: "framecat-install-'q " });
  const repo = new URL("../", import.meta.url).pathname;
  try {
    const env = { NO_COLOR: "1", DENO_INSTALL_ROOT: root };
    const task = async (name: string) => {
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["task", name],
        cwd: repo,
        env,
      }).output();
      const said = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
      assert.equal(code, 0, said);
      return said;
    };
    assert.match(await task("install"), new RegExp(`Installed framecat as ${root}/bin/framecat`));
    // Installing again replaces it.
    await task("install");
    // A PATH with no deno on it: the command runs the Deno that installed it.
    const installed = {
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { PATH: root, NO_COLOR: "1" },
    } as const;
    const run = (args: string[]) =>
      new Deno.Command(`${root}/bin/framecat`, { ...installed, args });
    const version = await run(["--version"]).output();
    assert.equal(new TextDecoder().decode(version.stdout), `framecat ${denoJson.version}\n`);
    // It reads no config, not even one where it is run.
    await Deno.writeTextFile(`${root}/deno.json`, "{ not a config");
    const elsewhere = await new Deno.Command(`${root}/bin/framecat`, {
      ...installed,
      args: ["--version"],
      cwd: root,
    }).output();
    assert.equal(elsewhere.code, 0, new TextDecoder().decode(elsewhere.stderr));

    const receiver = run(["receive", "-H", "127.0.0.1", "-p", "0", "-j", "-c", "1"]);
    const child = receiver.spawn();
    const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let said = "";
    while (!/Listening on 127\.0\.0\.1:\d+/.test(said)) {
      const { value, done } = await lines.read();
      if (done) break;
      said += value;
    }
    const port = /Listening on 127\.0\.0\.1:(\d+)/.exec(said)?.[1];
    assert.ok(port, said);
    const sent = await run(["send", "-p", port, "installed"]).output();
    assert.equal(sent.code, 0, new TextDecoder().decode(sent.stderr));
    const output = await new Response(child.stdout).text();
    await lines.cancel();
    assert.equal((await child.status).code, 0);
    assert.equal(JSON.parse(output).message, "installed");

    await task("uninstall");
    assert.throws(() => Deno.statSync(`${root}/bin/framecat`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno task install keeps the bundle earlier installs run when bundling fails", async () => {
  const root = await Deno.makeTempDir({ prefix: "framecat-install-" });
  const repo = new URL("../", import.meta.url).pathname;
  const install = async (env: Record<string, string>, into: string) => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["task", "install"],
      cwd: repo,
      env: { NO_COLOR: "1", DENO_INSTALL_ROOT: `${root}/${into}`, ...env },
    }).output();
    const said = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, said);
    return said;
  };
  try {
    await install({}, "first");
    // No cache and no registry: deno bundle cannot fetch esbuild.
    const said = await install({
      DENO_DIR: `${root}/deno_dir`,
      NPM_CONFIG_REGISTRY: "http://127.0.0.1:1/",
    }, "second");
    assert.match(said, /Installing main\.ts as it is \(deno bundle failed/);
    for (const into of ["first", "second"]) {
      const { code, stdout } = await new Deno.Command(`${root}/${into}/bin/framecat`, {
        args: ["--version"],
      }).output();
      assert.equal(code, 0, into);
      assert.equal(new TextDecoder().decode(stdout), `framecat ${denoJson.version}\n`);
    }
  } finally {
    for (const into of ["first", "second"]) {
      await new Deno.Command(Deno.execPath(), {
        args: ["uninstall", "--global", "framecat"],
        env: { DENO_INSTALL_ROOT: `${root}/${into}` },
        stdout: "null",
        stderr: "null",
      }).output();
    }
    await Deno.remove(root, { recursive: true });
  }
});
