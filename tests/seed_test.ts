import assert from "node:assert/strict";
import { delay, framecat, needs, startReceiver } from "./helpers.ts";

const SEED = new URL("./seed/", import.meta.url).pathname;

const MESSAGES = ["Hello World!", "héllo wörld 🙂", { "ключ": ["значение", 1.5, null] }];

Deno.test({
  ...needs("framecat receive reads what the seed's sender.py sends", "python3"),
  async fn(): Promise<void> {
    const receiver = await startReceiver(["--json", "--count", String(MESSAGES.length)]);
    for (const message of MESSAGES) {
      const sender = await new Deno.Command("python3", {
        args: [SEED + "sender.py", "127.0.0.1", String(receiver.port), JSON.stringify(message)],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(sender.code, 0, new TextDecoder().decode(sender.stderr));
      assert.equal(new TextDecoder().decode(sender.stdout), "Socket Created\nMessage Sent!\n");
    }
    const { code, stdout } = await receiver.finished();
    assert.equal(code, 0);
    const lines = stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(lines.map((l) => l.message), MESSAGES);
    // The lengths of json.dumps's bytes: non-ASCII escaped as \uXXXX (12 bytes
    // for the emoji's surrogate pair), ", " and ": " between items.
    const expected = [14, 36, 93];
    assert.deepEqual(lines.map((l) => l.bytes), expected);
  },
});

Deno.test({
  ...needs("the seed's receiver.py reads what framecat send sends, non-ASCII included", "python3"),
  async fn(): Promise<void> {
    const child = new Deno.Command("python3", {
      args: [SEED + "receiver.py", "127.0.0.1", "0"],
      stdout: "piped",
      stderr: "piped",
      env: { PYTHONIOENCODING: "utf-8" },
    }).spawn();
    let output = "";
    const reading = (async () => {
      for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) output += text;
    })();
    try {
      let port = "";
      for (let i = 0; i < 500 && !port; i++) {
        port = /listening on\s+(\d+)/.exec(output)?.[1] ?? "";
        if (!port) await delay(10);
      }
      assert.ok(port, `the seed's receiver did not start: ${output}`);
      // The seed reads one message per connection: one send each.
      const sends = [["Hello World!"], ["--json", '{"naïve": "日本語 🙂"}'], [
        "--json",
        "[1, 2.5]",
      ]];
      for (const args of sends) {
        const sent = await framecat(["send", "--port", port, ...args]);
        // The seed keeps the connection open and says nothing: unconfirmed.
        assert.equal(sent.code, 3, sent.stderr);
      }
      for (let i = 0; i < 500 && output.split("Message from Sender").length < 4; i++) {
        await delay(10);
      }
    } finally {
      child.kill("SIGINT");
      await child.status;
      await reading;
      await child.stderr.cancel();
    }
    const messages = output.split("\n").filter((l) => l.startsWith("Message from Sender"));
    assert.deepEqual(messages, [
      "Message from Sender ::  Hello World!",
      "Message from Sender ::  {'naïve': '日本語 🙂'}",
      "Message from Sender ::  [1, 2.5]",
    ]);
  },
});
