/**
 * `framecat dissect`: a capture explained packet by packet, as the seed read
 * its Wireshark capture, then the framecat messages of each connection. For
 * people (a summary line, the layers with their byte ranges and decoded
 * fields, and a hex dump labelled by layer, in 100 columns) or as JSON lines.
 * Each framecat frame a packet carries is a `framecat` layer after its
 * `payload`: the length prefix and the JSON with their byte ranges. This
 * module makes the records and writes them; the text's layout is
 * `report_text.ts`, its output buffer `report_output.ts`.
 * Streamed: each packet is written as it is read, and memory stays bounded
 * whatever the capture's size.
 *
 * @example
 * ```ts
 * import { writeDissection } from "./report.ts";
 * import assert from "node:assert/strict";
 *
 * const empty = new Uint8Array(24);
 * new DataView(empty.buffer).setUint32(0, 0xa1b2c3d4, true);
 * new DataView(empty.buffer).setUint32(20, 1, true);
 * let written = "";
 * const out = { write: (p: Uint8Array) => (written += new TextDecoder().decode(p), Promise.resolve(p.length)) };
 * const result = await writeDissection([empty], out, { json: true });
 * assert.deepEqual(result, { problems: [], broken: false });
 * assert.equal(written, "");
 * ```
 *
 * @module
 */

import type { ByteWriter } from "../line_writer.ts";
import { showJson } from "./json_text.ts";
import { dissectPacket, type Layer } from "./layers.ts";
import { type CaptureSource, readCaptureStream } from "./pcap.ts";
import { type FramePart, type ProblemRecord, TcpStreams } from "./streams.ts";
import type { MessageRecord } from "./streams.ts";
import { ReportOutput } from "./report_output.ts";
import { describeMessage, describePacket, wrap, writeHexDump } from "./report_text.ts";

export type { MessageRecord, ProblemRecord } from "./streams.ts";
export type { Layer, LayerName } from "./layers.ts";

/** One packet, dissected. */
export interface PacketRecord {
  type: "packet";
  /** Its number in the file, from 1, as Wireshark counts. */
  number: number;
  /** Its length on the wire. */
  length: number;
  /** The bytes captured. */
  captured: number;
  /** Capture time, seconds since the epoch. */
  time: number;
  /** Capture time in whole nanoseconds since the epoch, as decimal digits: exact where `time` is rounded. */
  timeNs: string;
  layers: Layer[];
  /** What is not dissected, and what is wrong with the packet. */
  notes?: string[];
  /**
   * The captured bytes (not printed in JSON). Valid until the next record
   * is asked for: copy them to keep them.
   */
  data: Uint8Array;
}

/** What `framecat dissect --json` prints, one a line, in this order of arrival. */
export type DissectRecord = PacketRecord | MessageRecord | ProblemRecord;

/** Options for {@linkcode dissectRecords}. */
export interface DissectRecordsOptions {
  /** The framecat port: streams to or from it are always decoded. Defaults to 1234. */
  port?: number;
  /** The capture's file name, said in the error when it is broken. */
  name?: string;
}

/** Options for {@linkcode writeDissection}. */
export interface DissectOptions extends DissectRecordsOptions {
  /** One JSON object per line instead of text for people. */
  json?: boolean;
  /** Colour the hex dump by layer (ANSI), for a terminal. */
  color?: boolean;
  /**
   * Messages and problems listed after the packets in the text for people,
   * at most, to keep memory bounded; the rest are counted. Defaults to 50,000.
   */
  listLimit?: number;
}

/** What {@linkcode writeDissection} found wrong. */
export interface DissectResult {
  /** What is wrong with the capture, one line each, for stderr. */
  problems: string[];
  /** Whether the file itself is broken (not only some packets in it). */
  broken: boolean;
}

/**
 * Yields the records of a capture as its packets are read: each packet,
 * then the messages and problems that it completed; at the end, the
 * problems of unfinished streams. A broken file throws `SyntaxError` after
 * everything that could be read (the streams' last records included).
 *
 * @example
 * ```ts
 * import { dissectRecords } from "./report.ts";
 * import assert from "node:assert/strict";
 *
 * // Raw IP (link type 101), one packet carrying the frame 2\n{}.
 * const ip = [0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
 *   0xc3, 0x50, 0x04, 0xd2, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 2, 0, 0, 0, 0, 0,
 *   0x32, 0x0a, 0x7b, 0x7d];
 * const file = new Uint8Array(24 + 16 + ip.length);
 * const view = new DataView(file.buffer);
 * view.setUint32(0, 0xa1b2c3d4, true);
 * view.setUint32(20, 101, true);
 * view.setUint32(32, ip.length, true);
 * view.setUint32(36, ip.length, true);
 * file.set(ip, 40);
 * const types = [];
 * for await (const record of dissectRecords([file])) types.push(record.type);
 * assert.deepEqual(types, ["packet", "message"]);
 * ```
 */
export async function* dissectRecords(
  source: CaptureSource,
  options: DissectRecordsOptions = {},
): AsyncGenerator<DissectRecord, void, undefined> {
  const streams = new TcpStreams({ port: options.port });
  let broken: SyntaxError | undefined;
  try {
    for await (const captured of readCaptureStream(source, { name: options.name })) {
      const packet = captured.block !== undefined
        ? {
          layers: captured.data.length === 0 ? [] : [{
            layer: "undissected" as const,
            start: 0,
            end: captured.data.length - 1,
            reason: "the block's data",
          }],
          notes: [captured.block],
        }
        : dissectPacket(captured.data, captured.linkType, {
          originalLength: captured.originalLength,
        });
      if (packet.tcp) {
        const tcp = packet.layers.find((l) => l.layer === "tcp")!;
        const view = streams.add(captured.number, packet.tcp, { time: captured.time });
        tcp.relativeSeq = view.relativeSeq;
        if (view.relativeAck !== undefined) tcp.relativeAck = view.relativeAck;
        if (view.scaledWindow !== undefined) tcp.scaledWindow = view.scaledWindow;
        if (view.frames) addFrames(packet.layers, view.frames);
      }
      const record: PacketRecord = {
        type: "packet",
        number: captured.number,
        length: captured.originalLength,
        captured: captured.data.length,
        time: captured.time,
        timeNs: captured.timeNs,
        layers: packet.layers,
        data: captured.data,
      };
      if (packet.notes.length > 0) record.notes = packet.notes;
      yield record;
      if (streams.pending) yield* await streams.take();
    }
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    broken = error;
  }
  yield* await streams.finish();
  if (broken) throw broken;
}

/**
 * Adds a `framecat` layer for each frame whose bytes the packet carries,
 * after its `payload` layer: the length prefix and the JSON, each with its
 * byte range, as Wireshark's framecat dissector shows them.
 */
function addFrames(layers: Layer[], frames: FramePart[]): void {
  const at = layers.findIndex((l) => l.layer === "payload");
  if (at < 0) return;
  const base = layers[at].start;
  const added: Layer[] = frames.map((part) => {
    const ranges: Record<string, [number, number]> = {};
    const layer: Layer = { layer: "framecat", start: 0, end: 0, frame: part.frame };
    if (part.prefix) {
      layer.prefix = part.prefixText;
      ranges.prefix = [base + part.prefix[0], base + part.prefix[1]];
    }
    if (part.length !== undefined) layer.length = part.length;
    if (part.json) {
      const from = part.jsonFrom ?? 0;
      layer.json = `bytes ${from}-${from + part.json[1] - part.json[0]} of ${part.length ?? "?"}`;
      ranges.json = [base + part.json[0], base + part.json[1]];
    }
    const all = Object.values(ranges).flat();
    layer.start = Math.min(...all);
    layer.end = Math.max(...all);
    layer.fieldRanges = ranges;
    return layer;
  });
  layers.splice(at + 1, 0, ...added);
}

/**
 * A record as `--json` prints it (without its line break): the packet's
 * `data` left out, a message's `message` printed from its own text.
 *
 * @example
 * ```ts
 * import { recordToJson } from "./report.ts";
 * import assert from "node:assert/strict";
 *
 * const line = recordToJson({
 *   type: "message", stream: "a:1 > b:2", packets: [4], bytes: 22,
 *   message: 12345678901234567000, text: "12345678901234567890",
 * });
 * assert.equal(line, '{"type":"message","stream":"a:1 > b:2","packets":[4],"bytes":22,"message":12345678901234567890}');
 * ```
 */
export function recordToJson(record: DissectRecord): string {
  switch (record.type) {
    case "packet": {
      const { data: _, ...rest } = record;
      return JSON.stringify(rest);
    }
    case "message":
      return `{"type":"message","stream":${JSON.stringify(record.stream)},"packets":[${
        record.packets.join(",")
      }],"bytes":${record.bytes},"message":${showJson(record.text)}}`;
    default:
      return JSON.stringify(record);
  }
}

const SPACED_6 = { indent: 6, separator: " " };

interface Listed {
  lines: string[];
  count: number;
  omitted: number;
}

/**
 * Dissects a capture read from `source` and writes the report to `writer`
 * as it goes. What could be read is reported even when the file is broken;
 * the reason is in `problems`, and `broken` is set. A failed write (such as
 * a closed pipe) rejects with its error.
 *
 * @example
 * ```ts
 * import { writeDissection } from "./report.ts";
 * import assert from "node:assert/strict";
 *
 * const out = { write: (p: Uint8Array) => Promise.resolve(p.length) };
 * const result = await writeDissection([new TextEncoder().encode("garbage!")], out);
 * assert.equal(result.broken, true);
 * assert.match(result.problems[0], /neither pcap nor pcapng/);
 * ```
 */
export async function writeDissection(
  source: CaptureSource,
  writer: ByteWriter,
  options: DissectOptions = {},
): Promise<DissectResult> {
  const out = new ReportOutput(writer);
  const result: DissectResult = { problems: [], broken: false };
  const listed = new Map<string, Listed>();
  let total = 0;
  let unlisted = 0;
  const limit = options.listLimit ?? 50_000;
  let firstTime: number | undefined;
  try {
    for await (const record of dissectRecords(source, options)) {
      if (options.json) {
        const line = recordToJson(record) + "\n";
        if (line.length > 1 << 18) await out.addLarge(line);
        else out.add(line);
      } else if (record.type === "packet") {
        firstTime ??= record.time;
        out.add(describePacket(record, { time: record.time - firstTime }));
        writeHexDump(out, record, { color: options.color });
      } else {
        let stream = listed.get(record.stream);
        if (!stream && total < limit) {
          listed.set(record.stream, stream = { lines: [], count: 0, omitted: 0 });
        }
        if (!stream) {
          unlisted++;
        } else if (record.type === "message") {
          stream.count++;
          if (total < limit) stream.lines.push(describeMessage(record, { index: stream.count }));
          else stream.omitted++;
        } else if (total < limit) {
          stream.lines.push(wrap("    problem: ", record.reason.split(" "), SPACED_6));
        } else stream.omitted++;
        total++;
      }
      await out.ready();
    }
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    result.broken = true;
    result.problems.push(error.message);
  }
  if (listed.size > 0) out.add("Messages\n");
  for (const [name, stream] of listed) {
    out.add(`  ${name}\n`);
    for (const line of stream.lines) out.add(line + "\n");
    if (stream.omitted > 0) {
      out.add(
        wrap(
          "    ",
          (`... and ${stream.omitted} more messages and problems, not listed: the list keeps ` +
            `${limit} in all, to keep memory bounded (--json prints every one)`).split(" "),
          { indent: 4, separator: " " },
        ) + "\n",
      );
    }
    await out.ready();
  }
  if (unlisted > 0) {
    out.add(
      `  ... and ${unlisted} messages and problems of other streams, not listed` +
        " (--json prints every one)\n",
    );
  }
  await out.flush();
  return result;
}
