/**
 * `framecat dissect`: a capture explained packet by packet, as the seed read
 * its Wireshark capture, then the framecat messages of each connection. For
 * people (a summary line, the layers with their byte ranges and decoded
 * fields, and a hex dump labelled by layer, in 100 columns) or as JSON lines.
 * Each framecat frame a packet carries is a `framecat` layer after its
 * `payload`: the length prefix and the JSON with their byte ranges.
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

import { type ByteWriter, writeAll } from "../line_writer.ts";
import { showJson } from "./json_text.ts";
import { dissectPacket, type Layer } from "./layers.ts";
import { type CaptureSource, readCaptureStream } from "./pcap.ts";
import { type FramePart, type MessageRecord, type ProblemRecord, TcpStreams } from "./streams.ts";

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

/** Characters of a message's text shown in that list, at most. */
const MAX_SHOWN = 300;
const WIDTH = 100;

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
  const out = new Output(writer);
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
        out.add(describePacket(record, record.time - firstTime));
        hexDump(out, record.data, record.layers, options.color ?? false);
      } else {
        let stream = listed.get(record.stream);
        if (!stream && total < limit) {
          listed.set(record.stream, stream = { lines: [], count: 0, omitted: 0 });
        }
        if (!stream) {
          unlisted++;
        } else if (record.type === "message") {
          stream.count++;
          if (total < limit) stream.lines.push(describeMessage(stream.count, record));
          else stream.omitted++;
        } else if (total < limit) {
          stream.lines.push(wrap("    problem: ", record.reason.split(" "), 6, " "));
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
          4,
          " ",
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

function describeMessage(index: number, record: MessageRecord): string {
  // Only the beginning is shown: only the beginning is rewritten (a large text is not copied).
  let end = Math.min(record.text.length, 4 * MAX_SHOWN);
  const last = record.text.charCodeAt(end - 1);
  if (end < record.text.length && last >= 0xd800 && last <= 0xdbff) end--;
  let text = showJson(record.text.slice(0, end));
  if (text.length > MAX_SHOWN || end < record.text.length) {
    const cut = text.charCodeAt(MAX_SHOWN - 1) >= 0xd800 &&
      text.charCodeAt(MAX_SHOWN - 1) <= 0xdbff;
    text = `${text.slice(0, MAX_SHOWN - (cut ? 1 : 0))}... (shortened)`;
  }
  const packets = record.packets.length > 12
    ? `${record.packets.slice(0, 6).join(", ")}, ... ${
      record.packets.at(-1)
    } (${record.packets.length})`
    : record.packets.join(", ");
  return wrap(
    `    ${index}. `,
    [
      ...text.split(" "),
      `(${record.bytes} bytes; packet${record.packets.length === 1 ? "" : "s"} ${packets})`,
    ],
    7,
    " ",
  );
}

const COLORS: Record<string, number> = {
  ethernet: 34,
  llc: 36,
  snap: 36,
  sll: 34,
  loopback: 34,
  ipv4: 32,
  ipv6: 32,
  tcp: 33,
  udp: 33,
  payload: 35,
  framecat: 35,
  trailer: 2,
  undissected: 31,
};

/** The text for people of one packet but its hex dump, every line within 100 columns. */
function describePacket(record: PacketRecord, time: number): string {
  let text = summary(record, time) + "\n";
  for (const layer of record.layers) text += describeLayer(layer, record.data) + "\n";
  for (const note of record.notes ?? []) text += wrap("  note: ", note.split(" "), 8, " ") + "\n";
  return text;
}

function summary(record: PacketRecord, time: number): string {
  const { layers } = record;
  const ip = layers.find((l) => l.layer === "ipv4" || l.layer === "ipv6");
  const transport = layers.find((l) => l.layer === "tcp" || l.layer === "udp");
  const words = [
    `Packet ${record.number}`,
    ` ${time.toFixed(6)} s`,
    ` ${record.length} bytes${
      record.captured < record.length ? ` (${record.captured} captured)` : ""
    }`,
  ];
  if (ip && transport?.srcPort !== undefined && transport.dstPort !== undefined) {
    const host = (h: unknown) => String(h).includes(":") ? `[${h}]` : h;
    words.push(` ${host(ip.src)}:${transport.srcPort}`, `> ${host(ip.dst)}:${transport.dstPort}`);
    const length = transport.payloadLength === undefined
      ? "first fragment"
      : `len ${transport.payloadLength}`;
    if (transport.layer === "udp") words.push(`UDP ${length}`);
    else {
      words.push(`TCP [${((transport.flags as string[] | undefined) ?? []).join(", ")}]`);
      if (transport.seq !== undefined) words.push(`seq ${transport.relativeSeq ?? transport.seq}`);
      if (transport.relativeAck !== undefined) words.push(`ack ${transport.relativeAck}`);
      words.push(length);
    }
  } else if (ip?.src !== undefined) {
    words.push(` ${ip.src} > ${ip.dst}`);
  } else {
    const link = layers[0];
    if (link?.etherTypeName) words.push(` ${link.etherTypeName}`);
    else if (link?.kind === "IEEE 802.3") words.push(" IEEE 802.3");
  }
  return wrap("", words, 2, " ");
}

/** Keys shown with another key, or not shown as fields. */
const HIDDEN = new Set([
  "layer",
  "start",
  "end",
  "fieldRanges",
  "fieldBits",
  "missing",
  "checksumStatus",
  "checksumCalculated",
  "flagBits",
  "reason",
  "kind",
]);
const HEX_FIELDS: Record<string, number> = {
  etherType: 4,
  pid: 4,
  oui: 6,
  dsap: 2,
  ssap: 2,
  control: 2,
  checksum: 4,
};

function describeLayer(layer: Layer, data: Uint8Array): string {
  const head = `  ${layer.layer.padEnd(11)} ${`${layer.start}-${layer.end}`.padEnd(9)} `;
  if (layer.reason) {
    // A trailer or undissected bytes: what they are, in words.
    const words = `${layer.kind ? `${layer.kind}: ` : ""}${layer.reason}`.split(" ");
    return wrap(head, words, head.length, " ");
  }
  const fields: string[] = [];
  if (layer.kind) fields.push(String(layer.kind));
  for (const key in layer) {
    if (HIDDEN.has(key) || (key.endsWith("Name") && key.slice(0, -4) in layer)) continue;
    fields.push(`${key} ${describeValue(layer, key)}${describeRange(layer, key, data)}`);
  }
  if (layer.missing) fields.push(`not captured: ${layer.missing.join(", ")}`);
  return wrap(head, fields, head.length, ", ");
}

function describeValue(layer: Layer, key: string): string {
  const value = layer[key];
  let text: string;
  if (key === "flags") {
    const bits = layer.flagBits as number;
    const names = (value as string[]).join(", ") || "none";
    return `0x${bits.toString(16).padStart(layer.layer === "tcp" ? 3 : 1, "0")} (${names})`;
  } else if (
    typeof value === "number" &&
    (key in HEX_FIELDS || (layer.layer === "sll" && key === "protocol"))
  ) {
    text = `0x${value.toString(16).padStart(HEX_FIELDS[key] ?? 4, "0")}`;
  } else if (key === "options" && Array.isArray(value)) {
    text = value.map((o) =>
      o.kind === "TS"
        ? `TS ${o.value}/${o.echo}`
        : o.kind === "SACK"
        ? `SACK ${o.blocks.map((b: number[]) => b.join("-")).join(" ")}`
        : o.value === undefined
        ? String(o.kind)
        : `${o.kind} ${o.value}`
    ).join(" ");
  } else if (key === "prefix" && typeof value === "string") {
    // Its LF and any byte that is not a digit, escaped.
    text = JSON.stringify(value);
  } else if (typeof value === "object" && value !== null) {
    text = JSON.stringify(value);
  } else text = String(value);
  const name = layer[`${key}Name`];
  if (key === "checksum" && layer.checksumStatus) {
    const calculated = layer.checksumCalculated as number | undefined;
    const should = calculated === undefined
      ? ""
      : `, ${layer.checksumStatus === "incorrect" ? "should be" : "computed"} 0x${
        calculated.toString(16).padStart(4, "0")
      }`;
    return `${text} (${layer.checksumStatus}${should})`;
  }
  return name === undefined ? text : `${text} (${name})`;
}

/** ` [16-17]`, or with bits ` [14: 0100 ....]`. */
function describeRange(layer: Layer, key: string, data: Uint8Array): string {
  const range = layer.fieldRanges?.[key];
  if (!range) return "";
  const where = range[0] === range[1] ? `${range[0]}` : `${range[0]}-${range[1]}`;
  const bits = layer.fieldBits?.[key];
  if (!bits) return ` [${where}]`;
  return ` [${where}: ${bitPattern(data, range, bits)}]`;
}

/** Wireshark's picture of a bit field, its bits shown and the others dots: `0100 ....`. */
function bitPattern(data: Uint8Array, [from, to]: [number, number], [high, low]: number[]): string {
  let text = "";
  for (let bit = (to - from + 1) * 8 - 1; bit >= 0; bit--) {
    const byte = data[to - (bit >> 3)];
    text += bit <= high && bit >= low ? (byte >> (bit & 7)) & 1 : ".";
    if (bit % 4 === 0 && bit > 0) text += " ";
  }
  return text;
}

/**
 * `first`, then `items` separated by `separator`, broken into lines of at
 * most 100 columns, later lines indented by `indent`; an item too long for
 * a line is cut across lines.
 */
function wrap(first: string, items: string[], indent: number, separator: string): string {
  const pad = " ".repeat(indent);
  let text = "";
  let line = first;
  let fresh = true;
  for (let i = 0; i < items.length; i++) {
    let item = items[i] + (i < items.length - 1 ? separator.trimEnd() : "");
    const gap = fresh ? "" : " ";
    if (line.length + gap.length + item.length <= WIDTH) {
      line += gap + item;
      fresh = false;
      continue;
    }
    if (!fresh) {
      text += line + "\n";
      line = pad;
    }
    while (line.length + item.length > WIDTH) {
      const room = WIDTH - line.length;
      text += line + item.slice(0, room) + "\n";
      item = item.slice(room);
      line = pad;
    }
    line += item;
    fresh = false;
  }
  return text + line.trimEnd();
}

/**
 * Output in one reused byte buffer, written out between records: text is
 * encoded into it, and the hex dump, the bulk of the text for people, is
 * written into it byte by byte.
 */
class Output {
  #writer: ByteWriter;
  /** At least 1 MiB: `addLarge` counts on it. */
  buf = new Uint8Array(1 << 20);
  n = 0;

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

  async flush(): Promise<void> {
    await writeAll(this.#writer, this.buf.subarray(0, this.n));
    this.n = 0;
    if (this.buf.length > 1 << 22) this.buf = new Uint8Array(1 << 20);
  }
}

const encoder = new TextEncoder();
/** Each byte's two hex digits, as character codes. */
const HEX_CODES = new Uint8Array(512);
for (let i = 0; i < 256; i++) {
  const digits = i.toString(16).padStart(2, "0");
  HEX_CODES[2 * i] = digits.charCodeAt(0);
  HEX_CODES[2 * i + 1] = digits.charCodeAt(1);
}
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0") + " ");
const ASCII = Array.from(
  { length: 256 },
  (_, i) => i >= 0x20 && i < 0x7f ? String.fromCharCode(i) : ".",
);

/**
 * The layers as the hex dump names them: the payload's bytes by the frame
 * parts they are (`framecat 66-68`, its prefix; `framecat 69-82`, its JSON),
 * the payload's other bytes still `payload`.
 */
function frameLabels(layers: Layer[]): Layer[] {
  const shown: Layer[] = [];
  const parts: Layer[] = [];
  for (const layer of layers) {
    if (layer.layer !== "framecat") continue;
    for (const range of Object.values(layer.fieldRanges ?? {})) {
      parts.push({ layer: "framecat", start: range[0], end: range[1] });
    }
  }
  parts.sort((a, b) => a.start - b.start);
  for (const layer of layers) {
    if (layer.layer === "framecat") continue;
    if (layer.layer !== "payload") {
      shown.push(layer);
      continue;
    }
    let at = layer.start;
    for (const part of parts) {
      if (part.start > at) shown.push({ layer: "payload", start: at, end: part.start - 1 });
      shown.push(part);
      at = part.end + 1;
    }
    if (at <= layer.end) shown.push({ layer: "payload", start: at, end: layer.end });
  }
  return shown;
}

/** Rows of 16 bytes: offset, hex, ASCII, and the layers the row's bytes belong to. */
function hexDump(out: Output, data: Uint8Array, all: Layer[], color: boolean): void {
  // A framecat layer lies over the payload's bytes: the hex dump names each frame's parts.
  const layers = all.some((l) => l.layer === "framecat") ? frameLabels(all) : all;
  let first = 0;
  for (let row = 0; row < data.length; row += 16) {
    const last = Math.min(row + 16, data.length) - 1;
    const names: string[] = [];
    while (first < layers.length && layers[first].end < row) first++;
    let covered = row;
    for (let k = first; k < layers.length && layers[k].start <= last; k++) {
      const layer = layers[k];
      if (layer.end < row) continue;
      const from = Math.max(layer.start, row);
      const to = Math.min(layer.end, last);
      if (from > covered) names.push(`undissected ${covered}-${from - 1}`);
      names.push(from === to ? `${layer.layer} ${from}` : `${layer.layer} ${from}-${to}`);
      covered = to + 1;
    }
    if (covered <= last) {
      names.push(covered === last ? `undissected ${last}` : `undissected ${covered}-${last}`);
    }
    let labels = names.join(", ");
    if (labels.length > WIDTH - 75) labels = wrap(" ".repeat(75), names, 75, ", ").slice(75);
    if (color) {
      let hex = "";
      let ascii = "";
      for (let i = row; i <= last; i++) {
        const layer = layers.find((l) => l.start <= i && i <= l.end);
        hex += `\x1b[${layer ? COLORS[layer.layer] : 31}m${HEX[data[i]].trimEnd()}\x1b[0m `;
        ascii += ASCII[data[i]];
      }
      hex += "   ".repeat(row + 15 - last);
      out.add(`  ${row.toString(16).padStart(4, "0")}  ${hex} ${ascii.padEnd(16)}  ${labels}\n`);
      continue;
    }
    // "  0000  " + 16 x "xx " + " " + 16 ASCII + "  ", byte by byte.
    const b = out.room(81 + labels.length);
    let n = out.n;
    b[n++] = 0x20;
    b[n++] = 0x20;
    const offset = row.toString(16).padStart(4, "0");
    for (let i = 0; i < offset.length; i++) b[n++] = offset.charCodeAt(i);
    b[n++] = 0x20;
    b[n++] = 0x20;
    const asciiAt = n + 49;
    for (let i = row; i < row + 16; i++) {
      if (i <= last) {
        const byte = data[i];
        b[n] = HEX_CODES[2 * byte];
        b[n + 1] = HEX_CODES[2 * byte + 1];
        b[asciiAt + i - row] = byte >= 0x20 && byte < 0x7f ? byte : 0x2e;
      } else {
        b[n] = b[n + 1] = b[asciiAt + i - row] = 0x20;
      }
      b[n + 2] = 0x20;
      n += 3;
    }
    b[n] = 0x20;
    n = asciiAt + 16;
    b[n++] = 0x20;
    b[n++] = 0x20;
    // Labels are ASCII: layer names, digits, punctuation.
    for (let i = 0; i < labels.length; i++) b[n++] = labels.charCodeAt(i);
    b[n++] = 0x0a;
    out.n = n;
  }
  out.add("\n");
}
