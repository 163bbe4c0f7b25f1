import assert from "node:assert/strict";
import { readCapture } from "../lib/capture/pcap.ts";
import { wiresharkDissector } from "../lib/capture/wireshark.ts";
import { MAX_PAYLOAD_BYTES } from "../lib/framing.ts";
import { JsonChecker } from "../lib/json_check.ts";
import { lossyExchange, manyInOnePacket } from "./capture_builder.ts";
import { framecat, needs } from "./helpers.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function hasTshark(): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", "command -v tshark"], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const ignore = !hasTshark();
if (ignore) console.log("wireshark_test: tshark is not installed, so the dissector is not tried");

/** Every capture fixture. */
const captures = [...Deno.readDirSync(FIXTURES)]
  .map((entry) => entry.name)
  .filter((name) => /\.pcap(ng)?$/.test(name))
  .sort();

interface Message {
  bytes: number;
  message: unknown;
}

async function tshark(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const result = await new Deno.Command("tshark", { args, stdout: "piped", stderr: "piped" })
    .output();
  const stderr = decoder.decode(result.stderr)
    // tshark warns when run by root, as in CI containers: not the plugin's doing.
    .replace(/^Running as user "root" and group "root"\. This could be dangerous\.\n/m, "");
  assert.ok(result.success, `tshark ${args.join(" ")} failed: ${stderr}`);
  return { stdout: decoder.decode(result.stdout), stderr };
}

/**
 * The messages in `-T fields -e framecat.length -e framecat.json` output: a
 * packet of several frames lists their lengths and texts joined by commas,
 * and a text may hold commas, so each text is cut at its length in bytes.
 */
function parseFields(output: string): Message[] {
  const messages: Message[] = [];
  for (const line of output.split("\n").filter((l) => l !== "")) {
    const tab = line.indexOf("\t");
    const lengths = line.slice(0, tab);
    const texts = encoder.encode(line.slice(tab + 1));
    if (lengths === "") {
      assert.equal(texts.length, 0, `a text with no length: ${line}`);
      continue;
    }
    let at = 0;
    for (const [i, length] of lengths.split(",").map(Number).entries()) {
      if (i > 0) assert.equal(texts[at++], 0x2c, `texts not joined by commas: ${line}`);
      const text = decoder.decode(texts.subarray(at, at + length));
      messages.push({ bytes: length, message: JSON.parse(text) });
      at += length;
    }
    assert.equal(at, texts.length, `texts longer than their lengths: ${line}`);
  }
  return messages;
}

/** What `framecat dissect --json` says: messages in the order of the packet that ends each. */
async function dissect(capture: string): Promise<{ messages: Message[]; problems: string[] }> {
  const result = await framecat(["dissect", "--json", FIXTURES + capture], undefined, {
    permissions: ["--allow-read"],
  });
  assert.equal(result.code, 0, result.stderr);
  const objects = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
  const messages = objects.filter((o) => o.type === "message")
    .sort((a, b) => a.packets.at(-1) - b.packets.at(-1))
    .map(({ bytes, message }) => ({ bytes, message }));
  const problems = objects.filter((o) => o.type === "problem").map((o) => o.reason as string);
  return { messages, problems };
}

Deno.test({
  name: "wiresharkDissector shows in tshark the messages and bad frames framecat dissect finds",
  ignore,
  async fn(t): Promise<void> {
    const lua = await Deno.makeTempFile({ prefix: "framecat_", suffix: ".lua" });
    try {
      await Deno.writeTextFile(lua, wiresharkDissector());
      for (const capture of captures) {
        await t.step(capture, async () => {
          const expected = await dissect(capture);
          const fields = await tshark([
            ...["-X", `lua_script:${lua}`, "-r", FIXTURES + capture, "-Y", "framecat"],
            ...["-T", "fields", "-e", "framecat.length", "-e", "framecat.json"],
          ]);
          assert.equal(fields.stderr, "", "the plugin loads and runs without a Lua error");
          assert.deepEqual(parseFields(fields.stdout), expected.messages);
          // Wireshark's GUI dissects packets again, in any order: the same from what the first pass kept.
          const twoPass = await tshark([
            ...["-2", "-X", `lua_script:${lua}`, "-r", FIXTURES + capture, "-Y", "framecat"],
            ...["-T", "fields", "-e", "framecat.length", "-e", "framecat.json"],
          ]);
          assert.equal(twoPass.stdout, fields.stdout);

          // The bad frames' reasons, with dissect's limit on a frame's length.
          const experts = await tshark([
            ...["-X", `lua_script:${lua}`, "-r", FIXTURES + capture],
            ...["-o", `framecat.max_bytes:${MAX_PAYLOAD_BYTES}`],
            ...["-T", "json", "-e", "_ws.expert.message"],
          ]);
          assert.equal(experts.stderr, "");
          const said: string[] = JSON.parse(experts.stdout).flatMap((
            packet: { _source: { layers: Record<string, string[]> } },
          ) => packet._source.layers["_ws.expert.message"] ?? []);
          assert.deepEqual(said.filter((m) => m.startsWith("Lua Error")), []);
          // As framecat receive says them; dissect decodes a payload before checking
          // it, so it does not name the byte that is not UTF-8.
          const reasons = said.filter((m) => m.startsWith("Cannot read frame"))
            .map((m) => m.replace(/( is not valid UTF-8): invalid UTF-8 .*$/, "$1"));
          assert.deepEqual(reasons, expected.problems);
        });
      }
    } finally {
      await Deno.remove(lua);
    }
  },
});

Deno.test({
  name: "wiresharkDissector follows the port preference, Decode As and the heuristic switch",
  ignore,
  async fn(): Promise<void> {
    const lua = await Deno.makeTempFile({ prefix: "framecat_", suffix: ".lua" });
    const messages = async (file: string, ...args: string[]) =>
      parseFields(
        (await tshark([
          ...["-X", `lua_script:${lua}`, "-r", FIXTURES + file, ...args, "-Y", "framecat"],
          ...["-T", "fields", "-e", "framecat.length", "-e", "framecat.json"],
        ])).stdout,
      );
    try {
      // other_port.pcap: framecat on port 40123, HTTP and a look-alike on 40124.
      await Deno.writeTextFile(lua, wiresharkDissector());
      const expected = [{ bytes: 14, message: "Hello World!" }, {
        bytes: 15,
        message: { second: true },
      }];
      assert.deepEqual(await messages("other_port.pcap"), expected);
      const noHeuristic = ["--disable-heuristic", "framecat_tcp"];
      assert.deepEqual(await messages("other_port.pcap", ...noHeuristic), []);
      assert.deepEqual(
        await messages("other_port.pcap", ...noHeuristic, "-d", "tcp.port==40123,framecat"),
        expected,
      );
      assert.deepEqual(
        await messages("other_port.pcap", ...noHeuristic, "-o", "framecat.port:40123"),
        expected,
      );
      await Deno.writeTextFile(lua, wiresharkDissector({ port: 40123 }));
      assert.deepEqual(await messages("other_port.pcap", ...noHeuristic), expected);
      // The seed's frame, split after its prefix, is seen only on the framecat port.
      assert.deepEqual(await messages("framecat_and_seed.pcap", ...noHeuristic), []);
    } finally {
      await Deno.remove(lua);
    }
  },
});

Deno.test({
  name:
    "wiresharkDissector finds 3,000 messages in one packet and lossy streams' messages with tshark",
  ignore,
  async fn(t): Promise<void> {
    const dir = await Deno.makeTempDir({ prefix: "framecat_" });
    const lua = `${dir}/framecat.lua`;
    const found = async (capture: string, ...args: string[]) => {
      const { stdout, stderr } = await tshark([
        ...["-X", `lua_script:${lua}`, "-r", capture, ...args, "-Y", "framecat"],
        ...["-T", "fields", "-e", "framecat.length", "-e", "framecat.json"],
      ]);
      assert.equal(stderr, "");
      return parseFields(stdout);
    };
    const experts = async (capture: string, ...args: string[]) => {
      const { stdout } = await tshark([
        ...["-X", `lua_script:${lua}`, "-r", capture, ...args, "-T", "json"],
        ...["-e", "_ws.expert.message"],
      ]);
      return JSON.parse(stdout).flatMap((p: { _source: { layers: Record<string, string[]> } }) =>
        p._source.layers["_ws.expert.message"] ?? []
      ) as string[];
    };
    const dissected = async (capture: string) => {
      const result = await framecat(["dissect", "--json", capture], undefined, {
        permissions: ["--allow-read"],
      });
      assert.equal(result.code, 0, result.stderr);
      return result.stdout.trim().split("\n").map((line) => JSON.parse(line))
        .filter((o) => o.type === "message")
        .map(({ bytes, message }) => ({ bytes, message }));
    };
    try {
      await Deno.writeTextFile(lua, wiresharkDissector());
      await t.step("3,000 messages in one packet, tshark's default preferences", async () => {
        const capture = `${dir}/many.pcap`;
        await Deno.writeFile(capture, manyInOnePacket(3000));
        const messages = await found(capture);
        assert.equal(messages.length, 3000);
        assert.deepEqual(messages, await dissected(capture));
        // More than gui.max_tree_depth (500) layers once was a dissector bug.
        assert.deepEqual((await experts(capture)).filter((m) => /bug|Cannot read/.test(m)), []);
      });
      for (const seed of [7, 11, 13]) {
        await t.step(`70 messages, reordered and retransmitted (seed ${seed})`, async () => {
          const capture = `${dir}/lossy_${seed}.pcap`;
          await Deno.writeFile(capture, lossyExchange(70, seed));
          const expected = await dissected(capture);
          assert.equal(expected.length, 70);
          const inOrder = ["-o", "tcp.reassemble_out_of_order:TRUE"];
          assert.deepEqual(await found(capture, ...inOrder), expected);
          assert.deepEqual(
            (await experts(capture, ...inOrder)).filter((m) => m.startsWith("Cannot read")),
            [],
          );
          // With tshark's default preferences: the messages before the first gap, no false
          // bad frame, and the preference to turn on named.
          const some = await found(capture);
          assert.deepEqual(some, expected.slice(0, some.length));
          const said = await experts(capture);
          assert.deepEqual(said.filter((m) => m.startsWith("Cannot read")), []);
          assert.ok(said.some((m) => m.includes("-o tcp.reassemble_out_of_order:TRUE")));
        });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("framecat wireshark prints the dissector for the port asked; --help says where it goes", async () => {
  const printed = await framecat(["wireshark", "--port", "5555"]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.equal(printed.stdout, wiresharkDissector({ port: 5555 }));
  const help = await framecat(["wireshark", "--help"]);
  assert.equal(help.code, 0);
  for (const folder of ["~/.local/lib/wireshark/plugins/", "%APPDATA%\\Wireshark\\plugins\\"]) {
    assert.ok(help.stdout.includes(folder), folder);
  }
  const bad = await framecat(["wireshark", "--port", "70000"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--port must be a whole number from 1 to 65535/);
});

/** A classic pcap of raw IPv4 packets (link type 101), each one TCP segment to port 1234. */
function pcapOfSegments(segments: { srcPort: number; payload: Uint8Array }[]): Uint8Array {
  const packets = segments.map(({ srcPort, payload }) => {
    const packet = new Uint8Array(40 + payload.length);
    const view = new DataView(packet.buffer);
    packet.set([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    view.setUint16(2, packet.length);
    view.setUint16(20, srcPort);
    view.setUint16(22, 1234);
    view.setUint32(24, 1000);
    packet[32] = 5 << 4;
    packet[33] = 0x18; // PSH, ACK
    view.setUint16(34, 512);
    packet.set(payload, 40);
    return packet;
  });
  const file = new Uint8Array(24 + packets.reduce((n, p) => n + 16 + p.length, 0));
  const view = new DataView(file.buffer);
  [0xa1b2c3d4, 0x00040002, 0, 0, 65535, 101].forEach((n, i) => view.setUint32(i * 4, n, true));
  let at = 24;
  packets.forEach((packet, i) => {
    [1_700_000_000 + i, 0, packet.length, packet.length].forEach((n, k) =>
      view.setUint32(at + k * 4, n, true)
    );
    file.set(packet, at + 16);
    at += 16 + packet.length;
  });
  return file;
}

Deno.test({
  name: "wiresharkDissector checks payloads as framecat receive does, in its words",
  ignore,
  async fn(): Promise<void> {
    // Good and bad texts of every kind the checker names, and bytes that are not UTF-8.
    const texts = [
      ...["{}", '[1, {"a": null}, "é\\u00e9"]', "-0.5e+10", "true", '"\x7f"', "", " ", "01"],
      ...["1.", "-", "-a", "1e", "1e+", ".5", "tru", "nulx", "[1,]", "[,1]", '{"a":1,}', '{"a"}'],
      ...["{1:2}", '{"a":1 "b":2}', "[1 2]", '{"k":"v"}x', "[[[[]]]", '{"a":', '"abc', '"\\u12"'],
      ...['"\\x"', '"\\', '"a\tb"', "[1.x]", "1ex", "1e+]", '"' + "x".repeat(200) + '\x05"'],
    ].map((text) => encoder.encode(text));
    for (
      const bytes of ["22ff22", "22c322", "22eda08022", "22c0af22", "22f09f", "ff", "5b2c22ff225d"]
    ) {
      texts.push(new Uint8Array(bytes.match(/../g)!.map((h) => parseInt(h, 16))));
    }
    // What framecat receive says: the checker's reason, or that the payload is
    // not UTF-8 when a decoder finds so.
    const expected = texts.map((payload) => {
      let why = new JsonChecker().check(payload);
      if (why === undefined) return decoder.decode(payload);
      let utf8 = why.startsWith("invalid UTF-8");
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(payload);
      } catch {
        if (!utf8) why = "a byte sequence is not UTF-8";
        utf8 = true;
      }
      const size = payload.length === 1 ? "1 byte" : `${payload.length} bytes`;
      return "Cannot read frame 1 (stream byte 0): " +
        (utf8
          ? `payload of ${size} is not valid UTF-8: ${why}`
          : `payload is not valid JSON: ${why}`);
    });
    const capture = await Deno.makeTempFile({ prefix: "framecat_", suffix: ".pcap" });
    const lua = await Deno.makeTempFile({ prefix: "framecat_", suffix: ".lua" });
    try {
      await Deno.writeFile(
        capture,
        pcapOfSegments(texts.map((payload, i) => ({
          srcPort: 40000 + i,
          payload: new Uint8Array([...encoder.encode(`${payload.length}\n`), ...payload]),
        }))),
      );
      await Deno.writeTextFile(lua, wiresharkDissector());
      const { stdout, stderr } = await tshark([
        ...["-X", `lua_script:${lua}`, "-r", capture],
        ...["-T", "json", "-e", "framecat.json", "-e", "_ws.expert.message"],
      ]);
      assert.equal(stderr, "");
      const said = JSON.parse(stdout).map((
        packet: { _source: { layers: Record<string, string[]> } },
      ) =>
        packet._source.layers["framecat.json"]?.[0] ??
          packet._source.layers["_ws.expert.message"]?.find((m) => m.startsWith("Cannot read"))
      );
      assert.deepEqual(said, expected);
    } finally {
      await Deno.remove(capture);
      await Deno.remove(lua);
    }
  },
});

Deno.test(
  needs("framecat.lua is Lua that luac -p accepts, and framecat_lua.ts is built from it", "luac"),
  async () => {
    const source = new URL("../lib/capture/framecat.lua", import.meta.url).pathname;
    const luac = await new Deno.Command("luac", { args: ["-p", source], stderr: "piped" }).output();
    assert.equal(luac.success, true, decoder.decode(luac.stderr));
    // The printed dissector is the file, its port put in.
    assert.equal(wiresharkDissector(), await Deno.readTextFile(source));
    const check = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-run",
        new URL("../tools/build_lua.ts", import.meta.url).pathname,
        "--check",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(check.code, 0, decoder.decode(check.stderr));
  },
);

Deno.test({
  name: "dissect's framecat layers name the bytes Wireshark's framecat.prefix and .payload name",
  ignore,
  async fn(): Promise<void> {
    const dir = await Deno.makeTempDir({ prefix: "framecat_" });
    const lua = `${dir}/framecat.lua`;
    await Deno.writeTextFile(lua, wiresharkDissector());
    const files: Record<string, string> = {};
    for (const name of captures) files[name] = FIXTURES + name;
    // (Not the lossy captures: where segments came out of order, Wireshark shows every frame in
    // a buffer it reassembled, with positions in that buffer, not in the packet.)
    files["many.pcap"] = `${dir}/many.pcap`;
    await Deno.writeFile(files["many.pcap"], manyInOnePacket(300));
    let compared = 0;
    try {
      for (const [name, path] of Object.entries(files)) {
        const pdml = (await tshark([
          ...["-X", `lua_script:${lua}`, "-o", "tcp.reassemble_out_of_order:TRUE"],
          ...["-r", path, "-T", "pdml"],
        ])).stdout.split("<packet>").slice(1);
        const hex = new Map<number, string>();
        for (const packet of readCapture(await Deno.readFile(path))) {
          hex.set(
            packet.number,
            [...packet.data].map((b) => b.toString(16).padStart(2, "0")).join(""),
          );
        }
        const result = await framecat(["dissect", "--json", path], undefined, {
          permissions: ["--allow-read"],
        });
        const packets = result.stdout.trim().split("\n").map((l) => JSON.parse(l))
          .filter((o) => o.type === "packet");
        assert.equal(packets.length, pdml.length);
        for (const [i, packet] of packets.entries()) {
          // Wireshark's frames in the packet's own bytes, not in a buffer it reassembled:
          // those whose value is the packet's bytes at their position.
          const theirs: number[][] = [];
          const fields = pdml[i].matchAll(
            /<field name="framecat\.(prefix|payload)"[^>]* size="(\d+)" pos="(\d+)" show="[^"]*" value="([0-9a-f]*)"/g,
          );
          for (const [, field, size, pos, value] of fields) {
            const [at, n] = [Number(pos), Number(size)];
            if (hex.get(packet.number)!.slice(2 * at, 2 * (at + n)) !== value) continue;
            theirs.push([field === "prefix" ? 0 : 1, at, at + n - 1]);
          }
          // dissect's frames wholly in the packet.
          const ours: number[][] = [];
          for (const layer of packet.layers) {
            const { prefix, json } = layer.fieldRanges ?? {};
            if (layer.layer !== "framecat" || !prefix || !json) continue;
            if (layer.json !== `bytes 0-${layer.length - 1} of ${layer.length}`) continue;
            ours.push([0, ...prefix], [1, ...json]);
          }
          // A bad prefix is a prefix alone in Wireshark: dissect names no frame there.
          const pairs = theirs.filter((f, k) => f[0] === 1 || theirs[k + 1]?.[0] === 1);
          assert.deepEqual(ours, pairs, `${name}: packet ${packet.number}`);
          compared += ours.length;
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    assert.ok(compared > 600, `${compared} ranges`);
    console.log(`framecat layers: ${compared} prefix and JSON ranges agree with Wireshark's`);
  },
});
