import assert from "node:assert/strict";
import { MemoryBudget } from "../lib/memory_budget.ts";
import { OutputQueue } from "../lib/output_queue.ts";

const MiB = 1024 * 1024;

Deno.test("OutputQueue gives the budget back only what a copy over 16 KiB charged", async () => {
  const budget = new MemoryBudget(MiB);
  const queue = new OutputQueue({ write: (p) => Promise.resolve(p.length) }, { budget });
  queue.copy(new Uint8Array(20_000));
  queue.copy(new Uint8Array(100));
  await queue.flush();
  // Below zero, the budget no longer bounds anything: every message of 16 to
  // 64 KiB the receiver prints this way widens it by its size.
  assert.equal(budget.used, 0);
});

Deno.test("OutputQueue flushNow whose write fails gives back each piece once", async () => {
  const budget = new MemoryBudget(MiB);
  const done: string[] = [];
  let writes = 0;
  const writer = {
    // A file's writer: written synchronously.
    synchronous: true,
    write: (p: Uint8Array) => Promise.resolve(p.length),
    writeSync: (p: Uint8Array) => {
      if (writes++ > 0) throw new Error("no space left on device");
      return p.length;
    },
  };
  const queue = new OutputQueue(writer, { budget, onError: () => {} });
  budget.charge(200);
  queue.add(new Uint8Array(100), 100, () => done.push("first"));
  queue.add(new Uint8Array(100), 100, () => done.push("second"));
  await assert.rejects(queue.flushNow(), /no space left/);
  // Released twice, the budget goes below zero; "done" twice puts a receive
  // piece in the reuse pool twice, for two frames to be read into at once.
  assert.equal(budget.used, 0);
  assert.deepEqual(done, ["first", "second"]);
});

Deno.test("OutputQueue writes what is added in one turn with one write, in order", async () => {
  const writes: string[] = [];
  const queue = new OutputQueue({
    write: (p) => Promise.resolve(writes.push(new TextDecoder().decode(p)) && p.length),
  });
  const block = queue.reserve(3);
  block.set(new TextEncoder().encode("one"), queue.offset());
  queue.commit(3);
  queue.copy(new TextEncoder().encode(" two"));
  queue.add(new TextEncoder().encode(" three"));
  await queue.flush();
  assert.equal(writes.join(""), "one two three");
  assert.equal(queue.pending, 0);
});

Deno.test("OutputQueue fails on a writer that takes no bytes instead of spinning", async () => {
  let failed: unknown;
  const queue = new OutputQueue({ write: () => Promise.resolve(0) }, {
    onError: (error) => failed = error,
  });
  queue.copy(new Uint8Array(10));
  await assert.rejects(queue.flush(), /took no bytes/);
  assert.ok(failed instanceof Deno.errors.WriteZero);
  assert.equal(queue.failed, true);
});

Deno.test("OutputQueue below() waits until the queue drains under the mark", async () => {
  let release = () => {};
  const queue = new OutputQueue({
    write: (p) => new Promise((resolve) => release = () => resolve(p.length)),
  });
  queue.add(new Uint8Array(2 * MiB));
  let drained = false;
  const waiting = queue.below(MiB).then(() => drained = true);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(drained, false);
  release();
  await waiting;
  assert.equal(drained, true);
});

Deno.test("OutputQueue writes a turn's pieces to a synchronous writer in one write, at once when asked", async () => {
  const writes: string[] = [];
  const writer = {
    synchronous: true,
    write: () => Promise.reject(new Error("written synchronously only")),
    writeSync: (p: Uint8Array) => (writes.push(new TextDecoder().decode(p)), p.length),
  };
  const queue = new OutputQueue(writer);
  queue.copy(new TextEncoder().encode("one\n"));
  queue.copy(new TextEncoder().encode("two\n"));
  assert.deepEqual(writes, []);
  await Promise.resolve();
  assert.deepEqual(writes, ["one\ntwo\n"]);
  queue.copy(new TextEncoder().encode("three\n"));
  assert.equal(queue.writtenNow(), true);
  assert.deepEqual(writes, ["one\ntwo\n", "three\n"]);
  await queue.flush();
  assert.equal(writes.length, 2);
});

Deno.test("OutputQueue writtenNow says false while an asynchronous write is under way", async () => {
  let finish = () => {};
  const queue = new OutputQueue({
    write: (p) => new Promise((resolve) => finish = () => resolve(p.length)),
  });
  assert.equal(queue.writtenNow(), true);
  queue.copy(new Uint8Array(10));
  assert.equal(queue.writtenNow(), false);
  await new Promise((resolve) => setTimeout(resolve, 0));
  finish();
  await queue.flush();
  assert.equal(queue.writtenNow(), true);
});
