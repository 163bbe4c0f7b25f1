/**
 * "Sent" means delivered: every way a receiver can stop reading is seen by
 * the sender, which never exits 0 for messages the receiver may have
 * missed; a quiet stream loses nothing; no wait is unbounded (issue 17).
 */

import assert from "node:assert/strict";
import { encodeFrame } from "../lib/framing.ts";
import { receive } from "../lib/receiver.ts";
import { batchFrames, send } from "../lib/sender.ts";
import {
  delay,
  framecat,
  FRAMECAT_SHELL,
  MAIN,
  spawn,
  type StartedReceiver,
  startReceiver,
  waitUntil,
} from "./helpers.ts";

const encoder = new TextEncoder();

async function stop(receiver: StartedReceiver): Promise<number> {
  receiver.child.kill("SIGTERM");
  return (await receiver.finished()).code;
}

function lines(stdout: string): string[] {
  return stdout.split("\n").filter((line) => line !== "");
}

/** A listener on loopback whose one connection `serve` handles. */
function peer(
  serve: (conn: Deno.TcpConn) => Promise<void>,
): { port: number; done: Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const conn = await listener.accept();
    listener.close();
    try {
      await serve(conn);
    } catch {
      // The sender hung up: what it concluded is the test.
    } finally {
      try {
        conn.close();
      } catch {
        // Closed by the sender already.
      }
    }
  })();
  return { port: listener.addr.port, done };
}

Deno.test("framecat send of a stream quiet for 35 s loses nothing with default flags", async () => {
  const receiver = await startReceiver(["--quiet"]);
  const sender = spawn(["send", "--stdin", "--port", String(receiver.port)], { stdin: true });
  await sender.write("first\n");
  await receiver.waitFor(/first/, "stdout");
  // Longer than the default idle timeout (30 s).
  await delay(35_000);
  await sender.write("second\n", { close: true });
  const sent = await sender.finished();
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stderr, /^Sent 2 messages \(\d+ bytes\) to 127\.0\.0\.1:\d+\n$/);
  await receiver.waitFor(/second/, "stdout");
  assert.deepEqual(lines(receiver.stdout), [
    "Message from Sender :: first",
    "Message from Sender :: second",
  ]);
  assert.equal(await stop(receiver), 0);
});

Deno.test("framecat send goes on over a new connection when the receiver closed an idle one", async () => {
  const receiver = await startReceiver(["--quiet", "--idle-timeout", "1"]);
  const sender = spawn(["send", "--stdin", "--port", String(receiver.port)], { stdin: true });
  await sender.write("first\n");
  await receiver.waitFor(/first/, "stdout");
  await receiver.waitFor(/closed after 1 message: no data for 1 s \(idle timeout\)/);
  await delay(300);
  await sender.write("second\n", { close: true });
  const sent = await sender.finished();
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(
    sent.stderr,
    /^The receiver closed the connection after printing 1 message \(no data for 1 s \(idle timeout\)\); sending the rest over a new connection to 127\.0\.0\.1:\d+\nSent 2 messages \(\d+ bytes\) to 127\.0\.0\.1:\d+, over 2 connections\n$/,
  );
  await receiver.waitFor(/second/, "stdout");
  assert.equal(lines(receiver.stdout).length, 2);
  assert.equal(await stop(receiver), 0);
});

Deno.test("framecat send never exits 0 when the receiver refuses or stops", async (t) => {
  await t.step("--allow: refused before a byte is read", async () => {
    const receiver = await startReceiver(["--allow", "10.0.0.0/8"]);
    const sent = await framecat(["send", "--port", String(receiver.port), "x"]);
    assert.equal(sent.code, 1);
    assert.match(
      sent.stderr,
      /^framecat: The receiver refused message 1: not in the allowed address ranges \(it printed 0 of the 1 message sent; 1 not printed; nothing more was sent\)\n$/,
    );
    assert.equal(await stop(receiver), 0);
  });
  await t.step("--max-bytes: a message over the receiver's limit", async () => {
    const receiver = await startReceiver(["--max-bytes", "100"]);
    const sent = await framecat(["send", "--port", String(receiver.port), "x".repeat(200)]);
    assert.equal(sent.code, 1);
    assert.match(
      sent.stderr,
      /The receiver refused message 1: Cannot read frame 1 \(stream byte 0\): declared length 202 exceeds the limit of 100 bytes \(it printed 0 of the 1 message sent; 1 not printed/,
    );
    assert.equal(await stop(receiver), 0);
  });
  await t.step("--count: the rest of a batch is not printed", async () => {
    const receiver = await startReceiver(["--count", "1"]);
    const input = Array.from({ length: 200 }, (_, i) => `line ${i}\n`).join("");
    const sent = await framecat(["send", "--stdin", "--port", String(receiver.port)], input);
    assert.equal(sent.code, 1);
    assert.match(
      sent.stderr,
      /The receiver closed the connection: the receiver reached its count \(1 message\) \(it printed 1 of the 200 messages sent; 199 not printed/,
    );
    assert.equal((await receiver.finished()).code, 0);
    assert.match(receiver.stderr, /199 complete frames that had arrived not printed/);
  });
  await t.step(
    "SIGTERM: the sender learns it, and the next message finds no receiver",
    async () => {
      const receiver = await startReceiver();
      const sender = spawn(["send", "--stdin", "--port", String(receiver.port)], { stdin: true });
      await sender.write("one\n");
      await receiver.waitFor(/one/, "stdout");
      assert.equal(await stop(receiver), 0);
      await sender.write("two\n", { close: true });
      const sent = await sender.finished();
      assert.equal(sent.code, 1);
      assert.match(
        sent.stderr,
        /^framecat: The receiver closed the connection after printing 1 message \(receiver stopped\), and a new connection failed: Cannot connect to 127\.0\.0\.1:\d+: connection refused \(1 message sent and printed; nothing after it was sent\)\n$/,
      );
    },
  );
});

Deno.test("framecat receive never times out a connection whose bytes wait on the receiver", async (t) => {
  await t.step("a receiver stopped for 3 s with SIGSTOP (--idle-timeout 1)", async () => {
    const receiver = await startReceiver(["--quiet", "--idle-timeout", "1"]);
    const conns = await Promise.all(
      Array.from(
        { length: 10 },
        () => Deno.connect({ hostname: "127.0.0.1", port: receiver.port }),
      ),
    );
    await delay(200);
    receiver.child.kill("SIGSTOP");
    try {
      for (const [i, conn] of conns.entries()) await conn.write(encodeFrame(`waited ${i}`));
      await delay(3000);
    } finally {
      receiver.child.kill("SIGCONT");
    }
    await waitUntil(() => lines(receiver.stdout).length === 10, 5000);
    assert.doesNotMatch(receiver.stderr, /idle timeout/);
    for (const conn of conns) conn.close();
    assert.equal(await stop(receiver), 0);
  });
  await t.step("--ack into a pipe whose reader pauses 4 s (--idle-timeout 1)", async () => {
    const dir = await Deno.makeTempDir();
    try {
      const out = `${dir}/out`;
      const receiver = spawn([], {
        shell: `${FRAMECAT_SHELL} receive -H 127.0.0.1 -p 0 --ack --json --quiet ` +
          `--idle-timeout 1 --count 20000 | (sleep 4; cat > "${out}")`,
      });
      const port = (await receiver.waitFor(/Listening on 127\.0\.0\.1:(\d+)/))[1];
      const input = Array.from({ length: 4000 }, (_, i) => `message number ${i}`).join("\n");
      const senders = await Promise.all(
        Array.from({ length: 5 }, () => framecat(["send", "--ack", "--stdin", "-p", port], input)),
      );
      for (const sent of senders) {
        assert.equal(sent.code, 0, sent.stderr);
        assert.match(sent.stderr, /, 4000 acknowledged/);
      }
      assert.equal((await receiver.finished()).code, 0);
      assert.equal(lines(await Deno.readTextFile(out)).length, 20_000);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("framecat send gives up on a receiver that reads nothing, within its timeouts", async (t) => {
  const input = ("x".repeat(999) + "\n").repeat(20_000);
  for (
    const [flags, said] of [
      [["--write-timeout", "1"], /the receiver read nothing for 1 s \(write timeout\)/],
      [["--ack", "--ack-timeout", "1"], /Message 1 was not acknowledged within 1 s/],
    ] as const
  ) {
    await t.step(flags.join(" "), async () => {
      // Accepts, and never reads, until the sender has given up.
      let release = () => {};
      const { port, done } = peer(() => new Promise((resolve) => release = resolve));
      const started = Date.now();
      const sender = spawn(["send", "--stdin", "--port", String(port), ...flags], { stdin: true });
      sender.write(input, { close: true }).catch(() => {});
      const sent = await sender.finished();
      const took = Date.now() - started;
      assert.equal(sent.code, 1);
      assert.match(sent.stderr, said);
      release();
      await done;
      assert.ok(took < 8000, `took ${took} ms`);
    });
  }
});

Deno.test("framecat send --ack refuses acknowledgements it cannot trust", async (t) => {
  const cases: [string, (conn: Deno.TcpConn) => Promise<void>, RegExp][] = [
    [
      "acknowledgements before a byte was sent",
      async (conn) => {
        await conn.write(encoder.encode("9\n" + '{"ack":1}' + "9\n" + '{"ack":2}'));
        await conn.read(new Uint8Array(1024));
        await delay(500);
      },
      /acknowledged message 1, which was not sent yet/,
    ],
    [
      "reads 3 messages and acknowledges 10",
      async (conn) => {
        await conn.read(new Uint8Array(1024));
        let acks = "";
        for (let n = 1; n <= 10; n++) acks += `${`{"ack":${n}}`.length}\n{"ack":${n}}`;
        await conn.write(encoder.encode(acks));
        await delay(500);
      },
      /acknowledged message 4, which was not sent yet/,
    ],
    [
      "an acknowledgement out of order",
      async (conn) => {
        await conn.read(new Uint8Array(1024));
        await conn.write(encoder.encode('9\n{"ack":2}'));
        await delay(500);
      },
      /expected the acknowledgement of message 1, got \{"ack":2\}/,
    ],
    [
      "bytes that are not frames",
      async (conn) => {
        await conn.read(new Uint8Array(1024));
        await conn.write(encoder.encode("ok\n"));
        await delay(500);
      },
      /the receiver sent what is not an acknowledgement/,
    ],
    [
      "a 4 MB flood of acknowledgements, reading nothing",
      async (conn) => {
        let acks = "";
        for (let n = 1; acks.length < 4_000_000; n++) {
          acks += `${`{"ack":${n}}`.length}\n{"ack":${n}}`;
        }
        await conn.write(encoder.encode(acks));
      },
      /which was not sent yet/,
    ],
  ];
  for (const [name, serve, said] of cases) {
    await t.step(name, async () => {
      const { port, done } = peer(serve);
      const sender = spawn(["send", "--ack", "--stdin", "--port", String(port)], { stdin: true });
      // The messages come a moment after the connection.
      await delay(300);
      await sender.write("a\nb\nc\n", { close: true });
      const sent = await sender.finished();
      await done;
      assert.equal(sent.code, 1, sent.stderr);
      assert.match(sent.stderr, said);
    });
  }
});

Deno.test("framecat receive --ack acknowledges every line printed before a refused frame", async () => {
  const receiver = await startReceiver(["--ack", "--max-bytes", "100"]);
  const sent = await framecat(
    ["send", "--ack", "--port", String(receiver.port), "one", "two", "x".repeat(200)],
  );
  assert.equal(sent.code, 1);
  assert.match(
    sent.stderr,
    /^framecat: Message 3 was not acknowledged: the receiver closed the connection: Cannot read frame 3 \(stream byte 14\): declared length 202 exceeds the limit of 100 bytes \(2 of 3 confirmed\)\n$/,
  );
  assert.deepEqual(lines(receiver.stdout), [
    "Message from Sender :: one",
    "Message from Sender :: two",
  ]);
  assert.equal(await stop(receiver), 0);
});

Deno.test("framecat send refuses bytes that are not UTF-8 in a MESSAGE, and non-JSON blanks", async () => {
  const argument = spawn([], { shell: `${FRAMECAT_SHELL} send -p 9 $'ok\\xff\\xfe'` });
  const refused = await argument.finished();
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /message 1 is not valid UTF-8/);

  const receiver = await startReceiver(["--quiet"]);
  for (const blank of ["\u00a0", "\ufeff", "\f", "\u2028"]) {
    const sent = await framecat(
      ["send", "--json", "--stdin", "--port", String(receiver.port)],
      `1\n${blank}\n2\n`,
    );
    assert.equal(sent.code, 2, JSON.stringify(blank));
    assert.match(sent.stderr, /Cannot send line 2: it is not valid JSON/);
  }
  // Spaces, tabs and CR are JSON's own whitespace: a blank line, skipped.
  const blank = await framecat(
    ["send", "--json", "--stdin", "--port", String(receiver.port)],
    "3\n \t\r\n4\n",
  );
  assert.equal(blank.code, 0, blank.stderr);
  await receiver.waitFor(/:: 4\n/, "stdout");
  assert.deepEqual(lines(receiver.stdout).map((line) => line.slice(-1)), [
    "1",
    "1",
    "1",
    "1",
    "3",
    "4",
  ]);
  assert.equal(await stop(receiver), 0);
});

Deno.test("framecat receive with a stalled stdout stops after a signal within its grace", async (t) => {
  for (const signals of [1, 2]) {
    await t.step(`${signals} signal${signals === 1 ? "" : "s"}`, async () => {
      // Its stdout is a pipe that nobody reads.
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-net", MAIN, "receive", "-H", "127.0.0.1", "-p", "0"],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const errors = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let said = "";
      while (!/Listening on 127\.0\.0\.1:\d+/.test(said)) said += (await errors.read()).value;
      const port = Number(/:(\d+)/.exec(said)![1]);
      const sender = spawn(["send", "--stdin", "--port", String(port)], { stdin: true });
      sender.write(("y".repeat(1000) + "\n").repeat(2000), { close: true }).catch(() => {});
      await delay(1000);
      const started = Date.now();
      child.kill("SIGTERM");
      if (signals === 2) {
        await delay(200);
        child.kill("SIGTERM");
      }
      const status = await child.status;
      const took = Date.now() - started;
      while (true) {
        const { value, done } = await errors.read();
        if (done) break;
        said += value;
      }
      await child.stdout.cancel();
      await sender.finished();
      assert.equal(status.code, 1);
      assert.match(
        said,
        signals === 1 ? /output not written 3 s after the signal/ : /second signal/,
      );
      assert.ok(took < (signals === 1 ? 5000 : 1500), `took ${took} ms`);
    });
  }
});

Deno.test("receive() and send() refuse options out of range with a RangeError", () => {
  for (
    const options of [{ maxConns: 0 }, { count: 0 }, { maxBytes: NaN }, { idleTimeout: -1 }, {
      port: 70000,
    }]
  ) {
    assert.throws(() => receive(null, { hostname: "127.0.0.1", port: 0, ...options }), RangeError);
  }
  return Promise.all([
    assert.rejects(send([], { connectTimeout: -1 }), RangeError),
    assert.rejects(send([], { writeTimeout: NaN }), RangeError),
  ]).then(() => {});
});

Deno.test("receive() contains callbacks that throw or reject, and a writer that takes nothing", async () => {
  const thrown = receive(null, {
    hostname: "127.0.0.1",
    port: 0,
    count: 2,
    onEvent: () => {
      throw new Error("a broken logger");
    },
    onMessage: async (message) => {
      await Promise.resolve();
      if (message.value === "reject me") throw new Error("the callback rejected it");
    },
  });
  await send([batchFrames([encodeFrame("kept")])], { port: thrown.addr.port });
  await send([batchFrames([encodeFrame("reject me")])], { port: thrown.addr.port }).catch(() => {});
  const summary = await thrown.finished;
  assert.equal(summary.messages, 2);
  assert.ok(summary.callbackErrors!.some((e) => /a broken logger/.test(String(e))));
  assert.ok(summary.callbackErrors!.some((e) => /the callback rejected it/.test(String(e))));

  const nothing = receive({ write: () => Promise.resolve(0) }, {
    hostname: "127.0.0.1",
    port: 0,
    count: 1,
  });
  const failed = assert.rejects(nothing.finished, /the output took no bytes/);
  await send([batchFrames([encodeFrame("lost")])], { port: nothing.addr.port }).catch(() => {});
  await failed;
});

Deno.test("framecat receive checks accented and escaped text in linear time", async () => {
  const receiver = await startReceiver(["--quiet", "--json"]);
  const french = JSON.stringify('Le cœur déçu mais l\'âme plutôt naïve, "Louÿs"\n'.repeat(100_000));
  const sent = await framecat(
    ["send", "--json", "--stdin", "--port", String(receiver.port)],
    `${french}\n${french}\n`,
  );
  assert.equal(sent.code, 0, sent.stderr);
  await waitUntil(() => lines(receiver.stdout).length === 2, 20_000);
  assert.equal(await stop(receiver), 0);
});

Deno.test("framecat send never exits 0 for lines the receiver could not write", async (t) => {
  await t.step("receive | head -1: the second line is never printed", async () => {
    const receiver = spawn([], {
      shell: `${FRAMECAT_SHELL} receive -H 127.0.0.1 -p 0 | head -1`,
    });
    const port = (await receiver.waitFor(/Listening on 127\.0\.0\.1:(\d+)/))[1];
    const sender = spawn(["send", "--stdin", "--port", port], { stdin: true });
    await sender.write("a\n");
    await receiver.waitFor(/:: a/, "stdout");
    await delay(300);
    await sender.write("b\n", { close: true });
    const sent = await sender.finished();
    await receiver.finished();
    assert.equal(sent.code, 1, sent.stderr);
    assert.match(sent.stderr, /the receiver cannot write its output/);
    assert.doesNotMatch(receiver.stdout, /:: b/);
  });
  await t.step("receive > /dev/full", async () => {
    const receiver = spawn([], {
      shell: `${FRAMECAT_SHELL} receive -H 127.0.0.1 -p 0 > /dev/full`,
    });
    const port = (await receiver.waitFor(/Listening on 127\.0\.0\.1:(\d+)/))[1];
    const sent = await framecat(["send", "--port", port, "lost on a full disk", "two"]);
    assert.equal((await receiver.finished()).code, 1);
    assert.equal(sent.code, 1, sent.stderr);
    assert.match(
      sent.stderr,
      /the receiver cannot write its output \(it printed 0 of the 2 messages/,
    );
  });
});

Deno.test("framecat send exits 3, unconfirmed, when the receiver never says it got them", async (t) => {
  await t.step("a receiver stopped with SIGSTOP", async () => {
    const receiver = await startReceiver(["--quiet"]);
    receiver.child.kill("SIGSTOP");
    try {
      const sent = await framecat(["send", "--port", String(receiver.port), "never printed"]);
      assert.equal(sent.code, 3, sent.stderr);
      assert.match(sent.stderr, /^Sent 1 message \(\d+ bytes\) to .*, unconfirmed: /);
    } finally {
      receiver.child.kill("SIGCONT");
    }
    assert.equal(await stop(receiver), 0);
  });
  await t.step("a connection left in the system's queue at --max-conns", async () => {
    const receiver = await startReceiver(["--quiet", "--max-conns", "1"]);
    const holder = spawn(["send", "--stdin", "--port", String(receiver.port)], { stdin: true });
    await holder.write("A1\n");
    await receiver.waitFor(/A1/, "stdout");
    const sent = await framecat(["send", "--port", String(receiver.port), "B-hello"]);
    assert.equal(sent.code, 3, sent.stderr);
    await holder.write("A2\n", { close: true });
    assert.equal((await holder.finished()).code, 0);
    // Once the slot is free, B's connection is served after all.
    await receiver.waitFor(/B-hello/, "stdout");
    assert.equal(await stop(receiver), 0);
  });
  await t.step("a receiver that closes its side at once and reads on (nc -N)", async () => {
    let received = "";
    const { port, done } = peer(async (conn) => {
      await conn.closeWrite();
      received = await new Response(conn.readable).text();
    });
    const sender = spawn(["send", "--stdin", "--port", String(port)], { stdin: true });
    await sender.write("one\n");
    // The receiver's end of stream reaches the sender before its own end.
    await delay(300);
    await sender.write("two\n", { close: true });
    const sent = await sender.finished();
    await done;
    assert.equal(received, '5\n"one"5\n"two"');
    assert.equal(sent.code, 3, sent.stderr);
  });
});
