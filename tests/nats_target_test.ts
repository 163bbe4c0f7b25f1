import assert from "node:assert/strict";
import { parseNatsTarget } from "../lib/nats/target.ts";
import { checkSubject, subjectCovered, subjectMatches } from "../lib/nats/subjects.ts";
import { describeNatsError } from "../lib/nats/connection.ts";
import { HEADERS, messageHeaders, messageId } from "../lib/nats/headers.ts";
import { loadNatsClient } from "../lib/nats/deps.ts";

Deno.test("parseNatsTarget reads hosts, ports, credentials and the subject", () => {
  assert.deepEqual(parseNatsTarget("nats://localhost/a.b"), {
    servers: ["localhost:4222"],
    subject: "a.b",
    tls: false,
    user: undefined,
    pass: undefined,
    display: "nats://localhost/a.b",
  });
  const t = parseNatsTarget("NATS://u%3Ax:p%2Fw@10.0.0.1:4223,[fd00::1]:4224/orders");
  assert.deepEqual(t.servers, ["10.0.0.1:4223", "[fd00::1]:4224"]);
  assert.equal(t.user, "u:x");
  assert.equal(t.pass, "p/w");
  assert.equal(t.display, "NATS://u%3Ax:***@10.0.0.1:4223,[fd00::1]:4224/orders");
  assert.equal(parseNatsTarget("nats://token@h/s").user, "token");
});

Deno.test("parseNatsTarget refuses what is not a NATS address, in words", () => {
  for (
    const [text, words] of [
      ["127.0.0.1:4222/s", /is not a NATS address: nats:\/\/HOST:PORT\/SUBJECT/],
      ["nats://127.0.0.1:4222", /names no subject/],
      ["nats://127.0.0.1:4222/", /names no subject/],
      ["nats:///s", /names no host/],
      ["nats://h:99999/s", /port .* must be a whole number from 1 to 65535/],
      ["nats://u:secret@h/a..b", /empty token/],
      ["nats://h/a b", /white space/],
      ["nats://h/a.>", /wildcard/],
    ] as const
  ) {
    assert.throws(() => parseNatsTarget(text), (error: Error) => {
      assert.ok(error instanceof SyntaxError, text);
      assert.match(error.message, words);
      assert.ok(!error.message.includes("secret"), error.message);
      return true;
    });
  }
  assert.equal(parseNatsTarget("nats://h/a.>", { wildcards: true }).subject, "a.>");
});

Deno.test("checkSubject allows > only as the last token", () => {
  assert.throws(() => checkSubject("a.>.b", { wildcards: true }), /> may only be the last/);
  checkSubject("a.*.b", { wildcards: true });
});

Deno.test("subjectMatches and subjectCovered follow NATS's wildcards", () => {
  assert.ok(subjectMatches("a.*", "a.b"));
  assert.ok(!subjectMatches("a.*", "a"));
  assert.ok(!subjectMatches("a.b", "a.b.c"));
  assert.ok(subjectCovered("a.b.c", [">"]));
  assert.ok(subjectCovered("a.*.c", ["a.*.*"]));
  assert.ok(!subjectCovered("a.*", ["a.b"]));
  assert.ok(!subjectCovered(">", ["a.>"]));
  assert.ok(!subjectCovered("a", []));
});

Deno.test("describeNatsError says unreachable, TLS and other failures in one line", () => {
  const refused = new Error("connection refused", {
    cause: new Error("connect ECONNREFUSED 127.0.0.1:1"),
  });
  refused.name = "ConnectionError";
  assert.equal(
    describeNatsError(refused, "nats://127.0.0.1:1/s"),
    "NATS is not reachable at nats://127.0.0.1:1/s: connection refused (is nats-server running?)",
  );
  assert.equal(
    describeNatsError(new Error("server does not support 'tls'"), "tls://h/s"),
    "NATS at tls://h/s does not speak TLS: use nats:// rather than tls://",
  );
  assert.match(
    describeNatsError(new Error("self-signed certificate in certificate chain"), "tls://h/s"),
    /^TLS to NATS at tls:\/\/h\/s failed: self-signed certificate/,
  );
  assert.equal(
    describeNatsError(new Error("odd\nsecond"), "nats://h/s"),
    "NATS at nats://h/s: odd",
  );
});

Deno.test("messageHeaders carries where and when a message came, and its id", async () => {
  await loadNatsClient();
  const meta = { peer: "[::1]:9", connection: 4, number: 2, receivedAt: 1_000, receiver: "r9" };
  const h = messageHeaders(meta);
  assert.equal(h.get(HEADERS.peer), "[::1]:9");
  assert.equal(h.get(HEADERS.connection), "4");
  assert.equal(h.get(HEADERS.number), "2");
  assert.equal(h.get(HEADERS.received), "1970-01-01T00:00:01.000Z");
  assert.equal(h.get(HEADERS.receiver), "r9");
  assert.equal(h.get(HEADERS.msgId), messageId(meta));
});
