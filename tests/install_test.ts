import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { spawn, startReceiver } from "./helpers.ts";

const REPO = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

Deno.test("deno task install copies a Deno from npm's cache and says how to reinstall once it is gone", async () => {
  const root = await Deno.makeTempDir({ prefix: "framecat-install-copy-" });
  try {
    // FRAMECAT_COPY_DENO=1 does what a Deno in npx's cache gets.
    const installed = await new Deno.Command(Deno.execPath(), {
      args: ["task", "install"],
      cwd: REPO,
      env: { NO_COLOR: "1", DENO_INSTALL_ROOT: root, FRAMECAT_COPY_DENO: "1" },
    }).output();
    const said = decoder.decode(installed.stdout) + decoder.decode(installed.stderr);
    assert.equal(installed.code, 0, said);
    const command = `${root}/bin/framecat`;
    const copy = `${root}/bin/framecat-deno`;
    assert.match(said, new RegExp(`run by the Deno at ${copy}/deno\\.`));
    // The way to remove it needs no deno on PATH.
    assert.ok(said.includes(`Remove it with: rm -f '${command}' && rm -rf '${copy}'\n`), said);

    const run = () =>
      new Deno.Command(command, {
        args: ["--version"],
        stdin: "null",
        env: { PATH: "/usr/bin:/bin", NO_COLOR: "1" },
      }).output();
    const before = await run();
    assert.equal(decoder.decode(before.stdout), `framecat ${denoJson.version}\n`);

    // Its launcher tells /dev/null (the seed's Hello World) from an empty file or pipe (nothing).
    const receiver = await startReceiver(["--json"]);
    await Deno.writeTextFile(`${root}/empty`, "");
    const send = async (redirect: string, pipe = "") => {
      const shell = `${pipe}'${command}' send --port ${receiver.port} ${redirect}`;
      const { code, stderr } = await spawn([], { shell }).finished();
      assert.equal(code, 0, stderr);
      return stderr;
    };
    try {
      assert.match(await send("< /dev/null"), /^Sent 1 message \(17 bytes\)/);
      assert.match(await send(`< '${root}/empty'`), /^Sent 0 messages /);
      assert.match(await send("< /dev/null hi"), /^Sent 1 message \(6 bytes\)/);
      assert.match(await send("", ": | "), /^Sent 0 messages /);
      // Closed, standard input is /dev/null to Deno, and to its launcher too,
      // even with the variable set where it was started.
      assert.match(
        await send("<&-", "export FRAMECAT_STDIN=other; "),
        /^Sent 1 message \(17 bytes\)/,
      );
    } finally {
      receiver.child.kill("SIGTERM");
      await receiver.finished();
    }
    assert.deepEqual(
      receiver.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).message),
      ["Hello World!", "hi", "Hello World!"],
    );

    // npm's cache cleared: the command says so in one line, with the fix.
    await Deno.remove(`${copy}/deno`);
    const after = await run();
    assert.equal(after.code, 127);
    assert.equal(decoder.decode(after.stdout), "");
    const repo = REPO.replace(/\/$/, "");
    assert.equal(
      decoder.decode(after.stderr),
      `framecat: the Deno it runs, ${copy}/deno, is gone; install framecat again: ` +
        `cd '${repo}' && npx -y deno@${Deno.version.deno} task install\n`,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno.json describes every task, and publishes the command without tests or bench", () => {
  for (const [name, task] of Object.entries(denoJson.tasks)) {
    assert.equal(typeof task, "object", name);
    assert.ok((task as { description?: string }).description, `${name} has a description`);
  }
  assert.equal(denoJson.exports["."], "./main.ts");
  const included = denoJson.publish.include;
  for (const path of ["main.ts", "cli/", "lib/"]) assert.ok(included.includes(path), path);
  for (const path of included) assert.doesNotMatch(path, /^(tests|bench|tools)\b/);
});
