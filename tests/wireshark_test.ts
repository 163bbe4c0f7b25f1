import assert from "node:assert/strict";
import { wiresharkDissector } from "../lib/capture/wireshark.ts";
import { MAX_PAYLOAD_BYTES } from "../lib/framing.ts";
import { framecat } from "./helpers.ts";

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
          // JSON.parse words a JSON error its own way: compare up to the detail.
          const gist = (reason: string) =>
            reason.replace(
              / \(.*\)$/,
              (detail) => reason.includes("is not valid JSON") ? "" : detail,
            );
          assert.deepEqual(
            said.filter((m) => m.startsWith("Cannot read frame")).map(gist),
            expected.problems.map(gist),
          );
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
