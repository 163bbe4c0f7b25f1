/**
 * The receiver in process: `receive(null, { onMessage, onEvent, sink })`,
 * events asserted as objects, and its parts (timeouts, line printer, prefix
 * scanner) on their own. The process-level tests stay as the safety net.
 */

import assert from "node:assert/strict";
import { readCloseNotice } from "../lib/close_notice.ts";
import { encodeFrame, FrameError } from "../lib/framing.ts";
import {
  PREFIX_BAD,
  PREFIX_COMPLETE,
  PREFIX_PARTIAL,
  prefixProblem,
  type PrefixScan,
  scanPrefix,
} from "../lib/framing/prefix.ts";
import { JsonChecker } from "../lib/json_check.ts";
import { MemoryBudget } from "../lib/memory_budget.ts";
import { receive, type ReceiverEvent } from "../lib/receiver.ts";
import { CHUNK, ChunkPool } from "../lib/receiver/chunk_pool.ts";
import { type Conn, Connection } from "../lib/receiver/connection.ts";
import { LinePrinter, needsRewrite } from "../lib/receiver/line_printer.ts";
import { overdue } from "../lib/receiver/timeouts.ts";
import { batchFrames, send } from "../lib/sender.ts";
import type { MessageSink, SinkMessage } from "../lib/sink.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Writes `bytes` on a new connection, closes its side, and reads all the receiver says. */
async function exchange(port: number, bytes: Uint8Array): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(bytes);
  await conn.closeWrite();
  return await new Response(conn.readable).text();
}

Deno.test("receive() reports listen, open and close as event objects", async () => {
  const events: ReceiverEvent[] = [];
  const values: unknown[] = [];
  const receiver = receive(null, {
    hostname: "127.0.0.1",
    port: 0,
    count: 2,
    onMessage: (message) => values.push(message.value),
    onEvent: (event) => events.push(event),
  });
  const said = await exchange(
    receiver.addr.port,
    batchFrames([encodeFrame(1), encodeFrame([2])]).data,
  );
  const summary = await receiver.finished;
  assert.deepEqual(values, [1, [2]]);
  assert.deepEqual(summary, { messages: 2, connections: 1 });
  assert.deepEqual(events.map((e) => e.type), ["listen", "open", "close"]);
  const [listen, open, closed] = events;
  assert.equal(listen.message, `Listening on 127.0.0.1:${receiver.addr.port}`);
  assert.equal(open.peer, closed.peer);
  assert.equal(closed.messages, 2);
  // At its count the receiver says so to the sender: every message printed.
  const notice = readCloseNotice(JSON.parse(said.slice(said.indexOf("\n") + 1)));
  assert.deepEqual(notice && { closed: notice.closed, messages: notice.messages }, {
    closed: "COUNT",
    messages: 2,
  });
});

Deno.test("receive() refuses a bad frame with a FrameError that carries its facts", async () => {
  const events: ReceiverEvent[] = [];
  const receiver = receive(null, {
    hostname: "127.0.0.1",
    port: 0,
    onEvent: (event) => events.push(event),
  });
  try {
    const said = await exchange(receiver.addr.port, encoder.encode('3\n"a"1e3\n'));
    const notice = readCloseNotice(JSON.parse(said.slice(said.indexOf("\n") + 1)));
    assert.equal(notice?.closed, "INVALID_PREFIX");
    assert.equal(notice?.messages, 1);
  } finally {
    await receiver.shutdown();
  }
  const error = events.find((e) => e.type === "error")?.error;
  assert.ok(error instanceof FrameError);
  assert.equal(error.code, "INVALID_PREFIX");
  assert.equal(error.frame, 2);
  assert.equal(error.offset, 5);
  assert.equal(error.reason, 'length prefix "1e3" is not decimal digits');
});

Deno.test("receive() with a sink hands over each message and acknowledges it once settled", async () => {
  const got: SinkMessage[] = [];
  let settle = () => {};
  let settled = 0;
  // Nothing is settled until the test opens the gate.
  const gate = new Promise<void>((resolve) => settle = () => (settled++, resolve()));
  const sink: MessageSink = {
    put: (message) => void got.push({ ...message, payload: message.payload.slice() }),
    settle: () => gate,
    ready: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const receiver = receive(null, { hostname: "127.0.0.1", port: 0, ack: true, count: 2, sink });
  const sending = send([batchFrames([encodeFrame("a"), encodeFrame({ b: 2 })])], {
    port: receiver.addr.port,
    ack: true,
  });
  while (got.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  // Not acknowledged until the sink has settled them.
  assert.equal(settled, 0);
  settle();
  const result = await sending;
  await receiver.finished;
  assert.equal(result.acknowledged, 2);
  assert.deepEqual(got.map((m) => decoder.decode(m.payload)), ['"a"', '{"b":2}']);
  assert.deepEqual(got.map((m) => [m.connection, m.number]), [[1, 1], [1, 2]]);
  assert.equal(got[0].receiver, got[1].receiver);
  assert.ok(got[0].receivedAt <= Date.now());
});

Deno.test("receive() with a sink whose put throws refuses the message and tells the sender", async () => {
  const sink: MessageSink = {
    put: () => {
      throw new Error("the stream is full");
    },
    settle: () => Promise.resolve(),
    ready: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const receiver = receive(null, { hostname: "127.0.0.1", port: 0, sink });
  try {
    const said = await exchange(receiver.addr.port, encodeFrame("x"));
    const notice = readCloseNotice(JSON.parse(said.slice(said.indexOf("\n") + 1)));
    assert.equal(notice?.closed, "REFUSED");
    assert.equal(notice?.reason, "the stream is full");
    assert.equal(notice?.messages, 0);
  } finally {
    await receiver.shutdown();
  }
});

Deno.test("overdue() times only waits on the peer, and idles out only at maxConns by default", () => {
  const policy = { idle: 1000, idleAlways: false, frame: 5000 };
  const quiet = { readingSince: 1, frameWaited: 0, frames: 3, partial: false };
  assert.equal(overdue(quiet, { now: 2000, full: false, policy }), undefined);
  assert.deepEqual(overdue(quiet, { now: 2000, full: true, policy }), {
    code: "IDLE_TIMEOUT",
    reason: "no data for 1 s (idle timeout)",
  });
  // A frame half received is bounded by the frame timeout, not evicted.
  const half = { readingSince: 1, frameWaited: 4500, frames: 3, partial: true };
  assert.equal(overdue(half, { now: 400, full: true, policy }), undefined);
  assert.equal(overdue(half, { now: 600, full: true, policy })?.code, "FRAME_TIMEOUT");
  // Not being read: the connection waits on the receiver.
  const held = { ...half, readingSince: 0 };
  assert.equal(overdue(held, { now: 1e9, full: true, policy }), undefined);
});

Deno.test("LinePrinter prints the seed's line and --json's, rewriting only what it must", async () => {
  for (const json of [false, true]) {
    const written: string[] = [];
    const printer = new LinePrinter({
      write: (p) => Promise.resolve(written.push(decoder.decode(p)) && p.length),
    }, { json, budget: new MemoryBudget(1 << 20), chunks: new ChunkPool(), onError: () => {} });
    const checker = new JsonChecker();
    const source = { peer: "127.0.0.1:5000", id: 1, frames: 0 };
    for (const text of ['"Hello World!"', '{ "a" :\n[1, 2] }', '"tab\\there"']) {
      const bytes = encoder.encode(text);
      assert.equal(checker.check(bytes), undefined);
      printer.small(source, bytes, 0, bytes.length, checker);
    }
    await printer.close();
    assert.deepEqual(
      written.join("").split("\n").slice(0, -1),
      json
        ? [
          '{"peer":"127.0.0.1:5000","bytes":14,"message":"Hello World!"}',
          '{"peer":"127.0.0.1:5000","bytes":16,"message":{ "a" : [1, 2] }}',
          '{"peer":"127.0.0.1:5000","bytes":11,"message":"tab\\there"}',
        ]
        : [
          "Message from Sender :: Hello World!",
          'Message from Sender :: { "a" : [1, 2] }',
          "Message from Sender :: tab\\there",
        ],
    );
  }
  const checker = new JsonChecker();
  checker.check(encoder.encode('"a\\nb"'));
  assert.equal(needsRewrite(checker, false), true);
  assert.equal(needsRewrite(checker, true), false);
});

Deno.test("scanPrefix agrees with prefixProblem on every prefix of up to 12 bytes", () => {
  // Digits, LF, and a few others, in every arrangement up to 4 bytes, then
  // long runs of digits.
  const alphabet = [0x30, 0x31, 0x39, 0x0a, 0x0d, 0x2d, 0x65, 0x22];
  const cases: number[][] = [[]];
  for (let length = 1; length <= 4; length++) {
    for (let n = 0; n < alphabet.length ** length; n++) {
      const bytes: number[] = [];
      for (let k = 0, m = n; k < length; k++, m = Math.floor(m / alphabet.length)) {
        bytes.push(alphabet[m % alphabet.length]);
      }
      cases.push(bytes);
    }
  }
  for (let digits = 5; digits <= 12; digits++) {
    cases.push([...Array(digits).fill(0x39)], [...Array(digits).fill(0x31), 0x0a]);
  }
  const scan: PrefixScan = { start: 0, end: 0, maxBytes: 500, length: 0, payloadStart: 0 };
  for (const bytes of cases) {
    const data = new Uint8Array(bytes);
    scan.end = data.length;
    const status = scanPrefix(data, scan);
    const problem = prefixProblem(data, { maxBytes: 500 });
    const what = JSON.stringify(decoder.decode(data));
    assert.equal(status === PREFIX_BAD, problem !== undefined, what);
    if (status === PREFIX_COMPLETE) {
      const lf = data.indexOf(0x0a);
      assert.equal(scan.payloadStart, lf + 1, what);
      assert.equal(scan.length, Number(decoder.decode(data.subarray(0, lf))), what);
    }
    if (status === PREFIX_PARTIAL) assert.equal(data.indexOf(0x0a), -1, what);
  }
});

Deno.test("ChunkPool keeps whole pieces while the budget has room, 16 once they go unused", () => {
  const budget = new MemoryBudget(64 * CHUNK);
  const pool = new ChunkPool({ budget });
  const pieces = Array.from({ length: 40 }, () => pool.take(5 * CHUNK));
  assert.ok(pieces.every((piece) => piece.length === CHUNK));
  budget.charge(30 * CHUNK);
  for (const piece of pieces) pool.give(piece);
  // 30 MiB in use: room for 34 pieces.
  assert.equal(pool.kept, 34);
  // A piece is taken from those kept before one is made.
  assert.ok(pieces.includes(pool.take(CHUNK)));
  pool.trim();
  assert.equal(pool.kept, 33);
  pool.trim();
  assert.equal(pool.kept, 16);
  // A payload's last bytes get an array of their size, never kept.
  const tail = pool.take(100);
  assert.equal(tail.length, 100);
  pool.give(tail);
  assert.equal(pool.kept, 16);
});

Deno.test("Connection grows a crowded buffer only to what its frame needs, and shrinks it after", () => {
  const settling = {
    settle: () => Promise.resolve(),
    settledNow: () => true,
    buf: new Uint8Array(1024),
    give: () => {},
  };
  const c = new Connection({} as Conn, "127.0.0.1:5000", 1, settling);
  const first = c.toFill(16 * 1024, true);
  assert.equal(first, settling.buf);
  first.fill(0x61);
  // A full read does not grow it ahead of the frame's size.
  assert.equal(c.filled(1024, 16 * 1024, true), true);
  assert.equal(c.buf.length, 1024);
  // The frame is 10,246 bytes: room for it, in steps of 256 bytes.
  c.need = 10_246;
  const rest = c.toFill(16 * 1024, true);
  assert.equal(c.buf.length, 10_496);
  assert.equal(rest.length, 10_496 - 1024);
  assert.ok(c.buf.subarray(0, 1024).every((b) => b === 0x61));
  // The frame read and taken: it waits on its peer with a small buffer again.
  c.filled(rest.length, 16 * 1024, true);
  c.start = c.end;
  const next = c.toFill(16 * 1024, true);
  assert.equal(next.length, 1024);
  assert.equal(c.buf, next);
  assert.equal(c.base, 10_496);
  // Not crowded: a full read grows it fourfold for a faster sender.
  const d = new Connection({} as Conn, "127.0.0.1:5001", 2, {
    ...settling,
    buf: new Uint8Array(4096),
  });
  d.filled(d.toFill(64 * 1024).length, 64 * 1024);
  assert.equal(d.buf.length, 16 * 1024);
});

Deno.test("receive() stops at its count inside a run of small frames, with --ack, and prints the same lines however the frames are split", async () => {
  const payloads = Array.from({ length: 40 }, (_, i) => `"m${i}${"x".repeat(i % 20)}"`);
  payloads[7] = '"es\\"caped"';
  payloads[9] = "{}";
  payloads[30] = '"' + "y".repeat(4094) + '"';
  const bytes = encoder.encode(
    payloads.map((p, i) => `${i % 5 === 0 ? "0" : ""}${encoder.encode(p).length}\n${p}`).join(""),
  );
  for (const json of [false, true]) {
    for (const [count, step] of [[3, 0], [12, 1], [31, 7], [35, 4096]]) {
      const written: Uint8Array[] = [];
      const output = {
        write: (p: Uint8Array) => Promise.resolve(written.push(p.slice()) && p.length),
      };
      const receiver = receive(output, { hostname: "127.0.0.1", port: 0, count, json, ack: true });
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: receiver.addr.port });
      const said = new Response(conn.readable).text();
      try {
        for (let at = 0; at < bytes.length; at += step || bytes.length) {
          await conn.write(bytes.subarray(at, step ? at + step : bytes.length));
          if (step === 1) await new Promise((resolve) => setTimeout(resolve, 0));
        }
        await conn.closeWrite();
      } catch {
        // Closed at its count while frames were still written.
      }
      const text = await said;
      const summary = await receiver.finished;
      assert.equal(summary.messages, count);
      const lines = written.map((w) => decoder.decode(w)).join("").split("\n").slice(0, -1);
      const expected = payloads.slice(0, count).map((p) => {
        const value = JSON.parse(p);
        const length = encoder.encode(p).length;
        if (json) {
          return `{"peer":${
            JSON.stringify(`127.0.0.1:${(conn.localAddr as Deno.NetAddr).port}`)
          },"bytes":${length},"message":${p}}`;
        }
        return `Message from Sender :: ${typeof value === "string" ? value : p}`;
      });
      assert.deepEqual(lines, expected, `${json} ${count} ${step}`);
      // Every message acknowledged, then the notice of the count.
      const acks = [...text.matchAll(/\{"ack":(\d+)\}/g)].map((m) => Number(m[1]));
      assert.equal(acks.at(-1), count, text);
      assert.match(text, new RegExp(`"closed":"COUNT".*"messages":${count}\\}$`));
    }
  }
});
