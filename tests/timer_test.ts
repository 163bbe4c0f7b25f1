import assert from "node:assert/strict";
import { after, every } from "../lib/timer.ts";

Deno.test("after() does not call back once cancelled", async () => {
  let fired = 0;
  after(5, () => fired++).cancel();
  await new Promise<void>((resolve) => after(30, resolve));
  assert.equal(fired, 0);
});

Deno.test("every() calls back until cancelled, also from its own callback", async () => {
  const times: number[] = [];
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const timer = every(10, () => {
      times.push(performance.now() - started);
      if (times.length === 4) timer.cancel(), resolve();
    });
  });
  await new Promise<void>((resolve) => after(40, resolve));
  assert.equal(times.length, 4);
  // Each tick comes at least a period after the one before.
  times.forEach((t, i) => assert.ok(t >= 10 * (i + 1) - 1, `tick ${i + 1} at ${t} ms`));
});

Deno.test("after() waits delays beyond 2^31 ms in full instead of firing at once", async () => {
  let fired = 0;
  const long = after(2 ** 31 + 1000, () => fired++);
  const never = after(Infinity, () => fired++);
  await new Promise<void>((resolve) => after(50, resolve));
  long.cancel();
  never.cancel();
  assert.equal(fired, 0);
});
