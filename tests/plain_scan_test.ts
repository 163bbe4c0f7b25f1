import assert from "node:assert/strict";
import { indexOfByte, lastIndexOfByte, ScanBuffer, skipPlain } from "../lib/plain_scan.ts";

/** Whether a JSON string carries byte `b` as it is, as skipPlain skips it. */
function isPlain(b: number): boolean {
  return b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c;
}

/** A seeded generator, so that a failure repeats. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
}

/** Plain bytes with `stops` other bytes (or LFs) at random places, at a random offset in a buffer. */
function sample(next: () => number, length: number, stops: number[]): Uint8Array {
  const offset = Math.floor(next() * 8);
  const bytes = new Uint8Array(offset + length).subarray(offset);
  for (let i = 0; i < length; i++) bytes[i] = 0x20 + Math.floor(next() * 0x5f);
  for (let i = 0; i < length; i++) if (!isPlain(bytes[i])) bytes[i] = 0x78;
  for (let k = 0; k < stops.length && length > 0; k++) {
    bytes[Math.floor(next() * length)] = stops[k];
  }
  return bytes;
}

const LENGTHS = [0, 1, 15, 16, 17, 1023, 1024, 1025, 4096, 65535, 65536, 65537, 65551, 200_000];
const STOPS = [0x00, 0x0a, 0x1f, 0x22, 0x5c, 0x7f, 0x80, 0xc3, 0xff];

Deno.test("skipPlain stops within 15 bytes before the first byte a JSON string must not carry as it is", () => {
  const next = random(1);
  for (const length of LENGTHS) {
    for (let round = 0; round < 12; round++) {
      const stops = round === 0 ? [] : [STOPS[round % STOPS.length]];
      if (round > 8) stops.push(STOPS[(round * 5) % STOPS.length]);
      const bytes = sample(next, length, stops);
      const from = length > 40 ? Math.floor(next() * 20) : 0;
      let first = from;
      while (first < length && isPlain(bytes[first])) first++;
      const got = skipPlain(bytes, from, length);
      assert.ok(got >= from && got <= first, `length ${length}: ${got} past ${first}`);
      assert.ok(
        first - got < 16,
        `length ${length}: stopped at ${got}, 16 or more before ${first}`,
      );
    }
  }
});

Deno.test("indexOfByte and lastIndexOfByte agree with Uint8Array's own search", () => {
  const next = random(2);
  for (const length of LENGTHS) {
    for (let round = 0; round < 6; round++) {
      const bytes = sample(next, length, Array(round).fill(0x0a));
      const from = Math.floor(next() * Math.min(length, 70_000));
      assert.equal(indexOfByte(bytes, 0x0a, from), bytes.indexOf(0x0a, from), `length ${length}`);
      assert.equal(indexOfByte(bytes, 0x0a), bytes.indexOf(0x0a), `length ${length}`);
      assert.equal(lastIndexOfByte(bytes, 0x0a), bytes.lastIndexOf(0x0a), `length ${length}`);
    }
  }
  // The byte in the last and the first place of a window, and nowhere.
  const bytes = new Uint8Array(3 * 65536);
  for (const at of [0, 15, 16, 65535, 65536, 131071, bytes.length - 1]) {
    bytes.fill(0);
    bytes[at] = 0x0a;
    assert.equal(indexOfByte(bytes, 0x0a), at);
    assert.equal(lastIndexOfByte(bytes, 0x0a), at);
  }
  bytes.fill(0);
  assert.equal(indexOfByte(bytes, 0x0a), -1);
  assert.equal(lastIndexOfByte(bytes, 0x0a), -1);
});

Deno.test("ScanBuffer scans its bytes in place as skipPlain, indexOfByte and lastIndexOfByte do on a copy, before and after it grows", () => {
  const next = random(3);
  const buffer = new ScanBuffer({ size: 4096 });
  for (const size of [4096, 70_000, 300_000, 1_100_000]) {
    const bytes = buffer.grow(size);
    assert.ok(bytes.length >= size);
    for (let round = 0; round < 8; round++) {
      const length = Math.floor(next() * (bytes.length - 64));
      const offset = Math.floor(next() * 64);
      const copy = sample(next, length, round === 0 ? [] : [STOPS[round % STOPS.length], 0x0a]);
      bytes.set(copy, offset);
      const view = bytes.subarray(offset, offset + length);
      const from = Math.floor(next() * Math.min(length, 3000));
      const stop = skipPlain(view, from, length);
      let first = from;
      while (first < length && isPlain(view[first])) first++;
      assert.ok(stop >= from && stop <= first && first - stop < 16, `size ${size}: ${stop}`);
      assert.equal(indexOfByte(view, 0x0a, from), copy.indexOf(0x0a, from), `size ${size}`);
      assert.equal(lastIndexOfByte(view, 0x0a), copy.lastIndexOf(0x0a), `size ${size}`);
    }
  }
});
