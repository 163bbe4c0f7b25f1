import assert from "node:assert/strict";
import { readCapture } from "../lib/capture/pcap.ts";
import { dissectPacket, type Layer } from "../lib/capture/layers.ts";
import {
  type DissectOptions,
  dissectRecords,
  type ProblemRecord,
  writeDissection,
} from "../lib/capture/report.ts";
import { TcpStreams } from "../lib/capture/streams.ts";
import { edgeCaptures, ethernet, ipv4Tcp, pcap, writeExchange } from "./capture_builder.ts";
import { framecat, MAIN } from "./helpers.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
const encoder = new TextEncoder();

// ------------------------------------------------------------ helpers

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

Deno.test("writeDissection() explains the fixture's packets and finds both senders' messages", async () => {
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
      ["framecat", 66, 82],
    ]);
    // Each message's bytes named: the prefix 14\n and the JSON.
    assert.deepEqual(data.layers[4], {
      layer: "framecat",
      start: 66,
      end: 82,
      frame: 1,
      prefix: "14\n",
      length: 14,
      json: "bytes 0-13 of 14",
      fieldRanges: { prefix: [66, 68], json: [69, 82] },
    });
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
    const [prefixOnly, jsonOnly] = messages[1].packets.map((n) =>
      objects.find((o) => o.type === "packet" && o.number === n).layers.at(-1)
    );
    assert.deepEqual(
      [prefixOnly.layer, prefixOnly.prefix, prefixOnly.length, prefixOnly.json],
      ["framecat", "12\n", 12, undefined],
    );
    assert.deepEqual([jsonOnly.layer, jsonOnly.prefix, jsonOnly.length, jsonOnly.json], [
      "framecat",
      undefined,
      12,
      "bytes 0-11 of 12",
    ]);
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

Deno.test("writeDissection() reassembles out-of-order and retransmitted segments", async () => {
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

Deno.test("writeDissection() reports gaps and bad frames with the receiver's reasons", async () => {
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
  assert.match(
    stderr,
    /^framecat: Cannot read capture from standard input: packet 2 at byte \d+: the file ends after/,
  );
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

// ------------------------------------------------------------ round 2

function layerOf(layers: Layer[], name: string): Layer {
  const layer = layers.find((l) => l.layer === name);
  assert.ok(layer, `no ${name} layer in ${layers.map((l) => l.layer)}`);
  return layer;
}

/** An IEEE 802.3 frame: addresses, a length, then `llc` (LLC and whatever follows). */
function ieee8023(llc: number[]): Uint8Array {
  const frame = new Uint8Array(Math.max(60, 14 + llc.length));
  frame.set([
    1,
    0x80,
    0xc2,
    0,
    0,
    0,
    0x60,
    0xf8,
    0x1d,
    0xc0,
    0xfa,
    0x3e,
    llc.length >> 8,
    llc.length,
  ]);
  frame.set(llc, 14);
  return frame;
}

Deno.test("dissectPacket() reads a type/length of 1500 or less as IEEE 802.3, LLC and SNAP", () => {
  // Spanning tree: LLC with DSAP 0x42, then a BPDU framecat does not dissect, then padding.
  const stp = dissectPacket(ieee8023([0x42, 0x42, 0x03, 0, 0, 0, 0, 0]), 1);
  assert.deepEqual(ranges(stp.layers), [
    ["ethernet", 0, 13],
    ["llc", 14, 16],
    ["undissected", 17, 21],
    ["trailer", 22, 59],
  ]);
  const eth = stp.layers[0];
  assert.equal(eth.kind, "IEEE 802.3");
  assert.equal(eth.length, 8);
  assert.equal(eth.etherType, undefined);
  assert.deepEqual(eth.fieldRanges!.length, [12, 13]);
  const llc = stp.layers[1];
  assert.deepEqual([llc.dsap, llc.dsapName, llc.control], [0x42, "Spanning Tree (BPDU)", 3]);
  assert.deepEqual(llc.fieldRanges, { dsap: [14, 14], ssap: [15, 15], control: [16, 16] });
  assert.match(String(stp.layers[2].reason), /DSAP 42 \(Spanning Tree/);
  assert.equal(stp.layers[3].kind, "padding");

  // SNAP with OUI 0: its protocol is an EtherType, here IPv4 and TCP.
  const ip = ipv4Tcp({ seq: 1, payload: "2\n{}" });
  const snap = dissectPacket(ieee8023([0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, ...ip]), 1);
  assert.deepEqual(snap.layers.map((l) => l.layer), [
    "ethernet",
    "llc",
    "snap",
    "ipv4",
    "tcp",
    "payload",
  ]);
  assert.deepEqual(snap.layers[2].fieldRanges, { oui: [17, 19], pid: [20, 21] });
  assert.equal(snap.layers[2].pidName, "IPv4");
  assert.equal(snap.tcp?.dstPort, 1234);
});

Deno.test("dissectPacket() dissects a header cut by the snap length as far as it was captured", () => {
  const ip = ipv4Tcp({ seq: 7, payload: "x".repeat(40) });
  ip[32] = 8 << 4; // a 32-byte TCP header: 12 bytes of options (NOPs)
  ip.fill(1, 40, 52);
  const frame = ethernet(ip);
  const cut = frame.subarray(0, 50);
  const { layers, notes, tcp } = dissectPacket(cut, 1, { originalLength: frame.length });
  const layer = layerOf(layers, "tcp");
  assert.deepEqual([layer.start, layer.end], [34, 49]);
  assert.deepEqual([layer.srcPort, layer.dstPort, layer.seq, layer.flags], [50000, 1234, 7, [
    "PSH",
    "ACK",
  ]]);
  assert.equal(layer.window, 512);
  assert.deepEqual(layer.missing, ["checksum", "urgentPointer", "options"]);
  assert.equal(layer.payloadLength, 40 - 12);
  assert.match(notes.join("\n"), /cut by the snap length: 50 of 94 bytes captured/);
  assert.match(notes.join("\n"), /TCP header is cut by the snap length: 16 of its 32 bytes/);
  assert.equal(layers.some((l) => l.layer === "trailer"), false);
  // Still followed: the segment's payload is known to be 28 bytes long, none captured.
  assert.deepEqual([tcp?.payload.length, tcp?.payloadLength], [0, 28]);
});

Deno.test("writeDissection() follows streams cut by the snap length, past a gap inside a payload", async () => {
  const big = JSON.stringify("y".repeat(100));
  const packets = [
    ipv4Tcp({ seq: 1, payload: `${big.length}\n${big}` }), // cut: most of its payload lost
    ipv4Tcp({ seq: 1 + 4 + big.length, payload: "2\n{}" }), // whole
    ipv4Tcp({ seq: 1 + 4 + big.length + 4, payload: "1\n7" }),
  ];
  const report = await dissect(pcap(101, packets, { snap: 50 }), { json: true });
  const objects = report.lines.map((l) => JSON.parse(l));
  assert.deepEqual(messagesOf(report.lines).map((m) => m.message), [{}, 7]);
  const problems = objects.filter((o) => o.type === "problem").map((o) => o.reason);
  assert.equal(problems.length, 1);
  assert.match(problems[0], /frame 1 .* is not shown: 96 of its 102 payload bytes are missing/);
  assert.match(problems[0], /cut by the snap length in packet 1/);

  // A gap where a length prefix was: decoding stops there.
  const lost = await dissect(pcap(101, packets.slice(1), { snap: 41 }), { json: true });
  assert.match(lost.lines[1], /gap: stream bytes 1 to 3 were not captured \(cut by the snap/);
});

Deno.test("dissectPacket() gives Linux cooked captures v1 and v2 their fieldRanges", () => {
  const ip = ipv4Tcp({ seq: 1, payload: "1\n1" });
  const v1 = dissectPacket(
    new Uint8Array([0, 4, 3, 4, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00, ...ip]),
    113,
  );
  assert.deepEqual(v1.layers[0].fieldRanges, {
    packetType: [0, 1],
    addressType: [2, 3],
    addressLength: [4, 5],
    // The address length's 6 bytes, as tshark's sll.src.eth; the other 2 unused.
    address: [6, 11],
    addressUnused: [12, 13],
    protocol: [14, 15],
  });
  assert.deepEqual(
    [v1.layers[0].packetTypeName, v1.layers[0].addressTypeName, v1.layers[0].address],
    ["sent by us", "loopback", "01:02:03:04:05:06"],
  );
  const v2 = dissectPacket(
    new Uint8Array([0x08, 0, 0, 0, 0, 0, 0, 7, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, ...ip]),
    276,
  );
  assert.deepEqual(v2.layers[0].fieldRanges, {
    protocol: [0, 1],
    interfaceIndex: [4, 7],
    addressType: [8, 9],
    packetType: [10, 10],
    addressLength: [11, 11],
    address: [12, 17],
    addressUnused: [18, 19],
  });
  assert.deepEqual([v2.layers[0].interfaceIndex, v2.layers[0].protocolName], [7, "IPv4"]);
});

Deno.test("dissectPacket() tells Ethernet padding and trailers from undissected bytes", () => {
  // 14 + 40 bytes: padded to 60, then 4 more bytes (an FCS, say).
  const small = ipv4Tcp({ seq: 1 });
  const frame = new Uint8Array(64);
  frame.set(ethernet(small));
  const padded = dissectPacket(frame, 1).layers;
  assert.deepEqual(ranges(padded).slice(-2), [["trailer", 54, 59], ["trailer", 60, 63]]);
  assert.deepEqual(padded.slice(-2).map((l) => l.kind), ["padding", "trailer"]);

  // Raw IP with bytes after the IP packet: not a trailer, undissected, and why.
  const extra = new Uint8Array([...ipv4Tcp({ seq: 1, payload: "1\n1" }), 0xde, 0xad]);
  const raw = dissectPacket(extra, 101).layers.at(-1)!;
  assert.deepEqual([raw.layer, raw.start, raw.end], ["undissected", 43, 44]);
  assert.match(String(raw.reason), /after the end of the IP packet/);

  // ARP: undissected, named.
  const arp = ethernet(new Uint8Array(46));
  arp[13] = 0x06;
  const arpLayers = dissectPacket(arp, 1).layers;
  assert.deepEqual(ranges(arpLayers), [["ethernet", 0, 13], ["undissected", 14, 59]]);
  assert.equal(arpLayers[0].etherTypeName, "ARP");

  // UDP: dissected, not left as "not TCP".
  const udp = ipv4Tcp({ seq: 0, payload: "hi" });
  udp[9] = 17;
  const u = new DataView(udp.buffer);
  u.setUint16(24, 8 + 20 - 8 + 2); // the UDP length field, at TCP's seq
  u.setUint16(26, 0); // no checksum
  const fixed = ipv4Header(udp);
  const udpLayers = dissectPacket(fixed, 101).layers;
  assert.deepEqual(udpLayers.map((l) => l.layer), ["ipv4", "udp", "payload"]);
  const udpLayer = layerOf(udpLayers, "udp");
  assert.deepEqual([udpLayer.srcPort, udpLayer.dstPort, udpLayer.length], [50000, 1234, 22]);
  assert.equal(udpLayer.checksumStatus, "not present");
  assert.deepEqual(udpLayer.fieldRanges!.checksum, [26, 27]);
});

/** Sets an IPv4 header's checksum right again. */
function ipv4Header(ip: Uint8Array): Uint8Array {
  const v = new DataView(ip.buffer, ip.byteOffset);
  v.setUint16(10, 0);
  v.setUint16(10, ~onesSum(ip.subarray(0, 20), 0) & 0xffff);
  return ip;
}

function onesSum(bytes: Uint8Array, initial: number): number {
  let sum = initial;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

Deno.test("dissectPacket() shows meanings: names, bits and verified checksums", () => {
  const ip = ipv4Tcp({ seq: 1, payload: "1\n1" });
  ip[1] = (46 << 2) | 1; // DSCP EF, ECN ECT(1)
  ipv4Header(ip);
  const v = new DataView(ip.buffer);
  const pseudo = onesSum(ip.subarray(12, 20), 6 + ip.length - 20);
  v.setUint16(36, ~onesSum(ip.subarray(20), pseudo) & 0xffff);
  const { layers } = dissectPacket(ethernet(ip), 1);
  const [eth, ipv4, tcp] = layers;
  assert.deepEqual([eth.etherType, eth.etherTypeName], [0x0800, "IPv4"]);
  assert.deepEqual([ipv4.protocol, ipv4.protocolName], [6, "TCP"]);
  assert.deepEqual([ipv4.dscp, ipv4.dscpName, ipv4.ecn, ipv4.ecnName], [46, "EF", 1, "ECT(1)"]);
  // The seed's slip: version and header length are the two nibbles of byte 14.
  assert.deepEqual([ipv4.fieldRanges!.version, ipv4.fieldRanges!.headerLength], [[14, 14], [
    14,
    14,
  ]]);
  assert.deepEqual([ipv4.fieldBits!.version, ipv4.fieldBits!.headerLength], [[7, 4], [3, 0]]);
  assert.deepEqual(ipv4.fieldBits!.fragmentOffset, [12, 0]);
  assert.deepEqual([tcp.flagBits, tcp.fieldBits!.flags], [0x18, [11, 0]]);
  assert.equal(tcp.checksumStatus, "correct");

  v.setUint16(36, 0x1234);
  assert.equal(dissectPacket(ip, 101).layers[1].checksumStatus, "incorrect");
  // Only the pseudo header's sum: the sender's network card was to finish it.
  v.setUint16(36, onesSum(ip.subarray(12, 20), 6 + ip.length - 20));
  assert.equal(dissectPacket(ip, 101).layers[1].checksumStatus, "unverified (likely offloaded)");
});

Deno.test("writeDissection() fits text for people in 100 columns and shows JSON as sent", async () => {
  const tricky =
    '{"big": 12345678901234567890,\n\t"inf": 1e400, "zero": -0, "esc": "\\u001b[2J\u202e\u0085"}';
  const long = JSON.stringify({ text: "word ".repeat(80) });
  const body = encoder.encode(tricky);
  const frames = `${body.length}\n${tricky}${encoder.encode(long).length}\n${long}`;
  const ip6 = new Uint8Array(40);
  ip6[0] = 0x60;
  ip6[6] = 6;
  ip6[7] = 64;
  ip6.set([0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8], 8);
  ip6.set([0x20, 0x01, 0x0d, 0xb8, 0xee, 0xee, 0xee, 0xee, 1, 2, 3, 4, 5, 6, 7, 9], 24);
  const tcp = ipv4Tcp({ seq: 1, payload: frames }).subarray(20);
  new DataView(ip6.buffer).setUint16(4, tcp.length);
  const file = pcap(101, [new Uint8Array([...ip6, ...tcp])]);
  const text = await dissect(file);
  for (const line of text.lines) assert.ok(line.length <= 100, `${line.length}: ${line}`);
  assert.ok(text.lines.some((l) => l.includes("\\u001b[2J\\u202e\\u0085")));
  assert.ok(!text.lines.join("\n").includes("\u001b"));
  assert.ok(
    text.lines.some((l) => l.includes('"big": 12345678901234567890,  "inf": 1e400, "zero": -0')),
  );

  const json = await dissect(file, { json: true });
  const message = json.lines.find((l) => l.includes('"type":"message"'))!;
  assert.match(
    message,
    /"message":\{"big": 12345678901234567890, {2}"inf": 1e400, "zero": -0, "esc":/,
  );
  assert.equal(JSON.parse(message).message.esc, "\u001b[2J\u202e\u0085");
});

Deno.test("framecat dissect streams 100,000 packets in both outputs within a 512 MiB heap", async () => {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const messages = await writeExchange(path, { packets: 100_000 });
    for (const json of [false, true]) {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-read",
          "--v8-flags=--max-old-space-size=512",
          MAIN,
          "dissect",
          ...(json ? ["--json"] : []),
          path,
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // Count as it streams, holding nothing.
      let packets = 0;
      let found = 0;
      let tail = "";
      const counting = (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of child.stdout) {
          const text = tail + decoder.decode(chunk, { stream: true });
          const lines = text.split("\n");
          tail = lines.pop()!;
          for (const line of lines) {
            if (json ? line.startsWith('{"type":"packet"') : line.startsWith("Packet ")) packets++;
            if (json ? line.startsWith('{"type":"message"') : /^ {4}\d+\. \{"n":/.test(line)) {
              found++;
            }
          }
        }
      })();
      const [status, stderr] = await Promise.all([
        child.status,
        new Response(child.stderr).text(),
        counting,
      ]);
      assert.equal(stderr, "", json ? "--json" : "text");
      assert.equal(status.code, 0);
      assert.ok(packets >= 100_000, `${packets} packets`);
      assert.equal(found, messages);
    }
  } finally {
    await Deno.remove(path);
  }
});

// ------------------------------------------------------------ against tshark

type Json = Record<string, unknown> & { layers: Layer[]; timeNs: string };

function hexOf(value: unknown, width: number): string | undefined {
  return typeof value === "number" ? `0x${value.toString(16).padStart(width, "0")}` : undefined;
}

const field = (name: string, key: string) => (p: Json) =>
  p.layers.find((l) => l.layer === name)?.[key];

/** tshark's field, and ours as tshark prints it. */
const COMPARED: [string, (p: Json) => unknown][] = [
  ["frame.number", (p) => p.number],
  ["frame.len", (p) => p.length],
  ["frame.cap_len", (p) => p.captured],
  [
    "eth.type",
    (p) => hexOf(field("ethernet", "vlans")(p) ? 0x8100 : field("ethernet", "etherType")(p), 4),
  ],
  [
    "vlan.etype",
    (p) => field("ethernet", "vlans")(p) && hexOf(field("ethernet", "etherType")(p), 4),
  ],
  ["eth.len", field("ethernet", "length")],
  ["llc.dsap", (p) => hexOf(field("llc", "dsap")(p), 2)],
  ["llc.ssap", (p) => hexOf(field("llc", "ssap")(p), 2)],
  ["llc.oui", field("snap", "oui")],
  ["llc.type", (p) => hexOf(field("snap", "pid")(p), 4)],
  ["sll.pkttype", field("sll", "packetType")],
  ["sll.hatype", field("sll", "addressType")],
  ["sll.halen", field("sll", "addressLength")],
  // tshark names the protocol by what it is: a GRE protocol, a Linux "link type", an EtherType.
  ["sll.etype", (p) => sllProtocol(p, "etype")],
  ["sll.ltype", (p) => sllProtocol(p, "ltype")],
  ["sll.gretype", (p) => sllProtocol(p, "gretype")],
  ["sll.ifindex", field("sll", "interfaceIndex")],
  ["ip.version", (p) => field("ipv4", "version")(p) ?? field("ipv6", "version")(p)],
  ["ip.hdr_len", field("ipv4", "headerLength")],
  ["ip.dsfield.dscp", field("ipv4", "dscp")],
  ["ip.dsfield.ecn", field("ipv4", "ecn")],
  ["ip.len", field("ipv4", "totalLength")],
  ["ip.id", (p) => hexOf(field("ipv4", "identification")(p), 4)],
  ["ip.flags", (p) => hexOf(field("ipv4", "flagBits")(p), 2)],
  ["ip.frag_offset", field("ipv4", "fragmentOffset")],
  ["ip.ttl", field("ipv4", "ttl")],
  ["ip.proto", field("ipv4", "protocol")],
  ["ip.checksum", (p) => hexOf(field("ipv4", "checksum")(p), 4)],
  ["ip.src", field("ipv4", "src")],
  ["ip.dst", (p) => field("ipv4", "finalDestination")(p) ?? field("ipv4", "dst")(p)],
  ["ipv6.plen", field("ipv6", "payloadLength")],
  ["ipv6.nxt", field("ipv6", "nextHeader")],
  ["ipv6.hlim", field("ipv6", "hopLimit")],
  ["ipv6.src", field("ipv6", "src")],
  ["ipv6.dst", field("ipv6", "dst")],
  ["tcp.srcport", field("tcp", "srcPort")],
  ["tcp.dstport", field("tcp", "dstPort")],
  ["tcp.seq_raw", field("tcp", "seq")],
  ["tcp.ack_raw", field("tcp", "ack")],
  ["tcp.seq", field("tcp", "relativeSeq")],
  ["tcp.hdr_len", field("tcp", "headerLength")],
  ["tcp.flags", (p) => hexOf(field("tcp", "flagBits")(p), 4)],
  ["tcp.window_size_value", field("tcp", "window")],
  [
    "tcp.window_size",
    (p) => field("tcp", "scaledWindow")(p) ?? field("tcp", "window")(p),
  ],
  ["tcp.checksum", (p) => hexOf(field("tcp", "checksum")(p), 4)],
  ["tcp.urgent_pointer", field("tcp", "urgentPointer")],
  ["tcp.len", field("tcp", "payloadLength")],
  ["udp.srcport", field("udp", "srcPort")],
  ["udp.dstport", field("udp", "dstPort")],
  ["udp.length", field("udp", "length")],
  ["udp.checksum", (p) => hexOf(field("udp", "checksum")(p), 4)],
  [
    "frame.time_epoch",
    (p) =>
      // A block that is not a packet has no time in tshark; framecat gives the one before.
      (p.notes as string[] | undefined)?.some((n) => n.includes("not a packet"))
        ? undefined
        : `${p.timeNs.slice(0, -9) || "0"}.${p.timeNs.slice(-9).padStart(9, "0")}`,
  ],
  [
    "ipv6.fraghdr.offset",
    (p) =>
      (field("ipv6", "fragmentOffset")(p) as number | undefined)! / 8 ||
      field("ipv6", "fragmentOffset")(p),
  ],
  [
    "ipv6.fraghdr.more",
    (p) =>
      field("ipv6", "moreFragments")(p) === undefined
        ? undefined
        : field("ipv6", "moreFragments")(p)
        ? 1
        : 0,
  ],
  ["ipv6.fraghdr.ident", (p) => hexOf(field("ipv6", "fragmentId")(p), 8)],
  [
    "sll.src.eth",
    (p) => field("sll", "addressLength")(p) === 6 ? field("sll", "address")(p) : undefined,
  ],
  [
    "sll.src.ipv4",
    (p) => field("sll", "addressLength")(p) === 4 ? field("sll", "address")(p) : undefined,
  ],
  ["sll.unused", (p) => field("sll", "addressUnused")(p)],
  ["null.family", (p) => field("loopback", "family")(p)],
  // With tshark's checksum checks on: 0 bad, 1 good, 2 unverified, 3 not present.
  ["ip.checksum.status", (p) => checksumStatus(field("ipv4", "checksumStatus")(p))],
  ["tcp.checksum.status", (p) => checksumStatus(field("tcp", "checksumStatus")(p))],
  ["udp.checksum.status", (p) => checksumStatus(field("udp", "checksumStatus")(p))],
];

function sllProtocol(p: Json, kind: string): string | undefined {
  const protocol = field("sll", "protocol")(p) as number | undefined;
  if (protocol === undefined) return undefined;
  const is = field("sll", "addressType")(p) === 778
    ? "gretype"
    : protocol < 0x600
    ? "ltype"
    : "etype";
  return is === kind ? hexOf(protocol, 4) : undefined;
}

function checksumStatus(status: unknown): number | undefined {
  if (status === undefined) return undefined;
  if (status === "not present") return 3;
  if (status === "correct") return 1;
  const unverified = String(status).startsWith("unverified (") &&
    !String(status).includes("offloaded");
  return unverified ? 2 : 0;
}

const NO_DEFRAGMENT = ["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"];

async function has(tool: string): Promise<boolean> {
  const { success } = await new Deno.Command("sh", {
    args: ["-c", `command -v ${tool}`],
    stdout: "null",
    stderr: "null",
  }).output();
  return success;
}

/** Compares every packet's fields with tshark's; returns how many values agreed. */
async function compareWithTshark(path: string): Promise<number> {
  const tshark = await new Deno.Command("tshark", {
    args: [
      "-r",
      path,
      "-T",
      "fields",
      "-E",
      "separator=|",
      "-E",
      "occurrence=f",
      ...["ip", "tcp", "udp"].flatMap((p) => ["-o", `${p}.check_checksum:TRUE`]),
      // framecat does not reassemble IP fragments: neither does tshark here.
      ...NO_DEFRAGMENT,
      ...COMPARED.flatMap(([f]) => ["-e", f]),
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(tshark.success, `tshark -r ${path} failed`);
  const theirs = new TextDecoder().decode(tshark.stdout).trimEnd().split("\n").map((l) =>
    l.split("|")
  );
  const report = await dissect(await Deno.readFile(path), { json: true });
  const packets = report.lines.map((l) => JSON.parse(l)).filter((o) => o.type === "packet");
  assert.equal(packets.length, theirs.length);
  let agreed = 0;
  for (const [i, packet] of packets.entries()) {
    const ours = COMPARED.map(([, get]) => String(get(packet) ?? ""));
    for (const [k, [name]] of COMPARED.entries()) {
      // A UDP length under 8: tshark stops before the checksum; framecat shows it, unverified.
      if (name.startsWith("udp.checksum") && (field("udp", "length")(packet) as number) < 8) {
        continue;
      }
      assert.equal(ours[k], theirs[i][k], `${path}: packet ${i + 1}, ${name}`);
      if (ours[k] !== "") agreed++;
    }
  }
  return agreed;
}

/** Our layer and field, and tshark's field of the same bytes. */
const RANGES: Record<string, Record<string, string>> = {
  ethernet: { dst: "eth.dst", src: "eth.src", length: "eth.len" },
  llc: { dsap: "llc.dsap", ssap: "llc.ssap", control: "llc.control" },
  snap: { oui: "llc.oui", pid: "llc.type" },
  sll: {
    packetType: "sll.pkttype",
    addressType: "sll.hatype",
    addressLength: "sll.halen",
    protocol: "sll.etype|sll.ltype|sll.gretype",
    interfaceIndex: "sll.ifindex",
    address: "sll.src.eth|sll.src.ipv4",
    addressUnused: "sll.unused",
  },
  loopback: { family: "null.family" },
  ipv4: {
    version: "ip.version",
    headerLength: "ip.hdr_len",
    dscp: "ip.dsfield.dscp",
    ecn: "ip.dsfield.ecn",
    totalLength: "ip.len",
    identification: "ip.id",
    flags: "ip.flags",
    fragmentOffset: "ip.frag_offset",
    ttl: "ip.ttl",
    protocol: "ip.proto",
    checksum: "ip.checksum",
    src: "ip.src",
    dst: "ip.cur_rt|ip.dst",
    finalDestination: "ip.dst",
  },
  ipv6: {
    version: "ipv6.version",
    trafficClass: "ipv6.tclass",
    flowLabel: "ipv6.flow",
    payloadLength: "ipv6.plen",
    nextHeader: "ipv6.nxt",
    hopLimit: "ipv6.hlim",
    src: "ipv6.src",
    dst: "ipv6.dst",
    fragmentOffset: "ipv6.fraghdr.offset",
    moreFragments: "ipv6.fraghdr.more",
    fragmentId: "ipv6.fraghdr.ident",
  },
  tcp: {
    srcPort: "tcp.srcport",
    dstPort: "tcp.dstport",
    seq: "tcp.seq_raw",
    ack: "tcp.ack_raw",
    headerLength: "tcp.hdr_len",
    flags: "tcp.flags",
    window: "tcp.window_size_value",
    checksum: "tcp.checksum",
    urgentPointer: "tcp.urgent_pointer",
    options: "tcp.options",
  },
  udp: {
    srcPort: "udp.srcport",
    dstPort: "udp.dstport",
    length: "udp.length",
    checksum: "udp.checksum",
  },
};

/** Wireshark's picture of a field's bits: `0100 ....`. */
function bitsOf(
  data: Uint8Array,
  [from, to]: [number, number],
  [high, low]: [number, number],
): string {
  let text = "";
  for (let bit = (to - from + 1) * 8 - 1; bit >= 0; bit--) {
    text += bit <= high && bit >= low ? (data[to - (bit >> 3)] >> (bit & 7)) & 1 : ".";
    if (bit % 4 === 0 && bit > 0) text += " ";
  }
  return text;
}

/**
 * Compares every field's byte range (and bits) with tshark's PDML; returns
 * how many ranges and bit patterns agreed.
 */
async function compareRangesWithTshark(path: string): Promise<[number, number]> {
  const pdml = await new Deno.Command("tshark", {
    args: ["-r", path, "-T", "pdml", ...NO_DEFRAGMENT],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(pdml.success, `tshark -r ${path} -T pdml failed`);
  const theirs = new TextDecoder().decode(pdml.stdout).split("<packet>").slice(1);
  let ranges = 0;
  let bits = 0;
  let i = 0;
  for await (const record of dissectRecords([await Deno.readFile(path)])) {
    if (record.type !== "packet") continue;
    const packet = theirs[i++];
    for (const layer of record.layers) {
      for (const [key, name] of Object.entries(RANGES[layer.layer] ?? {})) {
        const range = layer.fieldRanges?.[key];
        const names = name.split("|").map((n) => n.replaceAll(".", "\\.")).join("|");
        const field = packet.match(
          new RegExp(`<field name="(?:${names})" showname="([^"]*)" size="(\\d+)" pos="(\\d+)"`),
        );
        const where: string = `${path}: packet ${record.number}, ${layer.layer} ${key}`;
        // Options cut by the snap length: tshark shows as many whole ones as it parsed, we none.
        if (layer.missing?.includes(key)) continue;
        // Only with a source route; tshark's ip.dst is the header's otherwise.
        if (key === "finalDestination" && range === undefined) continue;
        // A UDP length under 8: tshark stops before the checksum; framecat shows it, unverified.
        if (key === "checksum" && layer.layer === "udp" && (layer.length as number) < 8) continue;
        if (!field || field[2] === "0") {
          assert.equal(range, undefined, `${where}: tshark has no ${name}`);
          continue;
        }
        const [, shown, size, pos] = field;
        assert.deepEqual(range, [Number(pos), Number(pos) + Number(size) - 1], where);
        ranges++;
        const pattern = shown.match(/^([01. ]+) = /)?.[1];
        const fieldBits = layer.fieldBits?.[key];
        if (pattern && fieldBits && name !== "tcp.flags") {
          assert.equal(bitsOf(record.data, range!, fieldBits), pattern, where);
          bits++;
        }
      }
    }
  }
  assert.equal(i, theirs.length);
  return [ranges, bits];
}

Deno.test("writeDissection() agrees with tshark on every field, in fixtures and crafted captures", async (t) => {
  if (!(await has("tshark"))) {
    await t.step({ name: "tshark is not installed here", ignore: true, fn(): void {} });
    return;
  }
  let agreed = await compareWithTshark(FIXTURES + "framecat_and_seed.pcapng");
  assert.ok(agreed > 400, `${agreed} values`);
  let [ranges, bits] = await compareRangesWithTshark(FIXTURES + "framecat_and_seed.pcapng");
  assert.ok(ranges > 300 && bits > 80, `${ranges} ranges, ${bits} bit patterns`);
  for (const { name } of Deno.readDirSync(FIXTURES)) {
    if (!/\.pcap(ng)?$/.test(name) || name === "framecat_and_seed.pcapng") continue;
    agreed += await compareWithTshark(FIXTURES + name);
    ranges += (await compareRangesWithTshark(FIXTURES + name))[0];
  }
  const udp = ipv4Header(ipv4Tcp({ seq: 0, payload: "hi" }));
  udp[9] = 17;
  new DataView(udp.buffer).setUint32(24, 0x00160000); // length 22, no checksum
  ipv4Header(udp);
  const padded = new Uint8Array(64);
  padded.set(ethernet(ipv4Tcp({ seq: 1 })));
  const crafted = pcap(1, [
    ieee8023([0x42, 0x42, 0x03, 0, 0, 0, 0, 0]),
    ieee8023([0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, ...ipv4Tcp({ seq: 1, payload: "2\n{}" })]),
    ethernet(udp),
    padded,
    ethernet(ipv4Tcp({ seq: 5, payload: "x".repeat(100) }), 42),
  ], { snap: 120 });
  const dir = await Deno.makeTempDir();
  let total = agreed;
  let totalRanges = ranges;
  try {
    for (const [name, bytes] of Object.entries({ "crafted.pcap": crafted, ...edgeCaptures() })) {
      await Deno.writeFile(`${dir}/${name}`, bytes);
      total += await compareWithTshark(`${dir}/${name}`);
      totalRanges += (await compareRangesWithTshark(`${dir}/${name}`))[0];
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  console.log(`agreed with tshark: ${total} field values, ${totalRanges} byte ranges`);
});

Deno.test("writeDissection() agrees with tshark on loopback captures: -i any (cooked v1, v2) and -s 60", async (t) => {
  const missing = [];
  for (const tool of ["tshark", "tcpdump"]) if (!(await has(tool))) missing.push(tool);
  if (missing.length > 0) {
    await t.step({
      name: `${missing.join(" and ")} not installed here`,
      ignore: true,
      fn(): void {},
    });
    return;
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const dir = await Deno.makeTempDir();
  const captures = {
    "any_sll.pcap": ["-i", "any", "-y", "LINUX_SLL"],
    "any_sll2_s60.pcap": ["-i", "any", "-y", "LINUX_SLL2", "-s", "60"],
    "lo_s60.pcap": ["-i", "lo", "-s", "60"],
  };
  const drained: Promise<void>[] = [];
  const dumps = Object.entries(captures).map(([file, args]) =>
    new Deno.Command("tcpdump", {
      args: [
        ...args,
        "--immediate-mode",
        "-U",
        "-n",
        "-w",
        `${dir}/${file}`,
        "tcp",
        "port",
        String(port),
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn()
  );
  try {
    // Wait until each says it listens, or fails (as without the right to capture).
    const starts = await Promise.all(dumps.map((dump) =>
      new Promise<string>((resolve) => {
        let text = "";
        drained.push((async () => {
          for await (const chunk of dump.stderr.pipeThrough(new TextDecoderStream())) {
            text += chunk;
            if (text.includes("listening on")) resolve("");
          }
          resolve(text || "tcpdump ended");
        })());
      })
    ));
    const failed = starts.find((s) => s !== "");
    if (failed !== undefined) {
      await t.step({
        name: `tcpdump cannot capture here: ${failed.trim().split("\n").at(-1)}`,
        ignore: true,
        fn(): void {},
      });
      return;
    }
    // framecat frames, as the seed sends them too: the prefix and the JSON apart.
    const accepted = listener.accept();
    const client = await Deno.connect({ hostname: "127.0.0.1", port });
    const server = await accepted;
    const pieces = ['14\n"Hello World!"', "8\n", '"héllo"', `2\n{}`];
    for (const piece of pieces) {
      await client.write(encoder.encode(piece));
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    client.close();
    const got = await new Response(server.readable).arrayBuffer();
    assert.equal(got.byteLength, 31);
    await new Promise((resolve) => setTimeout(resolve, 300));
  } finally {
    listener.close();
    for (const dump of dumps) {
      try {
        dump.kill("SIGTERM");
      } catch { /* already ended */ }
      await dump.status;
    }
    await Promise.all(drained);
  }
  try {
    for (const file of Object.keys(captures)) {
      await t.step(file, async () => {
        const path = `${dir}/${file}`;
        assert.ok(await compareWithTshark(path) > 100);
        const [ranges] = await compareRangesWithTshark(path);
        assert.ok(ranges > 100, `${ranges} ranges`);
        const report = await dissect(await Deno.readFile(path), { json: true, port });
        const messages = messagesOf(report.lines).map((m) => m.message);
        if (file.includes("s60")) {
          assert.match(report.lines.join("\n"), /cut by the snap length/);
        } else {
          assert.deepEqual(messages, ["Hello World!", "héllo", {}]);
        }
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeDissection() lists messages after the packets within a bound, and counts the rest", async () => {
  const frames = ["1\n1", "1\n2", "1\n3", "1\n4", "1\n5"];
  const file = pcap(101, frames.map((payload, i) => ipv4Tcp({ seq: 1 + 3 * i, payload })));
  const { lines } = await dissect(file, { listLimit: 2 });
  const list = lines.slice(lines.indexOf("Messages"));
  assert.deepEqual(list, [
    "Messages",
    "  10.0.0.1:50000 > 10.0.0.2:1234",
    "    1. 1 (1 bytes; packet 1)",
    "    2. 2 (1 bytes; packet 2)",
    "    ... and 3 more messages and problems, not listed: the list keeps 2 in all, to keep memory",
    "    bounded (--json prints every one)",
  ]);
  const json = await dissect(file, { json: true, listLimit: 2 });
  assert.equal(messagesOf(json.lines).length, 5);
});

Deno.test("dissectPacket() names every captured byte once, however the snap length cuts", () => {
  const ip = ipv4Tcp({ seq: 1, payload: "2\n{}" });
  const udp = ipv4Header(ipv4Tcp({ seq: 0x000c0000, payload: "hi" }));
  udp[9] = 17;
  ipv4Header(udp);
  const ip6 = new Uint8Array(40 + 8 + 24);
  ip6.set([0x60, 0, 0, 0, 0, 32, 0, 64], 0);
  ip6.set([6, 0, 1, 4, 0, 0, 0, 0], 40);
  ip6.set(ipv4Tcp({ seq: 1, payload: "1\n1" }).subarray(20), 48);
  const cases: [number, Uint8Array][] = [
    [1, ethernet(ip)],
    [1, ethernet(ip, 7)],
    [1, ethernet(udp)],
    [1, ieee8023([0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, ...ip])],
    [0, new Uint8Array([2, 0, 0, 0, ...ip])],
    [101, ip6],
    [113, new Uint8Array([0, 4, 3, 4, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00, ...ip])],
    [276, new Uint8Array([0x08, 0, 0, 0, 0, 0, 0, 7, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, ...ip])],
  ];
  for (const [linkType, packet] of cases) {
    for (let snap = 0; snap <= packet.length; snap++) {
      const data = packet.subarray(0, snap);
      const { layers } = dissectPacket(data, linkType, { originalLength: packet.length });
      let next = 0;
      for (const layer of layers) {
        assert.equal(layer.start, next, `link ${linkType}, snap ${snap}: ${ranges(layers)}`);
        assert.ok(layer.end >= layer.start && layer.end < snap);
        for (const [from, to] of Object.values(layer.fieldRanges ?? {})) {
          assert.ok(from >= layer.start && to <= layer.end, `${layer.layer} field ${from}-${to}`);
        }
        next = layer.end + 1;
      }
      assert.equal(next, snap, `link ${linkType}, snap ${snap}: ${ranges(layers)}`);
    }
  }
});

Deno.test("writeDissection() decodes a stream cut into random, reordered and repeated segments", async () => {
  let seed = 7;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let round = 0; round < 20; round++) {
    const values = Array.from(
      { length: 1 + random(8) },
      (_, i) => ({ i, s: "é".repeat(random(40)) }),
    );
    const stream = encoder.encode(
      values.map((v) => {
        const json = JSON.stringify(v);
        return `${encoder.encode(json).length}\n${json}`;
      }).join(""),
    );
    const segments: [number, Uint8Array][] = [];
    for (let at = 0; at < stream.length;) {
      const size = 1 + random(30);
      segments.push([at, stream.subarray(at, at + size)]);
      at += size;
    }
    // Swap neighbours now and then, and send some segments twice.
    for (let i = 0; i + 1 < segments.length; i++) {
      if (random(3) === 0) [segments[i], segments[i + 1]] = [segments[i + 1], segments[i]];
    }
    const sent = segments.flatMap((s) => random(4) === 0 ? [s, s] : [s]);
    const packets = [
      ipv4Tcp({ seq: 999, flags: 0x02 }), // SYN: the stream starts at 1000
      ...sent.map(([at, payload]) => ipv4Tcp({ seq: 1000 + at, payload })),
    ];
    const { lines } = await dissect(pcap(101, packets), { json: true });
    assert.deepEqual(messagesOf(lines).map((m) => m.message), values, `round ${round}`);
    assert.equal(lines.some((l) => l.includes('"type":"problem"')), false);
  }
});

Deno.test("writeDissection() ends a stream at its FIN, and a new SYN on the same ports starts another", async () => {
  const packets = [
    ipv4Tcp({ seq: 99, flags: 0x02 }),
    ipv4Tcp({ seq: 100, payload: "5\n[1," }),
    ipv4Tcp({ seq: 105, flags: 0x11 }), // FIN, ACK: the frame is cut short
    ipv4Tcp({ seq: 5000, flags: 0x02 }), // the same ports again
    ipv4Tcp({ seq: 5001, payload: "3\n[2]" }),
  ];
  const { lines } = await dissect(pcap(101, packets), { json: true });
  const types = lines.map((l) => JSON.parse(l)).map((o) => o.type === "packet" ? o.number : o.type);
  assert.deepEqual(types, [1, 2, 3, "problem", 4, 5, "message"]);
  assert.match(
    lines[3],
    /Cannot read frame 1 \(stream byte 0\): stream ended after 3 of 5 payload bytes/,
  );
  assert.deepEqual(messagesOf(lines).map((m) => m.message), [[2]]);
});

Deno.test("TcpStreams holds unfinished frames within one budget for all streams", async () => {
  const streams = new TcpStreams({ maxUnfinishedBytes: 10 });
  const segment = (seq: number, text: string, srcPort = 5000) => ({
    src: "10.0.0.1",
    dst: "10.0.0.2",
    srcPort,
    dstPort: 1234,
    seq,
    ack: 0,
    flags: ["ACK"],
    window: 512,
    payload: encoder.encode(text),
  });
  const big = JSON.stringify("x".repeat(18));
  streams.add(1, segment(100, `${big.length}\n${big.slice(0, 15)}`));
  streams.add(2, segment(118, `${big.slice(15)}1\n7`));
  streams.add(3, segment(100, '3\n"a', 6000));
  streams.add(4, segment(104, '"', 6000));
  const records = await streams.take();
  assert.deepEqual(records.map((r) => r.type === "message" ? r.message : r.type), [
    "problem",
    7,
    "a",
  ]);
  assert.match(
    (records[0] as ProblemRecord).reason,
    /frame 1 \(stream byte 0, packets 1, 2\) is not shown: its payload was not kept/,
  );
});

Deno.test("writeDissection() prints a message larger than its buffer whole, surrogate pairs intact", async () => {
  // One of the two puts a pair across the line's first 256 Ki UTF-16 units.
  for (const head of ["a", "ab"]) {
    const value = head + "😀".repeat(150_000);
    const json = encoder.encode(JSON.stringify(value));
    const frame = new Uint8Array([...encoder.encode(`${json.length}\n`), ...json]);
    const packets = [];
    for (let at = 0; at < frame.length; at += 60_000) {
      packets.push(ipv4Tcp({ seq: 1 + at, payload: frame.subarray(at, at + 60_000) }));
    }
    const { lines } = await dissect(pcap(101, packets), { json: true });
    const [message] = messagesOf(lines);
    assert.equal(message.message, value);
    assert.equal(lines.join("\n").includes("\ufffd"), false);
  }
});
