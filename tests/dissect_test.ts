import assert from "node:assert/strict";
import { readCapture } from "../lib/capture/pcap.ts";
import { dissectPacket, type Layer } from "../lib/capture/layers.ts";
import { type DissectOptions, writeDissection } from "../lib/capture/report.ts";
import { framecat } from "./helpers.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
const encoder = new TextEncoder();

// ------------------------------------------------------------ packet builder

function ipv4Tcp(
  options: { seq: number; flags?: number; payload?: string | Uint8Array; ihl?: number },
): Uint8Array {
  const payload = typeof options.payload === "string"
    ? encoder.encode(options.payload)
    : options.payload ?? new Uint8Array();
  const ihl = options.ihl ?? 5;
  const tcp = new Uint8Array(20 + payload.length);
  const t = new DataView(tcp.buffer);
  t.setUint16(0, 50000);
  t.setUint16(2, 1234);
  t.setUint32(4, options.seq);
  t.setUint32(8, 1);
  tcp[12] = 5 << 4;
  tcp[13] = options.flags ?? 0x18; // PSH, ACK
  t.setUint16(14, 512);
  tcp.set(payload, 20);
  const ip = new Uint8Array(20 + tcp.length);
  const v = new DataView(ip.buffer);
  ip[0] = 0x40 | ihl;
  v.setUint16(2, ip.length);
  ip[8] = 64;
  ip[9] = 6;
  ip.set([10, 0, 0, 1], 12);
  ip.set([10, 0, 0, 2], 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(10, ~sum & 0xffff);
  ip.set(tcp, 20);
  return ip;
}

function ethernet(ip: Uint8Array, vlan?: number): Uint8Array {
  const head = vlan === undefined ? [] : [0x81, 0x00, vlan >> 8, vlan & 0xff];
  return new Uint8Array([
    ...[0x4c, 0x32, 0x75, 0x8d, 0x5f, 0x9b],
    ...[0x60, 0xf8, 0x1d, 0xc0, 0xfa, 0x3e],
    ...head,
    0x08,
    0x00,
    ...ip,
  ]);
}

/** A classic pcap file of `packets` on a link of `linkType`. */
function pcap(
  linkType: number,
  packets: Uint8Array[],
  options: { bigEndian?: boolean; nano?: boolean; snap?: number } = {},
): Uint8Array {
  const little = !options.bigEndian;
  const parts: number[] = [];
  const u32 = (n: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, little);
    parts.push(...b);
  };
  u32(options.nano ? 0xa1b23c4d : 0xa1b2c3d4);
  u32(0x00040002);
  u32(0);
  u32(0);
  u32(65535);
  u32(linkType);
  packets.forEach((packet, i) => {
    const captured = Math.min(packet.length, options.snap ?? Infinity);
    u32(1_700_000_000 + i);
    u32(options.nano ? 500_000_000 : 500_000);
    u32(captured);
    u32(packet.length);
    parts.push(...packet.subarray(0, captured));
  });
  return new Uint8Array(parts);
}

/** The report of a capture in memory, as lines. */
async function dissect(
  file: Uint8Array,
  options: DissectOptions = {},
): Promise<{ lines: string[]; problems: string[]; broken: boolean }> {
  let text = "";
  const decoder = new TextDecoder();
  const out = {
    write(p: Uint8Array): Promise<number> {
      text += decoder.decode(p, { stream: true });
      return Promise.resolve(p.length);
    },
  };
  const result = await writeDissection([file], out, options);
  return { lines: text.split("\n").filter((l) => l !== ""), ...result };
}

function messagesOf(lines: string[]): { stream: string; packets: number[]; message: unknown }[] {
  return lines.map((l) => JSON.parse(l)).filter((o) => o.type === "message");
}

function ranges(layers: Layer[]): [string, number, number][] {
  return layers.map((l) => [l.layer, l.start, l.end]);
}

// ------------------------------------------------------------ tests

Deno.test("dissect() explains the fixture's packets and finds both senders' messages", async () => {
  for (const name of ["framecat_and_seed.pcapng", "framecat_and_seed.pcap"]) {
    const file = await Deno.readFile(FIXTURES + name);
    const report = await dissect(file, { json: true });
    assert.equal(report.broken, false);
    const objects = report.lines.map((l) => JSON.parse(l));
    const data = objects.find((o) => o.type === "packet" && o.number === 4);
    // framecat's Hello World!: one segment of 17 bytes, "14\n" and the JSON.
    assert.deepEqual(ranges(data.layers), [
      ["ethernet", 0, 13],
      ["ipv4", 14, 33],
      ["tcp", 34, 65],
      ["payload", 66, 82],
    ]);
    assert.equal(data.length, 83);
    assert.deepEqual(data.layers[2].flags, ["PSH", "ACK"]);
    // The seed's table, exact: MAC addresses, version and header length in
    // byte 14, total length 16-17, addresses, ports.
    assert.deepEqual(data.layers[0].fieldRanges, {
      dst: [0, 5],
      src: [6, 11],
      etherType: [12, 13],
    });
    const ip = data.layers[1].fieldRanges;
    assert.deepEqual([ip.version, ip.headerLength, ip.totalLength], [[14, 14], [14, 14], [16, 17]]);
    assert.deepEqual([ip.identification, ip.protocol, ip.src, ip.dst], [
      [18, 19],
      [23, 23],
      [26, 29],
      [30, 33],
    ]);
    assert.deepEqual([data.layers[2].fieldRanges.srcPort, data.layers[2].fieldRanges.dstPort], [
      [34, 35],
      [36, 37],
    ]);
    assert.equal(data.layers[2].payloadLength, 17);
    const messages = messagesOf(report.lines);
    assert.deepEqual(messages.map((m) => m.message), ["Hello World!", "héllo"]);
    // The seed's sender writes the prefix and the JSON in two segments.
    assert.equal(messages[1].packets.length, 2);
  }
});

Deno.test("dissect() agrees with tshark on every packet's fields", async (t) => {
  const file = FIXTURES + "framecat_and_seed.pcapng";
  const fields = [
    "frame.number",
    "frame.len",
    "ip.src",
    "ip.dst",
    "ip.len",
    "ip.id",
    "ip.ttl",
    "ip.checksum",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.seq",
    "tcp.hdr_len",
    "tcp.len",
    "tcp.window_size_value",
    "tcp.window_size",
  ];
  const tshark = await new Deno.Command("tshark", {
    args: ["-r", file, "-T", "fields", "-E", "separator=|", ...fields.flatMap((f) => ["-e", f])],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => undefined);
  if (!tshark?.success) {
    await t.step({ name: "tshark is not installed here", ignore: true, fn(): void {} });
    return;
  }
  const theirs = new TextDecoder().decode(tshark.stdout).trim().split("\n").map((l) =>
    l.split("|")
  );
  const report = await dissect(await Deno.readFile(file), { json: true });
  const packets = report.lines.map((l) => JSON.parse(l)).filter((o) => o.type === "packet");
  assert.equal(packets.length, theirs.length);
  for (const [i, packet] of packets.entries()) {
    const ip = packet.layers.find((l: Layer) => l.layer === "ipv4");
    const tcp = packet.layers.find((l: Layer) => l.layer === "tcp");
    const ours = [
      packet.number,
      packet.length,
      ip.src,
      ip.dst,
      ip.totalLength,
      `0x${ip.identification.toString(16).padStart(4, "0")}`,
      ip.ttl,
      `0x${ip.checksum.toString(16).padStart(4, "0")}`,
      tcp.srcPort,
      tcp.dstPort,
      tcp.seq,
      tcp.ack,
      tcp.relativeSeq,
      tcp.headerLength,
      tcp.payloadLength,
      tcp.window,
      tcp.scaledWindow ?? tcp.window,
    ].map(String);
    assert.deepEqual(ours, theirs[i], `packet ${i + 1}`);
  }
});

Deno.test("dissectPacket() reads every link type the capture formats name", () => {
  const ip = ipv4Tcp({ seq: 1, payload: "2\n{}" });
  const cases: [number, Uint8Array, string, number][] = [
    [1, ethernet(ip), "ethernet", 13],
    [1, ethernet(ip, 42), "ethernet", 17],
    [0, new Uint8Array([2, 0, 0, 0, ...ip]), "loopback", 3],
    [101, ip, "ipv4", 19],
    [113, new Uint8Array([0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00, ...ip]), "sll", 15],
    [
      276,
      new Uint8Array([0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, ...ip]),
      "sll",
      19,
    ],
  ];
  for (const [linkType, data, first, firstEnd] of cases) {
    const { layers, notes } = dissectPacket(data, linkType);
    assert.deepEqual(notes, [], `link type ${linkType}`);
    assert.deepEqual([layers[0].layer, layers[0].end], [first, firstEnd], `link type ${linkType}`);
    assert.deepEqual(layers.slice(-2).map((l) => l.layer), ["tcp", "payload"]);
    assert.equal(layers.at(-1)!.end, data.length - 1);
  }
  const tagged = dissectPacket(ethernet(ip, 42), 1).layers[0];
  assert.deepEqual(tagged.vlans, [{ id: 42, priority: 0 }]);
  assert.equal(dissectPacket(ethernet(ip), 1).layers[1].checksumStatus, "correct");
});

Deno.test("dissectPacket() follows IPv6 extension headers to TCP", () => {
  const tcp = ipv4Tcp({ seq: 1, payload: "1\n1" }).subarray(20);
  const hopByHop = [6, 0, 1, 4, 0, 0, 0, 0]; // next header TCP, 8 bytes
  const ip6 = new Uint8Array(40 + 8 + tcp.length);
  const v = new DataView(ip6.buffer);
  v.setUint32(0, 0x60000000);
  v.setUint16(4, 8 + tcp.length);
  ip6[6] = 0; // hop-by-hop options
  ip6[7] = 64;
  ip6[23] = 1; // ::1
  ip6[39] = 1;
  ip6.set(hopByHop, 40);
  ip6.set(tcp, 48);
  const { layers, notes } = dissectPacket(ip6, 101);
  assert.deepEqual(notes, []);
  assert.deepEqual(ranges(layers), [["ipv6", 0, 47], ["tcp", 48, 67], ["payload", 68, 70]]);
  assert.equal(layers[0].src, "::1");
  assert.deepEqual(layers[0].extensionHeaders, [{ type: 0, start: 40, end: 47 }]);
});

Deno.test("dissectPacket() notes what it cannot dissect instead of failing", () => {
  const ip = ipv4Tcp({ seq: 1, payload: "x" });
  assert.match(dissectPacket(ip, 147).notes[0], /link type 147 is not supported/);
  const arp = ethernet(new Uint8Array(28));
  arp[12] = 0x08;
  arp[13] = 0x06;
  assert.match(dissectPacket(arp, 1).notes[0], /ARP: not IP/);
  const icmp = ipv4Tcp({ seq: 1 });
  icmp[9] = 1;
  assert.match(dissectPacket(icmp, 101).notes[0], /ICMP: not TCP or UDP/);
  const lying = ipv4Tcp({ seq: 1 });
  new DataView(lying.buffer).setUint16(2, 9000);
  assert.match(dissectPacket(lying, 101).notes[0], /total length 9000 does not fit/);
  assert.match(dissectPacket(ipv4Tcp({ seq: 1, ihl: 15 }), 101).notes[0], /claims 60 bytes/);
  assert.match(dissectPacket(ethernet(ip).subarray(0, 10), 1).notes[0], /Ethernet header is cut/);
});

Deno.test("dissect() reassembles out-of-order and retransmitted segments", async () => {
  const frame = '14\n"Hello World!"';
  const segments = [
    ipv4Tcp({ seq: 100, flags: 0x02 }), // SYN
    ipv4Tcp({ seq: 111, payload: frame.slice(10) }), // arrives first
    ipv4Tcp({ seq: 101, payload: frame.slice(0, 10) }),
    ipv4Tcp({ seq: 101, payload: frame.slice(0, 10) }), // retransmitted
    ipv4Tcp({ seq: 105, payload: frame.slice(4, 12) }), // overlapping
  ];
  const file = pcap(101, segments);
  const report = await dissect(file, { json: true });
  const messages = messagesOf(report.lines);
  assert.deepEqual(messages, [{
    type: "message",
    stream: "10.0.0.1:50000 > 10.0.0.2:1234",
    packets: [3, 2],
    bytes: 14,
    message: "Hello World!",
  }]);
});

Deno.test("dissect() reports gaps and bad frames with the receiver's reasons", async () => {
  const gap = pcap(101, [
    ipv4Tcp({ seq: 1, payload: "2\n{}1\n" }),
    ipv4Tcp({ seq: 20, payload: "7" }),
  ]);
  const report = await dissect(gap, { json: true });
  const problems = report.lines.map((l) => JSON.parse(l)).filter((o) => o.type === "problem");
  assert.deepEqual(messagesOf(report.lines).map((m) => m.message), [{}]);
  assert.match(
    problems.map((p) => p.reason).join("\n"),
    /gap: stream bytes 6 to 18 were not captured/,
  );

  const bad = pcap(101, [ipv4Tcp({ seq: 1, payload: "2\n[]1e3\n" })]);
  const badReport = await dissect(bad, { json: true });
  assert.deepEqual(messagesOf(badReport.lines).map((m) => m.message), [[]]);
  assert.match(badReport.lines.at(-1)!, /length prefix \\"1e3\\" is not decimal digits/);
});

Deno.test("readCapture() reads both byte orders and nanosecond timestamps", () => {
  const packet = ipv4Tcp({ seq: 1, payload: "1\n1" });
  for (
    const options of [{}, { bigEndian: true }, { nano: true }, { bigEndian: true, nano: true }]
  ) {
    const [read] = [...readCapture(pcap(101, [packet], options))];
    assert.deepEqual(read.data, packet, JSON.stringify(options));
    assert.equal(read.time, 1_700_000_000.5);
  }
  const [cut] = [...readCapture(pcap(101, [packet], { snap: 30 }))];
  assert.equal(cut.data.length, 30);
  assert.equal(cut.originalLength, packet.length);
});

Deno.test("framecat dissect shows what it could read of a broken file and exits 1", async () => {
  const packets = [ipv4Tcp({ seq: 1, payload: "1\n1" }), ipv4Tcp({ seq: 4, payload: "1\n2" })];
  const whole = pcap(101, packets);
  const cut = whole.subarray(0, whole.length - 5);
  const { code, stdout, stderr } = await framecat(["dissect", "--json", "-"], cut);
  assert.equal(code, 1);
  assert.equal(stdout.trim().split("\n").filter((l) => l.includes('"packet"')).length, 1);
  assert.match(stderr, /^framecat: Cannot read capture: packet 2 at byte \d+: the file ends after/);
  assert.doesNotMatch(stderr, / {4}at /);

  const garbage = await framecat(["dissect", "-"], "this is not a capture at all");
  assert.equal(garbage.code, 1);
  assert.match(garbage.stderr, /neither pcap nor pcapng/);

  const text = await framecat(["dissect", "-"], whole);
  assert.equal(text.code, 0);
  assert.match(
    text.stdout,
    /^Packet 1 {2}0\.000000 s {2}43 bytes {2}10\.0\.0\.1:50000 > 10\.0\.0\.2:1234 TCP/,
  );
  assert.match(
    text.stdout,
    /Messages\n {2}10\.0\.0\.1:50000 > 10\.0\.0\.2:1234\n {4}1\. 1 \(1 bytes; packet 1\)/,
  );
  assert.equal(text.stdout.includes("\x1b["), false); // no colour into a pipe

  const noRead = await framecat(["dissect", FIXTURES + "framecat_and_seed.pcap"]);
  assert.equal(noRead.code, 1);
  assert.match(noRead.stderr, /needs --allow-read \(or give it on standard input/);
});
