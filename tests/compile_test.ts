import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { compile, runtimeFor } from "../tools/compile.ts";

// Compile this machine's binary once, when the file loads, to know whether the
// test can run here: `deno compile` needs to download denort, or DENORT_BIN.
const outDir = await Deno.makeTempDir({ prefix: "framecat-compile-" });
const runtime = runtimeFor(Deno.build.target, Deno.env.get("DENORT_BIN"));
const result = await compile(Deno.build.target, { outDir, runtime });
const cannotDownload = !result.ok && runtime === undefined &&
  /could not download/.test(result.error ?? "");
if (cannotDownload) await Deno.remove(outDir, { recursive: true });

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(result.output, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

Deno.test({
  name: "deno compile builds a framecat that sends to and receives from itself" +
    (cannotDownload ? ` (ignored: ${result.error})` : ""),
  ignore: cannotDownload,
  async fn(): Promise<void> {
    try {
      assert.ok(result.ok, `deno compile failed: ${result.error}`);
      const version = await run(["--version"]);
      assert.equal(version.stdout, `framecat ${denoJson.version}\n`, "not a framecat binary");
      const receiver = new Deno.Command(result.output, {
        args: ["receive", "--host", "127.0.0.1", "--port", "0", "--json", "--count", "1"],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = receiver.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let said = "";
      let port: string | undefined;
      while (!port) {
        const { value, done } = await stderr.read();
        if (done) break;
        said += value;
        port = /Listening on 127\.0\.0\.1:(\d+)/.exec(said)?.[1];
      }
      assert.ok(port, `the compiled receiver did not listen: ${said}`);
      const sent = await run(["send", "--port", port, "from a compiled binary"]);
      assert.equal(sent.code, 0, sent.stderr);
      const output = await new Response(receiver.stdout).text();
      await stderr.cancel();
      assert.equal((await receiver.status).code, 0);
      assert.equal(JSON.parse(output).message, "from a compiled binary");
    } finally {
      await Deno.remove(outDir, { recursive: true });
    }
  },
});
