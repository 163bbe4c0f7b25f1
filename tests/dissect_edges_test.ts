// The cases of issue 21, each on a crafted capture: fragments, source routes,
// UDP lengths, link types, pcapng numbering and times, short blocks.
import assert from "node:assert/strict";
import { dissectPacket, type Layer } from "../lib/capture/layers.ts";
import { readCapture } from "../lib/capture/pcap.ts";
import { TcpStreams } from "../lib/capture/streams.ts";
import { type DissectRecord, dissectRecords } from "../lib/capture/report.ts";
import {
  concatBytes,
  edgeCaptures,
  enhancedPacket,
  ethernet,
  ethernet6,
  fixIpv4Checksums,
  ipv4SourceRouted,
  ipv4Tcp,
  ipv6Fragments,
  ipv6Routed,
  pcap,
  pcapngBlock,
  pcapngHead,
  sll,
  udpWithLength,
  writeOnePacketConnections,
} from "./capture_builder.ts";
import { framecat } from "./helpers.ts";

function layer(layers: Layer[], name: string): Layer {
  const found = layers.find((l) => l.layer === name);
  assert.ok(found, `no ${name} layer in ${layers.map((l) => l.layer)}`);
  return found;
}

async function records(file: Uint8Array): Promise<DissectRecord[]> {
  const all: DissectRecord[] = [];
  for await (const record of dissectRecords([file])) all.push(record);
  return all;
}

Deno.test("dissectPacket() never reads a later IP fragment's data as a transport header", async () => {
  const [first, second] = ipv6Fragments();
  const one = dissectPacket(first, 101);
  assert.equal(layer(one.layers, "tcp").dstPort, 80);
  assert.equal(layer(one.layers, "tcp").checksumStatus, "unverified (a fragment)");
  assert.match(one.notes.join("\n"), /first IPv6 fragment .* not reassembled/);
  const two = dissectPacket(second, 101);
  assert.equal(two.layers.some((l) => l.layer === "tcp" || l.layer === "udp"), false);
  assert.equal(two.tcp, undefined);
  assert.deepEqual(layer(two.layers, "undissected").reason, "an IPv6 fragment, not reassembled");
  assert.match(two.notes[0], /an IPv6 fragment \(offset 32, the last, id 0x00001234\)/);
  assert.equal(layer(two.layers, "ipv6").fragmentOffset, 32);
  // No phantom stream and no phantom message.
  const found = await records(pcap(1, [first, second].map(ethernet6)));
  assert.deepEqual(found.filter((r) => r.type !== "packet"), []);

  // An IPv4 UDP fragment after the first: its bytes are no ports and no checksum.
  const udp = udpWithLength(20);
  new DataView(udp.buffer).setUint16(6, 0x0003); // offset 24 bytes
  fixIpv4Checksums(udp);
  const later = dissectPacket(udp, 101);
  assert.equal(later.layers.some((l) => l.layer === "udp"), false);
  assert.match(later.notes[0], /an IPv4 fragment \(offset 24\)/);
});

Deno.test("dissectPacket() checks TCP checksums against a source route's final destination", () => {
  const routed6 = dissectPacket(ipv6Routed(), 101);
  assert.deepEqual(routed6.notes, []);
  assert.equal(layer(routed6.layers, "ipv6").finalDestination, "fd00::99");
  assert.equal(layer(routed6.layers, "tcp").checksumStatus, "correct");
  const routed4 = dissectPacket(ipv4SourceRouted(), 101);
  assert.deepEqual(routed4.notes, []);
  const ip = layer(routed4.layers, "ipv4");
  assert.deepEqual([ip.dst, ip.finalDestination], ["10.0.0.2", "10.9.9.9"]);
  assert.deepEqual(ip.fieldRanges!.finalDestination, [23, 26]);
  assert.equal(layer(routed4.layers, "tcp").checksumStatus, "correct");
});

Deno.test("dissectPacket() notes a UDP length that disagrees with the IP payload", () => {
  const short = dissectPacket(udpWithLength(10), 101);
  const udp = layer(short.layers, "udp");
  assert.equal(udp.checksumStatus, "correct"); // over the 10 bytes the length gives
  assert.equal(udp.payloadLength, 2);
  assert.match(short.notes[0], /UDP length 10 is less than the IP payload's 20 bytes/);
  assert.deepEqual(short.layers.at(-1), {
    layer: "undissected",
    start: 30,
    end: 39,
    reason: "bytes after the UDP datagram, as its length gives it",
  });
  const long = dissectPacket(udpWithLength(100), 101);
  assert.equal(layer(long.layers, "udp").checksumStatus, "unverified (bad length)");
  assert.match(long.notes[0], /^Bad length value 100 > IP payload length/);
  assert.match(dissectPacket(udpWithLength(4), 101).notes[0], /^Bad length value 4 < 8/);
});

Deno.test("dissectPacket() notes a bogus IP version and reads DLT_LOOP and SLL's LLC", () => {
  const ip = fixIpv4Checksums(ipv4Tcp({ seq: 1, payload: "2\n{}" }));
  const bogus = ipv4Tcp({ seq: 1 });
  bogus[0] = 0x55;
  const five = dissectPacket(ethernet(bogus), 1);
  assert.match(five.notes[0], /bogus IP version 5 under EtherType 0x0800/);
  assert.deepEqual(five.layers.map((l) => [l.layer, l.start, l.end]), [
    ["ethernet", 0, 13],
    ["ipv4", 14, 14],
    ["undissected", 15, 53],
  ]);
  const loop = dissectPacket(concatBytes([new Uint8Array([0, 0, 0, 2]), ip]), 108);
  assert.deepEqual(loop.notes, []);
  assert.equal(layer(loop.layers, "loopback").family, 2);
  assert.equal(layer(loop.layers, "tcp").checksumStatus, "correct");
  const llc = dissectPacket(sll(6, 1, 4, new Uint8Array([0x42, 0x42, 3, 0, 0, 0])), 113);
  assert.equal(layer(llc.layers, "sll").protocolName, "IEEE 802.2 LLC");
  assert.equal(layer(llc.layers, "llc").dsap, 0x42);
});

Deno.test("dissectPacket() shows a Linux cooked address as its halen bytes, the rest unused", () => {
  const ip = ipv4Tcp({ seq: 1 });
  const four = layer(dissectPacket(sll(4, 778, 0x0800, ip), 113).layers, "sll");
  assert.equal(four.address, "10.1.0.1");
  assert.deepEqual(four.fieldRanges!.address, [6, 9]);
  assert.deepEqual([four.addressUnused, four.fieldRanges!.addressUnused], ["aabbccdd", [10, 13]]);
  const six = layer(dissectPacket(sll(6, 1, 0x0800, ip), 113).layers, "sll");
  assert.equal(six.address, "0a:01:00:01:aa:bb");
  assert.deepEqual(six.fieldRanges!.address, [6, 11]);
});

Deno.test("readCapture() numbers pcapng blocks as Wireshark does, times to the nanosecond", () => {
  const captures = edgeCaptures();
  const blocks = [...readCapture(captures["numbered_blocks.pcapng"])];
  assert.deepEqual(blocks.map((p) => [p.number, p.block === undefined]), [
    [1, true],
    [2, false],
    [3, true],
    [4, false],
    [5, true],
    [6, true],
  ]);
  assert.match(blocks[1].block!, /custom block \(copiable\) \(type 0x00000bad, enterprise 32766\)/);
  assert.equal(blocks[4].timeNs, "1700000000000003000"); // the obsolete packet block
  const [ns] = readCapture(captures["nanoseconds.pcapng"]);
  assert.equal(ns.timeNs, "1700001000818270123"); // if_tsresol 9, if_tsoffset 1000 s
  assert.ok(Math.abs(ns.time - 1700001000.818270123) < 1e-6);
  const [modified] = readCapture(captures["modified.pcap"]);
  assert.equal(modified.data.length, 58);
  assert.equal(dissectPacket(modified.data, modified.linkType).notes.length, 0);
  const [micro] = readCapture(pcap(1, [new Uint8Array(60)]));
  assert.equal(micro.timeNs, "1700000000500000000");
});

/** A pcapng file whose EPB of `length` bytes ends at `end`, blocks after it; and the packets before it. */
function shortBlockAt(end: number, length: number): [Uint8Array, number] {
  const parts = [pcapngHead()];
  let size = parts[0].length;
  let packets = 0;
  while (size < end - length) {
    const room = end - length - size;
    const packet = room >= 1200;
    const part = packet
      ? enhancedPacket(ethernet(ipv4Tcp({ seq: 1 + packets, payload: "x".repeat(1000) })), 1n)
      : pcapngBlock(0x1234, new Uint8Array(room - 12)); // a block nobody reads, as padding
    if (packet) packets++;
    parts.push(part);
    size += part.length;
  }
  const short = new Uint8Array(length);
  new DataView(short.buffer).setUint32(0, 6, true);
  new DataView(short.buffer).setUint32(4, length, true);
  new DataView(short.buffer).setUint32(length - 4, length, true);
  parts.push(short, enhancedPacket(new Uint8Array(60), 2n));
  return [concatBytes(parts), packets];
}

Deno.test("framecat dissect stops at a short EPB with one line and exit 1, from a file and a pipe", async () => {
  const [file, packets] = shortBlockAt(1_048_576, 16);
  assert.ok(packets > 900);
  const path = await Deno.makeTempFile({ suffix: ".pcapng" });
  try {
    await Deno.writeFile(path, file);
    const fromFile = await framecat(["dissect", "--json", path], undefined, {
      permissions: ["--allow-read"],
    });
    const fromPipe = await framecat(["dissect", "--json", "-"], file);
    for (const [run, name] of [[fromFile, path], [fromPipe, "from standard input"]] as const) {
      assert.equal(run.code, 1, run.stderr);
      const printed = run.stdout.split("\n").filter((l) => l.startsWith('{"type":"packet"'));
      assert.equal(printed.length, packets);
      assert.equal(
        run.stderr,
        `framecat: Cannot read capture ${name}: packet ${packets + 1} at byte ${
          1_048_576 - 16
        }: an enhanced packet block of 16 bytes, fewer than the 32 its fixed fields need\n`,
      );
    }
  } finally {
    await Deno.remove(path);
  }
  const [twelve] = shortBlockAt(2000, 12);
  const run = await framecat(["dissect", "-"], twelve);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /: packet 2 at byte 1988: an enhanced packet block of 12 bytes/);
});

Deno.test("framecat dissect names the file it cannot read as a capture", async () => {
  const path = await Deno.makeTempFile({ suffix: ".ndjson" });
  try {
    await Deno.writeTextFile(path, '{"a":1}\n');
    const run = await framecat(["dissect", path], undefined, { permissions: ["--allow-read"] });
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      `framecat: Cannot read capture ${path}: byte 0: the file is neither pcap nor pcapng ` +
        "(unknown magic number)\n",
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("dissectRecords() holds a flat heap over 250,000 one-packet connections", async () => {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await writeOnePacketConnections(path, 250_000);
    // In a child with --expose-gc: the live heap after a collection, every 50,000 records.
    const script = `
      import { dissectRecords } from ${
      JSON.stringify(new URL("../lib/capture/report.ts", import.meta.url).href)
    };
      const file = await Deno.open(${JSON.stringify(path)});
      let n = 0;
      const heap = [];
      let problems = [];
      for await (const record of dissectRecords(file)) {
        if (record.type === "problem") problems.push(record.reason);
        if (++n % 50000 === 0) { globalThis.gc(); heap.push(Deno.memoryUsage().heapUsed); }
      }
      file.close();
      console.log(JSON.stringify({ n, heap, problems }));
    `;
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--v8-flags=--expose-gc,--max-old-space-size=64", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const { n, heap, problems } = JSON.parse(new TextDecoder().decode(stdout));
    assert.equal(n, 250_000 + 2);
    // Past the 20,000 followed connections, the heap stays where it was: no growth per connection.
    const [, second, , , last] = heap as number[];
    assert.ok(last < second + 4 * 1024 * 1024, `heap ${heap.map((h: number) => h >> 20)} MiB`);
    assert.match(problems[0], /^more than 20000 connections at once: the one seen least recently/);
    assert.equal(
      problems[1],
      "230000 connections were forgotten before their end: more than 20000 were followed at once",
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("TcpStreams forgets a connection idle for 600 s of capture time, its unfinished frame said", async () => {
  const streams = new TcpStreams();
  const segment = (srcPort: number, seq: number, text: string) => ({
    src: "10.0.0.1",
    dst: "10.0.0.2",
    srcPort,
    dstPort: 1234,
    seq,
    ack: 0,
    flags: ["ACK"],
    window: 512,
    payload: new TextEncoder().encode(text),
  });
  streams.add(1, segment(5000, 100, '14\n"Hello'), { time: 1000 });
  streams.add(2, segment(5001, 100, "2\n{}"), { time: 1599 });
  assert.equal(streams.connections, 2);
  assert.deepEqual((await streams.take()).map((r) => r.type), ["message"]);
  streams.add(3, segment(5002, 100, "2\n{}"), { time: 1601 });
  assert.equal(streams.connections, 2);
  const [cut, message] = await streams.take();
  assert.equal(cut.type === "problem" && cut.stream, "10.0.0.1:5000 > 10.0.0.2:1234");
  assert.match(cut.type === "problem" ? cut.reason : "", /^Cannot read frame 1 \(stream byte 0\)/);
  assert.equal(message.type, "message");
});

Deno.test("dissectRecords() names each message's prefix and JSON bytes in a framecat layer", async () => {
  const all = await records(pcap(101, [
    ipv4Tcp({ seq: 999, flags: 0x02 }),
    ipv4Tcp({ seq: 1000, payload: '14\n"Hel' }),
    ipv4Tcp({ seq: 1007, payload: 'lo World!"2\n{}' }),
  ]));
  const frames = all.flatMap((r) =>
    r.type === "packet" ? r.layers.filter((l) => l.layer === "framecat") : []
  );
  assert.deepEqual(
    frames.map(({ frame, prefix, length, json, fieldRanges }) => ({
      frame,
      prefix,
      length,
      json,
      fieldRanges,
    })),
    [
      {
        frame: 1,
        prefix: "14\n",
        length: 14,
        json: "bytes 0-3 of 14",
        fieldRanges: { prefix: [40, 42], json: [43, 46] },
      },
      {
        frame: 1,
        prefix: undefined,
        length: 14,
        json: "bytes 4-13 of 14",
        fieldRanges: { json: [40, 49] },
      },
      {
        frame: 2,
        prefix: "2\n",
        length: 2,
        json: "bytes 0-1 of 2",
        fieldRanges: { prefix: [50, 51], json: [52, 53] },
      },
    ],
  );
  // The payload layer stays, and the framecat layers follow it.
  const last = all.findLast((r) => r.type === "packet")!;
  assert.deepEqual(
    last.type === "packet" && last.layers.map((l) => [l.layer, l.start, l.end]),
    [["ipv4", 0, 19], ["tcp", 20, 39], ["payload", 40, 53], ["framecat", 40, 49], [
      "framecat",
      50,
      53,
    ]],
  );
});
