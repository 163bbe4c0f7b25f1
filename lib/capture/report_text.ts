/**
 * The text for people of `framecat dissect`: each packet's summary line,
 * layers and fields with their byte ranges, notes and hex dump, and the
 * list of messages, every line within 100 columns.
 *
 * @module
 */

import { showJson } from "./json_text.ts";
import type { Layer } from "./layers.ts";
import type { PacketRecord } from "./report.ts";
import type { ReportOutput } from "./report_output.ts";
import type { MessageRecord } from "./streams.ts";

/** Characters of a message's text shown in that list, at most. */
const MAX_SHOWN = 300;
const WIDTH = 100;

/** Options for {@linkcode describeMessage}. */
export interface DescribeMessageOptions {
  /** The message's number in its stream's list, from 1. */
  index: number;
}

/**
 * A message as the list after the packets shows it: its number, its JSON as
 * sent (the first 300 characters), its length and packets, within 100 columns.
 *
 * @example
 * ```ts
 * import { describeMessage } from "./report_text.ts";
 * import assert from "node:assert/strict";
 *
 * const record = {
 *   type: "message" as const, stream: "a:1 > b:2", packets: [4], bytes: 14,
 *   message: "Hello World!", text: '"Hello World!"',
 * };
 * assert.equal(describeMessage(record, { index: 1 }), '    1. "Hello World!" (14 bytes; packet 4)');
 * ```
 */
export function describeMessage(record: MessageRecord, options: DescribeMessageOptions): string {
  const index = options.index;
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
    { indent: 7, separator: " " },
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

/** Options for {@linkcode describePacket}. */
export interface DescribePacketOptions {
  /** Its time shown, in seconds: from the capture's first packet. Defaults to its own `time`. */
  time?: number;
}

/**
 * The text for people of one packet but its hex dump: a summary line, each
 * layer with its byte range and fields, then notes, every line within 100
 * columns.
 *
 * @example
 * ```ts
 * import { describePacket } from "./report_text.ts";
 * import assert from "node:assert/strict";
 *
 * const text = describePacket({
 *   type: "packet", number: 1, length: 4, captured: 4, time: 0, timeNs: "0",
 *   layers: [{ layer: "payload", start: 0, end: 3 }], data: new Uint8Array(4),
 * });
 * assert.equal(text, "Packet 1  0.000000 s  4 bytes\n  payload     0-3\n");
 * ```
 */
export function describePacket(record: PacketRecord, options: DescribePacketOptions = {}): string {
  const time = options.time ?? record.time;
  let text = summary(record, time) + "\n";
  for (const layer of record.layers) text += describeLayer(layer, record.data) + "\n";
  for (const note of record.notes ?? []) {
    text += wrap("  note: ", note.split(" "), { indent: 8, separator: " " }) + "\n";
  }
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
  return wrap("", words, { indent: 2, separator: " " });
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
    return wrap(head, words, { indent: head.length, separator: " " });
  }
  const fields: string[] = [];
  if (layer.kind) fields.push(String(layer.kind));
  for (const key in layer) {
    if (HIDDEN.has(key) || (key.endsWith("Name") && key.slice(0, -4) in layer)) continue;
    fields.push(`${key} ${describeValue(layer, key)}${describeRange(layer, key, data)}`);
  }
  if (layer.missing) fields.push(`not captured: ${layer.missing.join(", ")}`);
  return wrap(head, fields, { indent: head.length, separator: ", " });
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

/** Options for {@linkcode wrap}. */
export interface WrapOptions {
  /** Columns that lines after the first are indented by. */
  indent: number;
  /** What goes between items: `" "` or `", "`. */
  separator: string;
}

/**
 * `first`, then `items` separated by `separator`, broken into lines of at
 * most 100 columns, later lines indented by `indent`; an item too long for
 * a line is cut across lines.
 *
 * @example
 * ```ts
 * import { wrap } from "./report_text.ts";
 * import assert from "node:assert/strict";
 *
 * const words = "a".repeat(60).split("").map(() => "word");
 * const text = wrap("  note: ", words, { indent: 8, separator: " " });
 * assert.ok(text.split("\n").every((line) => line.length <= 100));
 * assert.match(text.split("\n")[1], /^ {8}word/);
 * ```
 */
export function wrap(first: string, items: string[], options: WrapOptions): string {
  const { indent, separator } = options;
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

/** Options for {@linkcode writeHexDump}. */
export interface HexDumpOptions {
  /** Colour each byte by its layer (ANSI), for a terminal. */
  color?: boolean;
}

/**
 * Writes a packet's bytes to `out` in rows of 16: offset, hex, ASCII, and
 * the layers the row's bytes belong to; then an empty line.
 *
 * @example
 * ```ts
 * import { ReportOutput } from "./report_output.ts";
 * import { writeHexDump } from "./report_text.ts";
 * import assert from "node:assert/strict";
 *
 * let text = "";
 * const out = new ReportOutput({ write: (p) => (text += new TextDecoder().decode(p), Promise.resolve(p.length)) });
 * writeHexDump(out, {
 *   type: "packet", number: 1, length: 3, captured: 3, time: 0, timeNs: "0",
 *   layers: [{ layer: "payload", start: 0, end: 2 }], data: new TextEncoder().encode("14\n"),
 * });
 * await out.flush();
 * assert.match(text, /^ {2}0000 {2}31 34 0a .* {2}14\. .* {2}payload 0-2\n\n$/);
 * ```
 */
export function writeHexDump(
  out: ReportOutput,
  record: PacketRecord,
  options: HexDumpOptions = {},
): void {
  const { data, layers: all } = record;
  const color = options.color ?? false;
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
    if (labels.length > WIDTH - 75) {
      labels = wrap(" ".repeat(75), names, { indent: 75, separator: ", " }).slice(75);
    }
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
