import assert from "node:assert/strict";
import { decodeFrames, encodeFrame, FrameError, type FrameErrorCode } from "../lib/framing.ts";
import { receive } from "../lib/receiver.ts";

// Seeded, so that a failure can be replayed: FUZZ_SEED=<seed> deno task test
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? Date.now() % 2 ** 31);
const CASES = 3000;

/** mulberry32: a small, good enough seeded generator. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LF = 0x0a;
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The wire format as its specification reads, as plainly as possible: the oracle. */
function reference(
  bytes: Uint8Array,
  maxBytes: number,
): { values: unknown[]; code?: FrameErrorCode } {
  const values: unknown[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    let digits = 0;
    while (true) {
      if (pos + digits === bytes.length) return { values, code: "TRUNCATED" };
      const b = bytes[pos + digits];
      if (b === LF) {
        if (digits === 0) return { values, code: "INVALID_PREFIX" };
        break;
      }
      if (b < 0x30 || b > 0x39) return { values, code: "INVALID_PREFIX" };
      if (++digits > 10) return { values, code: "INVALID_PREFIX" };
    }
    const length = Number(new TextDecoder().decode(bytes.subarray(pos, pos + digits)));
    if (length > maxBytes) return { values, code: "TOO_LARGE" };
    const start = pos + digits + 1;
    if (start + length > bytes.length) return { values, code: "TRUNCATED" };
    let text: string;
    try {
      text = strict.decode(bytes.subarray(start, start + length));
    } catch {
      return { values, code: "INVALID_UTF8" };
    }
    try {
      values.push(JSON.parse(text));
    } catch {
      return { values, code: "INVALID_JSON" };
    }
    pos = start + length;
  }
  return { values };
}

function randomString(next: () => number): string {
  const pool = ["a", "Z", "0", " ", '"', "\\", "\n", "é", "ß", "€", "日", "🙂", "\u2028", "\ufffd"];
  let s = "";
  const n = Math.floor(next() * 12);
  for (let i = 0; i < n; i++) s += pool[Math.floor(next() * pool.length)];
  return s;
}

function randomValue(next: () => number, depth = 0): unknown {
  const kind = Math.floor(next() * (depth > 2 ? 4 : 6));
  switch (kind) {
    case 0:
      return randomString(next);
    case 1:
      return Math.floor(next() * 2e6) - 1e6;
    case 2:
      return [true, false, null][Math.floor(next() * 3)];
    case 3:
      return next() * 1000;
    case 4:
      return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: Math.floor(next() * 4) }, () => [
          randomString(next),
          randomValue(next, depth + 1),
        ]),
      );
  }
}

/** A frame, valid or spoiled in one of the ways a broken or hostile peer would. */
function randomFrame(next: () => number): Uint8Array {
  const frame = encodeFrame(randomValue(next));
  const spoil = next();
  if (spoil < 0.75) return frame;
  const bytes = [...frame];
  const at = Math.floor(next() * bytes.length);
  if (spoil < 0.82) bytes[at] = Math.floor(next() * 256); // a flipped byte
  else if (spoil < 0.88) bytes.splice(at, 1); // a lost byte
  else if (spoil < 0.92) bytes.splice(at, 0, Math.floor(next() * 256)); // an extra byte
  else if (spoil < 0.96) bytes.unshift(0x30 + Math.floor(next() * 10)); // a wrong length
  else return crypto.getRandomValues(new Uint8Array(Math.floor(next() * 20))); // noise
  return new Uint8Array(bytes);
}

function randomSplits(bytes: Uint8Array, next: () => number): Uint8Array[] {
  const chunks = [];
  for (let i = 0; i < bytes.length;) {
    const size = 1 + Math.floor(next() * (next() < 0.5 ? 4 : 64));
    chunks.push(bytes.subarray(i, i + size));
    i += size;
  }
  return chunks;
}

Deno.test(`decodeFrames() agrees with the reference decoder on ${CASES} random streams`, async () => {
  const next = random(SEED);
  const seen = new Map<string, number>();
  let decoded = 0;
  for (let c = 0; c < CASES; c++) {
    const frames = Array.from({ length: Math.floor(next() * 8) }, () => randomFrame(next));
    const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let offset = 0;
    for (const frame of frames) {
      stream.set(frame, offset);
      offset += frame.length;
    }
    const maxBytes = next() < 0.2 ? 1 + Math.floor(next() * 40) : 64 * 1024 * 1024;
    const bufferSize = [8, 64, 1024, 256 * 1024][Math.floor(next() * 4)];
    const expected = reference(stream, maxBytes);
    const values: unknown[] = [];
    let code: FrameErrorCode | undefined;
    try {
      for await (const f of decodeFrames(randomSplits(stream, next), { maxBytes, bufferSize })) {
        values.push(f.value);
      }
    } catch (error) {
      if (!(error instanceof FrameError)) {
        throw new Error(`FUZZ_SEED=${SEED} case ${c}: threw ${error} instead of a FrameError`);
      }
      code = error.code;
    }
    const context = `FUZZ_SEED=${SEED} case ${c}, stream ${JSON.stringify([...stream])}`;
    assert.deepEqual(values, expected.values, context);
    assert.equal(code, expected.code, context);
    seen.set(code ?? "clean end", (seen.get(code ?? "clean end") ?? 0) + 1);
    decoded += values.length;
  }
  // The generator reached every outcome, and many valid frames.
  const outcomes = [
    "clean end",
    "INVALID_PREFIX",
    "TOO_LARGE",
    "TRUNCATED",
    "INVALID_UTF8",
    "INVALID_JSON",
  ];
  for (const outcome of outcomes) {
    assert.ok(seen.has(outcome), `FUZZ_SEED=${SEED}: no case ended in ${outcome}`);
  }
  assert.ok(decoded > CASES, `FUZZ_SEED=${SEED}: only ${decoded} valid frames decoded`);
});

Deno.test(`receive() prints exactly what the reference decodes, on ${CASES / 5} random connections`, async () => {
  const next = random(SEED + 1);
  const printed = new Map<string, unknown[]>();
  const ended = new Map<string, { code?: FrameErrorCode; resolve: () => void }>();
  const receiver = receive(null, {
    hostname: "127.0.0.1",
    port: 0,
    maxBytes: 1024 * 1024,
    onMessage: (message) => printed.get(message.peer)?.push(message.value),
    onEvent: (event) => {
      if (event.type !== "close" && event.type !== "error") return;
      const end = ended.get(event.peer!)!;
      if (event.error instanceof FrameError) end.code = event.error.code;
      end.resolve();
    },
  });
  try {
    for (let c = 0; c < CASES / 5; c++) {
      const frames = Array.from({ length: Math.floor(next() * 8) }, () => randomFrame(next));
      if (next() < 0.05) {
        // A frame too large for a connection's buffer: read in pieces of its own.
        frames.splice(Math.floor(next() * (frames.length + 1)), 0, encodeFrame("x".repeat(2e5)));
      }
      const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
      let offset = 0;
      for (const frame of frames) stream.set(frame, offset), offset += frame.length;
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: receiver.addr.port });
      const peer = `127.0.0.1:${conn.localAddr.port}`;
      const values: unknown[] = [];
      printed.set(peer, values);
      const done = new Promise<void>((resolve) => ended.set(peer, { resolve }));
      try {
        for (const chunk of randomSplits(stream, next)) await conn.write(chunk);
        await conn.closeWrite();
      } catch {
        // The receiver closed first, after a bad frame.
      }
      await done;
      conn.close();
      const expected = reference(stream, 1024 * 1024);
      const context = `FUZZ_SEED=${SEED} connection ${c}, stream ${
        JSON.stringify([...stream]).slice(0, 2000)
      }`;
      assert.deepEqual(values, expected.values, context);
      assert.equal(ended.get(peer)!.code, expected.code, context);
    }
  } finally {
    await receiver.shutdown();
  }
});

Deno.test("receive() closes the connection whose onMessage throws, and serves on", async () => {
  const events: string[] = [];
  const seen: unknown[] = [];
  const receiver = receive(null, {
    hostname: "127.0.0.1",
    port: 0,
    maxMemory: 1024 * 1024,
    maxBytes: 1024 * 1024,
    onMessage: (message) => {
      if (String(message.value).startsWith("throw")) throw new Error("the callback refused it");
      seen.push(message.value);
    },
    onEvent: (event) => events.push(event.message),
  });
  try {
    // A large frame (read in pieces, reserved in the budget) whose callback throws.
    const big = encodeFrame("throw".padEnd(200_000, " "));
    for (const frame of [big, encodeFrame("after")]) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: receiver.addr.port });
      await conn.write(frame).catch(() => {});
      await conn.closeWrite().catch(() => {});
      await conn.read(new Uint8Array(1)).catch(() => null);
      conn.close();
    }
    // The thrown frame's reservation was given back: a frame as large as the
    // whole budget still gets in (bounded: a leak would make it wait forever).
    const whole = encodeFrame("y".repeat(1024 * 1024 - 2));
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: receiver.addr.port });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const sent = (async () => {
      for (let n = 0; n < whole.length;) n += await conn.write(whole.subarray(n));
      await conn.closeWrite();
      await conn.read(new Uint8Array(1));
      return "read";
    })();
    const outcome = await Promise.race([
      sent,
      new Promise<string>((resolve) => timer = setTimeout(() => resolve("stuck"), 5000)),
    ]);
    clearTimeout(timer);
    conn.close();
    await sent.catch(() => {});
    assert.equal(outcome, "read");
  } finally {
    await receiver.shutdown();
  }
  assert.equal(seen.length, 2);
  assert.equal(seen[0], "after");
  assert.ok(events.some((line) => /closed after 0 messages: .*the callback refused it/.test(line)));
});
