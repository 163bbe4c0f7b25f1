import assert from "node:assert/strict";
import { MemoryBudget } from "../lib/memory_budget.ts";

Deno.test("MemoryBudget grants reservations in order, as bytes are released", async () => {
  const budget = new MemoryBudget(100);
  await budget.reserve(60);
  const order: string[] = [];
  const big = budget.reserve(50).then(() => order.push("big"));
  const small = budget.reserve(10).then(() => order.push("small"));
  budget.release(60);
  await Promise.all([big, small]);
  // First come, first served: the small one does not jump the queue.
  assert.deepEqual(order, ["big", "small"]);
  assert.equal(budget.used, 60);
});

Deno.test("MemoryBudget grants a reservation over the limit when nothing else is held", async () => {
  const budget = new MemoryBudget(10);
  await budget.reserve(50);
  assert.equal(budget.used, 50);
});

Deno.test("MemoryBudget withdraws a reservation whose signal is aborted", async () => {
  const budget = new MemoryBudget(10);
  await budget.reserve(10);
  const controller = new AbortController();
  const waiting = budget.reserve(5, controller.signal);
  controller.abort(new Error("closed"));
  await assert.rejects(waiting, /closed/);
  budget.release(10);
  assert.equal(budget.used, 0);
});

Deno.test("MemoryBudget below() waits until use is under the limit", async () => {
  const budget = new MemoryBudget(10);
  budget.charge(15);
  let under = false;
  const waiting = budget.below().then(() => under = true);
  budget.release(3);
  await Promise.resolve();
  assert.equal(under, false);
  budget.release(3);
  await waiting;
  assert.equal(budget.used, 9);
});
