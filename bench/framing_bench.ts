/**
 * Microbenchmarks of the framing hot paths: `deno bench bench/`. Each group
 * compares framecat's code with a baseline written the naive way (what a
 * first port of the seed does: one decode, one parse and one allocation per
 * message, the length prefix read byte by byte).
 *
 * @module
 */

import { decodeFrames, encodeFrame } from "../lib/framing.ts";
import { frameLines } from "../lib/lines.ts";
import { chunks, concat } from "../tests/bytes.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The naive decoder: the seed's get_message in TypeScript, over chunks. */
async function naiveDecode(source: Uint8Array[]): Promise<number> {
  let pending: Uint8Array = new Uint8Array(0);
  let count = 0;
  for (const chunk of source) {
    pending = concat([pending, chunk]);
    while (true) {
      const lf = pending.indexOf(0x0a);
      if (lf < 0) break;
      const length = Number(decoder.decode(pending.subarray(0, lf)));
      if (pending.length < lf + 1 + length) break;
      JSON.parse(decoder.decode(pending.subarray(lf + 1, lf + 1 + length)));
      pending = pending.slice(lf + 1 + length);
      count++;
    }
  }
  return await Promise.resolve(count);
}

async function framecatDecode(source: Uint8Array[]): Promise<number> {
  let count = 0;
  for await (const _ of decodeFrames(source, { maxBytes: 16 * 1024 * 1024 })) count++;
  return count;
}

const SMALL = Array.from({ length: 10_000 }, (_, i) => `message ${String(i).padStart(12, "0")}`);
const smallStream = concat(SMALL.map((m) => encodeFrame(m)));
const smallReads = chunks(smallStream, 64 * 1024);
const smallSplitReads = chunks(smallStream, 7);
const LARGE = "x".repeat(8 * 1024 * 1024 - 2);
const largeStream = concat([encodeFrame(LARGE), encodeFrame(LARGE)]);
const largeReads = chunks(largeStream, 256 * 1024);

Deno.bench({
  name: "naive: encode 10,000 small messages one by one",
  group: "encode small",
  baseline: true,
  fn(): void {
    for (const m of SMALL) {
      const json = JSON.stringify(m);
      const payload = encoder.encode(json);
      concat([encoder.encode(`${payload.length}\n`), payload]);
    }
  },
});

Deno.bench({
  name: "framecat: encodeFrame() 10,000 small messages",
  group: "encode small",
  fn(): void {
    for (const m of SMALL) encodeFrame(m);
  },
});

/** A reader that serves `data` in reads as large as asked, as a file on stdin does. */
function readerOf(data: Uint8Array): { read(p: Uint8Array): Promise<number | null> } {
  let offset = 0;
  return {
    read(p: Uint8Array): Promise<number | null> {
      if (offset >= data.length) return Promise.resolve(null);
      const n = Math.min(p.length, data.length - offset);
      p.set(data.subarray(offset, offset + n));
      offset += n;
      return Promise.resolve(n);
    },
  };
}

/** Frames every line of `data` and counts the messages. */
async function frameAll(data: Uint8Array, json: boolean): Promise<number> {
  let messages = 0;
  for await (const batch of frameLines(readerOf(data), { json })) messages += batch.messages;
  return messages;
}

const smallLines = encoder.encode(SMALL.map((m) => JSON.stringify(m)).join("\n") + "\n");
Deno.bench({
  name: "framecat: frameLines() 10,000 NDJSON lines (send --stdin --json)",
  group: "encode small",
  async fn(): Promise<void> {
    if (await frameAll(smallLines, true) !== SMALL.length) throw new Error("lost lines");
  },
});

// send --stdin --json of big messages: 8 lines of 8 MiB JSON strings.
const largeLines = encoder.encode((JSON.stringify(LARGE) + "\n").repeat(8));

Deno.bench({
  name: "naive: split, check and frame 8 NDJSON lines of 8 MiB",
  group: "encode large",
  baseline: true,
  fn(): void {
    let end = 0;
    for (let start = 0; start < largeLines.length; start = end + 1) {
      end = largeLines.indexOf(0x0a, start);
      const payload = largeLines.subarray(start, end);
      JSON.parse(decoder.decode(payload));
      concat([encoder.encode(`${payload.length}\n`), payload]);
    }
  },
});

Deno.bench({
  name: "framecat: frameLines() 8 NDJSON lines of 8 MiB (send --stdin --json)",
  group: "encode large",
  async fn(): Promise<void> {
    if (await frameAll(largeLines, true) !== 8) throw new Error("lost lines");
  },
});

Deno.bench({
  name: "naive: decode 10,000 small frames, 64 KiB reads",
  group: "decode small",
  baseline: true,
  async fn(): Promise<void> {
    if (await naiveDecode(smallReads) !== SMALL.length) throw new Error("lost frames");
  },
});

Deno.bench({
  name: "framecat: decodeFrames() 10,000 small frames, 64 KiB reads",
  group: "decode small",
  async fn(): Promise<void> {
    if (await framecatDecode(smallReads) !== SMALL.length) throw new Error("lost frames");
  },
});

Deno.bench({
  name: "naive: decode 10,000 small frames, 7-byte reads",
  group: "decode split",
  baseline: true,
  async fn(): Promise<void> {
    if (await naiveDecode(smallSplitReads) !== SMALL.length) throw new Error("lost frames");
  },
});

Deno.bench({
  name: "framecat: decodeFrames() 10,000 small frames, 7-byte reads",
  group: "decode split",
  async fn(): Promise<void> {
    if (await framecatDecode(smallSplitReads) !== SMALL.length) throw new Error("lost frames");
  },
});

Deno.bench({
  name: "naive: decode 2 frames of 8 MiB, 256 KiB reads",
  group: "decode large",
  baseline: true,
  async fn(): Promise<void> {
    if (await naiveDecode(largeReads) !== 2) throw new Error("lost frames");
  },
});

Deno.bench({
  name: "framecat: decodeFrames() 2 frames of 8 MiB, 256 KiB reads",
  group: "decode large",
  async fn(): Promise<void> {
    if (await framecatDecode(largeReads) !== 2) throw new Error("lost frames");
  },
});
