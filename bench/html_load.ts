/**
 * How `framecat dissect --html` copes with a big capture: builds one of N
 * packets (default 100,000) by repeating the fixture's two connections, each
 * repetition on new client ports (TCP checksums adjusted), then measures
 * writing the page and opening it in headless Chromium.
 *
 *   deno run -A bench/html_load.ts [--packets N] [--keep DIR]
 *
 * Prints: the time `framecat dissect --html` takes and the page's size; in
 * Chromium, the time to the load event and to the page being ready (packet
 * list drawn, first packet shown), choosing the last packet with the End key,
 * a jump to the middle by scrolling, and the JavaScript heap. Needs Chromium.
 *
 * @module
 */

import { Chromium } from "../tests/chromium.ts";
import { missingTool } from "../tests/helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const args = Deno.args;
const PACKETS = Number(option("--packets") ?? 100_000);
const KEEP = option("--keep");

function option(name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The fixture's packets repeated to `count`, as classic pcap. */
async function bigCapture(count: number): Promise<Uint8Array> {
  const fixture = await Deno.readFile(`${ROOT}tests/fixtures/framecat_and_seed.pcap`);
  const view = new DataView(fixture.buffer);
  const records: { sec: number; usec: number; data: Uint8Array; original: number }[] = [];
  for (let at = 24; at < fixture.length;) {
    const length = view.getUint32(at + 8, true);
    records.push({
      sec: view.getUint32(at, true),
      usec: view.getUint32(at + 4, true),
      original: view.getUint32(at + 12, true),
      data: fixture.slice(at + 16, at + 16 + length),
    });
    at += 16 + length;
  }
  const clients = [...new Set(records.map((r) => new DataView(r.data.buffer).getUint16(34)))]
    .filter((port) => port !== 1234);
  const size = 24 +
    records.reduce((n, r) => n + 16 + r.data.length, 0) * Math.ceil(count / records.length);
  const out = new Uint8Array(size);
  out.set(fixture.subarray(0, 24));
  const outView = new DataView(out.buffer);
  let at = 24;
  for (let n = 0; n < count; n++) {
    const round = Math.floor(n / records.length);
    const record = records[n % records.length];
    const data = record.data.slice();
    const packet = new DataView(data.buffer);
    for (const offset of [34, 36]) {
      const port = packet.getUint16(offset);
      const client = clients.indexOf(port);
      if (client < 0) continue;
      const next = 1024 + (round * clients.length + client) % 64000;
      packet.setUint16(offset, next);
      // RFC 1624: HC' = ~(~HC + ~m + m')
      let sum = (~packet.getUint16(50) & 0xffff) + (~port & 0xffff) + next;
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
      packet.setUint16(50, ~sum & 0xffff);
    }
    outView.setUint32(at, record.sec + round, true);
    outView.setUint32(at + 4, record.usec, true);
    outView.setUint32(at + 8, data.length, true);
    outView.setUint32(at + 12, record.original, true);
    out.set(data, at + 16);
    at += 16 + data.length;
  }
  return out.subarray(0, at);
}

const missing = missingTool("chromium");
if (missing) {
  console.error(`html_load: ${missing}`);
  Deno.exit(1);
}
const dir = KEEP ?? await Deno.makeTempDir({ prefix: "framecat_html_load_" });
await Deno.mkdir(dir, { recursive: true });
const capture = `${dir}/big.pcap`;
const report = `${dir}/big.html`;
await Deno.writeFile(capture, await bigCapture(PACKETS));

let started = performance.now();
const output = await Deno.open(report, { write: true, create: true, truncate: true });
const { code, stderr } = await new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-read", `${ROOT}main.ts`, "dissect", "--html", capture],
  stdout: "piped",
  stderr: "piped",
}).spawn().output().then(async (result) => {
  await output.write(result.stdout);
  return result;
}).finally(() => output.close());
const writing = performance.now() - started;
if (code !== 0) throw new Error(`dissect --html failed: ${new TextDecoder().decode(stderr)}`);
const captureSize = (await Deno.stat(capture)).size;
const pageSize = (await Deno.stat(report)).size;

const browser = await Chromium.launch("chromium", { timeout: 300_000 });
const figures: Record<string, string> = {};
try {
  started = performance.now();
  await browser.open(new URL(`file://${report}`).href);
  const loaded = performance.now() - started;
  const timing = await browser.evaluate<{ ready: number; dcl: number }>(`({
    ready: performance.getEntriesByName("framecat-ready")[0].startTime,
    dcl: performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd,
  })`);
  await browser.evaluate(`document.getElementById("list").focus()`);
  started = performance.now();
  await browser.press("End");
  const last = await browser.evaluate<string>(`document.querySelector("#details h2").textContent`);
  const end = performance.now() - started;
  started = performance.now();
  const middle = await browser.evaluate<string>(`new Promise((resolve) => {
    const list = document.getElementById("list");
    list.scrollTop = list.scrollHeight / 2;
    requestAnimationFrame(() => requestAnimationFrame(() =>
      resolve([...list.querySelector(".row").children].map((c) => c.textContent).join(" "))));
  })`);
  const scroll = performance.now() - started;
  const heap = await browser.page("Runtime.getHeapUsage") as { usedSize: number };
  const errors = browser.errors();
  figures["packets"] = String(PACKETS);
  figures["capture"] = `${(captureSize / 2 ** 20).toFixed(1)} MiB`;
  figures["dissect --html"] = `${(writing / 1000).toFixed(2)} s`;
  figures["page"] = `${(pageSize / 2 ** 20).toFixed(1)} MiB`;
  figures["load event"] = `${(loaded / 1000).toFixed(2)} s (DOMContentLoaded ${
    (timing.dcl / 1000).toFixed(2)
  } s, ready ${(timing.ready / 1000).toFixed(2)} s)`;
  figures["End key to last packet"] = `${end.toFixed(0)} ms (${last})`;
  figures["scroll to middle drawn"] = `${scroll.toFixed(0)} ms (first row: ${
    middle.slice(0, 12)
  }…)`;
  figures["JS heap"] = `${(heap.usedSize / 2 ** 20).toFixed(0)} MiB`;
  figures["console errors"] = String(errors.length);
} finally {
  await browser.close();
  if (!KEEP) await Deno.remove(dir, { recursive: true });
}
for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(24)} ${value}`);
