import assert from "node:assert/strict";
import { decodeFrames, MAX_PAYLOAD_BYTES } from "../lib/framing.ts";
import { frameLines, type FrameLinesOptions } from "../lib/lines.ts";
import { JsonChecker } from "../lib/json_check.ts";
import { concat } from "../lib/io.ts";

const encoder = new TextEncoder();

/** A reader that serves `data` in chunks of `size` bytes. */
function chunked(data: Uint8Array, size: number): { read(p: Uint8Array): Promise<number | null> } {
  let offset = 0;
  return {
    read(p: Uint8Array): Promise<number | null> {
      if (offset >= data.length) return Promise.resolve(null);
      const n = Math.min(size, p.length, data.length - offset);
      p.set(data.subarray(offset, offset + n));
      offset += n;
      return Promise.resolve(n);
    },
  };
}

async function send(
  input: string | Uint8Array,
  options: FrameLinesOptions & { chunk?: number } = {},
): Promise<{ values: unknown[]; batches: number; error?: Error }> {
  const data = typeof input === "string" ? encoder.encode(input) : input;
  const parts: Uint8Array[] = [];
  let messages = 0;
  let error: Error | undefined;
  try {
    for await (const batch of frameLines(chunked(data, options.chunk ?? data.length), options)) {
      parts.push(batch.data.slice()); // valid until the next batch only
      messages += batch.messages;
    }
  } catch (e) {
    error = e as Error;
  }
  const values = [];
  for await (const frame of decodeFrames(parts, { maxBytes: MAX_PAYLOAD_BYTES })) {
    values.push(frame.value);
  }
  assert.equal(values.length, messages, "messages counted as framed");
  return { values, batches: parts.length, error };
}

Deno.test("frameLines() sends each line as a string, CR LF or LF, last LF optional", async () => {
  const { values, error } = await send("Hello World!\r\nsecond\n\nhéllo 🙂\nlast");
  assert.equal(error, undefined);
  assert.deepEqual(values, ["Hello World!", "second", "", "héllo 🙂", "last"]);
  assert.deepEqual((await send("")).values, []);
  assert.deepEqual((await send("\n")).values, [""]);
});

Deno.test("frameLines() with json sends each line as JSON text and skips blank lines", async () => {
  const { values, error } = await send('{"a": 1}\n\n  \n"é"\r\n[1,\t2]\n', { json: true });
  assert.equal(error, undefined);
  assert.deepEqual(values, [{ a: 1 }, "é", [1, 2]]);
});

Deno.test("frameLines() gives the same frames however the input is split", async () => {
  const input = encoder.encode('{"n":1}\n"ünïcödé 🙂"\n[true]\n' + '"' + "z".repeat(300) + '"\n');
  const expected = [{ n: 1 }, "ünïcödé 🙂", [true], "z".repeat(300)];
  for (let size = 1; size <= 40; size++) {
    const { values, error } = await send(input, { json: true, chunk: size, bufferSize: 64 });
    assert.equal(error, undefined, `chunks of ${size}`);
    assert.deepEqual(values, expected, `chunks of ${size}`);
  }
});

Deno.test("frameLines() streams: each read becomes a batch", async () => {
  const { batches } = await send("a\nb\nc\nd\n", { chunk: 2 });
  assert.equal(batches, 4);
});

Deno.test("frameLines() sends every line before a bad one, then names it", async () => {
  const badJson = await send('1\n2\n{"x": nope}\n4\n', { json: true, chunk: 3 });
  assert.deepEqual(badJson.values, [1, 2]);
  assert.ok(badJson.error instanceof SyntaxError);
  assert.match(badJson.error.message, /^Cannot send line 3: it is not valid JSON \(/);

  const input = new Uint8Array([...encoder.encode("ok\nfine\n"), 0xc3, 0x28, 0x0a, 0x41]);
  for (const chunk of [1, input.length]) {
    const badUtf8 = await send(input, { chunk });
    assert.deepEqual(badUtf8.values, ["ok", "fine"]);
    assert.ok(badUtf8.error instanceof SyntaxError);
    assert.equal(badUtf8.error.message, "Cannot send line 3: it is not valid UTF-8");
  }
});

Deno.test("frameLines() refuses a line whose payload exceeds maxBytes", async () => {
  const fits = await send('"12345678"\n', { json: true, maxBytes: 10 });
  assert.deepEqual(fits.values, ["12345678"]);
  // As a JSON string, nine characters are eleven bytes.
  const over = await send("123456789\nok\n", { maxBytes: 10 });
  assert.deepEqual(over.values, []);
  assert.ok(over.error instanceof RangeError);
  assert.equal(
    over.error.message,
    "Cannot send line 1: its payload of 11 bytes exceeds the limit of 10 bytes",
  );
  const endless = await send("ok\n" + "y".repeat(50), { maxBytes: 10, bufferSize: 8, chunk: 4 });
  assert.deepEqual(endless.values, ["ok"]);
  assert.match(endless.error?.message ?? "", /^Cannot send line 2: it is longer than the limit/);
});

/** The frames `frameLines` must send for `text`, written the plain way, one line at a time. */
function expectedFrames(text: string, json: boolean): Uint8Array {
  const lines = text.split("\n");
  if (text.endsWith("\n")) lines.pop();
  const frames: string[] = [];
  for (let line of lines) {
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (json && line.trim() === "") continue;
    const payload = json ? line : JSON.stringify(line);
    if (json) JSON.parse(payload);
    frames.push(`${encoder.encode(payload).length}\n${payload}`);
  }
  return encoder.encode(frames.join(""));
}

Deno.test("frameLines() sends the bytes a line-by-line encoder sends, long lines and short, however split", async () => {
  // A seeded generator, so that a failure can be replayed.
  let seed = 8;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const long = (n: number) => "x".repeat(Math.floor(n * (0.5 + random())));
  const makers = [
    () => JSON.stringify(`message ${random()}`),
    () => JSON.stringify(long(100_000)),
    () => JSON.stringify('tab\there, quote " and \\ and é 🙂 ' + long(70_000)),
    () => JSON.stringify({ a: [1, 2.5e3, null, true], s: "ü" }),
    () => `  ${JSON.stringify(long(80_000))}  `,
    () => "",
    () => "   ",
    () => "-0",
    () => JSON.stringify("\u2028\ufeff\ufffd"),
    () => JSON.stringify("é" + long(70_000)),
    () => JSON.stringify(long(70_000) + "\u0001"),
    () => JSON.stringify(long(200_000)),
    () => " ".repeat(70_000),
    () => JSON.stringify({ k: long(70_000), n: [1, -2.5e-3], t: "\u001b" }),
  ];
  // Lines that are not JSON, sent as strings without --json.
  const textMakers = [
    ...makers,
    () => long(90_000),
    () => `plain ${long(10)}`,
    () => long(70_000) + "\t" + long(100),
    () => long(70_000) + '"',
    () => "\\" + long(70_000),
  ];
  for (let round = 0; round < 24; round++) {
    const json = round % 2 === 0;
    const lines = Array.from(
      { length: 3 + Math.floor(random() * 20) },
      () => pick(json ? makers : textMakers)(),
    );
    const eols = lines.map(() => pick(["\n", "\r\n"]));
    let text = lines.map((line, i) => line + eols[i]).join("");
    if (random() < 0.3) text = text.replace(/\r?\n$/, "");
    {
      const chunk = pick([1 + Math.floor(random() * 5000), 65_536, text.length]);
      const bufferSize = pick([64, 4096, 256 * 1024]);
      const parts: Uint8Array[] = [];
      const data = encoder.encode(text);
      for await (const batch of frameLines(chunked(data, chunk), { json, bufferSize })) {
        parts.push(batch.data.slice());
      }
      const got = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const part of parts) {
        got.set(part, at);
        at += part.length;
      }
      const expected = expectedFrames(text, json);
      assert.ok(
        got.length === expected.length && got.every((b, i) => b === expected[i]),
        `round ${round}, json ${json}, chunks of ${chunk}, buffer ${bufferSize}`,
      );
    }
  }
});

Deno.test("frameLines() with json refuses string lines that only look simple", async () => {
  const x = "x".repeat(100_000);
  for (
    const bad of [
      '"a\\qb"',
      '"raw\ttab"',
      '"open',
      '"a"b"',
      '"a\u0000"',
      "'single'",
      `"${x}\t"`,
      `"${x}"x"`,
      `"${x}`,
      `${x}"`,
      `"${x}\\q"`,
      `"${x}\r\r"`,
    ]
  ) {
    const input = `"ok"\n${bad}\n"after"\n`;
    for (const chunk of [1, 7, input.length]) {
      const { values, error } = await send(input, { json: true, chunk });
      assert.deepEqual(values, ["ok"], bad.slice(0, 20));
      assert.ok(error instanceof SyntaxError, bad.slice(0, 20));
      assert.match(error.message, /^Cannot send line 2: it is not valid JSON \(/);
    }
  }
});

Deno.test("frameLines() names a long line that is not UTF-8 after sending the lines before it", async () => {
  const long = encoder.encode('"' + "y".repeat(100_000) + '"\n');
  const bad = new Uint8Array([...encoder.encode('"' + "z".repeat(70_000)), 0xff, 0x22, 0x0a]);
  const input = new Uint8Array([...long, ...encoder.encode('"short"\n'), ...bad, ...long]);
  for (const chunk of [4096, input.length]) {
    for (const json of [true, false]) {
      const { values, error } = await send(input, { json, chunk });
      assert.equal(values.length, 2);
      assert.ok(error instanceof SyntaxError);
      assert.equal(error.message, "Cannot send line 3: it is not valid UTF-8");
    }
  }
});

Deno.test("frameLines() frames 16 MiB of short lines read at once", async () => {
  // One run of a regular expression over all of them would overflow its stack.
  const lines = Array.from({ length: 500_000 }, (_, i) => `message ${String(i).padStart(24)}`);
  for (const json of [true, false]) {
    const input = encoder.encode(lines.map((l) => (json ? `"${l}"` : l) + "\n").join(""));
    let messages = 0;
    for await (
      const batch of frameLines(chunked(input, input.length), { json, bufferSize: input.length })
    ) {
      messages += batch.messages;
    }
    assert.equal(messages, lines.length);
  }
});

Deno.test("frameLines() with json accepts exactly the lines JSON.parse accepts", async () => {
  // Seeded: lines built from JSON's pieces at random, and valid flat texts
  // with one character changed, each between two valid lines.
  let seed = 10;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const pieces = [
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    '"',
    '"a"',
    '"\\u00e9"',
    "\\",
    "u",
    "0",
    "1",
    "9",
    "-",
    ".",
    "e",
    "E",
    "+",
    "true",
    "false",
    "null",
    "nul",
    " ",
    "\t",
    "x",
    "\x01",
    "\x7f",
    "/",
    "n",
    '"\\n"',
    '"\\x"',
    '"k":',
    "é",
    "🙂",
    "\u2028",
    "\ufeff",
    "\u00a0",
    '"ü"',
    "\r",
    "01",
    "1.",
    ".5",
    "1e",
    "{}",
    "[]",
  ];
  const flat = () =>
    JSON.stringify(
      pick([
        { a: 1, b: "two\n", c: [true, null] },
        [1.5e-7, -0, "\u0001", "\\"],
        { "": -12.25, q: '"', f: false, "ключ": "значение 🙂" },
        "a string",
        -3e21,
      ]),
      null,
      pick([undefined, 1]),
    ).replaceAll("\n", " ");
  const candidates: string[] = [];
  for (let i = 0; i < 1500; i++) {
    candidates.push(
      Array.from({ length: 1 + Math.floor(random() * 8) }, () => pick(pieces)).join(""),
    );
    const valid = flat();
    const at = Math.floor(random() * valid.length);
    const change = pick(["", pick(pieces), pick(pieces) + valid[at]]);
    candidates.push(valid.slice(0, at) + change + valid.slice(at + 1), valid);
  }
  for (const candidate of candidates) {
    if (candidate.includes("\n")) continue;
    let parses = true;
    try {
      JSON.parse(candidate);
    } catch {
      parses = false;
    }
    // Blank is only what JSON calls whitespace (a CR before the LF is dropped).
    const blank = /^[ \t\r]*$/.test(candidate);
    const input = encoder.encode(`"before"\n${candidate}\n"after"\n`);
    let messages = 0;
    let error: Error | undefined;
    try {
      for await (const batch of frameLines(chunked(input, input.length), { json: true })) {
        messages += batch.messages;
      }
    } catch (e) {
      error = e as Error;
    }
    const what = JSON.stringify(candidate);
    if (blank || parses) {
      assert.equal(error, undefined, what);
      assert.equal(messages, blank ? 2 : 3, what);
    } else {
      assert.equal(messages, 1, what);
      assert.match(error?.message ?? "", /^Cannot send line 2: it is not valid JSON/, what);
    }
  }
});

Deno.test("frameLines() refuses a line over maxBytes for its length, however the input is split", async () => {
  const maxBytes = 100_000;
  const long = 150_000;
  const lines = [
    " ".repeat(long), // blank: skipped with json when short
    "[" + "1,".repeat(long / 2) + "]", // not JSON
    "x".repeat(long), // not JSON; a plain string without json
  ];
  for (const json of [true, false]) {
    for (const line of lines) {
      const input = new Uint8Array([
        ...encoder.encode('"ok"\n' + line.slice(0, 1000)),
        0xff, // not UTF-8 either, for the last case
        ...encoder.encode(line.slice(1000) + "\n[1]\n"),
      ]);
      for (const bytes of [encoder.encode(`"ok"\n${line}\n[1]\n`), input]) {
        for (const chunk of [bytes.length, 120_000, 4096]) {
          const { values, error } = await send(bytes, { json, maxBytes, chunk });
          assert.deepEqual(values, [json ? "ok" : '"ok"'], `json ${json}, chunks of ${chunk}`);
          assert.ok(error instanceof RangeError, `json ${json}, chunks of ${chunk}: ${error}`);
          assert.match(error.message, /^Cannot send line 2: /);
        }
      }
    }
  }
});

Deno.test("frameLines() frames long and short lines, and names the first bad one, as a line-by-line check does, read slowly in any pieces", async () => {
  // Seeded. Long lines are checked as they arrive and read on while a frame
  // is written: a reader that answers late, in pieces that split CR from LF,
  // and a consumer that takes its time, against the plain way's frames and
  // the checker's words for the first bad line.
  let seed = 22;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const long = (n: number) => "x".repeat(Math.floor(n * (0.5 + random())));
  const good = [
    () => JSON.stringify(`short ${random()}`),
    () => JSON.stringify(long(100_000)),
    () => JSON.stringify(long(300_000)),
    () => JSON.stringify({ k: long(70_000), n: 1 }),
    () => JSON.stringify("é" + long(70_000) + "\t"),
    () => "",
    () => "plain text",
  ];
  const bad = [
    () => '"' + long(80_000) + "\u0001" + long(80_000) + '"',
    () => '"' + long(80_000),
    () => '"' + long(200_000) + '" x',
    () => "{" + long(70_000),
    () => '"' + long(90_000) + '\\q"',
  ];
  const decoder = new TextDecoder();
  for (let round = 0; round < 30; round++) {
    const json = round % 2 === 0;
    const lines = Array.from({ length: 2 + Math.floor(random() * 10) }, () => pick(good)());
    if (random() < 0.6) lines.splice(Math.floor(random() * lines.length), 0, pick(bad)());
    const eols = lines.map(() => pick(["\n", "\r\n"]));
    let text = lines.map((line, i) => line + eols[i]).join("");
    if (random() < 0.3) text = text.replace(/\r?\n$/, "");
    const data = encoder.encode(text);
    // What the plain way sends, and the error it stops at.
    const want: string[] = [];
    let wantError: string | undefined;
    for (let [n, line] of text.replace(/\r?\n$/, "").split("\n").entries()) {
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (json && line.trim() === "") continue;
      if (json) {
        try {
          JSON.parse(line);
        } catch {
          const why = new JsonChecker().check(encoder.encode(line));
          wantError = `Cannot send line ${n + 1}: it is not valid JSON (${why})`;
          break;
        }
      }
      const payload = json ? line : JSON.stringify(line);
      want.push(`${encoder.encode(payload).length}\n${payload}`);
    }
    // A reader that answers after a timer, in pieces of random sizes.
    let offset = 0;
    const reader = {
      async read(p: Uint8Array): Promise<number | null> {
        if (random() < 0.3) await new Promise((resolve) => setTimeout(resolve, 0));
        if (offset >= data.length) return null;
        const size = pick([1, 2, 7, 4096, 65_536, 1 << 20]);
        const n = Math.min(size, p.length, data.length - offset);
        p.set(data.subarray(offset, offset + n));
        offset += n;
        return n;
      },
    };
    const got: string[] = [];
    let error: Error | undefined;
    try {
      const bufferSize = pick([64, 4096, 256 * 1024]);
      for await (const batch of frameLines(reader, { json, bufferSize })) {
        got.push(decoder.decode(batch.data));
        if (random() < 0.5) await new Promise((resolve) => setTimeout(resolve, 0));
      }
    } catch (e) {
      error = e as Error;
    }
    const where = `round ${round}, json ${json}`;
    assert.equal(got.join(""), want.join(""), where);
    assert.equal(error?.message, wantError, where);
  }
});

Deno.test("frameLines() reads a line over maxBytes no further than the limit, wherever the buffer's memory pages end", async () => {
  // The read buffer is WebAssembly memory, in 64 KiB pages: HEADROOM +
  // maxBytes + 2 bytes round up to 327,680 here. A line of 300,100 bytes
  // must be refused for its length once 300,002 of it are read, as with the
  // default 64 MiB, and never read whole into the spare bytes (then decoded,
  // a 64 MiB line of them took 570 MB).
  const maxBytes = 300_000;
  for (const json of [false, true]) {
    const data = encoder.encode('"ok"\n' + "x".repeat(maxBytes + 100) + "\n[1]\n");
    let read = 0;
    const reader = chunked(data, data.length);
    const counting = {
      async read(p: Uint8Array): Promise<number | null> {
        const n = await reader.read(p);
        read += n ?? 0;
        return n;
      },
    };
    let error: Error | undefined;
    try {
      for await (const _ of frameLines(counting, { json, maxBytes })) {
        // Only the first line is sent.
      }
    } catch (e) {
      error = e as Error;
    }
    assert.ok(error instanceof RangeError, `json ${json}: ${error}`);
    assert.equal(
      error.message,
      `Cannot send line 2: it is longer than the limit of ${maxBytes} bytes`,
    );
    assert.ok(read <= 5 + maxBytes + 2 + 16, `json ${json}: read ${read} bytes`);
  }
});

/**
 * What `frameLines` must send for `data`, one line at a time on its bytes:
 * its frames, and the class and line of the error it stops at.
 */
function referenceFrames(
  data: Uint8Array,
  json: boolean,
  maxBytes: number,
): { frames: Uint8Array; error?: string } {
  const strict = new TextDecoder("utf-8", { fatal: true });
  const frames: Uint8Array[] = [];
  const add = (payload: Uint8Array) => frames.push(encoder.encode(`${payload.length}\n`), payload);
  let start = 0;
  for (let n = 1; start < data.length; n++) {
    let end = data.indexOf(0x0a, start);
    const next = end < 0 ? data.length : end + 1;
    if (end < 0) end = data.length;
    if (end > start && data[end - 1] === 0x0d) end--;
    const bytes = data.subarray(start, end);
    start = next;
    const stop = (kind: string) => ({ frames: concat(frames), error: `${kind} ${n}` });
    if (bytes.length > maxBytes) return stop("RangeError");
    let line: string;
    try {
      line = strict.decode(bytes);
    } catch {
      return stop("SyntaxError");
    }
    if (json) {
      if (/^[ \t\r]*$/.test(line)) continue;
      try {
        JSON.parse(line);
      } catch {
        return stop("SyntaxError");
      }
      add(bytes);
    } else {
      const payload = encoder.encode(JSON.stringify(line));
      if (payload.length > maxBytes) return stop("RangeError");
      add(payload);
    }
  }
  return { frames: concat(frames) };
}

Deno.test("frameLines() frames random lines of any bytes as a line-by-line reference does, and refuses the same line, however read (seeded)", async () => {
  // Lines at and around the in-place (64 KiB) and maxBytes sizes, invalid
  // UTF-8 (overlong, surrogate, truncated), CR alone and doubled, U+2028,
  // strings that only look plain, escapes: read in pieces of 1 to 7 bytes,
  // up to 70 KB or whole, sometimes late, by a consumer that sometimes
  // takes its time.
  let seed = 2026;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const sizes = [65_534, 65_535, 65_536, 65_537, 100_000, 131_072];
  const bytes = (text: string) => encoder.encode(text);
  const pieces: (() => Uint8Array)[] = [
    () => bytes("hello world"),
    () => bytes('{"a":1,"b":[1,2,"x"]}'),
    () => bytes('"abc'),
    () => bytes('"a\\"'),
    () => bytes('"\\u00"'),
    () => bytes('"x\\n\\u00e9"'),
    () => bytes("héllo 🙂"),
    () => bytes("\u2028\u2029"),
    () => new Uint8Array([0xc0, 0xaf]),
    () => new Uint8Array([0xed, 0xa0, 0x80]),
    () => new Uint8Array([0xe2, 0x82]),
    () => bytes("  \t "),
    () => bytes("\r"),
    () => bytes("\x01\x7f"),
    () => bytes("x".repeat(pick(sizes))),
    () => bytes('"' + "y".repeat(pick(sizes)) + '"'),
    () => bytes('["' + "z".repeat(pick(sizes)) + '\\u2028"]'),
    () => bytes(" ".repeat(pick(sizes))),
    () => bytes("p".repeat(Math.floor(random() * 200))),
  ];
  for (let round = 0; round < 60; round++) {
    const parts: Uint8Array[] = [];
    const lines = 1 + Math.floor(random() * 6);
    for (let l = 0; l < lines; l++) {
      for (let p = Math.floor(random() * 3); p > 0; p--) parts.push(pick(pieces)());
      if (l < lines - 1 || random() < 0.5) parts.push(bytes(pick(["\n", "\r\n", "\r\r\n"])));
    }
    const data = concat(parts);
    const json = random() < 0.5;
    const maxBytes = pick([64 * 1024 * 1024, 65_536, 65_537, 100, 100_002]);
    const size = pick([1, 7, 70_000, data.length + 1]);
    const late = random() < 0.5;
    let offset = 0;
    const reader = {
      async read(p: Uint8Array): Promise<number | null> {
        // A timer a read, rarely for small pieces: they are many.
        if (late && random() < (size < 100 ? 0.001 : 0.2)) {
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
        if (offset >= data.length) return null;
        const n = Math.min(1 + Math.floor(random() * size), p.length, data.length - offset);
        p.set(data.subarray(offset, offset + n));
        offset += n;
        return n;
      },
    };
    const got: Uint8Array[] = [];
    let error: string | undefined;
    try {
      for await (const batch of frameLines(reader, { json, maxBytes })) {
        got.push(batch.data.slice());
        if (late && random() < 0.3) await new Promise((resolve) => setTimeout(resolve, 0));
      }
    } catch (e) {
      const line = /^Cannot send line (\d+): /.exec((e as Error).message)?.[1];
      error = `${(e as Error).constructor.name} ${line}`;
    }
    const want = referenceFrames(data, json, maxBytes);
    const where = `round ${round}, json ${json}, maxBytes ${maxBytes}, pieces up to ${size}`;
    assert.equal(error, want.error, where);
    const sent = concat(got);
    assert.ok(
      sent.length === want.frames.length && sent.every((b, i) => b === want.frames[i]),
      where,
    );
  }
});

Deno.test("frameLines() frames a long line read on by plain bytes up to an escape, a non-ASCII byte, a CR or its LF at a read boundary as one read does", async () => {
  const chunk = 64 * 1024;
  const frames = async (data: Uint8Array, options: FrameLinesOptions & { chunk?: number }) => {
    const parts: Uint8Array[] = [];
    let error = "";
    const reader = chunked(data, options.chunk ?? data.length);
    try {
      for await (const batch of frameLines(reader, options)) parts.push(batch.data.slice());
    } catch (e) {
      error = `${(e as Error).name}: ${(e as Error).message}`;
    }
    return { bytes: concat(parts), error };
  };
  const specials = [
    "\\n",
    '\\"',
    "\\u0041",
    "\\x",
    "\u00e9",
    "\u2028",
    "\x7f",
    "\t",
    "\r",
    '"',
    "\r\n",
  ];
  for (const json of [false, true]) {
    for (const special of specials) {
      for (const shift of [-1, 0, 1]) {
        // Plain bytes over two reads, then the byte at the third's start.
        const plain = "p".repeat(2 * chunk - (json ? 1 : 0) + shift);
        const line = json ? `"${plain}${special}tail"` : `${plain}${special}tail`;
        const data = encoder.encode(`${line}\nshort\n"${"q".repeat(3 * chunk)}"\r\n`);
        const options = { json, maxBytes: 3 * chunk + 2 };
        const whole = await frames(data, options);
        const split = await frames(data, { ...options, chunk });
        const label = `${json} ${JSON.stringify(special)} ${shift}`;
        assert.equal(split.error, whole.error, label);
        assert.deepEqual(split.bytes, whole.bytes, label);
      }
    }
  }
});
