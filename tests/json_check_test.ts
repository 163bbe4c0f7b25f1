import assert from "node:assert/strict";
import { JsonChecker } from "../lib/json_check.ts";
import { SafeJsonText, StringDisplay } from "../lib/safe_text.ts";

const encoder = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The reference: the engine's own UTF-8 decoder and JSON parser. */
function isJson(bytes: Uint8Array): boolean {
  try {
    JSON.parse(strict.decode(bytes));
    return true;
  } catch {
    return false;
  }
}

/** A small seeded generator, so that a failure can be replayed (FUZZ_SEED=N). */
function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
}

const long = "abcdefghij".repeat(20);
const SAMPLES = [
  '{"a":[1,2.5e-3,-0,true,false,null,"x\\u00e9\\n"]}',
  '"héllo \u2028 \\u001b"',
  "[[[]]]",
  "12345678901234567890",
  "1e400",
  ' {"k" : { } } ',
  '"\\ud800"',
  '[1,[2,{"a":"b"}]]',
  "0",
  "-0.0e+1",
  '"\u{1F600}"',
  `"${long}"`,
  `["${long}","${long}\\n${long}"]`,
  `"${long}\u00e9${long}\u0085"`,
];
const ALPHABET = ' \t\n\r{}[]:,"\\/-+.0123456789eEtrufalsn\u00e9\u2028x\u007f';

Deno.test("JsonChecker agrees with JSON.parse on 20,000 mutated texts, fed in random pieces", () => {
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? 20261124);
  const next = random(seed);
  const pick = <T>(list: ArrayLike<T>) => list[Math.floor(next() * list.length)];
  const checker = new JsonChecker();
  let valid = 0;
  for (let round = 0; round < 20_000; round++) {
    const chars = [...pick(SAMPLES)];
    for (let edits = Math.floor(next() * 3); edits > 0; edits--) {
      const at = Math.floor(next() * (chars.length + 1));
      const r = next();
      if (r < 0.33) chars.splice(at, 1);
      else if (r < 0.66) chars.splice(at, 0, pick(ALPHABET));
      else chars[at] = pick(ALPHABET);
    }
    let bytes = encoder.encode(chars.join(""));
    if (next() < 0.2 && bytes.length > 0) bytes[Math.floor(next() * bytes.length)] = next() * 256;
    if (next() < 0.3) {
      // At an odd offset in its buffer, as payloads are in the receiver's.
      const padded = new Uint8Array(bytes.length + 3);
      padded.set(bytes, 1);
      bytes = padded.subarray(1, 1 + bytes.length);
    }
    const expected = isJson(bytes);
    if (expected) valid++;
    checker.reset();
    for (let at = 0; at < bytes.length;) {
      const to = Math.min(bytes.length, at + 1 + Math.floor(next() * bytes.length));
      checker.push(bytes, at, to);
      at = to;
    }
    const pieces = checker.end() === undefined;
    const whole = checker.check(bytes) === undefined;
    assert.equal(
      pieces,
      expected,
      `seed ${seed} round ${round}: ${JSON.stringify(chars.join(""))}`,
    );
    assert.equal(whole, expected, `seed ${seed} round ${round}: ${JSON.stringify(chars.join(""))}`);
  }
  assert.ok(valid > 2000, `only ${valid} valid texts: the mutations test too little`);
});

Deno.test("JsonChecker names the byte and the reason, escaped", () => {
  const checker = new JsonChecker();
  const cases: [string, RegExp][] = [
    ["", /empty or only whitespace/],
    ["[1,]", /unexpected "]" at byte 3 \(expected a value\)/],
    ['{"a" 1}', /unexpected "1" at byte 5 \(expected ":"\)/],
    ['"a\nb"', /control character 0x0a inside a string at byte 2/],
    ['"\\x"', /invalid escape "\\x"/],
    ["[1", /ends inside an array/],
    ["tru", /ends inside a literal/],
    ["1.", /ends inside a number/],
    ["\u001b[2J", /unexpected byte 0x1b at byte 0/],
  ];
  for (const [text, reason] of cases) {
    const error = checker.check(encoder.encode(text));
    assert.match(error ?? "(valid)", reason, JSON.stringify(text));
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(error!, /[\u0000-\u001f]/);
  }
  assert.match(checker.check(new Uint8Array([0x22, 0xc3, 0x28, 0x22]))!, /invalid UTF-8/);
  assert.match(checker.check(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22]))!, /invalid UTF-8/);
});

Deno.test("JsonChecker checks 30,000,000 levels of nesting in linear time", () => {
  const depth = 30_000_000;
  const bytes = new Uint8Array(depth * 2).fill(0x5b);
  bytes.fill(0x5d, depth);
  const checker = new JsonChecker();
  assert.equal(checker.check(bytes), undefined);
  bytes[depth * 2 - 1] = 0x7d;
  assert.match(checker.check(bytes)!, /unexpected "}"/);
});

Deno.test("JsonChecker notes line breaks, escapes and what a terminal acts on", () => {
  const checker = new JsonChecker();
  checker.check(encoder.encode('{"a":\n1}'));
  assert.deepEqual([checker.lineBreaks, checker.unsafe, checker.escapes], [true, false, false]);
  checker.check(encoder.encode('"\u202e"'));
  assert.deepEqual([checker.topString, checker.unsafe], [true, true]);
  checker.check(encoder.encode('"\\n"'));
  assert.deepEqual([checker.escapes, checker.unsafe], [true, false]);
  checker.check(encoder.encode('"é"'));
  assert.equal(checker.unsafe, false);
});

/** Runs a rewrite over `text` cut at `cut`, and whole; both must agree. */
function rewrite(kind: "json" | "display", text: string): string[] {
  const bytes = encoder.encode(text);
  const results: string[] = [];
  for (let cut = 0; cut <= bytes.length; cut++) {
    const out: Uint8Array[] = [];
    const emit = (p: Uint8Array) => out.push(p.slice());
    const rewriter = kind === "json" ? new SafeJsonText(emit) : new StringDisplay(emit);
    rewriter.push(bytes.subarray(0, cut));
    rewriter.push(bytes.subarray(cut));
    results.push(new TextDecoder().decode(new Uint8Array(out.flatMap((p) => [...p]))));
  }
  return results;
}

Deno.test("SafeJsonText keeps the value, makes it one line, escapes what a terminal acts on", () => {
  const text = '{"a":\r\n 12345678901234567890, "s": "é\u0085\u2028\u202e\u007f\\n", "z": -0}';
  const outputs = rewrite("json", text);
  const expected =
    '{"a":   12345678901234567890, "s": "é\\u0085\\u2028\\u202e\\u007f\\n", "z": -0}';
  for (const output of outputs) assert.equal(output, expected);
  assert.deepEqual(JSON.parse(expected), JSON.parse(text));
});

Deno.test("StringDisplay decodes escapes, pairs surrogates, shows controls escaped", () => {
  const text = ' "caf\\u00e9 \\ud83d\\ude00 \\"q\\" \\\\ \\/ \\t\\u001b[2J\u0085\\ud800!" ';
  for (const output of rewrite("display", text)) {
    assert.equal(output, 'café 😀 "q" \\ / \\t\\u001b[2J\\u0085\\ud800!');
  }
});
