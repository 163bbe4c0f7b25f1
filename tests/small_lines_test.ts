import assert from "node:assert/strict";
import { OutputQueue } from "../lib/output_queue.ts";
import { SmallLines, type SmallRun } from "../lib/receiver/small_lines.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HUMAN = encoder.encode("Message from Sender :: ");
const PEER = encoder.encode('{"peer":"127.0.0.1:5000","bytes":');

function frames(...payloads: string[]): Uint8Array {
  return encoder.encode(payloads.map((p) => `${encoder.encode(p).length}\n${p}`).join(""));
}

/** Takes from `buf` until none is taken; returns the lines and where it stopped. */
async function takeAll(
  json: boolean,
  buf: Uint8Array,
  options: { most?: number; maxBytes?: number; start?: number } = {},
): Promise<{ lines: string; stop: number; taken: number }> {
  const written: Uint8Array[] = [];
  const out = new OutputQueue({
    write: (p: Uint8Array) => Promise.resolve(written.push(p.slice()) && p.length),
  });
  const lines = new SmallLines(json);
  const run: SmallRun = {
    buf,
    start: options.start ?? 0,
    end: buf.length,
    most: options.most ?? Infinity,
    maxBytes: options.maxBytes ?? 64 * 1024 * 1024,
    fresh: true,
  };
  const taken = lines.take(run, out, json ? PEER : HUMAN);
  await out.flush();
  return { lines: written.map((w) => decoder.decode(w)).join(""), stop: run.start, taken };
}

Deno.test("SmallLines makes the lines of plain strings, with and without json", async () => {
  const buf = frames('"Hello World!"', '""', '"a b ~"');
  const human = await takeAll(false, buf);
  assert.equal(human.taken, 3);
  assert.equal(human.stop, buf.length);
  assert.equal(
    human.lines,
    "Message from Sender :: Hello World!\nMessage from Sender :: \nMessage from Sender :: a b ~\n",
  );
  const json = await takeAll(true, buf);
  assert.equal(
    json.lines,
    '{"peer":"127.0.0.1:5000","bytes":14,"message":"Hello World!"}\n' +
      '{"peer":"127.0.0.1:5000","bytes":2,"message":""}\n' +
      '{"peer":"127.0.0.1:5000","bytes":7,"message":"a b ~"}\n',
  );
});

Deno.test("SmallLines leaves every frame but a whole plain string to the receiver", async () => {
  const others = [
    '"tab\there"',
    '"quote\\"d"',
    '"caf\u00e9"',
    '"del\x7f"',
    "{}",
    "12",
    ' "space before"',
    '"space after" ',
    '"' + "x".repeat(4095) + '"',
  ];
  for (const other of others) {
    const buf = frames('"one"', other, '"two"');
    const { taken, stop, lines } = await takeAll(true, buf);
    assert.equal(taken, 1, other);
    assert.equal(stop, frames('"one"').length, other);
    assert.equal(lines, '{"peer":"127.0.0.1:5000","bytes":5,"message":"one"}\n');
  }
  const prefixes = ["x\n", "\n", "3\r\n", "012345678901\n", "99999999999"];
  for (const bad of prefixes) {
    const buf = new Uint8Array([...frames('"one"'), ...encoder.encode(bad)]);
    const { taken, stop } = await takeAll(false, buf);
    assert.deepEqual([taken, stop], [1, frames('"one"').length], bad);
  }
  // Incomplete: its prefix or its payload cut.
  const whole = frames('"one"', '"two"');
  for (let cut = frames('"one"').length; cut < whole.length; cut++) {
    const { taken, stop } = await takeAll(false, whole.subarray(0, cut));
    assert.deepEqual([taken, stop], [1, frames('"one"').length]);
  }
  // Over the receiver's limit: refused by the receiver, never taken here.
  const { taken } = await takeAll(false, frames('"0123456789"'), { maxBytes: 11 });
  assert.equal(taken, 0);
  const longest = '"' + "y".repeat(4094) + '"';
  assert.equal((await takeAll(false, frames(longest))).taken, 1);
});

Deno.test("SmallLines takes at most `most` frames, from `start`", async () => {
  const buf = frames('"a"', '"b"', '"c"', '"d"');
  const { taken, stop, lines } = await takeAll(false, buf, { most: 2, start: 5 });
  assert.equal(taken, 2);
  assert.equal(stop, 15);
  assert.equal(lines, "Message from Sender :: b\nMessage from Sender :: c\n");
});

Deno.test("SmallLines takes runs longer than its memory and its output block", async () => {
  const payloads = Array.from({ length: 40_000 }, (_, i) => `"${"m".repeat(i % 50)}${i}"`);
  const buf = frames(...payloads);
  assert.ok(buf.length > 512 * 1024);
  const { taken, stop, lines } = await takeAll(true, buf);
  assert.equal(taken, payloads.length);
  assert.equal(stop, buf.length);
  const expected = payloads.map((p) =>
    `{"peer":"127.0.0.1:5000","bytes":${p.length},"message":${p}}\n`
  ).join("");
  assert.equal(lines, expected);
});

Deno.test("SmallLines takes prefixes with leading zeros up to five digits, and writes the length without them", async () => {
  const buf = encoder.encode('04\n"ab"00005\n"abc"000005\n"xyz"');
  const human = await takeAll(false, buf);
  assert.deepEqual([human.taken, human.stop], [2, 18]);
  assert.equal(human.lines, "Message from Sender :: ab\nMessage from Sender :: abc\n");
  const json = await takeAll(true, buf);
  assert.equal(
    json.lines,
    '{"peer":"127.0.0.1:5000","bytes":4,"message":"ab"}\n' +
      '{"peer":"127.0.0.1:5000","bytes":5,"message":"abc"}\n',
  );
});

Deno.test("SmallLines makes the lines a frame-by-frame reference makes, frames straddling its 256 KiB window, from any start (seeded)", async () => {
  let seed = 0x5eed;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor((seed / 2147483648) * n);
  };
  // Plain strings of every length to 4097, each frame now and then with a
  // byte that sends it to the receiver, at a 16-byte step or not.
  const parts: string[] = [];
  let size = 0;
  while (size < 700 * 1024) {
    const length = next(4) === 0 ? 4094 + next(4) : 2 + next(70);
    const chars = Array.from({ length: length - 2 }, () => String.fromCharCode(0x23 + next(0x39)));
    if (next(20) === 0 && chars.length > 0) chars[next(2) ? 15 : next(chars.length)] = "\\";
    const payload = `"${chars.join("")}"`;
    const prefix = next(25) === 0 ? `0${payload.length}` : `${payload.length}`;
    parts.push(`${prefix}\n${payload}`);
    size += prefix.length + 1 + payload.length;
  }
  const buf = encoder.encode(parts.join(""));
  for (const json of [false, true]) {
    for (const first of [0, parts[0].length, parts[0].length + parts[1].length]) {
      // What takeFrames does: take a run, step over the frame left, again.
      const written: Uint8Array[] = [];
      const out = new OutputQueue({
        write: (p: Uint8Array) => Promise.resolve(written.push(p.slice()) && p.length),
      });
      const lines = new SmallLines(json);
      const expected: string[] = [];
      let start = first;
      let taken = 0;
      const run: SmallRun = {
        buf,
        start,
        end: buf.length,
        most: Infinity,
        maxBytes: 4096,
        fresh: true,
      };
      while (start < buf.length) {
        run.start = start;
        taken += lines.take(run, out, json ? PEER : HUMAN);
        let at = start;
        while (at < run.start) {
          const lf = buf.indexOf(0x0a, at);
          const length = Number(decoder.decode(buf.subarray(at, lf)));
          const payload = decoder.decode(buf.subarray(lf + 1, lf + 1 + length));
          expected.push(
            json
              ? `{"peer":"127.0.0.1:5000","bytes":${length},"message":${payload}}\n`
              : `Message from Sender :: ${payload.slice(1, -1)}\n`,
          );
          at = lf + 1 + length;
        }
        assert.equal(at, run.start);
        // The frame left: over the limit, or a string with a backslash.
        if (run.start < buf.length) {
          const lf = buf.indexOf(0x0a, run.start);
          const length = Number(decoder.decode(buf.subarray(run.start, lf)));
          const payload = buf.subarray(lf + 1, lf + 1 + length);
          assert.ok(length > 4096 || payload.includes(0x5c), `${json} ${run.start}`);
          start = lf + 1 + length;
        } else start = run.start;
      }
      await out.flush();
      assert.ok(taken > 300, `${taken}`);
      assert.equal(taken, expected.length);
      assert.equal(written.map((w) => decoder.decode(w)).join(""), expected.join(""));
    }
  }
});
