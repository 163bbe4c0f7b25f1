import assert from "node:assert/strict";
import {
  decodeFrames,
  encodeFrame,
  encodeJsonFrame,
  type Frame,
  FrameError,
  type FrameErrorCode,
  FrameReader,
  type FrameReaderOptions,
  MAX_PAYLOAD_BYTES,
} from "../lib/framing.ts";

import { chunks, concat } from "./bytes.ts";

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

async function decodeAll(
  parts: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options?: FrameReaderOptions,
): Promise<{ frames: Frame[]; error?: FrameError }> {
  const frames: Frame[] = [];
  try {
    for await (const frame of decodeFrames(parts, options)) frames.push(frame);
  } catch (error) {
    if (!(error instanceof FrameError)) throw error;
    return { frames, error };
  }
  return { frames };
}

async function assertFrameError(
  data: Uint8Array,
  code: FrameErrorCode,
  message: RegExp,
  options?: FrameReaderOptions,
): Promise<void> {
  const { frames, error } = await decodeAll([data], options);
  assert.deepEqual(frames, []);
  assert.ok(error, `expected a ${code} error`);
  assert.equal(error.code, code);
  assert.match(error.message, message);
}

Deno.test("encodeFrame() writes the seed's bytes for Hello World!", () => {
  // The seed's capture: "14\n" then the 14 bytes of the JSON string.
  assert.deepEqual(encodeFrame("Hello World!"), bytes('14\n"Hello World!"'));
});

Deno.test("encodeFrame() counts UTF-8 bytes, not characters", () => {
  assert.deepEqual(encodeFrame("héllo"), bytes('8\n"héllo"'));
  assert.deepEqual(encodeFrame("🙂"), bytes('6\n"🙂"'));
  assert.deepEqual(encodeFrame({ a: [1, null] }), bytes('14\n{"a":[1,null]}'));
});

Deno.test("encodeFrame() refuses values without JSON text and payloads over maxBytes", () => {
  assert.throws(() => encodeFrame(undefined), TypeError);
  assert.throws(() => encodeFrame(() => 1), TypeError);
  assert.throws(() => encodeFrame("x".repeat(10), { maxBytes: 11 }), RangeError);
  assert.doesNotThrow(() => encodeFrame("x".repeat(10), { maxBytes: 12 }));
});

Deno.test("encodeJsonFrame() keeps the text as given and refuses text that is not JSON", () => {
  assert.deepEqual(encodeJsonFrame(' {"a": 1e400} '), bytes('14\n {"a": 1e400} '));
  assert.throws(() => encodeJsonFrame("{a:1}"), SyntaxError);
  assert.throws(() => encodeJsonFrame(""), SyntaxError);
});

Deno.test("decodeFrames() reads several frames from one chunk", async () => {
  const data = concat([encodeFrame("Hello World!"), encodeFrame({ n: 1 }), encodeFrame([true])]);
  const { frames, error } = await decodeAll([data]);
  assert.equal(error, undefined);
  assert.deepEqual(frames.map((f) => f.value), ["Hello World!", { n: 1 }, [true]]);
  assert.deepEqual(frames.map((f) => f.bytes), [14, 7, 6]);
  assert.deepEqual(frames.map((f) => f.text), ['"Hello World!"', '{"n":1}', "[true]"]);
});

Deno.test("decodeFrames() reads the seed's two writes and one byte at a time", async () => {
  const seed = [bytes("14\n"), bytes('"Hello World!"')];
  assert.deepEqual((await decodeAll(seed)).frames.map((f) => f.value), ["Hello World!"]);
  const data = concat([encodeFrame("héllo wörld"), encodeFrame({ "ключ": "значение" })]);
  const { frames, error } = await decodeAll(chunks(data, 1));
  assert.equal(error, undefined);
  assert.deepEqual(frames.map((f) => f.value), ["héllo wörld", { "ключ": "значение" }]);
});

Deno.test("decodeFrames() gives the same frames for a split at every position", async () => {
  const values = ["Hello World!", "é🙂", { a: 1 }, 42, "x".repeat(120)];
  const data = concat(values.map((v) => encodeFrame(v)));
  for (let at = 0; at <= data.length; at++) {
    for (const bufferSize of [8, 64, 4096]) {
      const { frames, error } = await decodeAll(
        [data.subarray(0, at), data.subarray(at)],
        { bufferSize },
      );
      assert.equal(error, undefined, `split at ${at}, buffer ${bufferSize}`);
      assert.deepEqual(frames.map((f) => f.value), values, `split at ${at}, buffer ${bufferSize}`);
    }
  }
});

Deno.test("decodeFrames() reads multi-digit lengths of multi-byte payloads", async () => {
  const value = "ü".repeat(5000) + "🙂".repeat(300); // 10,000 + 1,200 bytes + quotes
  const frame = encodeFrame(value);
  assert.equal(new TextDecoder().decode(frame.subarray(0, 6)), "11202\n");
  for (const size of [1, 7, 1000, frame.length]) {
    const { frames } = await decodeAll(chunks(frame, size), { bufferSize: 1024 });
    assert.deepEqual(frames.map((f) => [f.value, f.bytes]), [[value, 11202]], `chunks of ${size}`);
  }
});

Deno.test("decodeFrames() reads payloads larger than its buffer", async () => {
  const big = "y".repeat(100_000);
  const data = concat([encodeFrame(1), encodeFrame(big), encodeFrame(2), encodeFrame(big)]);
  for (const size of [1000, 65536, data.length]) {
    const { frames, error } = await decodeAll(chunks(data, size), { bufferSize: 4096 });
    assert.equal(error, undefined);
    assert.deepEqual(frames.map((f) => f.value), [1, big, 2, big], `chunks of ${size}`);
  }
});

Deno.test("decodeFrames() accepts leading zeros and a length of ten digits", async () => {
  const { frames } = await decodeAll([bytes("0000000002\n{}003\n[1]")]);
  assert.deepEqual(frames.map((f) => f.value), [{}, [1]]);
});

Deno.test("decodeFrames() refuses length prefixes that are not 1 to 10 digits then LF", async () => {
  await assertFrameError(bytes("\n{}"), "INVALID_PREFIX", /length prefix is empty/);
  await assertFrameError(bytes("+2\n{}"), "INVALID_PREFIX", /"\+2" is not decimal digits/);
  await assertFrameError(bytes("-2\n{}"), "INVALID_PREFIX", /"-2" is not decimal digits/);
  await assertFrameError(bytes(" 2\n{}"), "INVALID_PREFIX", /" 2" is not decimal digits/);
  await assertFrameError(bytes("2 \n{}"), "INVALID_PREFIX", /"2 " is not decimal digits/);
  await assertFrameError(bytes("1e3\n"), "INVALID_PREFIX", /"1e3" is not decimal digits/);
  await assertFrameError(bytes("0x10\n"), "INVALID_PREFIX", /"0x10" is not decimal digits/);
  await assertFrameError(
    bytes("2\r\n{}"),
    "INVALID_PREFIX",
    /"2\\r" ends with CR: the length must end with a bare LF/,
  );
  await assertFrameError(bytes("12345678901\n"), "INVALID_PREFIX", /more than 10 digits/);
  await assertFrameError(
    bytes('{"a":1}'),
    "INVALID_PREFIX",
    /not decimal digits \(the peer seems to send JSON without a length prefix\)/,
  );
  await assertFrameError(new Uint8Array([0x31, 0xff, 0x0a]), "INVALID_PREFIX", /"1\\xff"/);
});

Deno.test("decodeFrames() refuses an eleventh digit before the payload arrives", async () => {
  // No LF after ten digits: an error as soon as the eleventh byte is seen.
  await assertFrameError(bytes("99999999999"), "INVALID_PREFIX", /more than 10 digits/);
});

Deno.test("decodeFrames() refuses a declared length over maxBytes before reading the payload", async () => {
  // Only the prefix arrives: the error is the size, not a truncation, so
  // nothing waited for (or allocated) the declared size.
  await assertFrameError(
    bytes("9999999999\n"),
    "TOO_LARGE",
    /declared length 9999999999 exceeds the limit of 67108864 bytes/,
  );
  await assertFrameError(bytes("11\n"), "TOO_LARGE", /limit of 10 bytes/, { maxBytes: 10 });
  const { frames } = await decodeAll([bytes('10\n"12345678"')], { maxBytes: 10 });
  assert.equal(frames.length, 1);
});

Deno.test("FrameReader() refuses a maxBytes it cannot honour", () => {
  assert.throws(() => new FrameReader([], { maxBytes: 0 }), RangeError);
  assert.throws(() => new FrameReader([], { maxBytes: MAX_PAYLOAD_BYTES + 1 }), RangeError);
});

Deno.test("decodeFrames() refuses payloads that are not UTF-8 or not JSON", async () => {
  const badUtf8 = concat([bytes("4\n"), new Uint8Array([0x22, 0xc3, 0x28, 0x22])]);
  await assertFrameError(badUtf8, "INVALID_UTF8", /payload of 4 bytes is not valid UTF-8/);
  const surrogate = concat([bytes("5\n"), new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])]);
  await assertFrameError(surrogate, "INVALID_UTF8", /not valid UTF-8/);
  await assertFrameError(bytes("5\nhello"), "INVALID_JSON", /payload is not valid JSON/);
  await assertFrameError(bytes("0\n"), "INVALID_JSON", /payload is empty/);
  await assertFrameError(bytes("3\n\ufeff1"), "INVALID_JSON", /not valid JSON/);
  await assertFrameError(bytes("4\n{}{}"), "INVALID_JSON", /not valid JSON/);
  // A real U+FFFD in the payload is valid.
  const { frames } = await decodeAll([encodeFrame("\ufffd")]);
  assert.deepEqual(frames.map((f) => f.value), ["\ufffd"]);
});

Deno.test("decodeFrames() names how many bytes of how many arrived when the stream ends", async () => {
  await assertFrameError(bytes('14\n"Hello'), "TRUNCATED", /ended after 6 of 14 payload bytes/);
  await assertFrameError(bytes("14"), "TRUNCATED", /ended inside the length prefix "14"/);
  const big = encodeFrame("z".repeat(5000));
  await assertFrameError(big.subarray(0, 3000), "TRUNCATED", /after 2995 of 5002 payload bytes/, {
    bufferSize: 1024,
  });
});

Deno.test("decodeFrames() yields every valid frame before the first bad one", async () => {
  const good = [encodeFrame("a"), encodeFrame("b"), encodeFrame("é")];
  const bads: [Uint8Array, FrameErrorCode, RegExp][] = [
    [bytes("x\n"), "INVALID_PREFIX", /length prefix "x" is not decimal digits$/],
    [bytes("3\n{x}"), "INVALID_JSON", /payload is not valid JSON/],
    [bytes("99\n{}"), "TRUNCATED", /after 2 of 99 payload bytes$/],
    [bytes("9"), "TRUNCATED", /inside the length prefix "9"$/],
    [new Uint8Array([0x31, 0x0a, 0xff]), "INVALID_UTF8", /payload of 1 byte is not valid UTF-8$/],
  ];
  for (const [bad, code, reason] of bads) {
    // A truncated frame ends the stream; after any other, a frame never yielded.
    const after = code === "TRUNCATED" ? [] : [encodeFrame("never")];
    const data = concat([...good, bad, ...after]);
    for (const size of [1, 3, data.length]) {
      const { frames, error } = await decodeAll(chunks(data, size));
      assert.deepEqual(frames.map((f) => f.value), ["a", "b", "é"], `${code}, chunks of ${size}`);
      assert.equal(error?.code, code);
      assert.match(error.message, /^Cannot read frame 4 \(stream byte 16\): /);
      assert.match(error.message, reason);
      assert.equal(error.offset, 16);
    }
  }
});

Deno.test("FrameReader.readBatch() returns each read's frames at once and keeps failing", async () => {
  const data = concat([encodeFrame(1), encodeFrame(2), bytes("x")]);
  const reader = new FrameReader([data]);
  assert.deepEqual((await reader.readBatch())?.map((f) => f.value), [1, 2]);
  assert.equal(reader.frames, 2);
  await assert.rejects(reader.readBatch(), FrameError);
  await assert.rejects(reader.readBatch(), FrameError);
});

Deno.test("FrameReader.partial tells whether a frame is half received", async () => {
  const parts = [bytes('5\n"ab'), bytes('c"')];
  let served = 0;
  const reader = new FrameReader({
    read(p: Uint8Array): Promise<number | null> {
      const part = parts[served++];
      if (!part) return Promise.resolve(null);
      p.set(part);
      return Promise.resolve(part.length);
    },
  });
  assert.equal(reader.partial, false);
  const batch = await reader.readBatch();
  assert.deepEqual(batch?.map((f) => f.value), ["abc"]);
  assert.equal(served, 2);
  assert.equal(reader.partial, false);
  assert.equal(await reader.readBatch(), null);
});

Deno.test("decodeFrames() reads a ReadableStream and releases it when stopped early", async () => {
  const data = concat([encodeFrame(1), encodeFrame(2)]);
  const stream = ReadableStream.from(chunks(data, 2));
  for await (const frame of decodeFrames(stream)) {
    assert.equal(frame.value, 1);
    break;
  }
  assert.equal(stream.locked, false);
});
