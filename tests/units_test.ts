import assert from "node:assert/strict";
import { parseDuration, parseSize } from "../lib/units.ts";
import { looksLikeHost, parseHostPort } from "../lib/host_port.ts";
import { normalizePin } from "../lib/fingerprint.ts";

Deno.test("parseSize reads bytes with K, M, G, T in powers of 1024, spelled as people do", () => {
  for (
    const [text, bytes] of [
      ["0", 0],
      ["1000", 1000],
      ["1K", 1024],
      ["1k", 1024],
      ["64KB", 64 * 1024],
      ["64M", 64 * 1024 ** 2],
      ["1GiB", 1024 ** 3],
      ["2 G", 2 * 1024 ** 3],
      ["1T", 1024 ** 4],
      ["12B", 12],
    ] as const
  ) {
    assert.equal(parseSize(text), bytes, text);
  }
  for (const text of ["", "K", "1.5K", "-1", "1e3", "1X", "1 KiBs"]) {
    assert.throws(() => parseSize(text), SyntaxError, text);
  }
});

Deno.test("parseDuration reads seconds, or ms, s, m, min, h", () => {
  for (
    const [text, ms] of [
      ["0", 0],
      ["2", 2000],
      ["0.5", 500],
      [".25", 250],
      ["500ms", 500],
      ["2s", 2000],
      ["1.5s", 1500],
      ["1m", 60_000],
      ["2min", 120_000],
      ["1h", 3_600_000],
    ] as const
  ) {
    assert.equal(parseDuration(text), ms, text);
  }
  for (const text of ["", "s", "-1", "soon", "1d", "1e3", "2 x"]) {
    assert.throws(() => parseDuration(text), SyntaxError, text);
  }
});

Deno.test("parseHostPort splits HOST:PORT and [V6]:PORT, and leaves bare IPv6 whole", () => {
  assert.deepEqual(parseHostPort("10.0.0.1"), { hostname: "10.0.0.1" });
  assert.deepEqual(parseHostPort("10.0.0.1:1234"), { hostname: "10.0.0.1", port: 1234 });
  assert.deepEqual(parseHostPort("db.lan:80"), { hostname: "db.lan", port: 80 });
  assert.deepEqual(parseHostPort("::1"), { hostname: "::1" });
  assert.deepEqual(parseHostPort("[::1]"), { hostname: "::1" });
  assert.deepEqual(parseHostPort("[fd77::1]:9000"), { hostname: "fd77::1", port: 9000 });
  for (const text of ["10.0.0.1:0", "10.0.0.1:70000", "h:x", ":80", "[::1", "[::1]x"]) {
    assert.throws(() => parseHostPort(text), SyntaxError, text);
  }
});

Deno.test("looksLikeHost knows addresses and dotted names from words", () => {
  for (const word of ["10.77.0.1", "::1", "[fd77::1]", "localhost", "example.com", "db.lan"]) {
    assert.ok(looksLikeHost(word), word);
  }
  for (const word of ["hello", "Hello World!", "1234", "a.1", "{}", "3.14"]) {
    assert.ok(!looksLikeHost(word), word);
  }
});

Deno.test("normalizePin reads hex with or without colons and SHA256:, and base64", () => {
  const bytes = Array.from({ length: 32 }, (_, i) => i * 7);
  const hex = bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
  const colons = hex.match(/../g)!.join(":").toUpperCase();
  const base64 = btoa(String.fromCharCode(...bytes)).replace(/=$/, "");
  for (const pin of [hex, colons, `SHA256:${colons}`, `sha256/${hex}`, `SHA256:${base64}`]) {
    assert.equal(normalizePin(pin), hex, pin);
  }
  for (const pin of ["", "SHA256:", "AB:CD", hex.slice(2), `SHA1:${colons}`]) {
    assert.throws(() => normalizePin(pin), SyntaxError, pin);
  }
});
