/**
 * `deno task test`: runs every test, the documentation's examples too, and
 * shows a short account instead of deno test's full one: a mark per test as
 * it ends (`.` passed, `,` ignored, `!` failed), then each ignored test with
 * why, everything deno test says about what failed, and its summary line
 * (`ok | 99 passed | 0 failed | 4 ignored`). Arguments go to deno test:
 * `deno task test tests/cli_test.ts`. When deno test cannot run the tests
 * (a type error), all it said is shown.
 *
 * @example
 * ```sh
 * deno task test tests/cli_test.ts
 * ```
 *
 * @module
 */

import { writeAll } from "../lib/line_writer.ts";

const PERMISSIONS = [
  "--allow-net",
  "--allow-run",
  "--allow-read",
  "--allow-write",
  "--allow-env",
];

const encoder = new TextEncoder();
const out = (text: string) => writeAll(Deno.stdout, encoder.encode(text));

const child = new Deno.Command(Deno.execPath(), {
  args: ["test", "--doc", ...PERMISSIONS, ...Deno.args],
  stdout: "piped",
  stderr: "piped",
  env: { NO_COLOR: "1" },
}).spawn();
const stderr = new Response(child.stderr).text();

const ignored: string[] = [];
const failedOutput: string[] = [];
let output: string[] | undefined;
let printed: string[] = [];
const failures: string[] = [];
let summary: string | undefined;
let all = "";
let file = "";
let rest = "";
for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
  all += text;
  const lines = (rest + text).split("\n");
  rest = lines.pop()!;
  let marks = "";
  for (const line of lines) {
    if (failures.length > 0 || line === " ERRORS ") {
      failures.push(line);
      continue;
    }
    // What a test printed comes before its result: kept for a test that fails.
    if (line === "------- output -------") output = [];
    if (output) {
      output.push(line);
      if (line === "----- output end -----") {
        printed = output;
        output = undefined;
      }
      continue;
    }
    const running = /^running \d+ tests? from (.*)$/.exec(line);
    if (running) file = running[1];
    const result = / \.\.\. (ok|ignored|FAILED) \(/.exec(line);
    if (result) {
      if (result[1] === "FAILED") failedOutput.push(line.replace(/ \.\.\. .*$/, ""), ...printed);
      printed = [];
      marks += { ok: ".", ignored: ",", FAILED: "!" }[result[1]];
      if (result[1] === "ignored") ignored.push(`  ${file}: ${line.replace(/ \.\.\. .*$/, "")}`);
    }
    if (/^(ok|FAILED) \| \d+ passed/.test(line)) summary = line;
  }
  if (marks) await out(marks);
}
const { code } = await child.status;
await out("\n");
if (summary === undefined && failures.length === 0) {
  // Nothing ran as tests: say all that deno test said.
  await out(all + rest);
  await writeAll(Deno.stderr, encoder.encode(await stderr));
} else {
  if (ignored.length > 0) await out(`\nignored:\n${ignored.join("\n")}\n`);
  if (failedOutput.length > 0) {
    await out(`\nwhat failing tests printed:\n${failedOutput.join("\n")}\n`);
  }
  if (failures.length > 0) await out(`\n${[...failures, rest].join("\n").trim()}\n`);
  else await out(`\n${summary}\n`);
  // The same in the plain form other runners close with.
  const counts = /(\d+) passed.*?\| (\d+) failed(?:.*?\| (\d+) ignored)?/.exec(
    summary ?? failures.join("\n"),
  );
  if (counts) {
    await out(`tests: ${counts[1]} passed, ${counts[2]} failed, ${counts[3] ?? 0} skipped\n`);
  }
}
Deno.exit(code);
