/**
 * TCP and UDP: their headers and options, checksums over the pseudo header
 * (a first IP fragment's unverified, a UDP length that disagrees with the IP
 * payload noted), the payload, and what following a TCP connection needs.
 *
 * @module
 */

import type { Layer } from "../layers.ts";
import { type Field, fold, IP_PROTOCOLS, type PacketContext, sum16, u16, u32 } from "./context.ts";

const TCP_FLAGS = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE"];

const TCP_FIELDS: Field[] = [
  ["srcPort", 0, 1, u16],
  ["dstPort", 2, 3, u16],
  ["seq", 4, 7, u32],
  ["ack", 8, 11, u32],
  ["headerLength", 12, 12, (v, a) => (v.getUint8(a) >> 4) * 4, [7, 4]],
  ["flags", 12, 13, (v, a) => TCP_FLAGS.filter((_, i) => v.getUint16(a) & (1 << i)), [11, 0]],
  ["window", 14, 15, u16],
  ["checksum", 16, 17, u16],
  ["urgentPointer", 18, 19, u16],
];

const UDP_FIELDS: Field[] = [
  ["srcPort", 0, 1, u16],
  ["dstPort", 2, 3, u16],
  ["length", 4, 5, u16],
  ["checksum", 6, 7, u16],
];

/** A transport layer to dissect, for {@linkcode dissectTransport}. */
export interface TransportSpec {
  /** The IP layer it is carried in. */
  ip: Layer;
  /** The IP protocol number: TCP (6) and UDP (17) are dissected, others named. */
  protocol: number;
  /** Its first byte. */
  start: number;
  /** Where the IP payload ends (exclusive, on the wire: the capture may hold fewer). */
  end: number;
  /** The sum of the pseudo header without the length. */
  pseudo: number;
}

/**
 * Dissects TCP, UDP or names another protocol in the IP payload; sets the
 * packet's `tcp` for following its connection.
 *
 * @example
 * ```ts
 * import { PacketContext } from "./context.ts";
 * import { dissectTransport } from "./transport.ts";
 * import assert from "node:assert/strict";
 *
 * // A UDP header (5000 > 1234, length 10, no checksum) and 2 bytes.
 * const ctx = new PacketContext(new Uint8Array([0x13, 0x88, 0x04, 0xd2, 0, 10, 0, 0, 0x7b, 0x7d]));
 * const ip = { layer: "ipv4" as const, start: 0, end: 0 };
 * dissectTransport(ctx, { ip, protocol: 17, start: 0, end: 10, pseudo: 0 });
 * const [udp, payload] = ctx.packet.layers;
 * assert.deepEqual([udp.dstPort, udp.checksumStatus, payload.start], [1234, "not present", 8]);
 * ```
 */
export function dissectTransport(ctx: PacketContext, spec: TransportSpec): void {
  const { ip, protocol, start, pseudo } = spec;
  let end = spec.end;
  const { data, view, packet } = ctx;
  if (protocol !== 6 && protocol !== 17) {
    const name = IP_PROTOCOLS[protocol] ?? `IP protocol ${protocol}`;
    packet.notes.push(`${name}: not TCP or UDP, not dissected further`);
    ctx.undissected(start, {
      reason: `${name} (protocol ${protocol}) is not dissected by framecat`,
      end,
    });
    return;
  }
  const udp = protocol === 17;
  const minimum = udp ? 8 : 20;
  if (start + minimum > end) {
    const what = udp ? "UDP" : "TCP";
    packet.notes.push(
      `the ${what} header is cut short: it needs ${minimum} bytes from byte ${start}`,
    );
    ctx.undissected(start, { reason: `a ${what} header shorter than ${minimum} bytes`, end });
    return;
  }
  let headerLength = minimum;
  if (!udp && start + 12 < data.length) {
    headerLength = (data[start + 12] >> 4) * 4;
    if (headerLength < 20 || start + headerLength > end) {
      packet.notes.push(
        `the TCP header claims ${headerLength} bytes, which the segment cannot hold`,
      );
      ctx.undissected(start, { reason: `a TCP header claiming ${headerLength} bytes`, end });
      return;
    }
  }
  const layer = ctx.header(udp ? "udp" : "tcp", {
    start,
    size: headerLength,
    fields: udp ? UDP_FIELDS : TCP_FIELDS,
    what: udp ? "UDP" : "TCP",
    extra: "options",
  });
  if (!udp && layer.flags !== undefined) layer.flagBits = view.getUint16(start + 12) & 0x0fff;
  if (!udp && headerLength > 20) {
    const options = tcpOptions(data, view, start + 20, Math.min(start + headerLength, data.length));
    if (options.length > 0) layer.options = options;
    if (start + headerLength <= data.length) {
      layer.fieldRanges!.options = [start + 20, start + headerLength - 1];
    }
  }
  const ipEnd = end;
  let badLength = false;
  if (udp && layer.length !== undefined && !ctx.fragment) {
    // The datagram is as long as its header says, when the IP payload holds it (as tshark reads it).
    const length = layer.length as number;
    const available = end - start;
    if (length < 8) {
      packet.notes.push(`Bad length value ${length} < 8: the UDP length cannot hold its header`);
      badLength = true;
    } else if (length > available) {
      packet.notes.push(
        `Bad length value ${length} > IP payload length (${available} bytes): ` +
          "the UDP checksum is not verified",
      );
      badLength = true;
    } else if (length < available) {
      packet.notes.push(
        `the UDP length ${length} is less than the IP payload's ${available} bytes: ` +
          "the datagram and its checksum end where its length says",
      );
      end = start + length;
    }
  }
  const payloadLength = end - start - headerLength;
  // A first fragment's segment goes on in the fragments after it: its length is not known.
  if (ctx.fragment) layer.fragment = "the first fragment: the rest is not reassembled";
  else layer.payloadLength = payloadLength;
  if (layer.checksum !== undefined) {
    const length = end - start;
    let status: string;
    if (udp && layer.checksum === 0 && ip.layer === "ipv4") status = "not present";
    else if (ctx.fragment) status = "unverified (a fragment)";
    else if (badLength) status = "unverified (bad length)";
    else if (end > data.length) status = "unverified (not all captured)";
    else if (sum16(data, { start, end, initial: pseudo + length }) === 0xffff) status = "correct";
    else if (ctx.outgoing || layer.checksum === fold(pseudo + length)) {
      // The pseudo header's sum alone: the network card was to finish it.
      status = "unverified (likely offloaded)";
    } else status = "incorrect";
    layer.checksumStatus = status;
    if (status === "incorrect" || status === "unverified (likely offloaded)") {
      const rest = sum16(data, { start, end, initial: pseudo + length }) + 0xffff -
        (layer.checksum as number);
      layer.checksumCalculated = ~fold(rest) & 0xffff;
    }
  }
  const payloadStart = start + headerLength;
  const captured = Math.max(0, Math.min(end, data.length) - payloadStart);
  if (captured > 0) {
    const payload: Layer = {
      layer: "payload",
      start: payloadStart,
      end: payloadStart + captured - 1,
    };
    if (captured < payloadLength) {
      payload.length = payloadLength;
      payload.captured = captured;
    }
    packet.layers.push(payload);
  }
  if (ipEnd > end) {
    ctx.undissected(end, {
      reason: "bytes after the UDP datagram, as its length gives it",
      end: ipEnd,
    });
  }
  if (udp || layer.flags === undefined) {
    if (!udp) packet.notes.push("the TCP flags were not captured: its stream is not followed");
    return;
  }
  packet.tcp = {
    src: ip.src as string,
    dst: ip.dst as string,
    srcPort: layer.srcPort as number,
    dstPort: layer.dstPort as number,
    seq: layer.seq as number,
    ack: layer.ack as number,
    flags: layer.flags as string[],
    window: (layer.window as number | undefined) ?? 0,
    windowScale: (layer.options as Record<string, unknown>[] | undefined)
      ?.find((o) => o.kind === "WS")?.value as number | undefined,
    // A first fragment's bytes are not followed: the segment is not whole.
    payload: ctx.fragment
      ? data.subarray(0, 0)
      : data.subarray(payloadStart, payloadStart + captured),
    payloadLength: ctx.fragment ? 0 : payloadLength,
  };
}

function tcpOptions(
  data: Uint8Array,
  view: DataView,
  start: number,
  end: number,
): Record<string, unknown>[] {
  const options: Record<string, unknown>[] = [];
  for (let at = start; at < end;) {
    const kind = data[at];
    if (kind === 0) break;
    if (kind === 1) {
      at++;
      continue;
    }
    const length = data[at + 1];
    if (at + 1 >= end || length < 2 || at + length > end) {
      options.push({ kind: "malformed", at });
      break;
    }
    if (kind === 2 && length === 4) options.push({ kind: "MSS", value: view.getUint16(at + 2) });
    else if (kind === 3 && length === 3) options.push({ kind: "WS", value: data[at + 2] });
    else if (kind === 4) options.push({ kind: "SACK_PERM" });
    else if (kind === 5) {
      const blocks = [];
      for (let b = at + 2; b + 8 <= at + length; b += 8) {
        blocks.push([view.getUint32(b), view.getUint32(b + 4)]);
      }
      options.push({ kind: "SACK", blocks });
    } else if (kind === 8 && length === 10) {
      options.push({ kind: "TS", value: view.getUint32(at + 2), echo: view.getUint32(at + 6) });
    } else options.push({ kind, length });
    at += length;
  }
  return options;
}
