/**
 * `framecat dissect`: a capture explained packet by packet, as the seed read
 * its Wireshark capture, then the framecat messages of each connection. For
 * people (a summary line, the layers with their byte ranges and a hex dump
 * labelled by layer) or as JSON lines.
 *
 * @example
 * ```ts
 * import { dissectCapture } from "./report.ts";
 * import assert from "node:assert/strict";
 *
 * const empty = new Uint8Array(24);
 * new DataView(empty.buffer).setUint32(0, 0xa1b2c3d4, true);
 * new DataView(empty.buffer).setUint32(20, 1, true);
 * const report = await dissectCapture(empty, { json: true });
 * assert.deepEqual(report, { lines: [], problems: [], broken: false });
 * ```
 *
 * @module
 */

import { readCapture } from "./pcap.ts";
import { dissectPacket, type Layer } from "./layers.ts";
import { TcpStreams } from "./streams.ts";

/** Options for {@linkcode dissectCapture}. */
export interface DissectOptions {
  /** One JSON object per line instead of text for people. */
  json?: boolean;
  /** The framecat port: streams to or from it are always decoded. Defaults to 1234. */
  port?: number;
  /** Colour the hex dump by layer (ANSI), for a terminal. */
  color?: boolean;
}

/** What {@linkcode dissectCapture} found. */
export interface DissectReport {
  /** The output, one line each (without line breaks). */
  lines: string[];
  /** What is wrong with the capture, one line each, for stderr. */
  problems: string[];
  /** Whether the file itself is broken (not only some packets in it). */
  broken: boolean;
}

const COLORS: Record<string, number> = {
  ethernet: 34,
  sll: 34,
  loopback: 34,
  ipv4: 32,
  ipv6: 32,
  tcp: 33,
  payload: 35,
};

/**
 * Dissects a whole capture file. What could be read is reported even when
 * the file is broken; the reason is in `problems`, and `broken` is set.
 *
 * @example
 * ```ts
 * import { dissectCapture } from "./report.ts";
 * import assert from "node:assert/strict";
 *
 * const report = await dissectCapture(new TextEncoder().encode("garbage!"));
 * assert.equal(report.broken, true);
 * assert.match(report.problems[0], /neither pcap nor pcapng/);
 * ```
 */
export async function dissectCapture(
  file: Uint8Array,
  options: DissectOptions = {},
): Promise<DissectReport> {
  const report: DissectReport = { lines: [], problems: [], broken: false };
  const streams = new TcpStreams();
  let firstTime: number | undefined;
  try {
    for (const captured of readCapture(file)) {
      firstTime ??= captured.time;
      const packet = dissectPacket(captured.data, captured.linkType);
      if (captured.data.length < captured.originalLength) {
        packet.notes.push(
          `cut by the snap length: ${captured.data.length} of ${captured.originalLength} bytes captured`,
        );
      }
      const tcpLayer = packet.layers.find((l) => l.layer === "tcp");
      if (packet.tcp && tcpLayer) Object.assign(tcpLayer, streams.add(captured.number, packet.tcp));
      if (options.json) {
        report.lines.push(JSON.stringify({
          type: "packet",
          number: captured.number,
          length: captured.originalLength,
          captured: captured.data.length,
          time: captured.time,
          layers: packet.layers,
          ...(packet.notes.length > 0 ? { notes: packet.notes } : {}),
        }));
      } else {
        report.lines.push(
          summary(captured.number, captured.time - firstTime, captured, packet.layers),
          ...packet.layers.map(describeLayer),
          ...packet.notes.map((note) => `  note: ${note}`),
          ...hexDump(captured.data, packet.layers, options.color ?? false),
          "",
        );
      }
    }
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    report.broken = true;
    report.problems.push(error.message);
  }
  const decoded = await streams.decode({ port: options.port });
  if (!options.json && decoded.length > 0) report.lines.push("Messages");
  for (const stream of decoded) {
    if (!options.json) report.lines.push(`  ${stream.stream}`);
    stream.messages.forEach((m, i) => {
      report.lines.push(
        options.json
          ? JSON.stringify({ type: "message", stream: stream.stream, ...m })
          : `    ${i + 1}. ${JSON.stringify(m.message)} (${m.bytes} bytes; packet${
            m.packets.length === 1 ? "" : "s"
          } ${m.packets.join(", ")})`,
      );
    });
    for (const problem of stream.problems) {
      report.lines.push(
        options.json
          ? JSON.stringify({ type: "problem", stream: stream.stream, reason: problem })
          : `    problem: ${problem}`,
      );
    }
  }
  return report;
}

function summary(
  number: number,
  time: number,
  captured: { data: Uint8Array; originalLength: number },
  layers: Layer[],
): string {
  const ip = layers.find((l) => l.layer === "ipv4" || l.layer === "ipv6");
  const tcp = layers.find((l) => l.layer === "tcp");
  let what = ip ? `${ip.src} > ${ip.dst}` : "";
  if (tcp) {
    const host = (h: unknown) => String(h).includes(":") ? `[${h}]` : h;
    what = `${host(ip!.src)}:${tcp.srcPort} > ${host(ip!.dst)}:${tcp.dstPort} TCP [${
      (tcp.flags as string[]).join(", ")
    }] seq ${tcp.relativeSeq ?? tcp.seq}${
      tcp.relativeAck === undefined ? "" : ` ack ${tcp.relativeAck}`
    } len ${tcp.payloadLength}`;
  }
  return `Packet ${number}  ${time.toFixed(6)} s  ${captured.originalLength} bytes` +
    (captured.data.length < captured.originalLength ? ` (${captured.data.length} captured)` : "") +
    (what ? `  ${what}` : "");
}

function describeLayer(layer: Layer): string {
  const fields = Object.entries(layer)
    .filter(([key]) => !["layer", "start", "end", "fieldRanges"].includes(key))
    .map(([key, value]) => {
      const range = layer.fieldRanges?.[key];
      const bytes = range ? ` [${range[0] === range[1] ? range[0] : range.join("-")}]` : "";
      return `${key} ${typeof value === "object" ? JSON.stringify(value) : value}${bytes}`;
    });
  const range = `${layer.start}-${layer.end}`;
  return `  ${layer.layer.padEnd(8)} ${range.padEnd(9)} ${fields.join(", ")}`.trimEnd();
}

/** Rows of 16 bytes: offset, hex, ASCII, and the layers the row's bytes belong to. */
function hexDump(data: Uint8Array, layers: Layer[], color: boolean): string[] {
  const lines = [];
  const layerOf = (i: number) => layers.find((l) => l.start <= i && i <= l.end);
  for (let row = 0; row < data.length; row += 16) {
    let hex = "";
    let ascii = "";
    const names: string[] = [];
    for (let i = row; i < row + 16; i++) {
      if (i >= data.length) {
        hex += "   ";
        continue;
      }
      const layer = layerOf(i);
      const name = layer?.layer ?? "trailer";
      const byte = data[i].toString(16).padStart(2, "0");
      const code = layer ? COLORS[layer.layer] : 2;
      hex += color ? `\x1b[${code}m${byte}\x1b[0m ` : `${byte} `;
      ascii += data[i] >= 0x20 && data[i] < 0x7f ? String.fromCharCode(data[i]) : ".";
      if (names.at(-1)?.startsWith(name + " ") !== true) names.push(`${name} ${i}`);
      else names[names.length - 1] = names[names.length - 1].replace(/( \d+)(-\d+)?$/, `$1-${i}`);
    }
    lines.push(
      `  ${row.toString(16).padStart(4, "0")}  ${hex} ${ascii.padEnd(16)}  ${names.join(", ")}`,
    );
  }
  return lines;
}
