import assert from "node:assert/strict";
import { LineBatch } from "../lib/line_writer.ts";

Deno.test("LineBatch says the lines of one delay in one text, in order, and none twice", async () => {
  const said: string[] = [];
  const lines = new LineBatch((text) => said.push(text), { delay: 20 });
  lines.add("Connection from a");
  lines.add("Connection from b");
  assert.deepEqual(said, []);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(said, ["Connection from a\nConnection from b"]);
  lines.add("Connection from a ended");
  lines.flush();
  lines.flush();
  assert.deepEqual(said, ["Connection from a\nConnection from b", "Connection from a ended"]);
  // The timer of a batch flushed early says nothing more.
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(said.length, 2);
});
