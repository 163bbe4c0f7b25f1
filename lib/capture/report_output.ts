/**
 * The output buffer of `framecat dissect`'s report: one reused byte buffer,
 * written out between records.
 *
 * @module
 */

import { type ByteWriter, writeAll } from "../line_writer.ts";

const encoder = new TextEncoder();

/**
 * Output in one reused byte buffer, written out between records: text is
 * encoded into it, and the hex dump, the bulk of the text for people, is
 * written into it byte by byte (`room`, then `buf` and `n`).
 *
 * @example
 * ```ts
 * import { ReportOutput } from "./report_output.ts";
 * import assert from "node:assert/strict";
 *
 * const written: Uint8Array[] = [];
 * const out = new ReportOutput({ write: (p) => (written.push(p.slice()), Promise.resolve(p.length)) });
 * out.add("Packet 1\n");
 * await out.ready(); // too little to write out yet
 * assert.equal(written.length, 0);
 * await out.flush();
 * assert.equal(new TextDecoder().decode(written[0]), "Packet 1\n");
 * ```
 */
export class ReportOutput {
  #writer: ByteWriter;
  /** At least 1 MiB: `addLarge` counts on it. */
  buf = new Uint8Array(1 << 20);
  n = 0;

  /** Output to `writer`, written when `ready` finds enough, or on `flush`. */
  constructor(writer: ByteWriter) {
    this.#writer = writer;
  }

  /** Makes room for `size` more bytes. */
  room(size: number): Uint8Array {
    if (this.n + size > this.buf.length) {
      const buf = new Uint8Array(Math.max(this.buf.length * 2, this.n + size));
      buf.set(this.buf.subarray(0, this.n));
      this.buf = buf;
    }
    return this.buf;
  }

  /** Adds `text`, encoded as UTF-8. */
  add(text: string): void {
    this.room(text.length * 3);
    this.n += encoder.encodeInto(text, this.buf.subarray(this.n)).written;
  }

  /** Writes out what is held, then a large text through the buffer, piece by piece. */
  async addLarge(text: string): Promise<void> {
    await this.flush();
    for (let at = 0; at < text.length;) {
      // Pieces of 256 Ki UTF-16 units (at most 768 KiB of UTF-8, which the 1 MiB buffer
      // holds), never ending between the two halves of a surrogate pair.
      let end = Math.min(at + (1 << 18), text.length);
      const last = text.charCodeAt(end - 1);
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
      this.n = encoder.encodeInto(text.slice(at, end), this.buf).written;
      at = end;
      await this.flush();
    }
  }

  /** Writes out what is held once there is enough of it. */
  async ready(): Promise<void> {
    if (this.n >= 1 << 19) await this.flush();
  }

  /** Writes out what is held. */
  async flush(): Promise<void> {
    await writeAll(this.#writer, this.buf.subarray(0, this.n));
    this.n = 0;
    if (this.buf.length > 1 << 22) this.buf = new Uint8Array(1 << 20);
  }
}
