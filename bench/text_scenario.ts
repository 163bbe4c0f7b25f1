/**
 * `deno task bench --only text`: large messages of text that is not plain
 * ASCII (accents, Cyrillic, CJK, escapes, line breaks) against the same
 * size of ASCII, end to end: `send --stdin --json` checks each line as
 * JSON, `receive --json` checks each payload, both on the bytes. Every text
 * must go at a speed comparable to ASCII's (issue 17: within 2x).
 *
 * @module
 */

import {
  Background,
  type Context,
  FRAMECAT,
  freePort,
  MiB,
  removeQuietly,
  type Result,
  result,
  rounds,
  scaled,
  type ScenarioDefinition,
  shOk,
  timed,
  waitListening,
} from "./harness.ts";

/** One unit of each text, repeated to the message size. */
const TEXTS: Record<string, string> = {
  ascii: "The quick brown fox jumps over the lazy dog. ",
  french: "Le cœur déçu mais l'âme plutôt naïve, Louÿs rêva de crapaüter en canoë. ",
  russian: "Съешь же ещё этих мягких французских булок да выпей чаю. ",
  cjk: "我能吞下玻璃而不伤身体。私はガラスを食べられます。",
  escaped: 'a "quoted" word\tand a tab, ',
  newlines: "a\n",
};

/** Messages per run, and their size. */
const MESSAGES = 4;
const MESSAGE_BYTES = 12 * MiB;

export const text: ScenarioDefinition = {
  name: "text",
  needs: [],
  about:
    `${MESSAGES} messages of ${
      MESSAGE_BYTES / MiB
    } MiB of French, Russian, CJK, escaped and line-break-heavy text, ` +
    "send --stdin --json into receive --json > /dev/null, against the same of ASCII (MB/s)",
  async run(context: Context): Promise<Result[]> {
    const size = scaled(context, MESSAGE_BYTES);
    const files: Record<string, string> = {};
    for (const [name, unit] of Object.entries(TEXTS)) {
      const body = unit.repeat(Math.ceil(size / new TextEncoder().encode(unit).length));
      const line = JSON.stringify(body) + "\n";
      files[name] = `${context.dir}/text-${name}.ndjson`;
      await Deno.writeTextFile(files[name], line.repeat(MESSAGES));
    }
    const bytes = (name: string) => Deno.statSync(files[name]).size;
    const run = (name: string) => async () => {
      const port = freePort();
      const receiver = new Background(
        `exec ${FRAMECAT} receive --host 127.0.0.1 --port ${port} --json --quiet ` +
          `--count ${MESSAGES} > /dev/null`,
        300,
      );
      await waitListening(port, receiver);
      const ms = await timed(async () => {
        await shOk(`${FRAMECAT} send --stdin --json --port ${port} < "${files[name]}"`, 300);
        const { code } = await receiver.finish(300_000);
        if (code !== 0) throw new Error(`receive exited ${code}: ${receiver.stderr.slice(-300)}`);
      });
      return bytes(name) / 1e6 / (ms / 1000);
    };
    const names = Object.keys(TEXTS).filter((name) => name !== "ascii");
    const contenders: Record<string, () => Promise<number>> = { ascii: run("ascii") };
    for (const name of names) contenders[name] = run(name);
    const { figures, load } = await rounds(context, contenders);
    await removeQuietly(...Object.values(files));
    return names.map((name) =>
      result({
        scenario: "text",
        name: `${MESSAGES} x ${MESSAGE_BYTES / MiB} MiB of ${name} text, send into receive`,
        unit: "MB/s",
        peerName: "the same of ASCII",
        framecat: figures[name],
        peer: figures.ascii,
        target: { on: "ratio", op: ">=", value: 0.5, text: ">= 0.5x (within 2x)" },
        load,
      })
    );
  },
};
