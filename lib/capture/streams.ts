/**
 * Follows the TCP connections of a capture: relative sequence numbers and
 * scaled windows per packet, as Wireshark shows them, and each direction's
 * byte stream reassembled by sequence number (out-of-order, retransmitted
 * and overlapping segments taken once, gaps reported) and decoded as
 * framecat frames, with the packets that carried each message.
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
 * const [stream] = await streams.decode();
 * assert.deepEqual(stream.messages, [{ packets: [1, 2], bytes: 14, message: "Hello World!" }]);
 * ```
 *
 * @module
 */

import { formatAddress } from "../address.ts";
import type { TcpInfo } from "./layers.ts";
import { decodeFrames, FrameError, MAX_PAYLOAD_BYTES } from "../framing.ts";

/** What Wireshark shows of a segment once its connection is known. */
export interface SegmentView {
  /** Sequence number relative to the direction's first (its SYN is 0). */
  relativeSeq: number;
  /** Acknowledgement number relative to the other direction's first, when known. */
  relativeAck?: number;
  /** The window times the scale the SYN announced, when both sides did. */
  scaledWindow?: number;
}

/** A message decoded from a stream. */
export interface StreamMessage {
  /** The packets that carried its bytes (length prefix included), in stream order. */
  packets: number[];
  /** The payload's length. */
  bytes: number;
  /** The payload's value. */
  message: unknown;
}

/** One direction of a connection, decoded. */
export interface DecodedStream {
  /** `src:port > dst:port`. */
  stream: string;
  messages: StreamMessage[];
  /** Why decoding stopped early: a bad frame (as the receiver says it) or a gap. */
  problems: string[];
}

/** Options for {@linkcode TcpStreams.decode}. */
export interface DecodeStreamsOptions {
  /** Streams to or from this port are always decoded, bad frames reported. Defaults to 1234. */
  port?: number;
}

interface Segment {
  offset: number;
  data: Uint8Array;
  packet: number;
}

interface Direction {
  name: string;
  /** The sequence number just before the stream's first byte. */
  base: number;
  windowScale?: number;
  sawSyn: boolean;
  segments: Segment[];
  reverse: string;
  port: [number, number];
}

/** Collects the TCP segments of a capture; see the module's documentation. */
export class TcpStreams {
  #directions = new Map<string, Direction>();

  /** Adds a segment of packet `number`; returns its relative numbers. */
  add(number: number, tcp: TcpInfo): SegmentView {
    const name = `${formatAddress({ hostname: tcp.src, port: tcp.srcPort })} > ${
      formatAddress({ hostname: tcp.dst, port: tcp.dstPort })
    }`;
    const reverse = `${formatAddress({ hostname: tcp.dst, port: tcp.dstPort })} > ${
      formatAddress({ hostname: tcp.src, port: tcp.srcPort })
    }`;
    const syn = tcp.flags.includes("SYN");
    let direction = this.#directions.get(name);
    if (!direction || (syn && !direction.sawSyn && direction.segments.length === 0)) {
      direction = {
        name,
        // A SYN takes one sequence number; without one, the first byte seen is 1.
        base: syn ? tcp.seq : (tcp.seq - 1) >>> 0,
        windowScale: syn ? tcp.windowScale : undefined,
        sawSyn: syn,
        segments: [],
        reverse,
        port: [tcp.srcPort, tcp.dstPort],
      };
      this.#directions.set(name, direction);
    }
    const relativeSeq = (tcp.seq - direction.base) >>> 0;
    if (tcp.payload.length > 0) {
      const offset = ((syn ? tcp.seq + 1 : tcp.seq) - direction.base - 1) >>> 0;
      direction.segments.push({ offset, data: tcp.payload, packet: number });
    }
    const other = this.#directions.get(reverse);
    const view: SegmentView = { relativeSeq };
    if (other && tcp.flags.includes("ACK")) view.relativeAck = (tcp.ack - other.base) >>> 0;
    if (!syn && direction.windowScale !== undefined && other?.windowScale !== undefined) {
      view.scaledWindow = tcp.window * 2 ** direction.windowScale;
    }
    return view;
  }

  /**
   * Reassembles each direction and decodes its frames. Streams to or from
   * `port` are decoded whatever they hold; others only if their first frame
   * is valid (a stream of another protocol is left out).
   */
  async decode(options: DecodeStreamsOptions = {}): Promise<DecodedStream[]> {
    const port = options.port ?? 1234;
    const decoded: DecodedStream[] = [];
    for (const direction of this.#directions.values()) {
      if (direction.segments.length === 0) continue;
      const { bytes, pieces, gap } = reassemble(direction.segments);
      const result = await decodeStream(direction.name, bytes, pieces);
      if (gap) result.problems.push(gap);
      const ours = direction.port.includes(port);
      if (ours || result.messages.length > 0) decoded.push(result);
    }
    return decoded;
  }
}

interface Piece {
  start: number;
  end: number;
  packet: number;
  segment: Segment;
}

/**
 * Lays the segments out by sequence number. A byte comes from the first
 * packet, in capture order, that carried it: retransmitted and overlapping
 * bytes are taken once. The stream ends at the first byte never captured.
 */
function reassemble(segments: Segment[]): { bytes: Uint8Array; pieces: Piece[]; gap?: string } {
  const pieces: Piece[] = [];
  // Disjoint, sorted [start, end) runs of stream bytes already taken.
  const covered: [number, number][] = [];
  for (const segment of segments) {
    let from = segment.offset;
    const to = segment.offset + segment.data.length;
    for (const [start, end] of covered) {
      if (end <= from) continue;
      if (start >= to) break;
      if (start > from) pieces.push({ start: from, end: start, packet: segment.packet, segment });
      from = Math.max(from, end);
      if (from >= to) break;
    }
    if (from < to) pieces.push({ start: from, end: to, packet: segment.packet, segment });
    covered.push([segment.offset, to]);
    covered.sort((x, y) => x[0] - y[0]);
    for (let i = covered.length - 1; i > 0; i--) {
      if (covered[i][0] <= covered[i - 1][1]) {
        covered[i - 1][1] = Math.max(covered[i - 1][1], covered[i][1]);
        covered.splice(i, 1);
      }
    }
  }
  pieces.sort((x, y) => x.start - y.start);
  const used: Piece[] = [];
  let next = 0;
  let gap: string | undefined;
  for (const piece of pieces) {
    if (piece.start > next) {
      gap = `gap: stream bytes ${next} to ${piece.start - 1} were not captured ` +
        `(packet ${piece.packet} carries bytes after them); nothing after the gap is decoded`;
      break;
    }
    used.push(piece);
    next = piece.end;
  }
  const bytes = new Uint8Array(next);
  for (const { start, end, segment } of used) {
    bytes.set(segment.data.subarray(start - segment.offset, end - segment.offset), start);
  }
  return { bytes, pieces: used, gap };
}

async function decodeStream(
  name: string,
  bytes: Uint8Array,
  pieces: Piece[],
): Promise<DecodedStream> {
  const result: DecodedStream = { stream: name, messages: [], problems: [] };
  let at = 0;
  try {
    for await (const frame of decodeFrames([bytes], { maxBytes: MAX_PAYLOAD_BYTES })) {
      // The frame's prefix is its digits up to the LF: it ends the frame's bytes.
      const end = bytes.indexOf(0x0a, at) + 1 + frame.bytes;
      const packets = pieces.filter((p) => p.start < end && p.end > at).map((p) => p.packet);
      result.messages.push({
        packets: [...new Set(packets)],
        bytes: frame.bytes,
        message: frame.value,
      });
      at = end;
    }
  } catch (error) {
    if (!(error instanceof FrameError)) throw error;
    result.problems.push(error.message);
  }
  return result;
}
