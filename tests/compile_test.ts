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

Deno.test("runtimeFor() gives a DENORT_BIN file to this machine's target only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "framecat-denort-" });
  try {
    const file = `${dir}/denort`;
    await Deno.writeFile(file, new Uint8Array());
    assert.equal(runtimeFor(Deno.build.target, file), file);
    const other = Deno.build.target === "aarch64-apple-darwin"
      ? "x86_64-unknown-linux-gnu"
      : "aarch64-apple-darwin";
    assert.equal(runtimeFor(other, file), undefined);
    await Deno.writeFile(`${dir}/denort-${other}`, new Uint8Array());
    assert.equal(runtimeFor(other, dir), `${dir}/denort-${other}`);
    assert.equal(runtimeFor("x86_64-pc-windows-msvc", dir), undefined);
    assert.throws(() => runtimeFor(other, `${dir}/nothing`), /does not exist/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile() says deno compile's own error when a target's runtime is wrong", async () => {
  // Something that is no runtime at all: deno compile cannot use it.
  const dir = await Deno.makeTempDir({ prefix: "framecat-denort-" });
  try {
    const target = "aarch64-apple-darwin";
    await Deno.writeTextFile(`${dir}/denort-${target}`, "not a runtime");
    const built = await compile(target, { outDir: dir, runtime: runtimeFor(target, dir) });
    assert.equal(built.ok, false);
    // The cause itself, not deno compile's progress lines before it.
    assert.match(built.error!, /^Writing deno compile executable .*: Invalid object: \w+/);
    assert.doesNotMatch(built.error!, /Embedded Files|Compile file|Stack backtrace/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
