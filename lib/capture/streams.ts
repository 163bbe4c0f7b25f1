/**
 * Follows the TCP connections of a capture as its packets are read: relative
 * sequence numbers and scaled windows per packet, as Wireshark shows them,
 * and each direction's byte stream reassembled by sequence number
 * (out-of-order, retransmitted and overlapping segments taken once, gaps
 * reported) and decoded as framecat frames, with the packets that carried
 * each message. A direction holds only the bytes of its unfinished frame
 * (and segments that arrived before the bytes ahead of them). Memory is
 * bounded whatever the capture: a connection is released once over (FIN or
 * RST both ways, within a bound for late packets) or idle for 600 s of
 * capture time, and past 20,000 followed at once the one seen least recently
 * is forgotten (a problem says so once, and how many at the end).
 *
 * @example
 * ```ts
 * import { TcpStreams } from "./streams.ts";
 * import assert from "node:assert/strict";
 *
 * const streams = new TcpStreams();
 * const segment = (seq: number, text: string) => ({
 *   src: "10.0.0.1", dst: "10.0.0.2", srcPort: 5000, dstPort: 1234, seq, ack: 0,
 *   flags: ["ACK"], window: 512, payload: new TextEncoder().encode(text),
 * });
 * streams.add(1, segment(100, '14\n"Hello'));
 * streams.add(2, segment(109, ' World!"'));
 * const [record] = await streams.take();
 * assert.equal(record.type, "message");
 * if (record.type === "message") {
 *   assert.equal(record.stream, "10.0.0.1:5000 > 10.0.0.2:1234");
 *   assert.deepEqual([record.packets, record.bytes, record.message], [[1, 2], 14, "Hello World!"]);
 * }
 * ```
 *
 * @module
 */

import { formatAddress } from "../address.ts";
import { decodeFrames, FrameError, frameError, MAX_PAYLOAD_BYTES } from "../framing.ts";
import {
  MAX_PREFIX_DIGITS,
  PREFIX_BAD,
  PREFIX_PARTIAL,
  prefixProblem,
  type PrefixScan,
  scanPrefix,
} from "../framing/prefix.ts";
import { decodeUtf8 } from "../utf8.ts";
import type { TcpInfo } from "./layers.ts";

/** What Wireshark shows of a segment once its connection is known. */
export interface SegmentView {
  /** Sequence number relative to the direction's first (its SYN is 0). */
  relativeSeq: number;
  /** Acknowledgement number relative to the other direction's first, when known. */
  relativeAck?: number;
  /** The window times the scale the SYN announced, when both sides did. */
  scaledWindow?: number;
  /**
   * The framecat frames whose bytes the segment carries, when they were
   * decoded as it came (not when it waited for bytes before it).
   */
  frames?: FramePart[];
}

/** The bytes of one framecat frame that one segment carries; offsets in its payload, inclusive. */
export interface FramePart {
  /** The frame's number in its direction's stream, from 1. */
  frame: number;
  /** The length prefix's bytes here (the LF included when it is here), and their text. */
  prefix?: [number, number];
  prefixText?: string;
  /** The payload's declared length, once its prefix is whole. */
  length?: number;
  /** The JSON payload's bytes here, and which of its bytes they are (from 0). */
  json?: [number, number];
  jsonFrom?: number;
}

/** A message decoded from a stream. */
export interface MessageRecord {
  type: "message";
  /** `src:port > dst:port`. */
  stream: string;
  /** The packets that carried its bytes (length prefix included), in stream order. */
  packets: number[];
  /** The payload's length. */
  bytes: number;
  /** The payload's value (parsed from `text` each time it is read). */
  readonly message: unknown;
  /** The payload's JSON text exactly as it arrived (not printed in JSON: `message` is printed from it). */
  text: string;
}

/** Why a stream's decoding stopped or skipped a frame: a bad frame, as the receiver says it, or a gap. */
export interface ProblemRecord {
  type: "problem";
  /** `src:port > dst:port`. */
  stream: string;
  reason: string;
}

/** Options for {@linkcode TcpStreams}. */
export interface TcpStreamsOptions {
  /** Streams to or from this port are always decoded, bad frames reported. Defaults to 1234. */
  port?: number;
  /** A frame declaring more is a problem. Defaults to the most any receiver can take (512 MiB). */
  maxBytes?: number;
  /** Out-of-order bytes a direction holds before it gives the missing ones up as a gap. Defaults to 16 MiB. */
  maxHeldBytes?: number;
  /**
   * Bytes of unfinished frames and out-of-order segments all streams hold
   * together, at most: past it, the frame that would grow is not kept (reported,
   * and skipped), and missing bytes are given up as a gap. Defaults to 64 MiB.
   */
  maxUnfinishedBytes?: number;
  /**
   * Connections followed at once, at most: past it the one idle longest is
   * forgotten (its unfinished frame reported), and a problem says so once;
   * the end says how many were. Each costs about 600 bytes of heap. Defaults
   * to 20,000.
   */
  maxConnections?: number;
  /**
   * A connection without a packet for this many seconds of capture time is
   * forgotten, as if it had ended. Defaults to 600.
   */
  idleSeconds?: number;
}

/** Options for {@linkcode TcpStreams.add}. */
export interface AddSegmentOptions {
  /** The packet's capture time in seconds: connections idle too long are forgotten. */
  time?: number;
}

interface Held {
  offset: number;
  data: Uint8Array;
  /** Bytes after `data` that the snap length cut. */
  cut: number;
  packet: number;
}

interface Direction {
  name: string;
  /** The sequence number just before the stream's first byte. */
  base: number;
  windowScale?: number;
  sawSyn: boolean;
  started: boolean;
  /** Its FIN (or a RST) was seen and every byte before it taken: its decoding is over. */
  ended: boolean;
  /** The next stream offset expected (modulo 2^32). */
  next: number;
  held: Held[];
  heldBytes: number;
  reverse: string;
  /** The connection, which both directions share. */
  connection: Connection;
  /** Whether the stream is framecat's port's. */
  ours: boolean;
  /** Made when the first byte comes: a connection without data costs no decoder. */
  decoder?: FrameDecoder;
}

/** A followed connection, in the list of all of them from least to most recently seen. */
interface Connection {
  /** The key of its first direction seen. */
  key: string;
  /** Its last packet's capture time. */
  seen: number;
  older?: Connection;
  newer?: Connection;
}

type Event = MessageRecord | ProblemRecord | BadFrame;

/** A bad frame, to be explained as the receiver would. */
interface BadFrame {
  type: "bad";
  stream: string;
  bytes: Uint8Array;
  number: number;
  offset: number;
  maxBytes: number;
}

/** Collects the TCP segments of a capture; see the module's documentation. */
export class TcpStreams {
  #directions = new Map<string, Direction>();
  #events: Event[] = [];
  #port: number;
  #maxBytes: number;
  #maxHeld: number;
  #budget: Budget;
  /** Keys of connections over in both directions, oldest first: forgotten beyond a bound. */
  #closed: string[] = [];
  /** The ends of the list of followed connections: least and most recently seen. */
  #oldest: Connection | undefined;
  #newest: Connection | undefined;
  #count = 0;
  #maxConnections: number;
  #idleSeconds: number;
  /** Connections forgotten because there were too many. */
  #dropped = 0;

  /** Follows streams; `port` names the framecat port. */
  constructor(options: TcpStreamsOptions = {}) {
    this.#port = options.port ?? 1234;
    this.#maxBytes = options.maxBytes ?? MAX_PAYLOAD_BYTES;
    this.#maxHeld = options.maxHeldBytes ?? 16 * 1024 * 1024;
    this.#budget = { used: 0, limit: options.maxUnfinishedBytes ?? 64 * 1024 * 1024 };
    this.#maxConnections = options.maxConnections ?? 20_000;
    this.#idleSeconds = options.idleSeconds ?? 600;
  }

  /** Connections followed now (both directions of one count once). */
  get connections(): number {
    return this.#count;
  }

  /** Whether `take()` has records to give. */
  get pending(): boolean {
    return this.#events.length > 0;
  }

  /** Adds a segment of packet `number`; returns its relative numbers. */
  add(number: number, tcp: TcpInfo, options: AddSegmentOptions = {}): SegmentView {
    const key = `${tcp.src}|${tcp.srcPort}|${tcp.dst}|${tcp.dstPort}`;
    const syn = tcp.flags.includes("SYN");
    if (options.time !== undefined) this.#forgetIdle(options.time);
    let direction = this.#directions.get(key);
    if (!direction || (syn && ((!direction.sawSyn && !direction.started) || direction.ended))) {
      const from = formatAddress({ hostname: tcp.src, port: tcp.srcPort });
      const to = formatAddress({ hostname: tcp.dst, port: tcp.dstPort });
      const ours = tcp.srcPort === this.#port || tcp.dstPort === this.#port;
      const name = `${from} > ${to}`;
      direction = {
        name,
        // A SYN takes one sequence number; without one, the first byte seen is 1.
        base: syn ? tcp.seq : (tcp.seq - 1) >>> 0,
        windowScale: syn ? tcp.windowScale : undefined,
        sawSyn: syn,
        started: false,
        ended: false,
        next: 0,
        held: [],
        heldBytes: 0,
        reverse: `${tcp.dst}|${tcp.dstPort}|${tcp.src}|${tcp.srcPort}`,
        connection: this.#directions.get(`${tcp.dst}|${tcp.dstPort}|${tcp.src}|${tcp.srcPort}`)
          ?.connection ?? { key, seen: 0 },
        ours,
      };
      this.#directions.set(key, direction);
    }
    this.#seen(direction.connection, options.time ?? 0);
    if (this.#count > this.#maxConnections) this.#forgetOldest();
    const relativeSeq = (tcp.seq - direction.base) >>> 0;
    const wire = Math.max(tcp.payloadLength ?? 0, tcp.payload.length);
    let frames: FramePart[] | undefined;
    if (wire > 0) {
      direction.started = true;
      const offset = ((syn ? tcp.seq + 1 : tcp.seq) - direction.base - 1) >>> 0;
      frames = this.#decoder(direction).parts = [];
      this.#segment(direction, offset, tcp.payload, wire - tcp.payload.length, number);
      direction.decoder!.parts = undefined;
      // A stream not taken for framecat's (no valid frame yet, not on its port) names no frames.
      if (!direction.decoder!.shown) frames = undefined;
    }
    const other = this.#directions.get(direction.reverse);
    const view: SegmentView = { relativeSeq };
    if (frames && frames.length > 0) view.frames = frames;
    if (other && tcp.flags.includes("ACK")) view.relativeAck = (tcp.ack - other.base) >>> 0;
    if (!syn && direction.windowScale !== undefined && other?.windowScale !== undefined) {
      view.scaledWindow = tcp.window * 2 ** direction.windowScale;
    }
    if (tcp.flags.includes("RST")) {
      this.#end(direction, key);
      if (other) this.#end(other, direction.reverse);
    } else if (tcp.flags.includes("FIN")) {
      // The stream ends at the FIN once every byte before it was taken.
      const fin = (((syn ? tcp.seq + 1 : tcp.seq) - direction.base - 1) >>> 0) + wire;
      if ((fin >>> 0) === direction.next) this.#end(direction, key);
    }
    return view;
  }

  /** Ends a direction's decoding once nothing before its end is missing; forgets old connections. */
  #end(direction: Direction, key: string): void {
    if (direction.ended || direction.held.length > 0) return;
    direction.ended = true;
    direction.decoder?.end();
    const other = this.#directions.get(direction.reverse);
    if (other && !other.ended) return;
    // Both directions are over: keep their sequence bases for late packets, within a bound.
    this.#closed.push(key);
    if (this.#closed.length > MAX_CLOSED) {
      const old = this.#closed.shift()!;
      const gone = this.#directions.get(old);
      if (gone?.ended) this.#forget(gone.connection);
    }
  }

  /** Moves a connection to the most recently seen end of the list (adding it if new). */
  #seen(connection: Connection, time: number): void {
    connection.seen = time;
    if (this.#newest === connection) return;
    if (connection.older || connection.newer || this.#oldest === connection) {
      this.#unlink(connection);
    }
    connection.older = this.#newest;
    connection.newer = undefined;
    if (this.#newest) this.#newest.newer = connection;
    else this.#oldest = connection;
    this.#newest = connection;
    this.#count++;
  }

  #unlink(connection: Connection): void {
    if (connection.older) connection.older.newer = connection.newer;
    else this.#oldest = connection.newer;
    if (connection.newer) connection.newer.older = connection.older;
    else this.#newest = connection.older;
    connection.older = connection.newer = undefined;
    this.#count--;
  }

  /** Forgets a connection: its directions end (unfinished frames reported) and are dropped. */
  #forget(connection: Connection): void {
    if (connection.older || connection.newer || this.#oldest === connection) {
      this.#unlink(connection);
    }
    const first = this.#directions.get(connection.key);
    if (!first) return;
    const both: [string, Direction | undefined][] = [
      [connection.key, first],
      [first.reverse, this.#directions.get(first.reverse)],
    ];
    for (const [key, direction] of both) {
      if (!direction || direction.connection !== connection) continue;
      while (direction.held.length > 0) this.#skipToHeld(direction);
      if (!direction.ended) direction.decoder?.end();
      direction.ended = true;
      this.#directions.delete(key);
    }
  }

  /** Forgets the connections idle for longer than the bound, at capture time `now`. */
  #forgetIdle(now: number): void {
    while (this.#oldest && this.#oldest.seen < now - this.#idleSeconds) {
      this.#forget(this.#oldest);
    }
  }

  /** Forgets the connection seen least recently: too many are followed. */
  #forgetOldest(): void {
    const connection = this.#oldest!;
    const direction = this.#directions.get(connection.key);
    if (this.#dropped++ === 0 && direction) {
      this.#events.push({
        type: "problem",
        stream: direction.name,
        reason: `more than ${this.#maxConnections} connections at once: the one seen least ` +
          "recently is forgotten, and so on (each one's unfinished frame is reported, and its " +
          "later packets are followed as a new connection)",
      });
    }
    this.#forget(connection);
  }

  /** The records that the segments added so far completed, in order. */
  async take(): Promise<(MessageRecord | ProblemRecord)[]> {
    const events = this.#events.splice(0);
    const records: (MessageRecord | ProblemRecord)[] = [];
    for (const event of events) {
      records.push(event.type === "bad" ? await explain(event) : event);
    }
    return records;
  }

  /** Ends every stream, as the capture ended: gaps and unfinished frames; then `take()`. */
  finish(): Promise<(MessageRecord | ProblemRecord)[]> {
    for (const direction of this.#directions.values()) {
      while (direction.held.length > 0) this.#skipToHeld(direction);
      if (!direction.ended) direction.decoder?.end();
    }
    this.#directions.clear();
    this.#oldest = this.#newest = undefined;
    this.#count = 0;
    if (this.#dropped > 0) {
      this.#events.push({
        type: "problem",
        stream: "(all)",
        reason: `${this.#dropped} connections were forgotten before their end: more than ` +
          `${this.#maxConnections} were followed at once`,
      });
    }
    return this.take();
  }

  #segment(
    direction: Direction,
    offset: number,
    data: Uint8Array,
    cut: number,
    packet: number,
  ): void {
    const ahead = (offset - direction.next) | 0;
    if (ahead > 0) {
      // Bytes before it are missing so far: hold a copy until they come.
      direction.held.push({ offset, data: data.slice(), cut, packet });
      direction.heldBytes += data.length;
      this.#budget.used += data.length;
      direction.held.sort((x, y) => ((x.offset - y.offset) | 0) || x.packet - y.packet);
      const full = this.#budget.used > this.#budget.limit;
      if (direction.heldBytes > this.#maxHeld || full) this.#skipToHeld(direction);
      return;
    }
    this.#apply(direction, -ahead, data, cut, packet);
    this.#drain(direction);
  }

  /** Takes the bytes of a segment from `skip` on (those before were taken). */
  #apply(direction: Direction, skip: number, data: Uint8Array, cut: number, packet: number): void {
    const total = data.length + cut;
    if (skip >= total) return; // a retransmission of bytes already taken
    const decoder = this.#decoder(direction);
    if (skip < data.length) decoder.feed(data.subarray(skip), packet, skip);
    const missing = Math.min(cut, total - skip);
    if (missing > 0) decoder.gap(missing, `cut by the snap length in packet ${packet}`);
    direction.next = (direction.next + total - skip) >>> 0;
  }

  #drain(direction: Direction): void {
    const held = direction.held;
    // Segments that waited belong to packets already shown: their frames are not noted.
    if (held.length > 0 && direction.decoder) direction.decoder.parts = undefined;
    while (held.length > 0 && ((held[0].offset - direction.next) | 0) <= 0) {
      const segment = held.shift()!;
      direction.heldBytes -= segment.data.length;
      this.#budget.used -= segment.data.length;
      const skip = (direction.next - segment.offset) | 0;
      this.#apply(direction, skip, segment.data, segment.cut, segment.packet);
    }
  }

  #decoder(direction: Direction): FrameDecoder {
    return direction.decoder ??= new FrameDecoder(
      direction.name,
      direction.ours,
      this.#maxBytes,
      this.#budget,
      this.#events,
    );
  }

  /** Gives up the bytes before the first held segment as a gap. */
  #skipToHeld(direction: Direction): void {
    const first = direction.held[0];
    const missing = (first.offset - direction.next) >>> 0;
    this.#decoder(direction).gap(missing, `packet ${first.packet} carries bytes after them`);
    direction.next = first.offset;
    this.#drain(direction);
  }
}

/** Connections over in both directions that are remembered (for late packets' relative numbers). */
const MAX_CLOSED = 10_000;

/** Bytes of unfinished frames held by all streams, and how many they may hold. */
interface Budget {
  used: number;
  limit: number;
}

/**
 * Decodes one direction's bytes as framecat frames as they come, holding
 * only the unfinished frame.
 */
class FrameDecoder {
  #stream: string;
  #ours: boolean;
  #shown: boolean;
  #maxBytes: number;
  #events: Event[];
  /** Stream bytes consumed, gaps included. */
  #offset = 0;
  #frameStart = 0;
  /** Frames finished (good, or cut by a gap). */
  #frames = 0;
  #stopped = false;
  /** The prefix bytes so far (it may span segments); `#length` is -1 until its LF. */
  #prefix = new Uint8Array(MAX_PREFIX_DIGITS + 1);
  #prefixLength = 0;
  /** The prefix as the receiver scans it (framing/prefix.ts). */
  #scan: PrefixScan = { start: 0, end: 0, maxBytes: 0, length: 0, payloadStart: 0 };
  #length = -1;
  #chunks: Uint8Array[] = [];
  /** Bytes in `#chunks`. */
  #held = 0;
  #budget: Budget;
  /** Bytes of the payload so far, missing ones included. */
  #have = 0;
  /** Why bytes of the current payload are missing. */
  #cut: string | undefined;
  #cutBytes = 0;
  #packets: number[] = [];

  constructor(stream: string, ours: boolean, maxBytes: number, budget: Budget, events: Event[]) {
    this.#budget = budget;
    this.#stream = stream;
    this.#ours = ours;
    this.#shown = ours;
    this.#maxBytes = maxBytes;
    this.#events = events;
  }

  /** Whether the stream is shown: on framecat's port, or a frame of it was valid. */
  get shown(): boolean {
    return this.#shown;
  }

  /** Where the segment being fed puts its frames' bytes, when it is noted. */
  parts: FramePart[] | undefined;

  /** Takes stream bytes of packet `packet`; `offset` is where `bytes` start in its payload. */
  feed(bytes: Uint8Array, packet: number, offset = 0): void {
    let at = 0;
    while (at < bytes.length && !this.#stopped) {
      if (this.#packets.at(-1) !== packet) this.#packets.push(packet);
      if (this.#length < 0) {
        // The length prefix, a byte at a time (it may span segments),
        // scanned as the receiver scans it.
        const from = at;
        const scan = this.#scan;
        scan.maxBytes = this.#maxBytes;
        while (at < bytes.length) {
          this.#prefix[this.#prefixLength++] = bytes[at++];
          scan.end = this.#prefixLength;
          const status = scanPrefix(this.#prefix, scan);
          if (status === PREFIX_PARTIAL) continue;
          if (status === PREFIX_BAD) {
            const problem = prefixProblem(this.#prefix.subarray(0, this.#prefixLength), scan);
            // Bytes after a bad prefix go with it, for the receiver's words.
            const more = problem?.code === "TOO_LARGE" ? 0 : MAX_PREFIX_DIGITS;
            return this.#bad(bytes.subarray(at, at + more));
          }
          this.#length = scan.length;
          break;
        }
        this.#note(bytes, from, at, offset);
        if (this.#length < 0) break;
      }
      const take = Math.min(bytes.length - at, this.#length - this.#have);
      if (take > 0 && this.parts) {
        const part = this.#part();
        part.json = [offset + at, offset + at + take - 1];
        part.jsonFrom = this.#have;
        part.length = this.#length;
      }
      if (take > 0 && this.#cut === undefined) this.#hold(bytes.slice(at, at + take));
      this.#have += take;
      at += take;
      if (this.#have === this.#length) this.#complete();
    }
    this.#offset += bytes.length;
  }

  /** The noted part of the current frame. */
  #part(): FramePart {
    const frame = this.#frames + 1;
    let part = this.parts!.at(-1);
    if (part?.frame !== frame) this.parts!.push(part = { frame });
    return part;
  }

  /** Notes prefix bytes `from` up to `end` (exclusive) of `bytes`, and the length once whole. */
  #note(bytes: Uint8Array, from: number, end: number, offset: number): void {
    if (!this.parts || end <= from) return;
    const part = this.#part();
    part.prefix = [offset + from, offset + end - 1];
    part.prefixText = String.fromCharCode(...bytes.subarray(from, end));
    if (this.#length >= 0) part.length = this.#length;
  }

  /** `length` stream bytes that were not captured. */
  gap(length: number, why: string): void {
    const from = this.#offset;
    this.#offset += length;
    if (this.#stopped || length === 0) return;
    if (this.#length >= 0 && this.#length - this.#have >= length) {
      // Inside a payload whose end is known: the frames after it can still be read.
      this.#cut ??= `stream bytes ${from} to ${from + length - 1} were not captured (${why})`;
      this.#cutBytes += length;
      this.#release();
      this.#have += length;
      if (this.#have === this.#length) this.#complete();
      return;
    }
    this.#problem(
      `gap: stream bytes ${from} to ${from + length - 1} were not captured (${why}); ` +
        "nothing after the gap is decoded",
    );
    this.#stop();
  }

  /** The capture ended. */
  end(): void {
    if (this.#stopped) return;
    if (this.#length < 0 && this.#prefixLength === 0) return this.#stop();
    if (this.#cut) {
      this.#problem(
        `frame ${this.#frames + 1} (stream byte ${this.#frameStart}) is cut short by the ` +
          `capture's end, and ${this.#cut}`,
      );
    } else this.#bad(new Uint8Array());
    this.#stop();
  }

  #complete(): void {
    const length = this.#length;
    const prefixLength = this.#prefixLength;
    const packets = this.#packets;
    if (this.#cut) {
      this.#problem(
        `frame ${this.#frames + 1} (stream byte ${this.#frameStart}, packets ${
          packets.join(", ")
        }) is not shown: ${
          this.#cutBytes > 0
            ? `${this.#cutBytes} of its ${length} payload bytes are missing, ${this.#cut}`
            : this.#cut
        }`,
      );
    } else {
      const payload = this.#chunks.length === 1 ? this.#chunks[0] : concat(this.#chunks, length);
      this.#release();
      const text = decodeUtf8(payload);
      let valid = text !== undefined;
      if (valid) {
        try {
          // Only to check it: the record parses its text again when asked for its value.
          JSON.parse(text!);
        } catch {
          valid = false;
        }
      }
      if (!valid) return this.#bad(new Uint8Array(), payload);
      this.#shown = true;
      this.#events.push(new Message(this.#stream, packets, length, text!));
    }
    this.#frames++;
    this.#frameStart += prefixLength + length;
    this.#prefixLength = 0;
    this.#length = -1;
    this.#release();
    this.#have = 0;
    this.#cut = undefined;
    this.#cutBytes = 0;
    this.#packets = [];
  }

  /** The current frame is bad: `more` are the bytes after it, for the reason's quote. */
  #bad(more: Uint8Array, payload?: Uint8Array): void {
    if (this.#shown) {
      const bytes = concat(
        [this.#prefix.slice(0, this.#prefixLength), ...(payload ? [payload] : this.#chunks), more],
        this.#prefixLength + this.#have + more.length,
      );
      this.#events.push({
        type: "bad",
        stream: this.#stream,
        bytes,
        number: this.#frames + 1,
        offset: this.#frameStart,
        maxBytes: this.#maxBytes,
      });
    }
    this.#stop();
  }

  #problem(reason: string): void {
    if (this.#shown || this.#ours) {
      this.#events.push({ type: "problem", stream: this.#stream, reason });
    }
  }

  /** Keeps payload bytes, within the budget of all streams. */
  #hold(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.#held += bytes.length;
    this.#budget.used += bytes.length;
    if (this.#budget.used > this.#budget.limit) {
      this.#release();
      this.#cut = `its payload was not kept: the unfinished frames of all streams together ` +
        `may hold ${this.#budget.limit} bytes`;
    }
  }

  #release(): void {
    this.#budget.used -= this.#held;
    this.#held = 0;
    this.#chunks = [];
  }

  #stop(): void {
    this.#stopped = true;
    this.#release();
    this.#prefixLength = 0;
    this.#packets = [];
  }
}

/** A message record whose `message` is parsed from its text when asked for, not held. */
class Message implements MessageRecord {
  readonly type = "message";
  constructor(
    readonly stream: string,
    readonly packets: number[],
    readonly bytes: number,
    readonly text: string,
  ) {}

  get message(): unknown {
    return JSON.parse(this.text);
  }
}

/** The receiver's reason for a bad frame: its decoder run over the frame's bytes. */
async function explain(bad: BadFrame): Promise<ProblemRecord> {
  let reason = "bad frame";
  try {
    for await (const _ of decodeFrames([bad.bytes], { maxBytes: bad.maxBytes })) {
      // A frame that decodes is not the bad one; the bytes hold only that frame.
    }
  } catch (error) {
    if (!(error instanceof FrameError)) throw error;
    reason = frameError(error.code, { frame: bad.number, offset: bad.offset, reason: error.reason })
      .message;
    return { type: "problem", stream: bad.stream, reason };
  }
  return {
    type: "problem",
    stream: bad.stream,
    reason: `Cannot read frame ${bad.number} (stream byte ${bad.offset}): ${reason}`,
  };
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk.subarray(0, Math.min(chunk.length, length - at)), at);
    at += chunk.length;
  }
  return bytes;
}
