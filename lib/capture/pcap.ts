/**
 * Reads packet captures as tcpdump, tshark and Wireshark write them: classic
 * pcap (either byte order, microsecond or nanosecond timestamps, and the
 * modified format of magic 0xa1b2cd34) and pcapng (section headers,
 * interface descriptions with if_tsresol and if_tsoffset, enhanced, simple
 * and obsolete packet blocks; custom and systemd journal blocks numbered as
 * Wireshark numbers them; other blocks skipped). Times are given exactly, in
 * nanoseconds, beside the float. The file is read as a stream: only the
 * packet being read is held, whatever the capture's size.
 *
 * @example
 * ```ts
 * import { readCapture } from "./pcap.ts";
 * import assert from "node:assert/strict";
 *
 * // A classic pcap header (little-endian, microseconds, Ethernet) and no packet.
 * const file = new Uint8Array(24);
 * new DataView(file.buffer).setUint32(0, 0xa1b2c3d4, true);
 * new DataView(file.buffer).setUint32(20, 1, true);
 * assert.deepEqual([...readCapture(file)], []);
 * ```
 *
 * @module
 */

/** One captured packet. */
export interface CapturedPacket {
  /** Its number in the file, from 1, as Wireshark counts. */
  number: number;
  /** Capture time in seconds since the epoch (a float: about 0.1 µs from it, for today's dates). */
  time: number;
  /**
   * Capture time in whole nanoseconds since the epoch, as decimal digits
   * (exact where `time` is rounded; coarser resolutions give trailing zeros).
   */
  timeNs: string;
  /**
   * The link type of its interface (1 Ethernet, 0 BSD loopback, 108 OpenBSD
   * loopback, 101 raw IP, 113 and 276 Linux cooked); -1 for a `block`.
   */
  linkType: number;
  /**
   * The bytes captured, at most the snap length. When read from a stream
   * they are valid until the next packet is asked for: copy what you keep.
   */
  data: Uint8Array;
  /** The packet's length on the wire; more than `data.length` when the snap length cut it. */
  originalLength: number;
  /** Offset of its record in the file. */
  offset: number;
  /**
   * Set for a pcapng block that is not a packet but that Wireshark numbers as
   * a frame (a custom block, a systemd journal export): what it is. Its
   * `data` is empty and its `linkType` -1.
   */
  block?: string;
}

/** Blocks that are no packets but that Wireshark numbers as frames, and their names. */
const NUMBERED_BLOCKS: Record<number, string> = {
  9: "a systemd journal export block",
  0x0bad: "a custom block (copiable)",
  0x40000bad: "a custom block (not copiable)",
};

/** Where {@linkcode readCaptureStream} reads a capture from. */
export type CaptureSource =
  | { read(p: Uint8Array): Promise<number | null> }
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>;

/** Options for {@linkcode readCapture} and {@linkcode readCaptureStream}. */
export interface ReadCaptureOptions {
  /** The file's name, said in errors: "Cannot read capture NAME: byte 0: ...". */
  name?: string;
}

/** A record larger than this is taken for a broken file rather than buffered. */
const MAX_RECORD = 0x4000000 + 0x10000;

/**
 * Yields the packets of a whole capture file in memory, in file order.
 * Throws `SyntaxError`, with the byte offset (and the packet number, when in
 * a packet), when the file is not a capture or is broken; the packets before
 * are yielded first.
 *
 * @example
 * ```ts
 * import { readCapture } from "./pcap.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => [...readCapture(new TextEncoder().encode("not a capture"))], SyntaxError);
 * ```
 */
export function* readCapture(
  file: Uint8Array,
  options: ReadCaptureOptions = {},
): Generator<CapturedPacket, void, undefined> {
  const parser = new CaptureParser(options.name);
  parser.push(file);
  yield* parser.packets();
  parser.end();
}

/**
 * Yields the packets of a capture read from `source` (a `Deno.FsFile` or
 * `Deno.stdin`, a `ReadableStream`, any iterable of byte chunks) as they
 * arrive, holding no more of the file than the packet being read. Errors as
 * {@linkcode readCapture}.
 *
 * @example
 * ```ts
 * import { readCaptureStream } from "./pcap.ts";
 * import assert from "node:assert/strict";
 *
 * const header = new Uint8Array(24);
 * new DataView(header.buffer).setUint32(0, 0xa1b2c3d4, true);
 * const packets = [];
 * for await (const packet of readCaptureStream([header.subarray(0, 7), header.subarray(7)])) {
 *   packets.push(packet);
 * }
 * assert.equal(packets.length, 0);
 * ```
 */
export async function* readCaptureStream(
  source: CaptureSource,
  options: ReadCaptureOptions = {},
): AsyncGenerator<CapturedPacket, void, undefined> {
  const parser = new CaptureParser(options.name);
  if ("read" in source && typeof source.read === "function") {
    const reader = source as { read(p: Uint8Array): Promise<number | null> };
    while (true) {
      const room = parser.room(1024 * 1024);
      const n = await reader.read(room);
      if (n === null) break;
      parser.commit(n);
      yield* parser.packets();
    }
  } else {
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      parser.push(chunk);
      yield* parser.packets();
    }
  }
  parser.end();
}

function broken(
  name: string | undefined,
  offset: number,
  why: string,
  packet?: number,
): SyntaxError {
  const where = packet === undefined ? `byte ${offset}` : `packet ${packet} at byte ${offset}`;
  return new SyntaxError(
    `Cannot read capture${name === undefined ? "" : ` ${name}`}: ${where}: ${why}`,
  );
}

interface Interface {
  linkType: number;
  /** Timestamp units per second. */
  resolution: number;
  /** if_tsoffset: seconds added to every timestamp. */
  offset: number;
}

/** Seconds and a fraction of `resolution` units as a float and as exact nanoseconds. */
function times(seconds: bigint, fraction: bigint, resolution: number): [number, string] {
  const big = BigInt(resolution);
  const ns = seconds * 1_000_000_000n + (fraction * 1_000_000_000n) / big;
  return [Number(seconds) + Number(fraction) / resolution, ns.toString()];
}

/** The least length of each pcapng block that framecat reads: its fixed fields. */
const LEAST_LENGTH: Record<number, [number, string]> = {
  1: [20, "an interface description block"],
  2: [32, "an obsolete packet block"],
  3: [16, "a simple packet block"],
  6: [32, "an enhanced packet block"],
};

/** Turns bytes pushed in any pieces into packets. */
class CaptureParser {
  /** The file's name, for error messages. */
  #name: string | undefined;
  constructor(name?: string) {
    this.#name = name;
  }

  #buf: Uint8Array = new Uint8Array(0);
  #view: DataView = new DataView(this.#buf.buffer);
  #start = 0;
  #end = 0;
  /** File offset of `#buf[0]`. */
  #base = 0;
  #format: "pcap" | "pcapng" | undefined;
  #little = true;
  #nano = false;
  /** Bytes of a pcap record's header. */
  #recordHeader = 16;
  #linkType = 0;
  #interfaces: Interface[] = [];
  #number = 1;
  /** The last packet's time, for blocks without one. */
  #last: [number, string] = [0, "0"];

  /** Room for at least `size` more bytes at the end of the buffer; fill it, then `commit`. */
  room(size: number): Uint8Array {
    const held = this.#end - this.#start;
    if (this.#buf.length - this.#end < size) {
      const buf = held + size > this.#buf.length ? new Uint8Array(held + size) : this.#buf;
      buf.set(this.#buf.subarray(this.#start, this.#end));
      this.#base += this.#start;
      this.#start = 0;
      this.#end = held;
      if (buf !== this.#buf) {
        this.#buf = buf;
        this.#view = new DataView(buf.buffer);
      }
    }
    return this.#buf.subarray(this.#end);
  }

  commit(n: number): void {
    this.#end += n;
  }

  push(chunk: Uint8Array): void {
    if (this.#start === this.#end && this.#buf.length < chunk.length) {
      // Nothing held: read the chunk where it is.
      this.#base += this.#end;
      this.#buf = chunk;
      this.#view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      this.#start = 0;
      this.#end = chunk.length;
      return;
    }
    this.room(chunk.length).set(chunk);
    this.#end += chunk.length;
  }

  /** Yields every packet whose record is complete in what was pushed. */
  *packets(): Generator<CapturedPacket, void, undefined> {
    if (this.#format === undefined && !this.#readFileHeader()) return;
    while (true) {
      let packet: CapturedPacket | null | undefined;
      const at = this.#base + this.#start;
      try {
        packet = this.#format === "pcap" ? this.#nextPcap() : this.#nextPcapng();
      } catch (error) {
        // A read past a record's end that no check foresaw: still a broken file, not a crash.
        if (!(error instanceof RangeError)) throw error;
        throw broken(
          this.#name,
          at,
          `a record's fields go past its end (${error.message})`,
          this.#number,
        );
      }
      if (packet === null) return;
      if (packet !== undefined) yield packet;
    }
  }

  /** Says why, when the file ends inside a record. */
  end(): void {
    const have = this.#end - this.#start;
    const at = this.#base + this.#start;
    if (this.#format === undefined) {
      if (have < 4) {
        throw broken(this.#name, 0, `the file has ${have} bytes, too few for a capture`);
      }
      throw broken(this.#name, 0, "the pcap file header is cut short");
    }
    if (have === 0) return;
    if (this.#format === "pcapng") {
      if (have < 12) throw broken(this.#name, at, "the file ends inside a block header");
      const length = this.#view.getUint32(this.#start + 4, this.#little);
      throw broken(this.#name, at, `a block of ${length} bytes goes past the end of the file`);
    }
    if (have < this.#recordHeader) {
      throw broken(this.#name, at, "the file ends inside a packet header", this.#number);
    }
    const captured = this.#view.getUint32(this.#start + 8, this.#little);
    throw broken(
      this.#name,
      at,
      `the file ends after ${have - this.#recordHeader} of the packet's ${captured} bytes`,
      this.#number,
    );
  }

  #readFileHeader(): boolean {
    const have = this.#end - this.#start;
    if (have < 4) return false;
    const magic = this.#view.getUint32(this.#start, false);
    if (magic === 0x0a0d0d0a) {
      this.#format = "pcapng";
      return true;
    }
    if (![0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0xa1b2cd34, 0x34cdb2a1].includes(magic)) {
      throw broken(this.#name, 0, "the file is neither pcap nor pcapng (unknown magic number)");
    }
    if (have < 24) return false;
    this.#little = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1 || magic === 0x34cdb2a1;
    this.#nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
    // Alexey Kuznetzov's modified pcap: 8 more bytes per record (interface, protocol, type).
    this.#recordHeader = magic === 0xa1b2cd34 || magic === 0x34cdb2a1 ? 24 : 16;
    this.#linkType = this.#view.getUint32(this.#start + 20, this.#little) & 0x0fffffff;
    this.#format = "pcap";
    this.#start += 24;
    return true;
  }

  /** The next packet, or null when its record is not complete yet. */
  #nextPcap(): CapturedPacket | null {
    const at = this.#start;
    const head = this.#recordHeader;
    if (this.#end - at < head) return null;
    const view = this.#view;
    const little = this.#little;
    const captured = view.getUint32(at + 8, little);
    const offset = this.#base + at;
    if (captured > 0x4000000) {
      throw broken(
        this.#name,
        offset,
        `the header claims ${captured} captured bytes`,
        this.#number,
      );
    }
    if (this.#end - at < head + captured) return null;
    const seconds = view.getUint32(at, little);
    const fraction = view.getUint32(at + 4, little);
    const original = view.getUint32(at + 12, little);
    this.#start = at + head + captured;
    const [time, timeNs] = times(BigInt(seconds), BigInt(fraction), this.#nano ? 1e9 : 1e6);
    this.#last = [time, timeNs];
    return {
      number: this.#number++,
      time,
      timeNs,
      linkType: this.#linkType,
      data: this.#buf.subarray(at + head, at + head + captured),
      originalLength: Math.max(original, captured),
      offset,
    };
  }

  /** The next packet, undefined for a block that is not one, null when incomplete. */
  #nextPcapng(): CapturedPacket | null | undefined {
    const at = this.#start;
    if (this.#end - at < 12) return null;
    const view = this.#view;
    const offset = this.#base + at;
    const type = view.getUint32(at, this.#little);
    let little = this.#little;
    if (type === 0x0a0d0d0a) {
      // A section header: its byte-order magic says how to read the section.
      const order = view.getUint32(at + 8, true);
      if (order === 0x1a2b3c4d) little = true;
      else if (order === 0x4d3c2b1a) little = false;
      else throw broken(this.#name, offset, "a section header with an unknown byte-order magic");
    }
    const length = view.getUint32(at + 4, little);
    if (length < 12 || length % 4 !== 0) {
      throw broken(this.#name, offset, `a block claims a length of ${length} bytes`);
    }
    if (length > MAX_RECORD) {
      throw broken(
        this.#name,
        offset,
        `a block claims a length of ${length} bytes, more than 64 MiB`,
      );
    }
    if (this.#end - at < length) return null;
    const least = LEAST_LENGTH[type];
    if (least && length < least[0]) {
      const packet = type === 1 ? undefined : this.#number;
      throw broken(
        this.#name,
        offset,
        `${least[1]} of ${length} bytes, fewer than the ${least[0]} its fixed fields need`,
        packet,
      );
    }
    this.#start = at + length;
    const body = at + 8;
    const end = at + length - 4;
    if (type === 0x0a0d0d0a) {
      this.#little = little;
      this.#interfaces = [];
    } else if (type === 1) {
      this.#interfaces.push({
        linkType: view.getUint16(body, little),
        ...interfaceOptions(view, body + 8, end, little),
      });
    } else if (type === 6 || type === 3 || type === 2) {
      const enhanced = type !== 3;
      const id = type === 6
        ? view.getUint32(body, little)
        : type === 2
        ? view.getUint16(body, little)
        : 0;
      const iface = this.#interfaces[id];
      if (!iface) {
        throw broken(
          this.#name,
          offset,
          `a packet of an undescribed interface ${id}`,
          this.#number,
        );
      }
      let time = 0;
      let timeNs = "0";
      let captured: number;
      let original: number;
      let data: number;
      if (enhanced) {
        const ticks = BigInt(view.getUint32(body + 4, little)) * 2n ** 32n +
          BigInt(view.getUint32(body + 8, little));
        const big = BigInt(iface.resolution);
        [time, timeNs] = times(ticks / big + BigInt(iface.offset), ticks % big, iface.resolution);
        captured = view.getUint32(body + 12, little);
        original = view.getUint32(body + 16, little);
        data = body + 20;
      } else {
        original = view.getUint32(body, little);
        data = body + 4;
        captured = Math.min(original, end - data);
      }
      if (data + captured > end) {
        throw broken(
          this.#name,
          offset,
          `the block claims ${captured} captured bytes, more than it holds`,
          this.#number,
        );
      }
      this.#last = [time, timeNs];
      return {
        number: this.#number++,
        time,
        timeNs,
        linkType: iface.linkType,
        data: this.#buf.subarray(data, data + captured),
        originalLength: Math.max(original, captured),
        offset,
      };
    }
    const numbered = NUMBERED_BLOCKS[type];
    if (numbered !== undefined) {
      const custom = type !== 9 && length >= 16;
      const enterprise = custom ? `, enterprise ${view.getUint32(body, little)}` : "";
      // Its data, as Wireshark counts the frame's length: after the enterprise number.
      const data = this.#buf.subarray(custom ? body + 4 : body, end);
      return {
        number: this.#number++,
        // No time of its own: the previous packet's, as a time column would keep order.
        time: this.#last[0],
        timeNs: this.#last[1],
        linkType: -1,
        data,
        originalLength: data.length,
        offset,
        block: `${numbered} (type 0x${type.toString(16).padStart(8, "0")}${enterprise}): ` +
          "not a packet, numbered as Wireshark numbers it",
      };
    }
    return undefined;
  }
}

/**
 * The if_tsresol option of an interface description (units per second,
 * default microseconds) and its if_tsoffset (seconds, default 0).
 */
function interfaceOptions(
  view: DataView,
  start: number,
  end: number,
  little: boolean,
): { resolution: number; offset: number } {
  const found = { resolution: 1e6, offset: 0 };
  for (let at = start; at + 4 <= end;) {
    const code = view.getUint16(at, little);
    const length = view.getUint16(at + 2, little);
    if (code === 0 || at + 4 + length > end) break;
    if (code === 9 && length >= 1) {
      const value = view.getUint8(at + 4);
      // Resolutions finer than 2^-53 or 10^-15 s are not read exactly: taken as nanoseconds' limit.
      const exponent = Math.min(value & 0x7f, value & 0x80 ? 53 : 15);
      found.resolution = value & 0x80 ? 2 ** exponent : 10 ** exponent;
    } else if (code === 14 && length === 8) {
      found.offset = Number(view.getBigInt64(at + 4, little));
    }
    at += 4 + Math.ceil(length / 4) * 4;
  }
  return found;
}
