/**
 * The ceiling for `deno task bench --only nats`: the NATS client's own
 * JetStream publish rate from a minimal Deno program, doing the same work as
 * `receive --to nats://` per message (the same payloads, the same headers
 * and `Nats-Msg-Id`, the same window of publishes awaiting acknowledgement),
 * with nothing else: no TCP senders, no framing, no checking.
 *
 *   deno run --allow-net bench/peers/nats_publish.ts PORT SUBJECT COUNT [WINDOW]
 *
 * Creates the stream FRAMECAT (file storage) if missing, as framecat does,
 * publishes COUNT messages `{"i":N}`, and prints one JSON line:
 * `{"messages":COUNT,"seconds":S}` (the publishing alone, from the first
 * publish to the last acknowledgement).
 *
 * @module
 */

import { loadNatsClient } from "../../lib/nats/deps.ts";

const [port, subject, countText, windowText] = Deno.args;
const count = Number(countText);
const window = Number(windowText ?? 1024);
const client = await loadNatsClient();
const { headers } = client.transport;
const { jetstream, jetstreamManager } = client.jetstream;
const nc = await client.transport.connect({ servers: `127.0.0.1:${port}` });
const jsm = await jetstreamManager(nc);
try {
  await jsm.streams.info("FRAMECAT");
} catch {
  await jsm.streams.add({ name: "FRAMECAT", subjects: [subject], storage: "file" });
}
const js = jetstream(nc);
const encoder = new TextEncoder();
const receiver = crypto.randomUUID().slice(0, 8);
let outstanding = 0;
let wake: (() => void) | undefined;
let failed: unknown;
const started = performance.now();
for (let i = 1; i <= count; i++) {
  while (outstanding >= window) await new Promise<void>((resolve) => wake = resolve);
  const h = headers();
  h.set("Framecat-Peer", "127.0.0.1:40000");
  h.set("Framecat-Connection", "1");
  h.set("Framecat-Number", String(i));
  h.set("Framecat-Received", new Date().toISOString());
  h.set("Framecat-Receiver", receiver);
  h.set("Nats-Msg-Id", `${receiver}-1-${i}`);
  outstanding++;
  js.publish(subject, encoder.encode(`{"i":${i}}`), { headers: h }).then(
    () => {
      outstanding--;
      wake?.();
    },
    (error) => {
      failed ??= error;
      outstanding--;
      wake?.();
    },
  );
}
while (outstanding > 0) await new Promise<void>((resolve) => wake = resolve);
const seconds = (performance.now() - started) / 1000;
await nc.close();
if (failed) throw failed;
console.log(JSON.stringify({ messages: count, seconds }));
